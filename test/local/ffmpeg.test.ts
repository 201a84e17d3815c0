import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegAbortError, FfmpegError, ffmpegArgv, probeMedia, runFfmpeg } from '../../src/media/ffmpeg.js';
import { ffmpegProcessesWith, makeClip, processExists, streamFacts, tempStore, waitForFfmpegProcess } from './helpers.js';

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempStore());
});
afterAll(() => cleanup());

// -re reads the synthetic input at its own frame rate, so a 1.5 s clip takes
// 1.5 s to write and ffmpeg reports progress several times on the way.
const realTimeInput = (seconds: number) => ['-re', '-f', 'lavfi', '-i', `testsrc2=s=160x90:r=25:d=${seconds}`];

describe('runFfmpeg', () => {
  it('reports progress that only goes up, stays below 1 while running and ends at 1', async () => {
    const output = path.join(dir, 'progress.mp4');
    const reports: number[] = [];
    await runFfmpeg([...realTimeInput(1.5), '-c:v', 'libx264', '-preset', 'ultrafast', output], {
      expectedDurationSeconds: 1.5,
      onProgress: (progress) => reports.push(progress),
    });

    expect(reports.at(-1)).toBe(1);
    const running = reports.slice(0, -1);
    expect(running.length).toBeGreaterThanOrEqual(2);
    for (const value of running) {
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThan(1);
    }
    for (let index = 1; index < reports.length; index += 1) expect(reports[index]!).toBeGreaterThan(reports[index - 1]!);
    expect((await streamFacts(output)).formatDuration).toBeCloseTo(1.5, 1);
  });

  it('rejects with the tail of stderr when ffmpeg fails', async () => {
    const failure = runFfmpeg(['-f', 'lavfi', '-i', 'nosuchfilter=x=1', path.join(dir, 'never.mp4')], { expectedDurationSeconds: 1 });
    await expect(failure).rejects.toBeInstanceOf(FfmpegError);
    const error = (await failure.catch((caught: unknown) => caught)) as FfmpegError;
    expect(error.exitCode).not.toBe(0);
    expect(error.stderrTail).toMatch(/nosuchfilter/);
    expect(error.message).toContain(error.stderrTail);
  });

  it('kills ffmpeg when aborted and rejects with an AbortError once the process is gone', async () => {
    const output = path.join(dir, 'aborted-run.mp4');
    const controller = new AbortController();
    const run = runFfmpeg([...realTimeInput(30), '-c:v', 'libx264', '-preset', 'ultrafast', output], {
      expectedDurationSeconds: 30,
      signal: controller.signal,
    });
    const pid = await waitForFfmpegProcess(output);
    controller.abort();

    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FfmpegAbortError);
    expect((error as Error).name).toBe('AbortError');
    expect(processExists(pid)).toBe(false);
    expect(await ffmpegProcessesWith(output)).toEqual([]);
  });

  it('does not start ffmpeg for a signal that is already aborted', async () => {
    const output = path.join(dir, 'never-started.mp4');
    const controller = new AbortController();
    controller.abort();
    const outcome = runFfmpeg([...realTimeInput(5), output], { expectedDurationSeconds: 5, signal: controller.signal }).catch(
      (caught: unknown) => caught,
    );
    expect(await ffmpegProcessesWith(output)).toEqual([]);
    expect(await outcome).toBeInstanceOf(FfmpegAbortError);
  });

  it('adds the progress and quiet options in front of the caller’s arguments', () => {
    const argv = ffmpegArgv(['-i', 'in.mp4', 'out.mp4']);
    expect(argv.slice(-3)).toEqual(['-i', 'in.mp4', 'out.mp4']);
    expect(argv).toEqual(expect.arrayContaining(['-progress', 'pipe:1', '-nostats', '-y']));
  });
});

describe('probeMedia', () => {
  it('measures a video with sound', async () => {
    const file = path.join(dir, 'probe.mp4');
    await makeClip(file, { seconds: 1, width: 256, height: 144, fps: 20 });
    const info = await probeMedia(file);
    expect(info).toMatchObject({
      width: 256,
      height: 144,
      videoCodec: 'h264',
      pixelFormat: 'yuv420p',
      frameRate: '20/1',
      hasAudio: true,
      mimeType: 'video/mp4',
    });
    expect(info.formatName).toContain('mp4');
    expect(info.durationSeconds).toBeCloseTo(1, 1);
    expect(info.bytes).toBeGreaterThan(0);
  });

  it('measures a video without sound', async () => {
    const file = path.join(dir, 'silent.mp4');
    await makeClip(file, { seconds: 0.5, audio: false });
    expect(await probeMedia(file)).toMatchObject({ hasAudio: false, width: 320, height: 180 });
  });

  it('gives the size a player shows for video stored sideways with a rotation', async () => {
    const stored = path.join(dir, 'landscape.mp4');
    const rotated = path.join(dir, 'portrait.mp4');
    await makeClip(stored, { seconds: 0.5, width: 320, height: 180 });
    await run(ffmpegInstaller.path, ['-v', 'error', '-i', stored, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    expect(await probeMedia(rotated)).toMatchObject({ width: 180, height: 320 });
  });

  it('throws FfmpegError for a file that is not media', async () => {
    const file = path.join(dir, 'not-media.mp4');
    await writeFile(file, 'this is not a video');
    await expect(probeMedia(file)).rejects.toBeInstanceOf(FfmpegError);
  });
});
