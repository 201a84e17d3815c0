import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ProviderConfigError,
  defaultProviderConfig,
  loadProviderConfig,
  parseProviderConfig,
} from '../../src/provider-config.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aideon-provider-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const filePath = path.join(dir, name);
  await writeFile(filePath, content);
  return filePath;
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderConfigError);
    return (error as ProviderConfigError).problems;
  }
  throw new Error('expected a ProviderConfigError');
}

describe('provider config', () => {
  it('has defaults that validate', () => {
    expect(loadProviderConfig()).toEqual(defaultProviderConfig);
    expect(parseProviderConfig(defaultProviderConfig)).toEqual(defaultProviderConfig);
    expect(defaultProviderConfig.runway.usdPerCredit).toBe(0.01);
    expect(defaultProviderConfig.replicate.models.map((m) => m.model)).toEqual([
      'minimax/video-01',
      'kwaivgi/kling-v2.1',
      'wan-video/wan-2.2-i2v-fast',
      'stability-ai/stable-video-diffusion',
    ]);
  });

  it('merges a file over the defaults: objects key by key, arrays replaced', async () => {
    const config = loadProviderConfig(
      await file(
        'partial.json',
        JSON.stringify({
          together: { models: { video: { generate: 'google/veo-3.0' } }, chatPrices: { byModel: { 'x/y': { inputPerMillionUsd: 1, outputPerMillionUsd: 2 } } } },
          runway: { models: { textToVideo: 'veo3.1' } },
          replicate: { models: [{ model: 'minimax/video-01', operations: ['text-to-video'], input: 'minimax-video-01', pricePerSecondUsd: 0.01 }] },
        }),
      ),
    );
    expect(config.together.models.video).toEqual({ ...defaultProviderConfig.together.models.video, generate: 'google/veo-3.0' });
    expect(config.together.models.text).toBe(defaultProviderConfig.together.models.text);
    expect(config.together.chatPrices.byModel['x/y']).toEqual({ inputPerMillionUsd: 1, outputPerMillionUsd: 2 });
    expect(config.together.chatPrices.byModel['meta-llama/Llama-3.3-70B-Instruct-Turbo']).toBeDefined();
    expect(config.runway.models).toEqual({ ...defaultProviderConfig.runway.models, textToVideo: 'veo3.1' });
    expect(config.replicate.models).toHaveLength(1);
  });

  it('lists every problem at once', async () => {
    const bad = await file(
      'bad.json',
      JSON.stringify({
        together: { models: { text: '' }, speechVoce: 'typo' },
        runway: { models: { textToVideo: 'gen2' }, usdPerCredit: -1 },
        replicate: {
          models: [
            { model: 'no-slash', operations: ['image-to-video'], input: 'kling-v2', pricePerSecondUsd: 0.1 },
            { model: 'kwaivgi/kling-v2.1', operations: ['text-to-video'], input: 'kling-v2', pricePerSecondUsd: 0.1 },
          ],
        },
      }),
    );
    const listed = problemsOf(() => loadProviderConfig(bad));
    expect(listed.join('\n')).toMatch(/together\.models\.text/);
    expect(listed.join('\n')).toMatch(/speechVoce/);
    expect(listed.join('\n')).toMatch(/runway\.models\.textToVideo/);
    expect(listed.join('\n')).toMatch(/runway\.usdPerCredit/);
    expect(listed.join('\n')).toMatch(/replicate\.models\.0\.model: must be owner\/name/);
    expect(listed.join('\n')).toMatch(/replicate\.models\.1\.operations: this input kind needs a first-frame image/);
    expect(listed.length).toBeGreaterThanOrEqual(6);
  });

  it('reports an unreadable or malformed file', async () => {
    expect(problemsOf(() => loadProviderConfig(path.join(dir, 'missing.json')))[0]).toMatch(/cannot read/);
    const broken = await file('broken.json', '{ nope');
    expect(problemsOf(() => loadProviderConfig(broken))[0]).toMatch(/not valid JSON/);
    const list = await file('list.json', '[]');
    expect(problemsOf(() => loadProviderConfig(list))[0]).toMatch(/JSON object/);
  });
});
