// Running the ffmpeg and ffprobe that ship through npm (there is no system
// ffmpeg). Provider-neutral: the local provider renders with it, the cloud
// providers join clips, take last frames and measure downloads with it.
// Every call is an argument array handed to spawn, never a shell string.

import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

export const ffmpegPath: string = ffmpegInstaller.path;
export const ffprobePath: string = ffprobeInstaller.path;

const STDERR_TAIL_LINES = 20;

/** ffmpeg or ffprobe ended with a non-zero exit code (or could not start). */
export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    /** The last lines ffmpeg wrote to stderr, which name the cause. */
    readonly stderrTail: string,
  ) {
    super(stderrTail ? `${message}: ${stderrTail}` : message);
    this.name = 'FfmpegError';
  }
}

/** The run was stopped through its AbortSignal; the process has exited when this is thrown. */
export class FfmpegAbortError extends Error {
  constructor() {
    super('ffmpeg was aborted');
    // The name DOM AbortErrors carry, so generic `error.name === 'AbortError'` checks work.
    this.name = 'AbortError';
  }
}

export function isFfmpegAbortError(error: unknown): error is FfmpegAbortError {
  return error instanceof FfmpegAbortError;
}

export interface RunFfmpegOptions {
  /** Duration of the output being written; progress is output time over this. */
  expectedDurationSeconds: number;
  /** Called with a value in 0..1 that never goes down; 1 only once ffmpeg exited successfully. */
  onProgress?: (progress: number) => void;
  /** Aborting kills the process; the promise then rejects with FfmpegAbortError. */
  signal?: AbortSignal;
}

/**
 * Runs ffmpeg with `args` (inputs, filters, outputs; the progress and logging
 * options are added here). Resolves once ffmpeg has exited with code 0.
 */
export function runFfmpeg(args: readonly string[], options: RunFfmpegOptions): Promise<void> {
  const { expectedDurationSeconds, onProgress, signal } = options;
  if (signal?.aborted) return Promise.reject(new FfmpegAbortError());

  return new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpegPath, ffmpegArgv(args), { stdio: ['ignore', 'pipe', 'pipe'] });
    const progress = progressTracker(expectedDurationSeconds, onProgress);
    const stderr = lineTail(STDERR_TAIL_LINES);
    let aborted = false;
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };

    const onAbort = () => {
      aborted = true;
      // SIGKILL: the output is being thrown away, so there is nothing for ffmpeg to finish.
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => progress.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => stderr.push(chunk));
    // Only when the process could not be started (or signalled); no 'close' may follow.
    child.on('error', (error) => {
      if (child.exitCode === null && child.pid === undefined) settle(new FfmpegError(`ffmpeg could not start (${error.message})`, null, ''));
    });
    // 'close' comes after the process has exited and its pipes are drained.
    child.on('close', (code, exitSignal) => {
      if (aborted) return settle(new FfmpegAbortError());
      if (code === 0) {
        progress.finish();
        return settle(null);
      }
      const how = code === null ? `was killed by ${exitSignal}` : `exited with code ${code}`;
      settle(new FfmpegError(`ffmpeg ${how}`, code, stderr.text()));
    });
  });
}

/**
 * The whole argument list runFfmpeg passes to ffmpeg for `args`, for running
 * the same command outside it (benchmarks).
 */
export function ffmpegArgv(args: readonly string[]): string[] {
  return [...FFMPEG_COMMON_ARGS, ...args];
}

// `-progress pipe:1` makes ffmpeg write key=value blocks to stdout about twice a
// second; `-nostats` drops the human progress line from stderr so that stderr
// holds only messages; `-nostdin` keeps ffmpeg from reading keys from a terminal.
const FFMPEG_COMMON_ARGS = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', '-y'];

/**
 * Turns ffmpeg's progress blocks into a monotonic 0..1. In ffmpeg 4.x both
 * `out_time_us` and (despite its name) `out_time_ms` are microseconds, and
 * older builds print only `out_time_ms`: either is read as microseconds.
 * Values below 1 are reported while running; 1 is left to `finish`, because
 * output time reaches only the start of the last frame.
 */
function progressTracker(expectedDurationSeconds: number, onProgress?: (progress: number) => void) {
  let pending = '';
  let reported = 0;
  const report = (value: number) => {
    if (value > reported) {
      reported = value;
      onProgress?.(value);
    }
  };
  return {
    push(chunk: string) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [key, value] = line.trim().split('=', 2);
        if ((key !== 'out_time_us' && key !== 'out_time_ms') || value === undefined) continue;
        const microseconds = Number(value);
        // Before the first frame ffmpeg prints N/A or a huge negative number.
        if (!Number.isFinite(microseconds) || microseconds <= 0 || expectedDurationSeconds <= 0) continue;
        report(Math.min(0.99, microseconds / 1e6 / expectedDurationSeconds));
      }
    },
    finish() {
      report(1);
    },
  };
}

/** Keeps the last `maxLines` lines of a text stream. */
function lineTail(maxLines: number) {
  let lines: string[] = [];
  let pending = '';
  return {
    push(chunk: string) {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line.trim() !== ''));
      if (lines.length > maxLines) lines = lines.slice(-maxLines);
    },
    text(): string {
      const all = pending.trim() === '' ? lines : [...lines, pending];
      return all.slice(-maxLines).join('\n').trim();
    },
  };
}

export interface MediaInfo {
  durationSeconds: number;
  /** Of the first video stream as it is shown (and as ffmpeg decodes it: rotated upright); 0 without video. */
  width: number;
  height: number;
  /** e.g. 'h264'; null without a video stream. */
  videoCodec: string | null;
  /** e.g. 'yuv420p'; null without a video stream. */
  pixelFormat: string | null;
  /** Frame rate as ffprobe gives it ('25/1', '30000/1001'), which ffmpeg's -r and fps= accept as is. */
  frameRate: string | null;
  hasAudio: boolean;
  /** ffprobe's format name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2'. */
  formatName: string;
  bytes: number;
  mimeType: string;
}

const execFileAsync = promisify(execFile);

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  tags?: { rotate?: string };
  side_data_list?: Array<{ rotation?: number }>;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; size?: string };
}

/** Measures a media file with ffprobe. Throws FfmpegError when ffprobe cannot read it. */
export async function probeMedia(filePath: string, options: { signal?: AbortSignal } = {}): Promise<MediaInfo> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(
      ffprobePath,
      ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', filePath],
      { signal: options.signal, maxBuffer: 16 * 1024 * 1024 },
    ));
  } catch (error) {
    if (options.signal?.aborted) throw new FfmpegAbortError();
    const failure = error as { code?: unknown; stderr?: string; message: string };
    const exitCode = typeof failure.code === 'number' ? failure.code : null;
    const stderr = (failure.stderr ?? failure.message).trim().split('\n').slice(-STDERR_TAIL_LINES).join('\n');
    throw new FfmpegError('ffprobe could not read the file', exitCode, stderr);
  }

  const probe = JSON.parse(stdout) as FfprobeOutput;
  const streams = probe.streams ?? [];
  const video = streams.find((stream) => stream.codec_type === 'video');
  const formatName = probe.format?.format_name ?? 'unknown';
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  // Phones store portrait video as landscape frames plus a rotation, which
  // ffmpeg applies when it decodes: report the size filters will see.
  const rotation = Number(video?.side_data_list?.find((data) => data.rotation !== undefined)?.rotation ?? video?.tags?.rotate ?? 0);
  const sideways = Math.abs(rotation) % 180 === 90;
  return {
    durationSeconds: Number(probe.format?.duration ?? video?.duration ?? 0) || 0,
    width: (sideways ? video?.height : video?.width) ?? 0,
    height: (sideways ? video?.width : video?.height) ?? 0,
    videoCodec: video?.codec_name ?? null,
    pixelFormat: video?.pix_fmt ?? null,
    frameRate: usableFrameRate(video),
    hasAudio: audio !== undefined,
    formatName,
    bytes: Number(probe.format?.size ?? 0) || 0,
    mimeType: mimeTypeOf(formatName, video?.codec_name ?? null, audio?.codec_name ?? null),
  };
}

// r_frame_rate is the stream's nominal rate; for some variable-rate files it
// is a timebase like 90000/1, and the average is the better answer.
const MAX_PLAUSIBLE_FRAME_RATE = 240;

function usableFrameRate(video: FfprobeStream | undefined): string | null {
  for (const rate of [video?.r_frame_rate, video?.avg_frame_rate]) {
    const value = rate ? frameRateValue(rate) : 0;
    if (rate && value > 0 && value <= MAX_PLAUSIBLE_FRAME_RATE) return rate;
  }
  return null;
}

/** '30000/1001' → 29.97…; 0 for anything unusable ('0/0'). */
export function frameRateValue(rate: string): number {
  const [numerator, denominator = '1'] = rate.split('/');
  const value = Number(numerator) / Number(denominator);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

// ffprobe names demuxers, not file types, and one demuxer reads several types:
// the codecs decide between the flavours.
function mimeTypeOf(formatName: string, videoCodec: string | null, audioCodec: string | null): string {
  const names = new Set(formatName.split(','));
  if (names.has('mp4')) return videoCodec ? 'video/mp4' : 'audio/mp4';
  if (names.has('matroska')) {
    if (!videoCodec) return 'audio/webm';
    return ['vp8', 'vp9', 'av1'].includes(videoCodec) ? 'video/webm' : 'video/x-matroska';
  }
  if (names.has('ogg')) return videoCodec ? 'video/ogg' : 'audio/ogg';
  if (names.has('gif')) return 'image/gif';
  if (names.has('mp3')) return 'audio/mpeg';
  if (names.has('wav')) return 'audio/wav';
  if (names.has('flac')) return 'audio/flac';
  if (names.has('aac')) return 'audio/aac';
  const imageTypes: Record<string, string> = { png: 'image/png', mjpeg: 'image/jpeg', webp: 'image/webp' };
  if (videoCodec && !audioCodec && imageTypes[videoCodec]) return imageTypes[videoCodec];
  return 'application/octet-stream';
}
