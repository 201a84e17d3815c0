import { describe, expect, it } from 'vitest';
import { classify, classifyVideo, extendKind } from '../../src/routing/complexity.js';
import { complexityThresholdsSchema } from '../../src/routing/policy.js';
import type { VideoWork } from '../../src/routing/request.js';

const thresholds = complexityThresholdsSchema.parse({});

const generate = (overrides: Partial<Extract<VideoWork, { operation: 'GENERATE' }>> = {}): VideoWork => ({
  operation: 'GENERATE',
  prompt: 'Opening titles: Aideon',
  durationSeconds: 5,
  fps: 24,
  resolution: '720p',
  aspectRatio: '16:9',
  ...overrides,
});

describe('classify a generation', () => {
  it.each<[string, Partial<Extract<VideoWork, { operation: 'GENERATE' }>>, string]>([
    ['a title scene at 720p, 5 s', {}, 'SIMPLE'],
    ['text to video at 480p, 10 s', { resolution: '480p', durationSeconds: 10 }, 'SIMPLE'],
    ['11 s', { durationSeconds: 11 }, 'STANDARD'],
    ['20 s', { durationSeconds: 20 }, 'STANDARD'],
    ['long: 21 s', { durationSeconds: 21 }, 'COMPLEX'],
    ['1080p', { resolution: '1080p' }, 'COMPLEX'],
    ['image-conditioned', { imageUrl: 'https://example.com/a.png' }, 'COMPLEX'],
  ])('%s', (_name, overrides, complexity) => {
    expect(classifyVideo(generate(overrides), thresholds).complexity).toBe(complexity);
  });

  it('explains itself', () => {
    expect(classifyVideo(generate({ resolution: '1080p', durationSeconds: 30 }), thresholds).reasons).toEqual([
      'longer than 20 s',
      '1080p is 1080p or more',
    ]);
  });

  it('takes its thresholds from the policy', () => {
    const strict = complexityThresholdsSchema.parse({
      simpleMaxSeconds: 3,
      longSeconds: 8,
      complexMinResolution: '720p',
      imageConditioned: 'STANDARD',
    });
    expect(classifyVideo(generate({ resolution: '480p', durationSeconds: 5 }), strict).complexity).toBe('STANDARD');
    expect(classifyVideo(generate({ resolution: '480p', durationSeconds: 9 }), strict).complexity).toBe('COMPLEX');
    expect(classifyVideo(generate(), strict).complexity).toBe('COMPLEX');
    expect(
      classifyVideo(generate({ resolution: '480p', durationSeconds: 2, imageUrl: 'https://example.com/a.png' }), strict).complexity,
    ).toBe('STANDARD');
  });
});

describe('classify an edit', () => {
  it('SIMPLE when the local editor understands it', () => {
    const result = classifyVideo({ operation: 'EDIT', prompt: "trim to the first 3 seconds and add the caption 'Hello'" }, thresholds);
    expect(result).toEqual({ complexity: 'SIMPLE', reasons: ['an edit the local editor understands (trim, caption)'], edit: 'simple' });
  });

  it('COMPLEX when it needs a generative model', () => {
    const result = classifyVideo({ operation: 'EDIT', prompt: 'turn the cat into a dog' }, thresholds);
    expect(result.complexity).toBe('COMPLEX');
    expect(result.edit).toBe('generative');
    expect(result.reasons[0]).toMatch(/^a generative edit: /);
  });
});

describe('classify an extension', () => {
  it.each<[string | undefined, string, string]>([
    [undefined, 'any', 'SIMPLE'],
    ['loop it', 'loop', 'SIMPLE'],
    ['boomerang', 'boomerang', 'SIMPLE'],
    ['freeze on the last frame', 'freeze', 'SIMPLE'],
    ['the boat sails out of the harbour', 'continue', 'STANDARD'],
  ])('%s: %s, %s', (prompt, kind, complexity) => {
    expect(extendKind(prompt)).toBe(kind);
    const work: VideoWork = { operation: 'EXTEND', extensionSeconds: 4, ...(prompt ? { prompt } : {}) };
    expect(classifyVideo(work, thresholds)).toMatchObject({ complexity, extend: kind });
  });

  it('a long or 1080p continuation is COMPLEX', () => {
    const prompt = 'the boat sails out of the harbour';
    expect(classifyVideo({ operation: 'EXTEND', prompt, extensionSeconds: 30 }, thresholds).complexity).toBe('COMPLEX');
    const source = { durationSeconds: 5, width: 1920, height: 1080 };
    expect(classifyVideo({ operation: 'EXTEND', prompt, extensionSeconds: 4, sourceFacts: source }, thresholds).complexity).toBe('COMPLEX');
  });
});

it('short modalities are STANDARD', () => {
  expect(classify({ modality: 'TEXT', operation: 'GENERATE' }, thresholds).complexity).toBe('STANDARD');
});
