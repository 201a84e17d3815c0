// Extensions on real output. The source brightens from luma 40 at 0 s to 220
// at 2 s (9 a frame at 10 fps), so a frame's brightness says which moment of
// the source it shows, to the frame.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileMediaStore } from '../../src/media/store.js';
import { extendModeFromPrompt } from '../../src/providers/local/extend.js';
import { LocalVideoProvider } from '../../src/providers/local/local-video-provider.js';
import type { VideoSource } from '../../src/providers/types.js';
import { frameAt, frameStats, makeClip, pollUntilDone, rampLuma, streamFacts, tempStore, type ClipSpec, type FrameStats, type StreamFacts } from './helpers.js';

let dir: string;
let store: FileMediaStore;
let cleanup: () => Promise<void>;
let provider: LocalVideoProvider;
let withAudio: VideoSource;
let withoutAudio: VideoSource;
const clip: ClipSpec = { seconds: 2, fps: 10, width: 320, height: 180, lumaFrom: 40, lumaTo: 220 };
const at = (time: number) => rampLuma(clip, time);
const lastFrameTime = 2 - 1 / 10;
let jobNumber = 0;

beforeAll(async () => {
  ({ dir, store, cleanup } = await tempStore());
  provider = new LocalVideoProvider({ store, maxConcurrentRenders: 2 });
  [withAudio, withoutAudio] = await Promise.all([
    makeClip(path.join(dir, 'with-audio.mp4'), clip),
    makeClip(path.join(dir, 'without-audio.mp4'), { ...clip, audio: false }),
  ]);
});
afterAll(async () => {
  await provider.close();
  await cleanup();
});

async function extend(
  prompt: string | undefined,
  extensionSeconds: number,
  source: VideoSource = withAudio,
): Promise<{ facts: StreamFacts; frames: FrameStats[] }> {
  expect(provider.supportsExtend({ prompt, extensionSeconds, source })).toEqual({ ok: true });
  jobNumber += 1;
  const jobId = `extend-${jobNumber}`;
  const submitted = await provider.extend({ jobId, attempt: 1 }, { prompt, extensionSeconds, source });
  const { final } = await pollUntilDone(provider, submitted.providerJobId);
  expect(final).toMatchObject({ kind: 'status', status: 'SUCCEEDED', output: { media: [{ kind: 'stored', key: `${jobId}/output.mp4` }] } });
  const file = store.pathOf(`${jobId}/output.mp4`);
  const [facts, frames] = await Promise.all([streamFacts(file), frameStats(file)]);
  // Same frame as the source, in the one output format.
  expect(facts).toMatchObject({ codec: 'h264', pixelFormat: 'yuv420p', width: 320, height: 180, frameRate: '10/1' });
  const total = clip.seconds + extensionSeconds;
  expect(Math.abs(facts.formatDuration - total)).toBeLessThanOrEqual(0.1);
  expect(Math.abs(facts.videoDuration - total)).toBeLessThanOrEqual(0.1);
  if (source.hasAudio) expect(Math.abs((facts.audioDuration ?? 0) - total)).toBeLessThanOrEqual(0.1);
  else expect(facts.audioDuration).toBeNull();
  // The source itself plays first, unchanged in time.
  expect(frameAt(frames, 1).y).toBeCloseTo(at(1), -0.5);
  return { facts, frames };
}

describe('local extend on real output', () => {
  it('holds the last frame by default (freeze with a slow zoom)', async () => {
    const { frames } = await extend(undefined, 1.5);
    // The flat last frame stays at its brightness however far it zooms.
    for (const time of [2.1, 2.8, 3.45]) expect(frameAt(frames, time).y).toBeCloseTo(at(lastFrameTime), -0.5);
  });

  it('loops: the start plays again after the end', async () => {
    const { frames } = await extend('loop it', 1.5);
    expect(frameAt(frames, 1.9).y).toBeCloseTo(at(lastFrameTime), -0.5);
    expect(frameAt(frames, 2).y).toBeCloseTo(at(0), -0.5);
    expect(frameAt(frames, 3).y).toBeCloseTo(at(1), -0.5);
    expect(frames.at(-1)!.y).toBeCloseTo(at(1.4), -0.5);
  });

  it('loops more than once for an extension longer than the source', async () => {
    const { frames } = await extend('repeat', 5, withoutAudio);
    expect(frameAt(frames, 4).y).toBeCloseTo(at(0), -0.5);
    expect(frameAt(frames, 6.5).y).toBeCloseTo(at(0.5), -0.5);
    expect(frames).toHaveLength(70);
  });

  it('boomerangs: backwards from the end, then forwards again', async () => {
    const { frames } = await extend('boomerang', 3);
    // From 2 s the source backwards, from its last frame; from 4 s forwards again.
    expect(frameAt(frames, 2).y).toBeCloseTo(at(lastFrameTime), -0.5);
    expect(frameAt(frames, 3).y).toBeCloseTo(at(0.9), -0.5);
    expect(frameAt(frames, 3.9).y).toBeCloseTo(at(0), -0.5);
    expect(frameAt(frames, 4).y).toBeCloseTo(at(0), -0.5);
    expect(frameAt(frames, 4.5).y).toBeCloseTo(at(0.5), -0.5);
    expect(frames.at(-1)!.y).toBeCloseTo(at(0.9), -0.5);
  });

  it('freezes a source without sound', async () => {
    const { facts } = await extend('freeze and zoom', 1, withoutAudio);
    expect(facts.audioDuration).toBeNull();
  });

  it('refuses extensions that are not above 0 and at most 60 seconds', () => {
    for (const extensionSeconds of [0, -1, 60.5, Number.NaN]) {
      const support = provider.supportsExtend({ extensionSeconds, source: withAudio });
      expect(support.ok).toBe(false);
      expect(!support.ok && support.reason).toMatch(/more than 0 and at most 60 seconds/);
    }
    expect(provider.supportsExtend({ extensionSeconds: 60, source: withAudio }).ok).toBe(true);
  });

  it('refuses a boomerang that would need too many bounces', () => {
    const short = { ...withAudio, durationSeconds: 0.5 };
    const support = provider.supportsExtend({ prompt: 'boomerang', extensionSeconds: 30, source: short });
    expect(!support.ok && support.reason).toMatch(/needs 60 bounces/);
    expect(provider.supportsExtend({ prompt: 'loop', extensionSeconds: 30, source: short }).ok).toBe(true);
  });

  it.each([
    [undefined, 'freeze'],
    ['continue', 'freeze'],
    ['freeze on the last frame and zoom', 'freeze'],
    ['loop it', 'loop'],
    ['play it again from the start', 'loop'],
    ['boomerang', 'boomerang'],
    ['loop it backwards', 'boomerang'],
  ])('reads %j as %s', (prompt, mode) => {
    expect(extendModeFromPrompt(prompt)).toBe(mode);
  });
});
