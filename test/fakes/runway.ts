// A fake of Runway's HTTP API for `@runwayml/sdk`: video task creation with
// the per-model validation of API version 2024-11-06, task polling through
// PENDING / THROTTLED / RUNNING (with progress) to a terminal status, DELETE,
// the daily cap, and Runway's error shape `{"error":"message"}`.

import { randomUUID } from 'node:crypto';
import {
  HttpError,
  bearerToken,
  objectBody,
  type FormattedError,
  type Route,
  type RouteContext,
} from './fake-server.js';
import type { TimelineJob } from './job-timeline.js';
import { ProviderFake, mediaHostFor, type ProviderFakeOptions } from './provider-fake.js';

export type RunwayTaskStatus = 'PENDING' | 'THROTTLED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export type RunwayEndpoint = 'text_to_video' | 'image_to_video' | 'video_to_video';

export const RUNWAY_API_VERSION = '2024-11-06';

export interface RunwayFakeOptions extends ProviderFakeOptions {
  /** Task creations allowed before create answers 429 (the daily cap); unlimited by default. */
  dailyTaskLimit?: number;
  /** Accept plain http:// media inputs (loopback URLs); the real API takes only https, data and runway:// URIs. */
  acceptHttpInputs?: boolean;
  /**
   * Tasks that may be active (not THROTTLED, not finished) at once; a task
   * created beyond it waits in THROTTLED until one ends. Unlimited by default.
   */
  concurrencyLimit?: number;
}

interface TaskData {
  endpoint: RunwayEndpoint;
  model: string;
  request: Record<string, unknown>;
  credits: number;
  output?: string[];
}

const TERMINAL: ReadonlySet<RunwayTaskStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Credits per second of output; one credit is 0.01 USD. */
const CREDITS_PER_SECOND: Record<string, number> = {
  'gen4.5': 12,
  gen4_turbo: 5,
  'veo3.1': 40,
  'veo3.1_fast': 15,
  aleph2: 15,
};

const GEN45_TEXT_RATIOS = ['1280:720', '720:1280'];
const GEN4_IMAGE_RATIOS = ['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672'];
const VEO_RATIOS = ['1280:720', '720:1280', '1080:1920', '1920:1080'];

export class RunwayFake extends ProviderFake<RunwayTaskStatus, TaskData> {
  dailyTaskLimit: number;
  acceptHttpInputs: boolean;
  concurrencyLimit: number;
  #created = 0;

  constructor(options: RunwayFakeOptions, media: Awaited<ReturnType<typeof mediaHostFor>>) {
    super(options, {
      apiKey: 'runway-test-key',
      ...media,
      jobs: {
        defaultScript: ['PENDING', 'RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED'],
        isTerminal: (status) => TERMINAL.has(status),
        isRunning: (status) => status === 'RUNNING',
      },
    });
    this.dailyTaskLimit = options.dailyTaskLimit ?? Number.POSITIVE_INFINITY;
    this.acceptHttpInputs = options.acceptHttpInputs ?? false;
    this.concurrencyLimit = options.concurrencyLimit ?? Number.POSITIVE_INFINITY;
  }

  /** `http://127.0.0.1:PORT` (paths carry /v1), for `new RunwayML({ baseURL })`. */
  get baseURL(): string {
    return this.origin;
  }

  protected routes(): Route[] {
    return [
      { method: 'POST', pattern: '/v1/text_to_video', handler: (c) => this.#create('text_to_video', c) },
      { method: 'POST', pattern: '/v1/image_to_video', handler: (c) => this.#create('image_to_video', c) },
      { method: 'POST', pattern: '/v1/video_to_video', handler: (c) => this.#create('video_to_video', c) },
      { method: 'GET', pattern: '/v1/tasks/:id', handler: (c) => this.#get(c) },
      { method: 'DELETE', pattern: '/v1/tasks/:id', handler: (c) => this.#delete(c) },
    ];
  }

  protected formatError(error: HttpError): FormattedError {
    return { contentType: 'application/json', body: { error: error.message, ...error.details.extra } };
  }

  protected authorize({ record }: RouteContext): void {
    if (bearerToken(record.headers) !== this.apiKey) {
      throw new HttpError(401, 'Invalid API key. Make sure you are using a valid key for this environment.');
    }
    const version = record.headers['x-runway-version'];
    if (version === undefined) {
      throw new HttpError(400, `The X-Runway-Version header is required. The current version is ${RUNWAY_API_VERSION}.`);
    }
    if (version !== RUNWAY_API_VERSION) {
      throw new HttpError(400, `Unsupported X-Runway-Version: ${version}. The current version is ${RUNWAY_API_VERSION}.`);
    }
  }

  protected onTransition(job: TimelineJob<RunwayTaskStatus, TaskData>, from: RunwayTaskStatus | undefined): void {
    const status = this.jobs.status(job);
    if (status === 'SUCCEEDED') job.data.output = [this.publishOutput('mp4', job.id)];
    if (TERMINAL.has(status) && from !== undefined) this.#releaseThrottled();
  }

  #activeTasks(): number {
    return this.jobs.all().filter((job) => !this.jobs.isTerminal(job) && this.jobs.status(job) !== 'THROTTLED').length;
  }

  /** A slot freed up: the oldest task waiting for one (in THROTTLED) moves on. */
  #releaseThrottled(): void {
    const waiting = this.jobs
      .all()
      .find((job) => this.jobs.status(job) === 'THROTTLED' && this.jobs.step(job).durationMs === Number.POSITIVE_INFINITY);
    if (waiting && this.#activeTasks() < this.concurrencyLimit) this.jobs.advance(waiting.id);
  }

  /** The task JSON `GET /v1/tasks/{id}` would answer now. */
  task(id: string): Record<string, unknown> | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    const step = this.jobs.step(job);
    const base = { id: job.id, createdAt: new Date(job.createdAt).toISOString(), status: step.status };
    const estimatedCost = { credits: job.data.credits };
    switch (step.status) {
      case 'PENDING':
      case 'THROTTLED':
        return { ...base, estimatedCost };
      case 'RUNNING':
        return { ...base, estimatedCost, progress: this.jobs.progress(job) ?? 0 };
      case 'SUCCEEDED':
        return { ...base, output: job.data.output, cost: { credits: job.data.credits } };
      case 'FAILED':
        return {
          ...base,
          failure: step.error?.message ?? 'An unexpected error occurred.',
          failureCode: step.error?.code ?? 'INTERNAL.BAD_OUTPUT.CODE01',
          cost: { credits: 0 },
        };
      case 'CANCELLED':
        return { ...base, cost: { credits: 0 } };
      default:
        return assertUnreachable(step.status);
    }
  }

  #create(endpoint: RunwayEndpoint, { record }: RouteContext): { json: unknown } {
    const body = objectBody(record);
    const seconds = this.#validate(endpoint, body);
    if (this.#created >= this.dailyTaskLimit) {
      throw new HttpError(429, 'You have reached your daily task limit. Try again tomorrow or contact support to raise it.');
    }
    this.#created += 1;
    const model = body['model'] as string;
    const credits = (CREDITS_PER_SECOND[model] ?? 10) * seconds;
    const throttled = this.#activeTasks() >= this.concurrencyLimit;
    const wait = throttled ? [{ status: 'THROTTLED' as const, durationMs: Number.POSITIVE_INFINITY }] : [];
    const job = this.jobs.create(randomUUID(), { endpoint, model, request: body, credits }, wait);
    return { json: { id: job.id, estimatedCost: { credits } } };
  }

  #get({ params }: RouteContext): { json: unknown } {
    const task = this.task(params['id']!);
    if (!task) throw new HttpError(404, 'Task not found.');
    return { json: task };
  }

  #delete({ params }: RouteContext): { status: number } {
    const id = params['id']!;
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, 'Task not found.');
    if (this.jobs.isTerminal(job)) this.jobs.delete(id);
    else this.jobs.interrupt(id, { status: 'CANCELLED' });
    this.#releaseThrottled();
    return { status: 204 };
  }

  /** Checks the body as the API would for each model; returns the output length in seconds. */
  #validate(endpoint: RunwayEndpoint, body: Record<string, unknown>): number {
    const model = body['model'];
    const check = new BodyCheck(body, this.acceptHttpInputs);
    check.optionalInteger('seed', 0, 4_294_967_295);
    switch (`${endpoint}:${String(model)}`) {
      case 'text_to_video:gen4.5':
        check.promptText(true);
        check.oneOf('ratio', GEN45_TEXT_RATIOS, true);
        return check.integer('duration', 2, 10, true) ?? 0;
      case 'text_to_video:veo3.1':
      case 'text_to_video:veo3.1_fast':
        check.promptText(true);
        check.oneOf('ratio', VEO_RATIOS, true);
        return check.oneOf('duration', [4, 6, 8], false) ?? 8;
      case 'image_to_video:gen4.5':
        check.promptImage(['first']);
        check.promptText(true);
        check.oneOf('ratio', GEN4_IMAGE_RATIOS, true);
        return check.integer('duration', 2, 10, true) ?? 0;
      case 'image_to_video:gen4_turbo':
        check.promptImage(['first']);
        check.promptText(false);
        check.oneOf('ratio', GEN4_IMAGE_RATIOS, true);
        return check.integer('duration', 2, 10, false) ?? 10;
      case 'image_to_video:veo3.1':
      case 'image_to_video:veo3.1_fast':
        check.promptImage(['first', 'last']);
        check.promptText(false);
        check.oneOf('ratio', VEO_RATIOS, true);
        return check.oneOf('duration', [4, 6, 8], false) ?? 8;
      case 'video_to_video:aleph2':
        check.mediaUri('videoUri', 'video', true);
        check.promptText(false);
        return 5;
      default:
        throw new HttpError(400, `Invalid model for ${endpoint}: ${JSON.stringify(model ?? null)}.`);
    }
  }
}

export async function startRunwayFake(options: RunwayFakeOptions = {}): Promise<RunwayFake> {
  return new RunwayFake(options, await mediaHostFor(options)).listen();
}

/** Validation helpers answering 400 `{"error":"..."}` the way the API's body validation does. */
class BodyCheck {
  constructor(
    private readonly body: Record<string, unknown>,
    private readonly acceptHttp: boolean,
  ) {}

  promptText(required: boolean): void {
    const text = this.body['promptText'];
    if (text === undefined && !required) return;
    if (typeof text !== 'string' || text.trim() === '') throw this.#fail('promptText', 'must be a non-empty string');
    if (text.length > 1000) throw this.#fail('promptText', 'must be at most 1000 characters');
  }

  integer(field: string, min: number, max: number, required: boolean): number | undefined {
    const value = this.body[field];
    if (value === undefined) {
      if (required) throw this.#fail(field, 'is required');
      return undefined;
    }
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      throw this.#fail(field, `must be an integer from ${min} to ${max}`);
    }
    return value as number;
  }

  optionalInteger(field: string, min: number, max: number): void {
    this.integer(field, min, max, false);
  }

  oneOf<T extends string | number>(field: string, allowed: readonly T[], required: boolean): T | undefined {
    const value = this.body[field];
    if (value === undefined) {
      if (required) throw this.#fail(field, 'is required');
      return undefined;
    }
    if (!allowed.includes(value as T)) throw this.#fail(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return value as T;
  }

  promptImage(positions: readonly string[]): void {
    const image = this.body['promptImage'];
    if (Array.isArray(image)) {
      if (image.length === 0 || image.length > positions.length) throw this.#fail('promptImage', 'has the wrong number of images');
      image.forEach((entry: unknown, i) => {
        const { uri, position } = (entry ?? {}) as Record<string, unknown>;
        if (!positions.includes(String(position))) {
          throw this.#fail(`promptImage.${i}.position`, `must be one of ${positions.join(', ')}`);
        }
        this.#uri(`promptImage.${i}.uri`, uri, 'image');
      });
      return;
    }
    if (image === undefined) throw this.#fail('promptImage', 'is required');
    this.#uri('promptImage', image, 'image');
  }

  mediaUri(field: string, kind: 'image' | 'video', required: boolean): void {
    const value = this.body[field];
    if (value === undefined && !required) return;
    if (value === undefined) throw this.#fail(field, 'is required');
    this.#uri(field, value, kind);
  }

  #uri(field: string, value: unknown, kind: 'image' | 'video'): void {
    if (typeof value !== 'string' || value === '') throw this.#fail(field, 'must be a URL');
    const ok =
      value.startsWith('https://') ||
      value.startsWith('runway://') ||
      new RegExp(`^data:${kind}/[\\w.+-]+;base64,`).test(value) ||
      (this.acceptHttp && value.startsWith('http://'));
    if (!ok) throw this.#fail(field, `must be an HTTPS URL, a Runway upload URI or a base64 data URI of an ${kind}`);
  }

  #fail(field: string, problem: string): HttpError {
    return new HttpError(400, `Validation of body failed: ${field} ${problem}.`);
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}
