// What the three provider fakes have in common: a FakeHttpServer, a JobTimeline
// for the provider's asynchronous jobs, a MediaHost for their outputs, and the
// scripting surface tests use (failNext, delays, job scripts, advance).

import { systemClock, type Clock } from './clock.js';
import {
  FakeHttpServer,
  type FormattedError,
  type HttpError,
  type RecordedRequest,
  type RequestMatch,
  type Route,
  type RouteContext,
  type ScriptedFailure,
} from './fake-server.js';
import { JobTimeline, type JobScript, type TimelineJob } from './job-timeline.js';
import { MediaHost, type MediaKind } from './media.js';

export interface ProviderFakeOptions {
  /** The only key the fake accepts (401 otherwise). */
  apiKey?: string;
  /** Drives job progress and URL expiry; a ManualClock makes tests deterministic. */
  clock?: Clock;
  /** Default time a job spends in each status (default 150 ms, so a job ends well within a second). */
  stepMs?: number;
  /** How long output URLs stay valid (default 10 minutes). */
  outputTtlMs?: number;
  /** Added to every answer. */
  latencyMs?: number;
  /** Share one media host between fakes; by default each fake starts (and closes) its own. */
  media?: MediaHost;
}

export interface JobRules<S extends string> {
  defaultScript: JobScript<S>;
  isTerminal(status: S): boolean;
  isRunning(status: S): boolean;
}

export abstract class ProviderFake<S extends string, D> {
  readonly apiKey: string;
  readonly clock: Clock;
  readonly media: MediaHost;
  /** TTL of output URLs minted from now on; undefined uses the media host's. */
  outputTtlMs: number | undefined;
  protected readonly server: FakeHttpServer;
  protected readonly jobs: JobTimeline<S, D>;
  readonly #ownsMedia: boolean;

  protected constructor(
    options: ProviderFakeOptions,
    defaults: { apiKey: string; media: MediaHost; ownsMedia: boolean; jobs: JobRules<S> },
  ) {
    this.apiKey = options.apiKey ?? defaults.apiKey;
    this.clock = options.clock ?? systemClock;
    this.media = defaults.media;
    this.#ownsMedia = defaults.ownsMedia;
    this.outputTtlMs = options.outputTtlMs;
    this.server = new FakeHttpServer({
      routes: this.routes(),
      formatError: (error) => this.formatError(error),
      authorize: (context) => this.authorize(context),
      latencyMs: options.latencyMs,
    });
    this.jobs = new JobTimeline<S, D>({
      ...defaults.jobs,
      clock: this.clock,
      stepMs: options.stepMs ?? 150,
      onTransition: (job, from) => this.onTransition(job, from),
      onTick: (job) => this.onTick(job),
    });
  }

  protected abstract routes(): Route[];
  protected abstract formatError(error: HttpError): FormattedError;
  protected abstract authorize(context: RouteContext): void;
  protected abstract onTransition(job: TimelineJob<S, D>, from: S | undefined): void;

  /** Progress within a status moved on (the timeline's background tick). */
  protected onTick(_job: TimelineJob<S, D>): void {}

  /** @internal used by the start functions */
  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  /** `http://127.0.0.1:PORT`, without any path. */
  get origin(): string {
    return this.server.origin;
  }

  /** Every request received, in order, including scripted failures. */
  get requests(): RecordedRequest[] {
    return this.server.requests;
  }

  requestsMatching(match: RequestMatch): RecordedRequest[] {
    return this.server.requestsMatching(match);
  }

  lastRequest(match?: RequestMatch): RecordedRequest | undefined {
    return this.server.lastRequest(match);
  }

  /** The next matching request (default: any) gets this error, in the provider's error shape. */
  failNext(failure: ScriptedFailure): void {
    this.server.failNext(failure);
  }

  /** The next matching request loses its connection (a network error for the SDK). */
  dropNext(match?: RequestMatch, times = 1): void {
    this.server.dropNext(match, times);
  }

  /** The next matching request is answered `ms` late. */
  delayNext(ms: number, match?: RequestMatch, times = 1): void {
    this.server.delayNext(ms, match, times);
  }

  /** Forgets failures, drops and delays that have not fired yet. */
  clearScript(): void {
    this.server.clearScript();
  }

  /** Every answer comes `ms` late from now on. */
  setLatency(ms: number): void {
    this.server.latencyMs = ms;
  }

  /** Default time a job spends in each status, for jobs reading it from now on. */
  setStepMs(ms: number): void {
    this.jobs.stepMs = ms;
  }

  /** The next job created follows these statuses (queued first in, first out). */
  scriptNextJob(script: JobScript<S>): void {
    this.jobs.scriptNext(script);
  }

  /** Moves a job on by `count` statuses now. */
  advance(jobId: string, count = 1): void {
    this.jobs.advance(jobId, count);
  }

  /** Moves a job straight to its last scripted status. */
  finish(jobId: string): void {
    this.jobs.advance(jobId, Number.MAX_SAFE_INTEGER);
  }

  /** The job's current status in the provider's vocabulary. */
  jobStatus(jobId: string): S | undefined {
    const job = this.jobs.get(jobId);
    return job && this.jobs.status(job);
  }

  /** Ids of every job created, oldest first. */
  jobIds(): string[] {
    return this.jobs.all().map((job) => job.id);
  }

  /** Makes an output URL answer 403 from now on, like a signed URL past its expiry. */
  expireOutput(url: string): void {
    this.media.expire(url);
  }

  /** Mints an output URL for one of the generated media files. */
  protected publishOutput(kind: MediaKind, name: string): string {
    return this.media.publish(kind, { ttlMs: this.outputTtlMs, name });
  }

  /** Catches every job up with the clock (fires due transitions and webhooks). */
  tick(): void {
    this.jobs.tick();
  }

  async close(): Promise<void> {
    this.jobs.close();
    await this.server.close();
    if (this.#ownsMedia) await this.media.close();
  }
}

/** The media host a fake should use: the shared one, or a new one it will own. */
export async function mediaHostFor(options: ProviderFakeOptions): Promise<{ media: MediaHost; ownsMedia: boolean }> {
  if (options.media) return { media: options.media, ownsMedia: false };
  const media = await MediaHost.start({ clock: options.clock, ttlMs: options.outputTtlMs });
  return { media, ownsMedia: true };
}
