import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameSize } from '../../src/domain.js';
import type { FileMediaStore } from '../../src/media/store.js';
import { LocalVideoProvider } from '../../src/providers/local/local-video-provider.js';
import { sceneFfmpegArgs } from '../../src/providers/local/scene.js';
import { ProviderError, type GenerateVideoRequest, type PollResult } from '../../src/providers/types.js';
import { frameHashes, pollUntilDone, streamFacts, tempStore } from './helpers.js';

let store: FileMediaStore;
let cleanup: () => Promise<void>;
let provider: LocalVideoProvider;
let jobNumber = 0;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  provider = new LocalVideoProvider({ store, maxConcurrentRenders: 2 });
});
afterAll(async () => {
  await provider.close();
  await cleanup();
});

function request(overrides: Partial<GenerateVideoRequest> = {}): GenerateVideoRequest {
  return {
    prompt: 'A red fox running through a snowy forest at dawn',
    durationSeconds: 1,
    fps: 24,
    resolution: '480p',
    aspectRatio: '16:9',
    width: 320,
    height: 180,
    seed: 7,
    ...overrides,
  };
}

/** Renders and returns the stored output's path and every poll answer. */
async function render(generate: GenerateVideoRequest): Promise<{ file: string; history: PollResult[] }> {
  jobNumber += 1;
  const jobId = `gen-${jobNumber}`;
  const submitted = await provider.generate({ jobId, attempt: 1 }, generate);
  const { final, history } = await pollUntilDone(provider, submitted.providerJobId);
  expect(final).toMatchObject({
    kind: 'status',
    status: 'SUCCEEDED',
    progress: 1,
    costUsd: 0,
    output: { media: [{ kind: 'stored', key: `${jobId}/output.mp4` }] },
  });
  return { file: store.pathOf(`${jobId}/output.mp4`), history };
}

describe('LocalVideoProvider.generate', () => {
  it.each([
    { durationSeconds: 2, fps: 24, width: 320, height: 180 },
    { durationSeconds: 1, fps: 30, ...frameSize('480p', '9:16') },
    { durationSeconds: 1.5, fps: 25, ...frameSize('480p', '4:3') },
  ])('renders h264 yuv420p at exactly $width x $height, $fps fps, $durationSeconds s', async (shape) => {
    const { file } = await render(request(shape));
    const facts = await streamFacts(file);
    expect(facts).toMatchObject({ width: shape.width, height: shape.height, codec: 'h264', pixelFormat: 'yuv420p', frameRate: `${shape.fps}/1` });
    expect(Math.abs(facts.formatDuration - shape.durationSeconds)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(facts.videoDuration - shape.durationSeconds)).toBeLessThanOrEqual(0.1);
    expect((await frameHashes(file)).length).toBe(Math.round(shape.durationSeconds * shape.fps));
  });

  it('gives the same frames for the same prompt and seed, and others for another seed or prompt', async () => {
    const [one, again, otherSeed, otherPrompt] = await Promise.all([
      render(request({ seed: 42 })),
      render(request({ seed: 42 })),
      render(request({ seed: 43 })),
      render(request({ seed: 42, prompt: 'A blue whale' })),
    ]);
    const hashes = await Promise.all([one, again, otherSeed, otherPrompt].map(({ file }) => frameHashes(file)));
    expect(hashes[1]).toEqual(hashes[0]);
    // Every frame differs: the whole scene, not only one corner, depends on the seed.
    hashes[2]!.forEach((hash, index) => expect(hash).not.toBe(hashes[0]![index]));
    hashes[3]!.forEach((hash, index) => expect(hash).not.toBe(hashes[0]![index]));
    // The scene moves: frames within one render differ.
    expect(new Set(hashes[0]).size).toBe(hashes[0]!.length);
  });

  it('draws prompts full of filtergraph and drawtext syntax', async () => {
    const { file } = await render(request({ prompt: String.raw`It's 50% off: C:\path, [x]; done %{pts} 'quoted' \ end\ ` }));
    expect((await streamFacts(file)).codec).toBe('h264');
  });

  it('reports progress from ffmpeg that only goes up and reaches 1', async () => {
    // Big enough to take a while, so that polls see ffmpeg's progress on the way.
    const { history } = await render(request({ durationSeconds: 4, fps: 24, ...frameSize('720p', '16:9') }));
    const progress = history.flatMap((result) => (result.kind === 'status' && result.progress !== null ? [result.progress] : []));
    for (let index = 1; index < progress.length; index += 1) expect(progress[index]!).toBeGreaterThanOrEqual(progress[index - 1]!);
    expect(progress.at(-1)).toBe(1);
    expect(progress.some((value) => value > 0 && value < 1)).toBe(true);
    const running = history.filter((result) => result.kind === 'status' && result.status === 'RUNNING');
    for (const result of running) expect(result.kind === 'status' && result.progress).toBeLessThan(1);
  });

  it('refuses image-to-video, which needs a cloud provider', async () => {
    const withImage = request({ imageUrl: 'https://example.com/cat.png' });
    const support = provider.supportsGenerate(withImage);
    expect(support.ok).toBe(false);
    expect(!support.ok && support.reason).toMatch(/image-to-video needs a cloud provider/);
    const submitted = provider.generate({ jobId: 'gen-image', attempt: 1 }, withImage);
    await expect(submitted).rejects.toBeInstanceOf(ProviderError);
    await expect(submitted).rejects.toMatchObject({ info: { code: 'VALIDATION', retryable: false } });
    expect(provider.supportsGenerate(request()).ok).toBe(true);
  });

  it('builds the ffmpeg command as an argument array the benchmark can run itself', () => {
    const args = sceneFfmpegArgs(request({ seed: 1 }), '/tmp/out.mp4');
    expect(args).toEqual(sceneFfmpegArgs(request({ seed: 1 }), '/tmp/out.mp4'));
    expect(args).not.toEqual(sceneFfmpegArgs(request({ seed: 2 }), '/tmp/out.mp4'));
    expect(args.at(-1)).toBe('/tmp/out.mp4');
    expect(args).toEqual(expect.arrayContaining(['libx264', 'yuv420p', '+faststart', '-threads']));
  });
});
