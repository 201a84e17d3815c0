// The cloud providers' configuration file: which model serves each modality
// and operation, and what things cost. A JSON file (CONFIG_FILE) overrides
// any part of the defaults; the merged result is validated once at start and
// every problem is reported together.

import { readFileSync } from 'node:fs';
import { z } from 'zod';

const modelId = z.string().trim().min(1);

/** USD per million tokens. */
const chatPriceSchema = z.strictObject({
  inputPerMillionUsd: z.number().nonnegative(),
  outputPerMillionUsd: z.number().nonnegative(),
});
export type ChatPrice = z.infer<typeof chatPriceSchema>;

/** The Runway models whose request rules (ratios, durations) the adapter knows. */
export const RUNWAY_TEXT_TO_VIDEO_MODELS = ['gen4.5', 'veo3.1', 'veo3.1_fast'] as const;
export const RUNWAY_IMAGE_TO_VIDEO_MODELS = ['gen4.5', 'gen4_turbo', 'veo3.1', 'veo3.1_fast'] as const;
export const RUNWAY_VIDEO_TO_VIDEO_MODELS = ['aleph2'] as const;

/**
 * How a Replicate model's inputs are filled from our request; each kind knows
 * its fields (prompt, first frame, duration or frame count).
 */
export const REPLICATE_INPUT_KINDS = ['minimax-video-01', 'kling-v2', 'wan-i2v', 'stable-video-diffusion'] as const;
export type ReplicateInputKind = (typeof REPLICATE_INPUT_KINDS)[number];

/** Kinds that cannot start without an image, so they never serve text to video. */
const IMAGE_REQUIRED_KINDS: ReadonlySet<ReplicateInputKind> = new Set(['kling-v2', 'wan-i2v', 'stable-video-diffusion']);

export const REPLICATE_OPERATIONS = ['text-to-video', 'image-to-video'] as const;
export type ReplicateOperation = (typeof REPLICATE_OPERATIONS)[number];

const replicateModelSchema = z
  .strictObject({
    /** `owner/name`: predictions go to POST /v1/models/{owner}/{name}/predictions (the latest version). */
    model: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/name'),
    operations: z.array(z.enum(REPLICATE_OPERATIONS)).min(1),
    input: z.enum(REPLICATE_INPUT_KINDS),
    /** USD per second of `metrics.predict_time`. */
    pricePerSecondUsd: z.number().nonnegative(),
  })
  .refine((entry) => !(entry.operations.includes('text-to-video') && IMAGE_REQUIRED_KINDS.has(entry.input)), {
    message: 'this input kind needs a first-frame image and cannot serve text-to-video',
    path: ['operations'],
  });
export type ReplicateModelConfig = z.infer<typeof replicateModelSchema>;

export const providerConfigSchema = z.strictObject({
  together: z.strictObject({
    models: z.strictObject({
      text: modelId,
      code: modelId,
      image: modelId,
      speech: modelId,
      transcription: modelId,
      vision: modelId,
      video: z.strictObject({
        generate: modelId,
        /** A videoedit model: takes `media.source_video`. */
        edit: modelId,
        /** A model that continues a starting clip given in `media.frame_videos`. */
        extend: modelId,
      }),
    }),
    /** Voice for speech when the request names none (voices differ per model). */
    speechVoice: z.string().trim().min(1),
    chatPrices: z.strictObject({
      /** For chat models without an entry in `byModel`. */
      default: chatPriceSchema,
      byModel: z.record(modelId, chatPriceSchema),
    }),
  }),
  runway: z.strictObject({
    models: z.strictObject({
      textToVideo: z.enum(RUNWAY_TEXT_TO_VIDEO_MODELS),
      /** Used when the request has a first-frame image, and for the continuation of an extend. */
      imageToVideo: z.enum(RUNWAY_IMAGE_TO_VIDEO_MODELS),
      videoToVideo: z.enum(RUNWAY_VIDEO_TO_VIDEO_MODELS),
    }),
    usdPerCredit: z.number().positive(),
  }),
  replicate: z.strictObject({
    /** In order of preference: the first model that serves an operation and duration is used. */
    models: z.array(replicateModelSchema).min(1),
  }),
  /** The routing policy to seed (src/routing/policy.ts validates it). */
  routing: z.record(z.string(), z.unknown()).optional(),
});

export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type TogetherConfig = ProviderConfig['together'];
export type RunwayConfig = ProviderConfig['runway'];
export type ReplicateConfig = ProviderConfig['replicate'];

// Model ids are the providers' current public ones (Together's catalog,
// @runwayml/sdk 4.20's model unions, Replicate's official models). Prices are
// the providers' list prices at the time of writing: calibrate them in the
// config file; they only feed cost reports.
export const defaultProviderConfig: ProviderConfig = {
  together: {
    models: {
      text: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
      code: 'Qwen/Qwen2.5-Coder-32B-Instruct',
      image: 'black-forest-labs/FLUX.1-schnell',
      speech: 'cartesia/sonic',
      transcription: 'openai/whisper-large-v3',
      vision: 'Qwen/Qwen2.5-VL-72B-Instruct',
      video: {
        generate: 'ByteDance/Seedance-1.0-lite',
        edit: 'Wan-AI/Wan2.7-VideoEdit',
        extend: 'ByteDance/Seedance-1.0-lite',
      },
    },
    speechVoice: 'helpful woman',
    chatPrices: {
      default: { inputPerMillionUsd: 0.88, outputPerMillionUsd: 0.88 },
      byModel: {
        'meta-llama/Llama-3.3-70B-Instruct-Turbo': { inputPerMillionUsd: 0.88, outputPerMillionUsd: 0.88 },
        'Qwen/Qwen2.5-Coder-32B-Instruct': { inputPerMillionUsd: 0.8, outputPerMillionUsd: 0.8 },
        'Qwen/Qwen2.5-VL-72B-Instruct': { inputPerMillionUsd: 1.95, outputPerMillionUsd: 8 },
      },
    },
  },
  runway: {
    models: { textToVideo: 'gen4.5', imageToVideo: 'gen4_turbo', videoToVideo: 'aleph2' },
    usdPerCredit: 0.01,
  },
  replicate: {
    // Replicate bills these official models per output, not per second; the
    // per-second prices approximate that over a typical predict_time.
    models: [
      {
        model: 'minimax/video-01',
        operations: ['text-to-video', 'image-to-video'],
        input: 'minimax-video-01',
        pricePerSecondUsd: 0.0028,
      },
      { model: 'kwaivgi/kling-v2.1', operations: ['image-to-video'], input: 'kling-v2', pricePerSecondUsd: 0.0025 },
      { model: 'wan-video/wan-2.2-i2v-fast', operations: ['image-to-video'], input: 'wan-i2v', pricePerSecondUsd: 0.0014 },
      {
        model: 'stability-ai/stable-video-diffusion',
        operations: ['image-to-video'],
        input: 'stable-video-diffusion',
        // Billed by hardware time (an A100 80GB).
        pricePerSecondUsd: 0.0014,
      },
    ],
  },
};

export class ProviderConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid provider configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ProviderConfigError';
  }
}

/**
 * The defaults, or the defaults overridden by the JSON file at `path`: objects
 * merge key by key, anything else (arrays included) replaces the default.
 * Throws ProviderConfigError listing every problem.
 */
export function loadProviderConfig(path?: string): ProviderConfig {
  if (path === undefined || path.trim() === '') return parseProviderConfig(defaultProviderConfig, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ProviderConfigError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  let overrides: unknown;
  try {
    overrides = JSON.parse(text);
  } catch (error) {
    throw new ProviderConfigError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  if (!isPlainObject(overrides)) throw new ProviderConfigError(path, ['the file must hold a JSON object']);
  return parseProviderConfig(mergeOverrides(defaultProviderConfig, overrides), path);
}

/** Validates a whole configuration object (already merged with the defaults). */
export function parseProviderConfig(value: unknown, source = 'config'): ProviderConfig {
  const parsed = providerConfigSchema.safeParse(value);
  if (!parsed.success) {
    throw new ProviderConfigError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

function mergeOverrides(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    merged[key] = key in base ? mergeOverrides(base[key], value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
