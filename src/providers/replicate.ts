// Replicate through its official SDK (replicate): configurable video models,
// each with its own input mapping; progress from the tqdm lines in `logs`;
// extend as last frame -> image to video -> joined here; and verification of
// Replicate's signed webhooks.

import Replicate, { parseProgressFromLogs, validateWebhook, type Prediction } from 'replicate';
import type { JobStatus, VideoResolution } from '../domain.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../media/store.js';
import type { ProviderConfig, ReplicateModelConfig, ReplicateOperation } from '../provider-config.js';
import {
  CONTINUATION_PROMPT,
  DEFAULT_DOWNLOAD_LIMITS,
  extendHandle,
  succeededVideo,
  lastFrameDataUri,
  parseHandle,
  type DownloadLimits,
  type MediaInputRules,
} from './clip-join.js';
import { ProviderCallError, failedJob, guardedCall, jobFailureInfo, refusedRequest } from './provider-errors.js';
import type {
  AttemptContext,
  EditVideoRequest,
  ExtendVideoRequest,
  GenerateVideoRequest,
  PollResult,
  SubmitResult,
  Support,
  VideoProvider,
} from './types.js';

export interface ReplicateProviderOptions {
  apiKey: string;
  /** Default https://api.replicate.com/v1. */
  baseUrl?: string;
  config: ProviderConfig;
  store: MediaStore;
  logger?: Logger;
  /** When set, every prediction carries it, for the `start` and `completed` events. */
  webhookUrl?: string;
  /** Per HTTP request (the SDK itself has no timeout). */
  timeoutMs?: number;
  /** Limits for downloading a continuation to join (extend). */
  download?: Partial<DownloadLimits>;
}

// Replicate accepts data URIs as file inputs; the SDK itself inlines files up
// to 10 MB that way (MAX_DATA_URI_SIZE in lib/util.js).
const FRAME_RULES: MediaInputRules = { provider: 'Replicate', httpsOnly: false, maxDataUriChars: 10_000_000 };

/**
 * Models with fixed lengths (or frame counts) serve requests this close to a
 * length they can make; the job reports the real duration, measured.
 */
const DURATION_TOLERANCE_SECONDS = 1;

/** What the input mappings read from a request. */
interface VideoAsk {
  prompt: string;
  /** First frame: an https URL or a data URI. */
  image?: string;
  seconds: number;
  seed?: number;
  resolution?: VideoResolution;
  /** Width over height, for text to video. */
  aspect?: number;
}

type Mapping = { ok: true; input: Record<string, unknown> } | { ok: false; reason: string };

/** The one way to build the SDK client (the adapter and the catalog reader share it): one attempt per call. */
export function createReplicateClient(options: { apiKey: string; baseUrl?: string; timeoutMs?: number }): Replicate {
  return new Replicate({
    auth: options.apiKey,
    baseUrl: options.baseUrl,
    fetch: singleAttemptFetch(options.timeoutMs ?? 60_000),
  });
}

export class ReplicateProvider implements VideoProvider {
  readonly name = 'replicate';
  readonly runsInProcess = false;
  private readonly client: Replicate;
  private readonly models: readonly ReplicateModelConfig[];
  private readonly store: MediaStore;
  private readonly logger: Logger | undefined;
  private readonly webhookUrl: string | undefined;
  private readonly secrets: readonly string[];
  private readonly download: DownloadLimits;

  constructor(options: ReplicateProviderOptions) {
    this.client = createReplicateClient(options);
    this.models = options.config.replicate.models;
    this.store = options.store;
    this.logger = options.logger;
    this.webhookUrl = options.webhookUrl;
    this.secrets = [options.apiKey];
    this.download = { ...DEFAULT_DOWNLOAD_LIMITS, ...options.download };
  }

  supportsGenerate(request: GenerateVideoRequest): Support {
    const choice = this.choose(request.imageUrl ? 'image-to-video' : 'text-to-video', generateAsk(request), request.model);
    return choice.ok ? { ok: true } : choice;
  }

  supportsEdit(_request: EditVideoRequest): Support {
    return { ok: false, reason: 'no Replicate video-edit model is configured' };
  }

  supportsExtend(request: ExtendVideoRequest): Support {
    // The frame is not extracted yet: a placeholder stands in for it.
    const choice = this.choose('image-to-video', extendAsk(request, 'data:image/jpeg;base64,'), request.model);
    return choice.ok ? { ok: true } : choice;
  }

  async generate(context: AttemptContext, request: GenerateVideoRequest): Promise<SubmitResult> {
    const choice = this.choose(request.imageUrl ? 'image-to-video' : 'text-to-video', generateAsk(request), request.model);
    if (!choice.ok) throw refusedRequest('replicate', choice.reason);
    const prediction = await this.create(context, choice.model, choice.input);
    return submitted(prediction, prediction.id);
  }

  edit(_context: AttemptContext, _request: EditVideoRequest): Promise<SubmitResult> {
    return Promise.reject(refusedRequest('replicate', 'no Replicate video-edit model is configured'));
  }

  async extend(context: AttemptContext, request: ExtendVideoRequest): Promise<SubmitResult> {
    const target = { jobId: context.jobId, attempt: context.attempt, sourceKey: request.source.key };
    const frame = await this.call(() => lastFrameDataUri(this.store, target, FRAME_RULES, context.signal));
    const choice = this.choose('image-to-video', extendAsk(request, frame), request.model);
    if (!choice.ok) throw refusedRequest('replicate', choice.reason);
    const prediction = await this.create(context, choice.model, choice.input);
    return submitted(prediction, extendHandle(prediction.id, target));
  }

  async poll(handle: string): Promise<PollResult> {
    const { taskId, extend } = parseHandle(handle);
    let prediction: Prediction;
    try {
      // Our own poller, never the SDK's wait(): it does not stop on `aborted`.
      prediction = await this.call(() => this.client.predictions.get(taskId));
    } catch (error) {
      if (error instanceof ProviderCallError && error.httpStatus === 404) return { kind: 'lost' };
      throw error;
    }
    const status = predictionStatus(prediction.status);
    const costUsd = this.cost(prediction);
    switch (status) {
      case 'QUEUED':
        return { kind: 'status', status, progress: null };
      case 'RUNNING':
        return { kind: 'status', status, progress: parseProgressFromLogs(prediction)?.percentage ?? null };
      case 'SUCCEEDED':
        return succeededVideo({
          provider: 'replicate',
          secrets: this.secrets,
          store: this.store,
          download: this.download,
          url: firstUrl(prediction.output),
          extend,
          costUsd,
        });
      case 'FAILED': {
        const message =
          typeof prediction.error === 'string' && prediction.error ? prediction.error : 'Replicate failed the prediction';
        // E005: "The input or output was flagged as sensitive".
        return failedJob(jobFailureInfo({ message, safety: /\bE005\b|flagged as sensitive|nsfw/i.test(message) }), costUsd);
      }
      case 'CANCELED':
        return { kind: 'status', status, progress: null, costUsd };
      case undefined:
        const message = `Replicate answered an unknown prediction status "${String(prediction.status)}"`;
        return failedJob({ code: 'PROVIDER_ERROR', message, retryable: false }, costUsd);
    }
  }

  async cancel(handle: string): Promise<void> {
    const { taskId } = parseHandle(handle);
    try {
      await this.call(() => this.client.predictions.cancel(taskId));
    } catch (error) {
      if (error instanceof ProviderCallError && error.httpStatus === 404) return;
      throw error;
    }
  }

  /** The first configured model that serves the operation and the request's length. */
  private choose(
    operation: ReplicateOperation,
    ask: VideoAsk,
    requestedModel?: string,
  ): { ok: true; model: string; input: Record<string, unknown> } | { ok: false; reason: string } {
    const candidates = this.models.filter((entry) => requestedModel === undefined || entry.model === requestedModel);
    if (candidates.length === 0) return { ok: false, reason: `Replicate model ${requestedModel} is not configured` };
    const reasons: string[] = [];
    for (const entry of candidates) {
      if (!entry.operations.includes(operation)) continue;
      const mapped = mapInput(entry, ask);
      if (mapped.ok) return { ok: true, model: entry.model, input: mapped.input };
      reasons.push(mapped.reason);
    }
    if (reasons.length === 0) return { ok: false, reason: `no configured Replicate model does ${operation}` };
    return { ok: false, reason: reasons.join('; ') };
  }

  private async create(context: AttemptContext, model: string, input: Record<string, unknown>): Promise<Prediction> {
    const prediction = await this.call(() =>
      this.client.predictions.create({
        model,
        input,
        ...(this.webhookUrl ? { webhook: this.webhookUrl, webhook_events_filter: ['start', 'completed'] as const } : {}),
        signal: context.signal,
      } as Parameters<Replicate['predictions']['create']>[0]),
    );
    this.logger?.debug({ jobId: context.jobId, provider: this.name, providerJobId: prediction.id, model }, 'prediction submitted');
    return prediction;
  }

  /** Replicate reports no cost: the configured price times the seconds the model ran. */
  private cost(prediction: Prediction): number | undefined {
    const seconds = prediction.metrics?.predict_time;
    const entry = this.models.find((candidate) => candidate.model === prediction.model);
    if (seconds === undefined || !entry) return undefined;
    return seconds * entry.pricePerSecondUsd;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return guardedCall('replicate', this.secrets, run);
  }
}

function generateAsk(request: GenerateVideoRequest): VideoAsk {
  return {
    prompt: request.prompt,
    image: request.imageUrl,
    seconds: request.durationSeconds,
    seed: request.seed,
    resolution: request.resolution,
    aspect: request.width / request.height,
  };
}

function extendAsk(request: ExtendVideoRequest, frame: string): VideoAsk {
  return { prompt: request.prompt ?? CONTINUATION_PROMPT, image: frame, seconds: request.extensionSeconds };
}

/** Fills a model's inputs from the request, or says why this model cannot serve it. */
function mapInput(entry: ReplicateModelConfig, ask: VideoAsk): Mapping {
  const name = entry.model;
  const tooFar = (made: string) => ({ ok: false as const, reason: `${name} makes ${made}, not ${ask.seconds} s` });
  switch (entry.input) {
    case 'minimax-video-01': {
      if (Math.abs(ask.seconds - 6) > DURATION_TOLERANCE_SECONDS) return tooFar('6 s videos');
      if (!ask.image) {
        if (ask.resolution === '1080p') return { ok: false, reason: `${name} renders 720p` };
        if (ask.aspect !== undefined && Math.abs(ask.aspect - 16 / 9) > 0.02) {
          return { ok: false, reason: `${name} makes 16:9 videos from text` };
        }
      }
      return {
        ok: true,
        input: { prompt: ask.prompt, prompt_optimizer: true, ...(ask.image ? { first_frame_image: ask.image } : {}) },
      };
    }
    case 'kling-v2': {
      if (!ask.image) return { ok: false, reason: `${name} needs a first-frame image` };
      const duration = [5, 10].find((length) => Math.abs(ask.seconds - length) <= DURATION_TOLERANCE_SECONDS);
      if (duration === undefined) return tooFar('5 or 10 s videos');
      // standard is 720p, pro 1080p.
      return {
        ok: true,
        input: { prompt: ask.prompt, start_image: ask.image, duration, mode: ask.resolution === '1080p' ? 'pro' : 'standard' },
      };
    }
    case 'wan-i2v': {
      if (!ask.image) return { ok: false, reason: `${name} needs a first-frame image` };
      if (ask.resolution === '1080p') return { ok: false, reason: `${name} renders 480p or 720p` };
      // 16 frames a second, 81 to 121 frames.
      const frames = Math.min(121, Math.max(81, Math.round(ask.seconds * 16)));
      if (Math.abs(frames / 16 - ask.seconds) > DURATION_TOLERANCE_SECONDS) return tooFar('5 to 7.5 s videos');
      return {
        ok: true,
        input: {
          image: ask.image,
          prompt: ask.prompt,
          num_frames: frames,
          resolution: ask.resolution === '480p' ? '480p' : '720p',
          ...(ask.seed !== undefined ? { seed: ask.seed } : {}),
        },
      };
    }
    case 'stable-video-diffusion': {
      if (!ask.image) return { ok: false, reason: `${name} needs a first-frame image` };
      // 14 (SVD) or 25 (SVD-XT) frames, played at 5 to 30 frames a second.
      const options = [14, 25].map((frames) => {
        const fps = Math.min(30, Math.max(5, Math.round(frames / ask.seconds)));
        return { frames, fps, error: Math.abs(frames / fps - ask.seconds) };
      });
      const best = options.sort((a, b) => a.error - b.error)[0]!;
      if (best.error > DURATION_TOLERANCE_SECONDS) return tooFar('videos of 0.5 to 5 s');
      return {
        ok: true,
        input: {
          input_image: ask.image,
          video_length: best.frames === 14 ? '14_frames_with_svd' : '25_frames_with_svd_xt',
          frames_per_second: best.fps,
          sizing_strategy: 'maintain_aspect_ratio',
          ...(ask.seed !== undefined ? { seed: ask.seed } : {}),
        },
      };
    }
  }
}

/** Replicate's prediction statuses in our vocabulary; `aborted` is terminal like `canceled`. */
function predictionStatus(status: string): JobStatus | undefined {
  switch (status) {
    case 'starting':
      return 'QUEUED';
    case 'processing':
      return 'RUNNING';
    case 'succeeded':
      return 'SUCCEEDED';
    case 'failed':
      return 'FAILED';
    case 'canceled':
    case 'aborted':
      return 'CANCELED';
    default:
      return undefined;
  }
}

function submitted(prediction: Prediction, handle: string): SubmitResult {
  return {
    providerJobId: handle,
    status: predictionStatus(prediction.status) === 'RUNNING' ? 'RUNNING' : 'QUEUED',
    model: prediction.model,
  };
}

function firstUrl(output: unknown): string | undefined {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return output.find((item): item is string => typeof item === 'string');
  return undefined;
}



/**
 * The fetch the Replicate client uses: one network request per SDK call.
 *
 * replicate 1.4 retries inside every request (lib/util.js,
 * withAutomaticRetries): GETs on 429 and 5xx, other methods on 429, and any
 * error fetch throws (a POST that may have reached Replicate included), six
 * attempts in all. The wait between them is practically nil (its sleep is
 * computed from an undefined maxRetries: NaN ms) and Retry-After is never read
 * (it is looked for only on thrown ApiErrors, which fetch never throws). No
 * option turns this off. The SDK hands the same `init` object to every
 * attempt of one request, so this fetch remembers the first attempt's failure
 * by `init` and answers the repeats with it, without the network. Retries
 * belong to the routing layer (cockatiel, honouring Retry-After) and to the
 * job poller. It also bounds each request in time, which the SDK does not.
 */
export function singleAttemptFetch(timeoutMs: number, base: typeof fetch = globalThis.fetch): typeof fetch {
  type Failure = { error: unknown } | { status: number; statusText: string; headers: Headers; body: ArrayBuffer };
  const failures = new WeakMap<RequestInit, Failure>();
  const replay = (failure: Failure): Response => {
    if ('error' in failure) throw failure.error;
    return new Response(failure.body.slice(0), { status: failure.status, statusText: failure.statusText, headers: failure.headers });
  };
  return async (input, init) => {
    const earlier = init && failures.get(init);
    if (earlier) return replay(earlier);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await base(input, { ...init, signal });
    } catch (error) {
      if (init) failures.set(init, { error });
      throw error;
    }
    if (response.ok || !init) return response;
    const failure = {
      status: response.status,
      statusText: response.statusText,
      headers: new Headers(response.headers),
      body: await response.arrayBuffer(),
    };
    failures.set(init, failure);
    return replay(failure);
  };
}

// ---------------------------------------------------------------------------
// Webhooks

export type WebhookRejection =
  | 'missing-headers'
  | 'invalid-signature'
  | 'invalid-timestamp'
  | 'timestamp-out-of-tolerance'
  | 'invalid-body';

export type WebhookVerification =
  | { ok: true; predictionId: string; status: JobStatus; providerStatus: string }
  | { ok: false; reason: WebhookRejection; message: string };

export interface VerifyReplicateWebhookOptions {
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The body exactly as received: the signature covers its bytes. */
  rawBody: string | Uint8Array;
  /** `whsec_...`, from GET /v1/webhooks/default/secret. */
  secret: string;
  /** How far webhook-timestamp may be from now (default 300 s). */
  toleranceSeconds?: number;
  now?: Date;
}

/**
 * Checks a Replicate webhook: the signature through the SDK's
 * validateWebhook, then the timestamp. validateWebhook (replicate 1.4)
 * checks only the HMAC over `${id}.${timestamp}.${body}`; it never compares
 * the timestamp with the clock, so a captured delivery would verify forever:
 * the tolerance check here is ours.
 */
export async function verifyReplicateWebhook(options: VerifyReplicateWebhookOptions): Promise<WebhookVerification> {
  const header = (name: string): string | undefined => {
    if (options.headers instanceof Headers) return options.headers.get(name) ?? undefined;
    const value = options.headers[name] ?? options.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signature = header('webhook-signature');
  if (!id || !timestamp || !signature) {
    return { ok: false, reason: 'missing-headers', message: 'webhook-id, webhook-timestamp and webhook-signature are required' };
  }
  const body = typeof options.rawBody === 'string' ? options.rawBody : Buffer.from(options.rawBody).toString('utf8');
  let valid: boolean;
  try {
    valid = await validateWebhook({ id, timestamp, signature, body, secret: options.secret });
  } catch (error) {
    return { ok: false, reason: 'invalid-signature', message: `the signature could not be checked: ${(error as Error).message}` };
  }
  if (!valid) return { ok: false, reason: 'invalid-signature', message: 'the signature does not match' };

  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'invalid-timestamp', message: 'webhook-timestamp is not unix seconds' };
  const tolerance = options.toleranceSeconds ?? 300;
  const nowSeconds = (options.now ?? new Date()).getTime() / 1000;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) {
    return {
      ok: false,
      reason: 'timestamp-out-of-tolerance',
      message: `webhook-timestamp is ${Math.round(nowSeconds - Number(timestamp))} s from now; at most ${tolerance} s is accepted`,
    };
  }

  let prediction: { id?: unknown; status?: unknown };
  try {
    prediction = JSON.parse(body) as { id?: unknown; status?: unknown };
  } catch {
    return { ok: false, reason: 'invalid-body', message: 'the body is not JSON' };
  }
  const status = typeof prediction.status === 'string' ? predictionStatus(prediction.status) : undefined;
  if (typeof prediction.id !== 'string' || !status) {
    return { ok: false, reason: 'invalid-body', message: 'the body is not a prediction with an id and a known status' };
  }
  return { ok: true, predictionId: prediction.id, status, providerStatus: prediction.status as string };
}
