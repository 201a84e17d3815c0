// Validation of the video mutations' inputs into normalised requests. Every
// problem is a ValidationError naming the offending field's path.

import { createHash } from 'node:crypto';
import { ASPECT_RATIOS, VIDEO_RESOLUTIONS, frameSize, type AspectRatio, type VideoResolution } from '../domain.js';
import { ValidationError } from '../errors.js';

export const MAX_PROMPT_CHARS = 4000;
export const MAX_DURATION_SECONDS = 60;

export interface GenerateVideoInput {
  routing?: RoutingInputLike | null;
  prompt: string;
  durationSeconds?: number | null;
  fps?: number | null;
  resolution?: string | null;
  aspectRatio?: string | null;
  imageUrl?: string | null;
  seed?: number | null;
  negativePrompt?: string | null;
}

export interface EditVideoInput {
  routing?: RoutingInputLike | null;
  sourceJobId?: string | null;
  sourceVideoUrl?: string | null;
  prompt: string;
}

export interface ExtendVideoInput {
  routing?: RoutingInputLike | null;
  sourceJobId?: string | null;
  sourceVideoUrl?: string | null;
  extensionSeconds: number;
  prompt?: string | null;
}

export interface RoutingInputLike {
  provider?: string | null;
  model?: string | null;
  tier?: 'ECONOMY' | 'STANDARD' | 'PREMIUM' | null;
  strategy?: 'BALANCED' | 'CHEAPEST' | 'FASTEST' | 'BEST_QUALITY' | null;
  maxCostUsd?: number | null;
  allowFallback?: boolean | null;
}

/** What the request pins: a provider and, within it, a model. */
export interface RoutingPin {
  provider?: string;
  model?: string;
}

/** The caller's routing wishes, as stored with the job (the pin, and how to choose among the rest). */
export interface RoutingWishes extends RoutingPin {
  tier?: 'ECONOMY' | 'STANDARD' | 'PREMIUM';
  strategy?: 'BALANCED' | 'CHEAPEST' | 'FASTEST' | 'BEST_QUALITY';
  maxCostUsd?: number;
  /** False turns fallbacks off, at submission and after acceptance. */
  allowFallback?: boolean;
}

/** The routing input of any mutation, validated; undefined when it asks for nothing. */
export function parseRouting(routing: RoutingInputLike | null | undefined): RoutingWishes | undefined {
  const provider = routing?.provider?.trim().toLowerCase() || undefined;
  const model = routing?.model?.trim() || undefined;
  if (model && !provider) throw new ValidationError('pin a provider to pin a model', 'input.routing.provider');
  const maxCostUsd = routing?.maxCostUsd ?? undefined;
  if (maxCostUsd !== undefined && (!Number.isFinite(maxCostUsd) || maxCostUsd < 0)) {
    throw new ValidationError('maxCostUsd must be 0 or more', 'input.routing.maxCostUsd');
  }
  const wishes: RoutingWishes = {
    ...(provider ? { provider } : {}),
    ...(model ? { model } : {}),
    ...(routing?.tier ? { tier: routing.tier } : {}),
    ...(routing?.strategy ? { strategy: routing.strategy } : {}),
    ...(maxCostUsd !== undefined ? { maxCostUsd } : {}),
    ...(routing?.allowFallback != null ? { allowFallback: routing.allowFallback } : {}),
  };
  return Object.keys(wishes).length > 0 ? wishes : undefined;
}

export type VideoSourceRef = { kind: 'job'; jobId: string } | { kind: 'url'; url: string };

export interface GenerateVideoSpec {
  routing?: RoutingWishes;
  operation: 'GENERATE';
  prompt: string;
  durationSeconds: number;
  fps: number;
  resolution: VideoResolution;
  aspectRatio: AspectRatio;
  width: number;
  height: number;
  seed: number;
  imageUrl?: string;
  negativePrompt?: string;
}

export interface EditVideoSpec {
  routing?: RoutingWishes;
  operation: 'EDIT';
  prompt: string;
  source: VideoSourceRef;
}

export interface ExtendVideoSpec {
  routing?: RoutingWishes;
  operation: 'EXTEND';
  prompt?: string;
  extensionSeconds: number;
  source: VideoSourceRef;
}

export type VideoSpec = GenerateVideoSpec | EditVideoSpec | ExtendVideoSpec;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isJobId(value: string): boolean {
  return UUID.test(value);
}

function prompt(value: string | null | undefined, field: string, options: { required: boolean }): string | undefined {
  const text = value?.trim() ?? '';
  if (text === '') {
    if (options.required) throw new ValidationError('prompt must not be empty', field);
    return undefined;
  }
  if (text.length > MAX_PROMPT_CHARS) {
    throw new ValidationError(`prompt is ${text.length} characters; at most ${MAX_PROMPT_CHARS} are allowed`, field);
  }
  return text;
}

/** An https URL, or a ValidationError naming the field. */
export function httpsUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ValidationError('not a valid URL', field);
  }
  if (url.protocol !== 'https:') throw new ValidationError('only https URLs are accepted', field);
  return url.toString();
}

/** A default seed derived from the prompt, so a request without one is still reproducible. */
function promptSeed(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) & 0x7fffffff;
}

export function parseGenerateVideo(input: GenerateVideoInput): GenerateVideoSpec {
  const text = prompt(input.prompt, 'input.prompt', { required: true })!;
  const durationSeconds = input.durationSeconds ?? 5;
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0 || durationSeconds > MAX_DURATION_SECONDS) {
    throw new ValidationError(
      `durationSeconds must be greater than 0 and at most ${MAX_DURATION_SECONDS}`,
      'input.durationSeconds',
    );
  }
  const fps = input.fps ?? 24;
  if (!Number.isInteger(fps) || fps < 1 || fps > 60) {
    throw new ValidationError('fps must be a whole number from 1 to 60', 'input.fps');
  }
  const resolution = (input.resolution ?? '720p') as VideoResolution;
  if (!VIDEO_RESOLUTIONS.includes(resolution)) {
    throw new ValidationError(`resolution must be one of ${VIDEO_RESOLUTIONS.join(', ')}`, 'input.resolution');
  }
  const aspectRatio = (input.aspectRatio ?? '16:9') as AspectRatio;
  if (!ASPECT_RATIOS.includes(aspectRatio)) {
    throw new ValidationError(`aspectRatio must be one of ${ASPECT_RATIOS.join(', ')}`, 'input.aspectRatio');
  }
  const seed = input.seed ?? promptSeed(text);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new ValidationError('seed must be a whole number of 0 or more', 'input.seed');
  }
  const spec: GenerateVideoSpec = {
    operation: 'GENERATE',
    prompt: text,
    durationSeconds,
    fps,
    resolution,
    aspectRatio,
    ...frameSize(resolution, aspectRatio),
    seed,
  };
  const pin = parseRouting(input.routing);
  if (pin) spec.routing = pin;
  if (input.imageUrl != null) spec.imageUrl = httpsUrl(input.imageUrl, 'input.imageUrl');
  const negative = prompt(input.negativePrompt, 'input.negativePrompt', { required: false });
  if (negative) spec.negativePrompt = negative;
  return spec;
}

function sourceRef(input: { sourceJobId?: string | null; sourceVideoUrl?: string | null }): VideoSourceRef {
  const hasJob = input.sourceJobId != null && input.sourceJobId !== '';
  const hasUrl = input.sourceVideoUrl != null && input.sourceVideoUrl !== '';
  if (hasJob === hasUrl) {
    throw new ValidationError('give exactly one of sourceJobId and sourceVideoUrl', hasJob ? 'input.sourceJobId' : 'input');
  }
  if (hasJob) return { kind: 'job', jobId: input.sourceJobId! };
  return { kind: 'url', url: httpsUrl(input.sourceVideoUrl!, 'input.sourceVideoUrl') };
}

export function parseEditVideo(input: EditVideoInput): EditVideoSpec {
  const source = sourceRef(input);
  const spec: EditVideoSpec = { operation: 'EDIT', prompt: prompt(input.prompt, 'input.prompt', { required: true })!, source };
  const pin = parseRouting(input.routing);
  if (pin) spec.routing = pin;
  return spec;
}

export function parseExtendVideo(input: ExtendVideoInput): ExtendVideoSpec {
  const source = sourceRef(input);
  const seconds = input.extensionSeconds;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_DURATION_SECONDS) {
    throw new ValidationError(
      `extensionSeconds must be greater than 0 and at most ${MAX_DURATION_SECONDS}`,
      'input.extensionSeconds',
    );
  }
  const spec: ExtendVideoSpec = { operation: 'EXTEND', extensionSeconds: seconds, source };
  const text = prompt(input.prompt, 'input.prompt', { required: false });
  if (text) spec.prompt = text;
  const pin = parseRouting(input.routing);
  if (pin) spec.routing = pin;
  return spec;
}

/** The idempotency key of any mutation: 1 to 200 characters. */
export function parseIdempotencyKey(value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  if (value.trim() === '' || value.length > 200) {
    throw new ValidationError('idempotencyKey must have 1 to 200 characters', 'input.idempotencyKey');
  }
  return value;
}

/** Hash of a normalised request, for idempotency: same key and same hash is the same request. */
export function inputHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
