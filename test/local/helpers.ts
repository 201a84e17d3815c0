// Shared by the local provider tests: source clips made with the bundled
// ffmpeg directly (not through the code under test), measurements of outputs
// with the bundled ffprobe, and a look at /proc for ffmpeg processes.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';
import { FileMediaStore } from '../../src/media/store.js';
import type { PollResult, VideoProvider, VideoSource } from '../../src/providers/types.js';

const run = promisify(execFile);

export async function tempStore(): Promise<{ dir: string; store: FileMediaStore; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aideon-local-'));
  return { dir, store: new FileMediaStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface ClipSpec {
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
  /** Luma at the first and the last instant: every frame is flat, so a frame's mean luma tells its time. */
  lumaFrom?: number;
  lumaTo?: number;
}

/** A clip whose brightness rises linearly over time, bluish (U 170, V 90), with a 440 Hz tone. */
export async function makeClip(file: string, spec: ClipSpec): Promise<VideoSource> {
  const { seconds, width = 320, height = 180, fps = 25, audio = true, lumaFrom = 60, lumaTo = 200 } = spec;
  const slope = (lumaTo - lumaFrom) / seconds;
  const video = `nullsrc=s=${width}x${height}:r=${fps}:d=${seconds},format=yuv420p,geq=lum=${lumaFrom}+${slope}*T:cb=170:cr=90`;
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', video];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=f=440:d=${seconds}:sample_rate=44100`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p');
  if (audio) args.push('-c:a', 'aac');
  args.push('-t', String(seconds), file);
  await run(ffmpegInstaller.path, args);
  return { key: 'source/clip.mp4', path: file, durationSeconds: seconds, width, height, hasAudio: audio };
}

/** The luma a clip made by makeClip shows at `time`. */
export function rampLuma(spec: ClipSpec, time: number): number {
  const { seconds, lumaFrom = 60, lumaTo = 200 } = spec;
  return lumaFrom + ((lumaTo - lumaFrom) * time) / seconds;
}

export interface StreamFacts {
  width: number;
  height: number;
  codec: string;
  pixelFormat: string;
  frameRate: string;
  formatDuration: number;
  videoDuration: number;
  audioDuration: number | null;
}

export async function streamFacts(file: string): Promise<StreamFacts> {
  const { stdout } = await run(ffprobeInstaller.path, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]);
  const info = JSON.parse(stdout) as {
    streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; pix_fmt?: string; r_frame_rate?: string; duration?: string }>;
    format: { duration: string };
  };
  const video = info.streams.find((stream) => stream.codec_type === 'video');
  const audio = info.streams.find((stream) => stream.codec_type === 'audio');
  if (!video) throw new Error(`${file} has no video`);
  return {
    width: video.width ?? 0,
    height: video.height ?? 0,
    codec: video.codec_name,
    pixelFormat: video.pix_fmt ?? '',
    frameRate: video.r_frame_rate ?? '',
    formatDuration: Number(info.format.duration),
    videoDuration: Number(video.duration),
    audioDuration: audio ? Number(audio.duration) : null,
  };
}

export interface FrameStats {
  time: number;
  /** Mean luma and chroma, 0..255. */
  y: number;
  u: number;
  v: number;
  /** Brightest luma in the frame. */
  yMax: number;
}

/** Per-frame statistics, optionally of a region (an ffmpeg crop like 'iw:ih/5:0:ih*4/5'). */
export async function frameStats(file: string, crop?: string): Promise<FrameStats[]> {
  const graph = `movie=${file}${crop ? `,crop=${crop}` : ''},signalstats`;
  const { stdout } = await run(
    ffprobeInstaller.path,
    ['-v', 'error', '-f', 'lavfi', '-i', graph, '-show_entries', 'frame=pts_time:frame_tags', '-print_format', 'json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const frames = (JSON.parse(stdout) as { frames: Array<{ pts_time: string; tags: Record<string, string> }> }).frames;
  return frames.map((frame) => ({
    time: Number(frame.pts_time),
    y: Number(frame.tags['lavfi.signalstats.YAVG']),
    u: Number(frame.tags['lavfi.signalstats.UAVG']),
    v: Number(frame.tags['lavfi.signalstats.VAVG']),
    yMax: Number(frame.tags['lavfi.signalstats.YMAX']),
  }));
}

/** The frame shown at `time`. */
export function frameAt(frames: readonly FrameStats[], time: number): FrameStats {
  let best = frames[0];
  for (const frame of frames) if (frame.time <= time + 1e-6) best = frame;
  if (!best) throw new Error('no frames');
  return best;
}

/** MD5 of every decoded frame, one per line. */
export async function frameHashes(file: string): Promise<string[]> {
  const { stdout } = await run(ffmpegInstaller.path, ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)?.trim() ?? '');
}

/** Polls until the render is finished, recording every answer. */
export async function pollUntilDone(
  provider: VideoProvider,
  providerJobId: string,
  intervalMs = 25,
): Promise<{ final: PollResult; history: PollResult[] }> {
  const history: PollResult[] = [];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const result = await provider.poll(providerJobId);
    history.push(result);
    if (result.kind === 'lost' || ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(result.status)) return { final: result, history };
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${providerJobId} did not finish within a minute`);
}

/** Ids of live ffmpeg processes (of the bundled binary) whose arguments include `text`. */
export async function ffmpegProcessesWith(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const [program, ...args] = argv.split('\0');
    if (program === ffmpegInstaller.path && args.some((arg) => arg.includes(text))) pids.push(Number(entry));
  }
  return pids;
}

/** Waits for an ffmpeg process with `text` in its arguments to appear. */
export async function waitForFfmpegProcess(text: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [pid] = await ffmpegProcessesWith(text);
    if (pid !== undefined) return pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no ffmpeg process with ${text} appeared`);
}

/** Whether a process exists at all (a zombie still counts: it has not been reaped). */
export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}
