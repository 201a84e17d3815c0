import { describe, expect, it } from 'vitest';
import { defaultProviderConfig, parseProviderConfig, type ProviderConfig } from '../../src/provider-config.js';
import {
  defaultCapabilities,
  estimateCostUsd,
  priceUsd,
  runwayCapabilities,
  type Capability,
  type PriceModel,
  type WorkUnits,
} from '../../src/routing/capabilities.js';
import { videoRouteRequest } from '../../src/routing/request.js';
import { parseEditVideo, parseExtendVideo, parseGenerateVideo } from '../../src/jobs/video-requests.js';
import { editRequest, generateRequest } from './fixtures.js';

const units = (overrides: Partial<WorkUnits>): WorkUnits => ({
  outputSeconds: 0,
  inputTokens: 0,
  outputTokens: 0,
  characters: 0,
  audioSeconds: 0,
  megapixels: 0,
  ...overrides,
});

function find(capabilities: Capability[], provider: string, model: string): Capability {
  const found = capabilities.find((c) => c.provider === provider && c.model === model);
  if (!found) throw new Error(`no ${provider} ${model}`);
  return found;
}

describe('price models', () => {
  it.each<[string, PriceModel, Partial<WorkUnits>, number]>([
    ['free', { kind: 'free' }, { outputSeconds: 10 }, 0],
    ['per output second', { kind: 'per-output-second', usdPerSecond: 0.03 }, { outputSeconds: 5 }, 0.15],
    [
      'per credit second, whole seconds',
      { kind: 'per-credit-second', creditsPerSecond: 12, usdPerCredit: 0.01 },
      { outputSeconds: 4.6 },
      0.6,
    ],
    [
      'per compute second',
      { kind: 'per-compute-second', usdPerComputeSecond: 0.002, computeSecondsPerJob: 10, computeSecondsPerOutputSecond: 20 },
      { outputSeconds: 5 },
      0.22,
    ],
    ['per job', { kind: 'per-job', usdPerJob: 0.4 }, {}, 0.4],
    ['per token', { kind: 'per-token', inputPerMillionUsd: 1, outputPerMillionUsd: 3 }, { inputTokens: 2_000, outputTokens: 1_000 }, 0.005],
    ['per megapixel', { kind: 'per-megapixel', usdPerMegapixel: 0.0027 }, { megapixels: 2 }, 0.0054],
    ['per character', { kind: 'per-character', usdPerMillionCharacters: 65 }, { characters: 10_000 }, 0.65],
    ['per audio minute', { kind: 'per-audio-minute', usdPerMinute: 0.006 }, { audioSeconds: 90 }, 0.009],
  ])('%s', (_name, price, work, expected) => {
    expect(priceUsd(price, units(work))).toBeCloseTo(expected, 10);
  });
});

describe('default capabilities', () => {
  const capabilities = defaultCapabilities();

  it('declare every provider and model the adapters use', () => {
    const declared = capabilities.map((c) => `${c.provider} ${c.modality} ${c.model} ${c.operations.join('+')}`);
    expect(declared).toEqual([
      'local VIDEO ffmpeg GENERATE+EDIT+EXTEND',
      'together VIDEO ByteDance/Seedance-1.0-lite GENERATE+EXTEND',
      'together VIDEO Wan-AI/Wan2.7-VideoEdit EDIT',
      'together TEXT meta-llama/Llama-3.3-70B-Instruct-Turbo GENERATE',
      'together CODE Qwen/Qwen2.5-Coder-32B-Instruct GENERATE',
      'together VISION Qwen/Qwen2.5-VL-72B-Instruct ANALYZE',
      'together IMAGE black-forest-labs/FLUX.1-schnell GENERATE',
      'together AUDIO cartesia/sonic SPEAK',
      'together AUDIO openai/whisper-large-v3 TRANSCRIBE',
      'runway VIDEO gen4.5 GENERATE',
      'runway VIDEO gen4_turbo GENERATE+EXTEND',
      'runway VIDEO aleph2 EDIT',
      'replicate VIDEO minimax/video-01 GENERATE+EXTEND',
      'replicate VIDEO kwaivgi/kling-v2.1 GENERATE+EXTEND',
      'replicate VIDEO wan-video/wan-2.2-i2v-fast GENERATE+EXTEND',
      'replicate VIDEO stability-ai/stable-video-diffusion GENERATE+EXTEND',
    ]);
    expect(find(capabilities, 'local', 'ffmpeg').price).toEqual({ kind: 'free' });
  });

  it('estimate from the configured prices', () => {
    const request = generateRequest({ durationSeconds: 5 });
    // gen4.5: 12 credits a second at $0.01.
    expect(estimateCostUsd(find(capabilities, 'runway', 'gen4.5'), request)).toBeCloseTo(0.6, 10);
    // minimax: $0.0028 a second of predict time, about 30 s of it per output second.
    expect(estimateCostUsd(find(capabilities, 'replicate', 'minimax/video-01'), generateRequest({ durationSeconds: 6 }))).toBeCloseTo(
      0.0028 * 180,
      10,
    );
    expect(estimateCostUsd(find(capabilities, 'local', 'ffmpeg'), request)).toBe(0);
    // An edit is priced by its source's length.
    expect(estimateCostUsd(find(capabilities, 'runway', 'aleph2'), editRequest('make it look like a watercolour'))).toBeCloseTo(0.75, 10);
  });

  it('follow the provider configuration', () => {
    const config: ProviderConfig = parseProviderConfig({
      ...defaultProviderConfig,
      runway: { models: { textToVideo: 'gen4.5', imageToVideo: 'gen4.5', videoToVideo: 'aleph2' }, usdPerCredit: 0.02 },
      replicate: {
        models: [{ model: 'acme/fast-video', operations: ['text-to-video'], input: 'minimax-video-01', pricePerSecondUsd: 0.01 }],
      },
    });
    const capabilities = defaultCapabilities(config);
    // One model in two roles is one record: text or image, and the continuation.
    const gen45 = runwayCapabilities(config.runway);
    expect(gen45.map((c) => c.model)).toEqual(['gen4.5', 'aleph2']);
    expect(gen45[0]!.operations).toEqual(['GENERATE', 'EXTEND']);
    expect(gen45[0]!.video?.image).toBe('optional');
    expect(estimateCostUsd(gen45[0]!, generateRequest({ durationSeconds: 5 }))).toBeCloseTo(1.2, 10);
    const acme = find(capabilities, 'replicate', 'acme/fast-video');
    expect(acme.operations).toEqual(['GENERATE']);
    expect(acme.video?.image).toBe('none');
    expect(estimateCostUsd(acme, generateRequest({ durationSeconds: 6 }))).toBeCloseTo(1.8, 10);
  });
});

describe('videoRouteRequest', () => {
  it('carries a validated spec, its pin and the caller’s wishes', () => {
    const spec = parseGenerateVideo({ prompt: 'a lighthouse', durationSeconds: 4, routing: { provider: 'runway', model: 'gen4.5' } });
    expect(videoRouteRequest(spec, { tier: 'PREMIUM', maxCostUsd: 1, callerKey: 'k' })).toEqual({
      modality: 'VIDEO',
      operation: 'GENERATE',
      video: { operation: 'GENERATE', prompt: 'a lighthouse', durationSeconds: 4, fps: 24, resolution: '720p', aspectRatio: '16:9' },
      pin: { provider: 'runway', model: 'gen4.5' },
      tier: 'PREMIUM',
      maxCostUsd: 1,
      callerKey: 'k',
    });
    const source = { durationSeconds: 8, width: 1280, height: 720 };
    const edit = videoRouteRequest(parseEditVideo({ sourceJobId: '0190d9d6-6f1c-7f6e-8f5c-1d2b3c4d5e6f', prompt: 'mute it' }), {
      sourceFacts: source,
    });
    expect(edit).toEqual({ modality: 'VIDEO', operation: 'EDIT', video: { operation: 'EDIT', prompt: 'mute it', sourceFacts: source } });
    const extend = videoRouteRequest(parseExtendVideo({ sourceVideoUrl: 'https://example.com/a.mp4', extensionSeconds: 2 }));
    expect(extend).toEqual({ modality: 'VIDEO', operation: 'EXTEND', video: { operation: 'EXTEND', extensionSeconds: 2 } });
  });
});
