// Runway through its official SDK (@runwayml/sdk): text to video, image to
// video, video to video (edit), and extend as last frame -> image to video ->
// joined here. Each model's ratios and durations are checked before a request
// leaves, so an impossible one is refused with a reason instead of a 400.

import RunwayML from '@runwayml/sdk';
import type { ImageToVideoCreateParams } from '@runwayml/sdk/resources/image-to-video';
import type { TaskRetrieveResponse } from '@runwayml/sdk/resources/tasks';
import type { TextToVideoCreateParams } from '@runwayml/sdk/resources/text-to-video';
import type { VideoToVideoCreateParams } from '@runwayml/sdk/resources/video-to-video';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../media/store.js';
import type { ProviderConfig } from '../provider-config.js';
import {
  CONTINUATION_PROMPT,
  DEFAULT_DOWNLOAD_LIMITS,
  checkSourceInput,
  extendHandle,
  succeededVideo,
  lastFrameDataUri,
  parseHandle,
  sourceInput,
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

export interface RunwayProviderOptions {
  apiKey: string;
  /** Default https://api.dev.runwayml.com (paths carry /v1). */
  baseURL?: string;
  config: ProviderConfig;
  store: MediaStore;
  logger?: Logger;
  /** Per HTTP request. */
  timeoutMs?: number;
  /** Limits for downloading a continuation to join (extend). */
  download?: Partial<DownloadLimits>;
}

/** Shown while Runway holds the task back (THROTTLED). */
export const THROTTLED_MESSAGE = 'throttled by Runway: over the concurrency limit';

// Runway takes HTTPS URLs, its upload URIs, or base64 data URIs "up to 5MB"
// (the SDK's docs for promptImage and videoUri).
const MEDIA_RULES: MediaInputRules = { provider: 'Runway', httpsOnly: true, maxDataUriChars: 5_000_000 };

const MAX_PROMPT_CHARS = 1000;

interface ModelRules {
  /** Runway's `ratio` strings, width:height in pixels. */
  ratios: readonly string[];
  /** Whole seconds: a range, or the only lengths allowed. */
  durations: { min: number; max: number } | readonly number[];
  promptRequired: boolean;
}

const GEN4_IMAGE_RATIOS = ['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672'];
const VEO_RATIOS = ['1280:720', '720:1280', '1080:1920', '1920:1080'];
const VEO: ModelRules = { ratios: VEO_RATIOS, durations: [4, 6, 8], promptRequired: false };

// From @runwayml/sdk 4.20's create params (API version 2024-11-06).
const TEXT_TO_VIDEO: Record<ProviderConfig['runway']['models']['textToVideo'], ModelRules> = {
  'gen4.5': { ratios: ['1280:720', '720:1280'], durations: { min: 2, max: 10 }, promptRequired: true },
  'veo3.1': { ...VEO, promptRequired: true },
  'veo3.1_fast': { ...VEO, promptRequired: true },
};

const IMAGE_TO_VIDEO: Record<ProviderConfig['runway']['models']['imageToVideo'], ModelRules> = {
  'gen4.5': { ratios: GEN4_IMAGE_RATIOS, durations: { min: 2, max: 10 }, promptRequired: true },
  gen4_turbo: { ratios: GEN4_IMAGE_RATIOS, durations: { min: 2, max: 10 }, promptRequired: false },
  'veo3.1': VEO,
  'veo3.1_fast': VEO,
};

type Plan =
  | { ok: true; endpoint: 'text_to_video' | 'image_to_video'; model: string; ratio: string; duration: number }
  | { ok: false; reason: string };

export class RunwayProvider implements VideoProvider {
  readonly name = 'runway';
  readonly runsInProcess = false;
  private readonly client: RunwayML;
  private readonly config: ProviderConfig['runway'];
  private readonly store: MediaStore;
  private readonly logger: Logger | undefined;
  private readonly secrets: readonly string[];
  private readonly download: DownloadLimits;

  constructor(options: RunwayProviderOptions) {
    this.client = new RunwayML({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      // No retries in the SDK. Its default (2, on 408/409/429/5xx) would
      // multiply with the routing layer's cockatiel retries and fallbacks, and
      // a retried create after a timeout may start (and bill) a second task.
      // A failed poll is asked again by the job poller on its schedule.
      maxRetries: 0,
      timeout: options.timeoutMs ?? 60_000,
      logLevel: 'off',
    });
    this.config = options.config.runway;
    this.store = options.store;
    this.logger = options.logger;
    this.secrets = [options.apiKey];
    this.download = { ...DEFAULT_DOWNLOAD_LIMITS, ...options.download };
  }

  supportsGenerate(request: GenerateVideoRequest): Support {
    const plan = this.planGenerate(request);
    return plan.ok ? { ok: true } : plan;
  }

  supportsEdit(request: EditVideoRequest): Support {
    const prompt = checkPrompt(request.prompt, false);
    if (!prompt.ok) return prompt;
    if (request.model !== undefined && request.model !== this.config.models.videoToVideo) {
      return { ok: false, reason: `Runway edits with ${this.config.models.videoToVideo}, not ${request.model}` };
    }
    return checkSourceInput(request.source, MEDIA_RULES);
  }

  supportsExtend(request: ExtendVideoRequest): Support {
    const plan = this.planExtend(request);
    return plan.ok ? { ok: true } : plan;
  }

  async generate(context: AttemptContext, request: GenerateVideoRequest): Promise<SubmitResult> {
    const plan = this.planGenerate(request);
    if (!plan.ok) throw refusedRequest('runway', plan.reason);
    const common = { ratio: plan.ratio, duration: plan.duration, seed: request.seed, promptText: request.prompt };
    const created =
      plan.endpoint === 'text_to_video'
        ? await this.call(() =>
            this.client.textToVideo.create({ model: plan.model, ...common } as TextToVideoCreateParams, { signal: context.signal }),
          )
        : await this.call(() =>
            this.client.imageToVideo.create(
              { model: plan.model, promptImage: request.imageUrl, ...common } as ImageToVideoCreateParams,
              { signal: context.signal },
            ),
          );
    return this.submitted(context, created, created.id, plan.model);
  }

  async edit(context: AttemptContext, request: EditVideoRequest): Promise<SubmitResult> {
    const support = this.supportsEdit(request);
    if (!support.ok) throw refusedRequest('runway', support.reason);
    const model = this.config.models.videoToVideo;
    const videoUri = await this.call(() => sourceInput(request.source, MEDIA_RULES));
    const created = await this.call(() =>
      this.client.videoToVideo.create({ model, videoUri, promptText: request.prompt } as VideoToVideoCreateParams, {
        signal: context.signal,
      }),
    );
    return this.submitted(context, created, created.id, model);
  }

  async extend(context: AttemptContext, request: ExtendVideoRequest): Promise<SubmitResult> {
    const plan = this.planExtend(request);
    if (!plan.ok) throw refusedRequest('runway', plan.reason);
    const target = { jobId: context.jobId, attempt: context.attempt, sourceKey: request.source.key };
    const promptImage = await this.call(() => lastFrameDataUri(this.store, target, MEDIA_RULES, context.signal));
    const created = await this.call(() =>
      this.client.imageToVideo.create(
        {
          model: plan.model,
          promptImage,
          promptText: request.prompt ?? CONTINUATION_PROMPT,
          ratio: plan.ratio,
          duration: plan.duration,
        } as ImageToVideoCreateParams,
        { signal: context.signal },
      ),
    );
    return this.submitted(context, created, extendHandle(created.id, target), plan.model);
  }

  async poll(handle: string): Promise<PollResult> {
    const { taskId, extend } = parseHandle(handle);
    let task: TaskRetrieveResponse;
    try {
      // Our own poller, never waitForTaskOutput: it polls every 6 s ± 1.5 s and cannot be tuned.
      task = await this.call(() => this.client.tasks.retrieve(taskId));
    } catch (error) {
      if (error instanceof ProviderCallError && error.httpStatus === 404) return { kind: 'lost' };
      throw error;
    }
    const costUsd = 'cost' in task ? this.usd(task.cost.credits) : undefined;
    switch (task.status) {
      case 'PENDING':
        return { kind: 'status', status: 'QUEUED', progress: null };
      case 'THROTTLED':
        return { kind: 'status', status: 'QUEUED', progress: null, message: THROTTLED_MESSAGE };
      case 'RUNNING':
        return { kind: 'status', status: 'RUNNING', progress: clampProgress(task.progress) };
      case 'SUCCEEDED':
        return succeededVideo({
          provider: 'runway',
          secrets: this.secrets,
          store: this.store,
          download: this.download,
          url: task.output[0],
          extend,
          costUsd,
        });
      case 'FAILED':
        return failedJob(jobFailureInfo({ code: task.failureCode, message: task.failure }), costUsd);
      case 'CANCELLED':
        return { kind: 'status', status: 'CANCELED', progress: null, costUsd };
      default: {
        const status = (task as { status?: unknown }).status;
        const message = `Runway answered an unknown task status "${String(status)}"`;
        return failedJob({ code: 'PROVIDER_ERROR', message, retryable: false });
      }
    }
  }

  /** DELETE /v1/tasks/{id} cancels a pending or running task (and deletes a finished one). */
  async cancel(handle: string): Promise<void> {
    const { taskId } = parseHandle(handle);
    try {
      await this.call(() => this.client.tasks.delete(taskId));
    } catch (error) {
      // Already gone: nothing left to stop.
      if (error instanceof ProviderCallError && error.httpStatus === 404) return;
      throw error;
    }
  }

  private planGenerate(request: GenerateVideoRequest): Plan {
    const endpoint = request.imageUrl ? 'image_to_video' : 'text_to_video';
    const table: Record<string, ModelRules> = endpoint === 'image_to_video' ? IMAGE_TO_VIDEO : TEXT_TO_VIDEO;
    const model = request.model ?? (endpoint === 'image_to_video' ? this.config.models.imageToVideo : this.config.models.textToVideo);
    const rules = table[model];
    if (!rules) return { ok: false, reason: `Runway has no ${endpoint.replace(/_/g, ' ')} model "${model}" here` };
    if (request.imageUrl && !request.imageUrl.startsWith('https://') && !request.imageUrl.startsWith('data:image/')) {
      return { ok: false, reason: 'Runway takes the first-frame image only as an https URL or a data URI' };
    }
    const prompt = checkPrompt(request.prompt, rules.promptRequired);
    if (!prompt.ok) return prompt;
    const duration = runwayDuration(model, rules, request.durationSeconds);
    if (!duration.ok) return duration;
    const ratio = matchingRatio(model, rules, request.width, request.height);
    if (!ratio.ok) return ratio;
    return { ok: true, endpoint, model, ratio: ratio.ratio, duration: duration.seconds };
  }

  private planExtend(request: ExtendVideoRequest): Plan {
    const model = request.model ?? this.config.models.imageToVideo;
    const rules = IMAGE_TO_VIDEO[model as keyof typeof IMAGE_TO_VIDEO];
    if (!rules) return { ok: false, reason: `Runway has no image to video model "${model}" here` };
    if (request.prompt !== undefined) {
      const prompt = checkPrompt(request.prompt, false);
      if (!prompt.ok) return prompt;
    }
    const duration = runwayDuration(model, rules, request.extensionSeconds);
    if (!duration.ok) return duration;
    // The continuation only has to come close: the join scales it into the source's frame.
    const ratio = nearestRatio(rules.ratios, request.source.width, request.source.height);
    return { ok: true, endpoint: 'image_to_video', model, ratio, duration: duration.seconds };
  }

  private submitted(
    context: AttemptContext,
    created: { id: string; estimatedCost?: { credits: number } },
    handle: string,
    model: string,
  ): SubmitResult {
    this.logger?.debug({ jobId: context.jobId, provider: this.name, providerJobId: created.id, model }, 'task submitted');
    return {
      providerJobId: handle,
      status: 'QUEUED',
      model,
      costEstimateUsd: created.estimatedCost ? this.usd(created.estimatedCost.credits) : undefined,
    };
  }

  private usd(credits: number): number {
    return credits * this.config.usdPerCredit;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return guardedCall('runway', this.secrets, run);
  }
}

function checkPrompt(prompt: string, required: boolean): Support {
  if (required && prompt.trim() === '') return { ok: false, reason: 'Runway needs a prompt for this model' };
  if (prompt.length > MAX_PROMPT_CHARS) {
    return { ok: false, reason: `Runway takes prompts of at most ${MAX_PROMPT_CHARS} characters, not ${prompt.length}` };
  }
  return { ok: true };
}

/** Runway takes whole seconds: the request's length is rounded, then checked against the model. */
type Checked<T> = ({ ok: true } & T) | { ok: false; reason: string };

function runwayDuration(model: string, rules: ModelRules, seconds: number): Checked<{ seconds: number }> {
  const whole = Math.round(seconds);
  const { durations } = rules;
  if ('min' in durations) {
    if (whole >= durations.min && whole <= durations.max) return { ok: true, seconds: whole };
    return { ok: false, reason: `Runway ${model} makes ${durations.min} to ${durations.max} second videos, not ${seconds}` };
  }
  if (durations.includes(whole)) return { ok: true, seconds: whole };
  return { ok: false, reason: `Runway ${model} makes videos of ${durations.join(', ')} seconds only, not ${seconds}` };
}

function ratioSize(ratio: string): { width: number; height: number } {
  const [width = 0, height = 0] = ratio.split(':').map(Number);
  return { width, height };
}

/**
 * Runway's ratio for our frame: the same shape (within 1 %), at least as many
 * lines as asked (the smallest such), so a 1080p request is never answered in 720p.
 */
function matchingRatio(model: string, rules: ModelRules, width: number, height: number): Checked<{ ratio: string }> {
  const wanted = width / height;
  const shortSide = Math.min(width, height);
  const sameShape = rules.ratios
    .map((ratio) => ({ ratio, ...ratioSize(ratio) }))
    .filter((r) => Math.abs(Math.log(r.width / r.height / wanted)) < 0.01);
  if (sameShape.length === 0) {
    return { ok: false, reason: `Runway ${model} has no ${width}x${height} frame shape; its ratios are ${rules.ratios.join(', ')}` };
  }
  const bigEnough = sameShape
    .filter((r) => Math.min(r.width, r.height) >= shortSide)
    .sort((a, b) => Math.min(a.width, a.height) - Math.min(b.width, b.height));
  const chosen = bigEnough[0];
  if (!chosen) {
    return {
      ok: false,
      reason: `Runway ${model} renders this shape only at ${sameShape.map((r) => r.ratio).join(', ')}, below the ${shortSide}p asked`,
    };
  }
  return { ok: true, ratio: chosen.ratio };
}

/** The ratio closest in shape to width x height. */
function nearestRatio(ratios: readonly string[], width: number, height: number): string {
  const wanted = Math.log(width / height);
  let best = ratios[0]!;
  for (const ratio of ratios) {
    const { width: w, height: h } = ratioSize(ratio);
    const bestSize = ratioSize(best);
    if (Math.abs(Math.log(w / h) - wanted) < Math.abs(Math.log(bestSize.width / bestSize.height) - wanted)) best = ratio;
  }
  return best;
}

function clampProgress(progress: number | undefined): number | null {
  if (typeof progress !== 'number' || !Number.isFinite(progress)) return null;
  return Math.min(1, Math.max(0, progress));
}


