// Each edit operation on real output. The source's frames are flat and grow
// brighter with time (luma 40 at 0 s to 220 at 4 s, 4.5 a frame at 10 fps), so
// a frame's brightness says which moment of the source it shows, to the frame.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileMediaStore } from '../../src/media/store.js';
import { LocalVideoProvider } from '../../src/providers/local/local-video-provider.js';
import type { VideoSource } from '../../src/providers/types.js';
import { frameAt, frameStats, makeClip, pollUntilDone, rampLuma, streamFacts, tempStore, type ClipSpec, type FrameStats, type StreamFacts } from './helpers.js';

const run = promisify(execFile);

let dir: string;
let store: FileMediaStore;
let cleanup: () => Promise<void>;
let provider: LocalVideoProvider;
let withAudio: VideoSource;
let withoutAudio: VideoSource;
const clip: ClipSpec = { seconds: 4, fps: 10, width: 320, height: 180, lumaFrom: 40, lumaTo: 220 };
const frame = 1 / 10;
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

async function edit(prompt: string, source: VideoSource = withAudio): Promise<{ facts: StreamFacts; frames: FrameStats[]; file: string }> {
  expect(provider.supportsEdit({ prompt, source })).toEqual({ ok: true });
  jobNumber += 1;
  const jobId = `edit-${jobNumber}`;
  const submitted = await provider.edit({ jobId, attempt: 1 }, { prompt, source });
  const { final } = await pollUntilDone(provider, submitted.providerJobId);
  expect(final).toMatchObject({ kind: 'status', status: 'SUCCEEDED', output: { media: [{ kind: 'stored', key: `${jobId}/output.mp4` }] } });
  const file = store.pathOf(`${jobId}/output.mp4`);
  const [facts, frames] = await Promise.all([streamFacts(file), frameStats(file)]);
  expect(facts).toMatchObject({ codec: 'h264', pixelFormat: 'yuv420p' });
  return { facts, frames, file };
}

const at = (time: number) => rampLuma(clip, time);
const lastFrameTime = 4 - frame;

function expectDuration(facts: StreamFacts, seconds: number): void {
  expect(Math.abs(facts.formatDuration - seconds)).toBeLessThanOrEqual(0.1);
  expect(Math.abs(facts.videoDuration - seconds)).toBeLessThanOrEqual(0.1);
  if (facts.audioDuration !== null) expect(Math.abs(facts.audioDuration - seconds)).toBeLessThanOrEqual(0.1);
}

describe('local edits on real output', () => {
  it('trims to the first 3 seconds', async () => {
    const { facts, frames } = await edit('trim to the first 3 seconds');
    expectDuration(facts, 3);
    expect(facts.audioDuration).not.toBeNull();
    expect(frames[0]!.y).toBeCloseTo(at(0), -0.5);
    expect(frames.at(-1)!.y).toBeCloseTo(at(3 - frame), -0.5);
  });

  it('keeps the last 2 seconds and a range', async () => {
    const [last, range] = await Promise.all([edit('last 2 seconds'), edit('from 1s to 2.5s')]);
    expectDuration(last.facts, 2);
    expect(last.frames[0]!.y).toBeCloseTo(at(2), -0.5);
    expectDuration(range.facts, 1.5);
    expect(range.frames[0]!.y).toBeCloseTo(at(1), -0.5);
    expect(range.frames.at(-1)!.y).toBeCloseTo(at(2.5 - frame), -0.5);
  });

  it('speeds up 2x with the sound sped up too, and slows down', async () => {
    const [fast, slow] = await Promise.all([edit('2x'), edit('trim to the first 2 seconds, half speed')]);
    expectDuration(fast.facts, 2);
    expect(fast.facts.audioDuration).not.toBeNull();
    expect(fast.facts.frameRate).toBe('10/1');
    expect(frameAt(fast.frames, 1).y).toBeCloseTo(at(2), -0.5);
    expectDuration(slow.facts, 4);
    expect(frameAt(slow.frames, 2).y).toBeCloseTo(at(1), -0.5);
    // Every source frame twice, the last one included.
    expect(slow.frames).toHaveLength(40);
    expect(slow.frames.at(-1)!.y).toBeCloseTo(at(2 - frame), -0.5);
    expect(slow.frames.at(-2)!.y).toBeCloseTo(at(2 - frame), -0.5);
  });

  it('reverses', async () => {
    const { facts, frames } = await edit('reverse it');
    expectDuration(facts, 4);
    expect(frames[0]!.y).toBeCloseTo(at(lastFrameTime), -0.5);
    expect(frames.at(-1)!.y).toBeCloseTo(at(0), -0.5);
  });

  it('makes it black and white, or sepia', async () => {
    const [gray, sepia] = await Promise.all([edit('black and white'), edit('sepia')]);
    // The source is bluish (U 170, V 90): grey has no colour, sepia is warm.
    const middleGray = frameAt(gray.frames, 2);
    expect(middleGray.u).toBeCloseTo(128, -0.5);
    expect(middleGray.v).toBeCloseTo(128, -0.5);
    const middleSepia = frameAt(sepia.frames, 2);
    expect(middleSepia.u).toBeLessThan(125);
    expect(middleSepia.v).toBeGreaterThan(131);
  });

  it('crops to each aspect ratio and resizes', async () => {
    const results = await Promise.all([
      edit('crop to 9:16'),
      edit('crop to 1:1'),
      edit('crop to 4:3'),
      edit('crop to 16:9, resize to 480p'),
      edit('scale to 200x200'),
      edit('make it square and 720p'),
    ]);
    expect(results.map(({ facts }) => [facts.width, facts.height])).toEqual([
      [100, 180],
      [180, 180],
      [240, 180],
      [854, 480],
      [200, 200],
      [720, 720],
    ]);
  });

  it('crops and resizes a phone video stored sideways by the size it is shown at', async () => {
    const rotatedPath = path.join(dir, 'rotated.mp4');
    await run(ffmpegInstaller.path, ['-v', 'error', '-i', withAudio.path, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotatedPath]);
    const rotated = { ...withAudio, path: rotatedPath, width: 180, height: 320 };
    const [square, resized] = await Promise.all([edit('crop to 1:1', rotated), edit('resize to 480p', rotated)]);
    expect([square.facts.width, square.facts.height]).toEqual([180, 180]);
    expect([resized.facts.width, resized.facts.height]).toEqual([480, 854]);
  });

  it('adds a caption at the bottom', async () => {
    const [captioned, plain] = await Promise.all([
      frameStats((await edit("add the caption 'Hello'")).file, 'iw:ih/4:0:ih*3/4'),
      frameStats(withAudio.path, 'iw:ih/4:0:ih*3/4'),
    ]);
    // White text on a dark box where the plain clip is flat grey.
    expect(frameAt(captioned, 1).yMax).toBeGreaterThan(200);
    expect(frameAt(plain, 1).yMax).toBeLessThan(at(1) + 10);
  });

  it('fades in and out from and to black', async () => {
    const { facts, frames } = await edit('fade in and out');
    expectDuration(facts, 4);
    // Black at the start; at 10 fps the last frame is a tenth of the way from black.
    expect(frames[0]!.y).toBeLessThan(20);
    expect(frames.at(-1)!.y).toBeCloseTo(16 + (at(lastFrameTime) - 16) * 0.1, -0.7);
    expect(frameAt(frames, 2).y).toBeCloseTo(at(2), -0.5);
  });

  it('mutes', async () => {
    const { facts } = await edit('mute');
    expect(facts.audioDuration).toBeNull();
    expectDuration(facts, 4);
  });

  it('edits a source without sound', async () => {
    const { facts, frames } = await edit('first 2 seconds, 2x, reverse', withoutAudio);
    expect(facts.audioDuration).toBeNull();
    expectDuration(facts, 1);
    expect(frames[0]!.y).toBeCloseTo(at(2 - frame), -0.5);
  });

  it('does the example: trim to 3 s, black and white, caption', async () => {
    const { facts, frames, file } = await edit("trim to the first 3 seconds, make it black and white and add the caption 'Hello'");
    expectDuration(facts, 3);
    expect(facts.audioDuration).not.toBeNull();
    expect(frameAt(frames, 1).u).toBeCloseTo(128, -0.5);
    expect(frameAt(await frameStats(file, 'iw:ih/4:0:ih*3/4'), 1).yMax).toBeGreaterThan(200);
  });

  it('combines everything at once', async () => {
    const { facts, frames } = await edit(
      'from 1s to 3s, twice as fast, reverse, crop to 1:1, resize to 240x240, sepia, fade out, mute',
    );
    expect([facts.width, facts.height]).toEqual([240, 240]);
    expect(facts.audioDuration).toBeNull();
    expectDuration(facts, 1);
    // Backwards from 3 s to 1 s: bright first, fading to black at the end.
    expect(frames[0]!.y).toBeGreaterThan(at(2.5));
    expect(frames.at(-1)!.y).toBeLessThan(40);
    expect(frames).toHaveLength(10);
  });

  it('refuses a trim beyond the source', () => {
    const support = provider.supportsEdit({ prompt: 'from 2s to 6s', source: withAudio });
    expect(support).toEqual({ ok: false, reason: 'the trim goes to 6s but the source lasts 4s' });
  });
});
