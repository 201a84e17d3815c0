// What each provider and model can do, declared for the router: modality,
// operations, video limits (lengths, resolutions, aspect ratios, fps, first
// frame image, kinds of edit and extension), a price model for an estimate
// before submission, and priors (latency, success rate, rating) used until
// enough jobs have been observed. The cloud entries follow the provider
// configuration (models, prices); the limits mirror each adapter's supports*()
// checks, which stay the final word at submission.

import {
  ASPECT_RATIOS,
  VIDEO_RESOLUTIONS,
  assertUnreachable,
  type AspectRatio,
  type JobOperation,
  type Modality,
  type VideoResolution,
} from '../domain.js';
import { MAX_DURATION_SECONDS } from '../jobs/video-requests.js';
import { MAX_EXTENSION_SECONDS } from '../providers/local/extend.js';
import {
  defaultProviderConfig,
  type ProviderConfig,
  type ReplicateInputKind,
  type ReplicateModelConfig,
  RUNWAY_IMAGE_TO_VIDEO_MODELS,
  RUNWAY_TEXT_TO_VIDEO_MODELS,
} from '../provider-config.js';
import type { Classification, EditKind, ExtendKind } from './complexity.js';
import type { RouteRequest } from './request.js';

/** How a provider charges, enough to estimate a job's price before it is submitted. */
export type PriceModel =
  | { kind: 'free' }
  /** USD per second of output video. */
  | { kind: 'per-output-second'; usdPerSecond: number }
  /** Runway: credits per whole second of output, and what a credit costs. */
  | { kind: 'per-credit-second'; creditsPerSecond: number; usdPerCredit: number }
  /** Replicate: billed by the seconds the model runs, estimated from the output's length. */
  | { kind: 'per-compute-second'; usdPerComputeSecond: number; computeSecondsPerJob: number; computeSecondsPerOutputSecond: number }
  | { kind: 'per-job'; usdPerJob: number }
  | { kind: 'per-token'; inputPerMillionUsd: number; outputPerMillionUsd: number }
  | { kind: 'per-megapixel'; usdPerMegapixel: number }
  | { kind: 'per-character'; usdPerMillionCharacters: number }
  | { kind: 'per-audio-minute'; usdPerMinute: number };

export type ImageConditioning = 'none' | 'optional' | 'required';

export interface VideoLimits {
  /** Output seconds of a generation, or the added seconds of an extension. */
  seconds: { min: number; max: number };
  /** When set, only these lengths are made; a request within `lengthToleranceSeconds` of one is served. */
  lengths?: readonly number[];
  lengthToleranceSeconds?: number;
  resolutions: readonly VideoResolution[];
  aspectRatios: readonly AspectRatio[];
  fps: { min: number; max: number };
  /** For a generation: whether it can, or must, start from a first-frame image. */
  image: ImageConditioning;
  /** For an edit. */
  edits: readonly EditKind[];
  /** For an extension. */
  extensions: readonly Exclude<ExtendKind, 'any'>[];
}

/** What a provider and model are expected to do, before (or instead of) observed figures. */
export interface Expectation {
  /** Time to complete (to SUCCEEDED for async work), median. */
  latencyMs: number;
  successRate: number;
  /** 1..5, as rateJob records them. */
  rating: number;
}

export interface Capability {
  provider: string;
  model: string;
  modality: Modality;
  operations: readonly JobOperation[];
  /** Required for VIDEO. */
  video?: VideoLimits;
  price: PriceModel;
  expected: Expectation;
  /** Where an operation differs (the local provider's title scenes rate lower than its exact edits). */
  expectedByOperation?: Partial<Record<JobOperation, Partial<Expectation>>>;
}

// ---------------------------------------------------------------------------
// Estimates

/** The length assumed for an edit's source when it is not measured yet (a URL source). */
export const ASSUMED_EDIT_SOURCE_SECONDS = 5;

/** Defaults for a short call's size when the request does not say. */
export const DEFAULT_USAGE = {
  inputTokens: 500,
  outputTokens: 500,
  characters: 500,
  audioSeconds: 60,
  images: 1,
  width: 1024,
  height: 1024,
} as const;

/** The quantities a price model multiplies, read once per request. */
export interface WorkUnits {
  outputSeconds: number;
  inputTokens: number;
  outputTokens: number;
  characters: number;
  audioSeconds: number;
  megapixels: number;
}

export function workUnits(request: RouteRequest): WorkUnits {
  if (request.modality === 'VIDEO') {
    const video = request.video;
    const outputSeconds =
      video.operation === 'GENERATE'
        ? video.durationSeconds
        : video.operation === 'EXTEND'
          ? video.extensionSeconds
          : (video.sourceFacts?.durationSeconds ?? ASSUMED_EDIT_SOURCE_SECONDS);
    return { outputSeconds, inputTokens: 0, outputTokens: 0, characters: 0, audioSeconds: 0, megapixels: 0 };
  }
  const usage = request.usage ?? {};
  const images = usage.images ?? DEFAULT_USAGE.images;
  const width = usage.width ?? DEFAULT_USAGE.width;
  const height = usage.height ?? DEFAULT_USAGE.height;
  return {
    outputSeconds: 0,
    inputTokens: usage.inputTokens ?? DEFAULT_USAGE.inputTokens,
    outputTokens: usage.outputTokens ?? DEFAULT_USAGE.outputTokens,
    characters: usage.characters ?? DEFAULT_USAGE.characters,
    audioSeconds: usage.audioSeconds ?? DEFAULT_USAGE.audioSeconds,
    megapixels: (images * width * height) / 1e6,
  };
}

export function priceUsd(price: PriceModel, units: WorkUnits): number {
  switch (price.kind) {
    case 'free':
      return 0;
    case 'per-output-second':
      return price.usdPerSecond * units.outputSeconds;
    case 'per-credit-second':
      // Runway bills whole seconds, as its adapter rounds them.
      return price.creditsPerSecond * Math.max(1, Math.round(units.outputSeconds)) * price.usdPerCredit;
    case 'per-compute-second':
      return price.usdPerComputeSecond * (price.computeSecondsPerJob + price.computeSecondsPerOutputSecond * units.outputSeconds);
    case 'per-job':
      return price.usdPerJob;
    case 'per-token':
      return (units.inputTokens * price.inputPerMillionUsd + units.outputTokens * price.outputPerMillionUsd) / 1e6;
    case 'per-megapixel':
      return price.usdPerMegapixel * units.megapixels;
    case 'per-character':
      return (price.usdPerMillionCharacters * units.characters) / 1e6;
    case 'per-audio-minute':
      return (price.usdPerMinute * units.audioSeconds) / 60;
    default:
      return assertUnreachable(price);
  }
}

/** The estimated price of serving `request` with `capability`, in USD. */
export function estimateCostUsd(capability: Capability, request: RouteRequest): number {
  return priceUsd(capability.price, workUnits(request));
}

export function expectationFor(capability: Capability, operation: JobOperation): Expectation {
  const specific = capability.expectedByOperation?.[operation];
  return specific ? { ...capability.expected, ...specific } : capability.expected;
}

// ---------------------------------------------------------------------------
// Matching

/** Whether the capability takes this modality and operation at all. */
export function servesKind(capability: Capability, modality: Modality, operation: JobOperation): boolean {
  return capability.modality === modality && capability.operations.includes(operation);
}

/**
 * Why `capability` cannot serve `request`, or null when it can. The caller
 * has checked servesKind; `classification` says which kind of edit or
 * extension the request needs.
 */
export function unmetRequirement(capability: Capability, request: RouteRequest, classification: Classification): string | null {
  if (request.modality !== 'VIDEO') return null;
  const limits = capability.video;
  if (!limits) return 'declares no video limits';
  const video = request.video;
  switch (video.operation) {
    case 'GENERATE': {
      if (limits.image === 'required' && !video.imageUrl) return 'needs a first-frame image';
      if (limits.image === 'none' && video.imageUrl) return 'cannot start from an image';
      const seconds = secondsProblem(limits, video.durationSeconds);
      if (seconds) return seconds;
      if (!limits.resolutions.includes(video.resolution)) return `renders ${limits.resolutions.join(', ')}, not ${video.resolution}`;
      if (!limits.aspectRatios.includes(video.aspectRatio)) return `frames ${limits.aspectRatios.join(', ')}, not ${video.aspectRatio}`;
      const { min, max } = limits.fps;
      return video.fps < min || video.fps > max ? `takes ${min} to ${max} fps, not ${video.fps}` : null;
    }
    case 'EDIT': {
      const kind = classification.edit ?? 'generative';
      return limits.edits.includes(kind) ? null : `does no ${kind} edits`;
    }
    case 'EXTEND': {
      const kind = classification.extend ?? 'any';
      if (kind === 'any' ? limits.extensions.length === 0 : !limits.extensions.includes(kind)) {
        return limits.extensions.length === 0 ? 'does not extend videos' : `extends by ${limits.extensions.join(', ')}, not ${kind}`;
      }
      return secondsProblem(limits, video.extensionSeconds);
    }
    default:
      return assertUnreachable(video);
  }
}

function secondsProblem(limits: VideoLimits, seconds: number): string | null {
  if (limits.lengths) {
    const tolerance = limits.lengthToleranceSeconds ?? 0;
    if (limits.lengths.some((length) => Math.abs(length - seconds) <= tolerance)) return null;
    return `makes ${limits.lengths.join(' or ')} s videos, not ${seconds} s`;
  }
  if (seconds >= limits.seconds.min && seconds <= limits.seconds.max) return null;
  return `makes ${limits.seconds.min} to ${limits.seconds.max} s, not ${seconds} s`;
}

// ---------------------------------------------------------------------------
// Declarations

const ALL_RESOLUTIONS = VIDEO_RESOLUTIONS;
const ALL_RATIOS = ASPECT_RATIOS;
const ANY_FPS = { min: 1, max: 60 };
const NO_EDITS: readonly EditKind[] = [];
const ANY_EDIT: readonly EditKind[] = ['simple', 'generative'];
const NO_EXTENSIONS: VideoLimits['extensions'] = [];
const CONTINUATION: VideoLimits['extensions'] = ['continue'];

export const LOCAL_PROVIDER = 'local';
/** The local provider has one "model": ffmpeg in this process. */
export const LOCAL_MODEL = 'ffmpeg';

export function localCapabilities(): Capability[] {
  return [
    {
      provider: LOCAL_PROVIDER,
      model: LOCAL_MODEL,
      modality: 'VIDEO',
      operations: ['GENERATE', 'EDIT', 'EXTEND'],
      video: {
        seconds: { min: 0, max: Math.min(MAX_DURATION_SECONDS, MAX_EXTENSION_SECONDS) },
        resolutions: ALL_RESOLUTIONS,
        aspectRatios: ALL_RATIOS,
        fps: ANY_FPS,
        image: 'none',
        edits: ['simple'],
        extensions: ['freeze', 'loop', 'boomerang'],
      },
      price: { kind: 'free' },
      expected: { latencyMs: 6_000, successRate: 0.99, rating: 4 },
      // A drawn title scene is not the video a prompt describes; the edits and extensions are exact.
      expectedByOperation: { GENERATE: { rating: 2 }, EDIT: { latencyMs: 4_000, rating: 4.5 } },
    },
  ];
}

/** Together's video prices are not in the provider configuration: list prices at the time of writing, per second of output. */
export const TOGETHER_VIDEO_USD_PER_SECOND = { generate: 0.028, edit: 0.06, extend: 0.028 } as const;

/** Together's price for audio work (not in the provider configuration). */
export const TOGETHER_AUDIO_PRICES = { speechUsdPerMillionCharacters: 65, transcriptionUsdPerMinute: 0.0015 } as const;
export const TOGETHER_IMAGE_USD_PER_MEGAPIXEL = 0.0027;

export function togetherCapabilities(config: ProviderConfig['together']): Capability[] {
  const models = config.models;
  const chat = (model: string): PriceModel => ({ kind: 'per-token', ...(config.chatPrices.byModel[model] ?? config.chatPrices.default) });
  const short = (modality: Modality, operation: JobOperation, model: string, price: PriceModel, expected: Expectation): Capability => ({
    provider: 'together',
    model,
    modality,
    operations: [operation],
    price,
    expected,
  });
  const imagePrice: PriceModel = { kind: 'per-megapixel', usdPerMegapixel: TOGETHER_IMAGE_USD_PER_MEGAPIXEL };
  const speechPrice: PriceModel = { kind: 'per-character', usdPerMillionCharacters: TOGETHER_AUDIO_PRICES.speechUsdPerMillionCharacters };
  const transcriptionPrice: PriceModel = { kind: 'per-audio-minute', usdPerMinute: TOGETHER_AUDIO_PRICES.transcriptionUsdPerMinute };
  const seedance: Omit<VideoLimits, 'image' | 'edits' | 'extensions'> = {
    seconds: { min: 2, max: 12 },
    resolutions: ALL_RESOLUTIONS,
    aspectRatios: ALL_RATIOS,
    fps: ANY_FPS,
  };
  return mergeCapabilities([
    {
      provider: 'together',
      model: models.video.generate,
      modality: 'VIDEO',
      operations: ['GENERATE'],
      video: { ...seedance, image: 'optional', edits: NO_EDITS, extensions: NO_EXTENSIONS },
      price: { kind: 'per-output-second', usdPerSecond: TOGETHER_VIDEO_USD_PER_SECOND.generate },
      expected: { latencyMs: 60_000, successRate: 0.95, rating: 3.6 },
    },
    {
      provider: 'together',
      model: models.video.edit,
      modality: 'VIDEO',
      operations: ['EDIT'],
      video: { ...seedance, seconds: { min: 0, max: MAX_DURATION_SECONDS }, image: 'none', edits: ANY_EDIT, extensions: NO_EXTENSIONS },
      price: { kind: 'per-output-second', usdPerSecond: TOGETHER_VIDEO_USD_PER_SECOND.edit },
      expected: { latencyMs: 90_000, successRate: 0.93, rating: 3.5 },
    },
    {
      provider: 'together',
      model: models.video.extend,
      modality: 'VIDEO',
      operations: ['EXTEND'],
      video: { ...seedance, image: 'none', edits: NO_EDITS, extensions: CONTINUATION },
      price: { kind: 'per-output-second', usdPerSecond: TOGETHER_VIDEO_USD_PER_SECOND.extend },
      expected: { latencyMs: 70_000, successRate: 0.94, rating: 3.4 },
    },
    short('TEXT', 'GENERATE', models.text, chat(models.text), { latencyMs: 3_000, successRate: 0.99, rating: 4 }),
    short('CODE', 'GENERATE', models.code, chat(models.code), { latencyMs: 5_000, successRate: 0.99, rating: 4 }),
    short('VISION', 'ANALYZE', models.vision, chat(models.vision), { latencyMs: 4_000, successRate: 0.98, rating: 4 }),
    short('IMAGE', 'GENERATE', models.image, imagePrice, { latencyMs: 2_000, successRate: 0.98, rating: 3.8 }),
    short('AUDIO', 'SPEAK', models.speech, speechPrice, { latencyMs: 2_000, successRate: 0.99, rating: 4 }),
    short('AUDIO', 'TRANSCRIBE', models.transcription, transcriptionPrice, { latencyMs: 8_000, successRate: 0.99, rating: 4 }),
  ]);
}

type RunwayModel = (typeof RUNWAY_TEXT_TO_VIDEO_MODELS)[number] | (typeof RUNWAY_IMAGE_TO_VIDEO_MODELS)[number] | 'aleph2';

/** Runway's credits per second of output (API pricing at the time of writing). */
export const RUNWAY_CREDITS_PER_SECOND: Record<RunwayModel, number> = {
  'gen4.5': 12,
  gen4_turbo: 5,
  'veo3.1': 40,
  'veo3.1_fast': 15,
  aleph2: 15,
};

const RUNWAY_EXPECTED: Record<RunwayModel, Expectation> = {
  'gen4.5': { latencyMs: 90_000, successRate: 0.96, rating: 4.5 },
  gen4_turbo: { latencyMs: 45_000, successRate: 0.96, rating: 4.1 },
  'veo3.1': { latencyMs: 120_000, successRate: 0.95, rating: 4.6 },
  'veo3.1_fast': { latencyMs: 70_000, successRate: 0.95, rating: 4.3 },
  aleph2: { latencyMs: 120_000, successRate: 0.94, rating: 4.4 },
};

/** Per model, as the Runway adapter's tables check them (a shape within 1 % and at least the asked resolution). */
function runwayGenerateLimits(model: RunwayModel, image: ImageConditioning): VideoLimits {
  const veo = model === 'veo3.1' || model === 'veo3.1_fast';
  const textOnly = image === 'none';
  return {
    seconds: veo ? { min: 4, max: 8 } : { min: 2, max: 10 },
    ...(veo ? { lengths: [4, 6, 8], lengthToleranceSeconds: 0.5 } : {}),
    resolutions: veo ? ['480p', '720p', '1080p'] : ['480p', '720p'],
    // gen4.5 from text frames 16:9 and 9:16 only; from an image, gen4 has square and 4:3 frames too.
    aspectRatios: veo || (model === 'gen4.5' && textOnly) ? ['16:9', '9:16'] : ALL_RATIOS,
    fps: ANY_FPS,
    image,
    edits: NO_EDITS,
    // The image-to-video model makes the continuation of an extension.
    extensions: image === 'none' ? NO_EXTENSIONS : CONTINUATION,
  };
}

export function runwayCapabilities(config: ProviderConfig['runway']): Capability[] {
  const { textToVideo, imageToVideo, videoToVideo } = config.models;
  const entry = (model: RunwayModel, operations: JobOperation[], video: VideoLimits): Capability => ({
    provider: 'runway',
    model,
    modality: 'VIDEO',
    operations,
    video,
    price: { kind: 'per-credit-second', creditsPerSecond: RUNWAY_CREDITS_PER_SECOND[model], usdPerCredit: config.usdPerCredit },
    expected: RUNWAY_EXPECTED[model],
  });
  return mergeCapabilities([
    entry(textToVideo, ['GENERATE'], runwayGenerateLimits(textToVideo, 'none')),
    entry(imageToVideo, ['GENERATE', 'EXTEND'], runwayGenerateLimits(imageToVideo, 'required')),
    entry(videoToVideo, ['EDIT'], {
      seconds: { min: 0, max: MAX_DURATION_SECONDS },
      resolutions: ALL_RESOLUTIONS,
      aspectRatios: ALL_RATIOS,
      fps: ANY_FPS,
      image: 'none',
      edits: ANY_EDIT,
      extensions: NO_EXTENSIONS,
    }),
  ]);
}

interface ReplicateKindProfile {
  limits: Pick<VideoLimits, 'seconds' | 'lengths' | 'lengthToleranceSeconds' | 'resolutions' | 'aspectRatios'>;
  /** Typical seconds of predict_time, which Replicate bills. */
  compute: { perJob: number; perOutputSecond: number };
  expected: Expectation;
}

/** What each input mapping of the Replicate adapter accepts (mapInput), with typical run times. */
const REPLICATE_KINDS: Record<ReplicateInputKind, ReplicateKindProfile> = {
  'minimax-video-01': {
    limits: { seconds: { min: 5, max: 7 }, lengths: [6], lengthToleranceSeconds: 1, resolutions: ['480p', '720p'], aspectRatios: ['16:9'] },
    compute: { perJob: 0, perOutputSecond: 30 },
    expected: { latencyMs: 180_000, successRate: 0.94, rating: 3.8 },
  },
  'kling-v2': {
    limits: {
      seconds: { min: 4, max: 11 },
      lengths: [5, 10],
      lengthToleranceSeconds: 1,
      resolutions: ALL_RESOLUTIONS,
      aspectRatios: ALL_RATIOS,
    },
    compute: { perJob: 0, perOutputSecond: 20 },
    expected: { latencyMs: 120_000, successRate: 0.95, rating: 4.2 },
  },
  'wan-i2v': {
    limits: { seconds: { min: 4, max: 8.5 }, resolutions: ['480p', '720p'], aspectRatios: ALL_RATIOS },
    compute: { perJob: 0, perOutputSecond: 6 },
    expected: { latencyMs: 40_000, successRate: 0.95, rating: 3.5 },
  },
  'stable-video-diffusion': {
    limits: { seconds: { min: 0.5, max: 6 }, resolutions: ['480p', '720p'], aspectRatios: ALL_RATIOS },
    compute: { perJob: 60, perOutputSecond: 0 },
    expected: { latencyMs: 60_000, successRate: 0.96, rating: 3 },
  },
};

export function replicateCapabilities(config: ProviderConfig['replicate']): Capability[] {
  return mergeCapabilities(config.models.map(replicateCapability));
}

function replicateCapability(entry: ReplicateModelConfig): Capability {
  const profile = REPLICATE_KINDS[entry.input];
  const fromText = entry.operations.includes('text-to-video');
  const fromImage = entry.operations.includes('image-to-video');
  return {
    provider: 'replicate',
    model: entry.model,
    modality: 'VIDEO',
    // An extension is an image-to-video continuation of the source's last frame.
    operations: fromImage ? ['GENERATE', 'EXTEND'] : ['GENERATE'],
    video: {
      ...profile.limits,
      fps: ANY_FPS,
      image: fromText && fromImage ? 'optional' : fromImage ? 'required' : 'none',
      edits: NO_EDITS,
      extensions: fromImage ? CONTINUATION : NO_EXTENSIONS,
    },
    price: {
      kind: 'per-compute-second',
      usdPerComputeSecond: entry.pricePerSecondUsd,
      computeSecondsPerJob: profile.compute.perJob,
      computeSecondsPerOutputSecond: profile.compute.perOutputSecond,
    },
    expected: profile.expected,
  };
}

/** Every provider's capabilities under a provider configuration (registered or not: the router filters by what is registered). */
export function defaultCapabilities(config: ProviderConfig = defaultProviderConfig): Capability[] {
  return [
    ...localCapabilities(),
    ...togetherCapabilities(config.together),
    ...runwayCapabilities(config.runway),
    ...replicateCapabilities(config.replicate),
  ];
}

/**
 * One record per provider, model and modality: when a configuration names a
 * model for two roles (Runway's gen4.5 for text and image to video), its
 * operations and limits are joined. The first record's price and priors stay.
 */
export function mergeCapabilities(capabilities: readonly Capability[]): Capability[] {
  const merged = new Map<string, Capability>();
  for (const capability of capabilities) {
    const key = `${capability.provider}\u0000${capability.model}\u0000${capability.modality}`;
    const earlier = merged.get(key);
    merged.set(key, earlier ? joinCapabilities(earlier, capability) : capability);
  }
  return [...merged.values()];
}

function joinCapabilities(a: Capability, b: Capability): Capability {
  const union = <T>(x: readonly T[], y: readonly T[]) => [...new Set([...x, ...y])];
  const video =
    a.video && b.video
      ? {
          ...a.video,
          seconds: { min: Math.min(a.video.seconds.min, b.video.seconds.min), max: Math.max(a.video.seconds.max, b.video.seconds.max) },
          resolutions: union(a.video.resolutions, b.video.resolutions),
          aspectRatios: union(a.video.aspectRatios, b.video.aspectRatios),
          image: a.video.image === b.video.image ? a.video.image : ('optional' as const),
          edits: union(a.video.edits, b.video.edits),
          extensions: union(a.video.extensions, b.video.extensions),
        }
      : (a.video ?? b.video);
  return { ...a, operations: union(a.operations, b.operations), ...(video ? { video } : {}) };
}
