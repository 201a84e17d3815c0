// What the cloud adapters share around a video they send or extend: how a
// source reaches a provider (its public URL, else a data URI within the
// provider's limit), and extend, which no cloud API offers natively: the
// source's last frame starts a continuation the provider generates, and the
// two clips are joined here with ffmpeg into the media store.

import { statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { probeMedia, runFfmpeg } from '../media/ffmpeg.js';
import { fetchMediaToStore, type FetchFn } from '../media/fetch-media.js';
import { assertValidKey, mediaKey, type MediaStore } from '../media/store.js';
import { h264Mp4OutputArgs } from './local/encoding.js';
import { evenFloor, ffmpegSeconds, probeRenderSource } from './local/render-source.js';
import { failedJob, MediaInputError, toProviderError, type ProviderName } from './provider-errors.js';
import type { PollResult, ProducedMedia, Support, VideoSource } from './types.js';

/** The prompt of a continuation when the extend request has none. */
export const CONTINUATION_PROMPT =
  'Continue this scene seamlessly from this frame: same subjects, style, lighting and camera movement.';

// ---------------------------------------------------------------------------
// Sending media to a provider

export interface MediaInputRules {
  /** The provider's name, for reasons shown to users. */
  provider: string;
  /** Longest data URI (characters) the provider takes; undefined when it takes none. */
  maxDataUriChars?: number;
  /** The provider fetches only https:// URLs. */
  httpsOnly: boolean;
}

/** Characters of a base64 data URI holding `bytes` bytes. */
export function dataUriLength(bytes: number, mimeType: string): number {
  return `data:${mimeType};base64,`.length + Math.ceil(bytes / 3) * 4;
}

function usableUrl(url: string | undefined, rules: MediaInputRules): url is string {
  return url !== undefined && (!rules.httpsOnly || url.startsWith('https://'));
}

/** Whether `source` can reach the provider, decided without reading it (supports*() are synchronous). */
export function checkSourceInput(source: VideoSource, rules: MediaInputRules): Support {
  if (usableUrl(source.publicUrl, rules)) return { ok: true };
  const noUrl = source.publicUrl
    ? `the source's URL is not https, which ${rules.provider} requires`
    : 'the source has no public URL (set PUBLIC_URL)';
  if (rules.maxDataUriChars === undefined) {
    return { ok: false, reason: `${rules.provider} takes videos only by URL, and ${noUrl}` };
  }
  // A URL source not downloaded yet: its size is checked again at submission.
  if (source.path === '') return { ok: true };
  let bytes: number;
  try {
    bytes = statSync(source.path).size;
  } catch {
    return { ok: false, reason: 'the source file cannot be read' };
  }
  if (dataUriLength(bytes, 'video/mp4') > rules.maxDataUriChars) {
    return {
      ok: false,
      reason:
        `${noUrl}, and at ${megabytes(bytes)} it is too large for the ` +
        `${megabytes((rules.maxDataUriChars * 3) / 4)} data URI ${rules.provider} accepts`,
    };
  }
  return { ok: true };
}

/** The string to send for `source`: its public URL, or the file as a data URI. */
export async function sourceInput(source: VideoSource, rules: MediaInputRules): Promise<string> {
  if (usableUrl(source.publicUrl, rules)) return source.publicUrl;
  const check = checkSourceInput(source, rules);
  if (!check.ok) throw new MediaInputError(check.reason);
  const { mimeType } = await probeMedia(source.path);
  return fileDataUri(source.path, mimeType.startsWith('video/') ? mimeType : 'video/mp4', rules);
}

/** A file as a data URI, refused when longer than the provider takes. */
export async function fileDataUri(path: string, mimeType: string, rules: MediaInputRules): Promise<string> {
  const bytes = await readFile(path);
  const length = dataUriLength(bytes.length, mimeType);
  if (rules.maxDataUriChars === undefined || length > rules.maxDataUriChars) {
    throw new MediaInputError(`the ${megabytes(bytes.length)} file is too large to send to ${rules.provider} as a data URI`);
  }
  return `data:${mimeType};base64,${bytes.toString('base64')}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

// ---------------------------------------------------------------------------
// Extend: last frame, continuation, join

/** Where an extension's files go: the extending job's folder, per attempt. */
export interface ExtendTarget {
  jobId: string;
  attempt: number;
  /** Store key of the source video. */
  sourceKey: string;
}

const EXTEND_PREFIX = 'extend';

/**
 * The handle poll and cancel get for an extend: the provider's task id plus
 * what the join needs after a restart, `extend:<job id>:<attempt>:<source key>:<task id>`
 * (store keys and job ids hold no colon). Other operations' handles are the
 * provider's bare task id.
 */
export function extendHandle(taskId: string, target: ExtendTarget): string {
  assertValidKey(target.sourceKey);
  return [EXTEND_PREFIX, target.jobId, String(target.attempt), target.sourceKey, taskId].join(':');
}

export function parseHandle(handle: string): { taskId: string; extend?: ExtendTarget } {
  if (!handle.startsWith(`${EXTEND_PREFIX}:`)) return { taskId: handle };
  const [, jobId = '', attempt = '', sourceKey = '', ...rest] = handle.split(':');
  const taskId = rest.join(':');
  const target = { jobId, attempt: Number(attempt), sourceKey };
  if (!/^[A-Za-z0-9_-]+$/.test(jobId) || !Number.isInteger(target.attempt) || !taskId) {
    throw new Error(`malformed extend handle: ${handle}`);
  }
  assertValidKey(sourceKey);
  return { taskId, extend: target };
}

/**
 * The source's last frame as a JPEG data URI (written to the store beside the
 * job's other files, so a failed attempt can be inspected).
 */
export async function lastFrameDataUri(
  store: MediaStore,
  target: ExtendTarget,
  rules: MediaInputRules,
  signal?: AbortSignal,
): Promise<string> {
  const key = mediaKey(target.jobId, `extend-frame-${target.attempt}.jpg`);
  const temp = await store.tempPathFor(key);
  try {
    await extractLastFrame(store.pathOf(target.sourceKey), temp, signal);
    await store.commit(temp, key);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return fileDataUri(store.pathOf(key), 'image/jpeg', rules);
}

/** Writes the last frame of `videoPath` as a JPEG. */
export async function extractLastFrame(videoPath: string, outputPath: string, signal?: AbortSignal): Promise<void> {
  const { durationSeconds } = await probeMedia(videoPath, { signal });
  // Decode only the final stretch; `-update 1` overwrites the one image with
  // every frame, so the file left is the last frame.
  const tail = Math.min(1, Math.max(0.1, durationSeconds));
  await runFfmpeg(
    ['-sseof', `-${ffmpegSeconds(tail)}`, '-i', videoPath, '-map', '0:v:0', '-update', '1', '-q:v', '2', '-f', 'image2', outputPath],
    { expectedDurationSeconds: tail, signal },
  );
}

export interface DownloadLimits {
  maxBytes: number;
  timeoutMs: number;
  fetch?: FetchFn;
}

/**
 * Copies the provider's continuation into the store and joins it after the
 * source: the joined file is the job's output, already stored. Safe to run
 * again (a poll repeated after a crash): a finished join is reused.
 */
export async function completeExtension(options: {
  store: MediaStore;
  target: ExtendTarget;
  continuationUrl: string;
  download: DownloadLimits;
  signal?: AbortSignal;
}): Promise<ProducedMedia> {
  const { store, target, signal } = options;
  const outputKey = mediaKey(target.jobId, `extended-${target.attempt}.mp4`);
  if (await store.stat(outputKey)) return { kind: 'stored', key: outputKey };
  const continuationKey = mediaKey(target.jobId, `continuation-${target.attempt}.mp4`);
  await fetchMediaToStore(options.continuationUrl, store, continuationKey, {
    ...options.download,
    accept: ['video/'],
    signal,
  });
  await joinClips(store, store.pathOf(target.sourceKey), store.pathOf(continuationKey), outputKey, signal);
  return { kind: 'stored', key: outputKey };
}

const PROVIDER_LABELS: Record<ProviderName, string> = { together: 'Together', runway: 'Runway', replicate: 'Replicate' };

/**
 * The poll answer for a video the provider finished: its output URL for the
 * job service to copy, or, for an extension, the source joined with that
 * continuation (FAILED when it cannot be made). A failure that may pass (the
 * download timed out, a 5xx) is thrown instead, so the job is polled again
 * and the provider's URL fetched afresh. No URL at all is the provider's fault.
 */
export async function succeededVideo(options: {
  provider: ProviderName;
  secrets: readonly string[];
  store: MediaStore;
  download: DownloadLimits;
  /** The provider's output URL, if it gave one. */
  url: string | undefined;
  /** Set when the job extends a source: the output is the source joined with the continuation at `url`. */
  extend: ExtendTarget | undefined;
  costUsd?: number;
}): Promise<PollResult> {
  const { url, extend, costUsd } = options;
  if (!url) {
    const message = `${PROVIDER_LABELS[options.provider]} reported success without an output URL`;
    return failedJob({ code: 'PROVIDER_ERROR', message, retryable: false }, costUsd);
  }
  if (!extend) return { kind: 'status', status: 'SUCCEEDED', progress: 1, output: { media: [{ kind: 'remote', url }] }, costUsd };
  try {
    const media = await completeExtension({ ...options, target: extend, continuationUrl: url });
    return { kind: 'status', status: 'SUCCEEDED', progress: 1, output: { media: [media] }, costUsd };
  } catch (error) {
    const failure = toProviderError(options.provider, error, options.secrets);
    if (failure.info.retryable) throw failure;
    return failedJob(failure.info, costUsd);
  }
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = { maxBytes: 512 * 1024 * 1024, timeoutMs: 120_000 };

/**
 * Writes `first` then `second` into the store under `outputKey`, in the first
 * clip's frame size and rate (the second is scaled to fit and padded, never
 * stretched), H.264 and AAC. A clip without sound gets silence when the other
 * has some.
 */
export async function joinClips(
  store: MediaStore,
  firstPath: string,
  secondPath: string,
  outputKey: string,
  signal?: AbortSignal,
): Promise<void> {
  const [first, second] = await Promise.all([probeRenderSource(firstPath, signal), probeRenderSource(secondPath, signal)]);
  const width = evenFloor(first.width);
  const height = evenFloor(first.height);
  const shape = [
    `scale=${width}:${height}:force_original_aspect_ratio=decrease`,
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`,
    'setsar=1',
    `fps=${first.frameRate}`,
    'format=yuv420p',
    'setpts=PTS-STARTPTS',
  ].join(',');
  const audio = first.hasAudio || second.hasAudio;
  const clips = [first, second];
  const inputs = clips.flatMap((clip) => ['-i', clip.path]);
  let inputCount = clips.length;
  const graph: string[] = [];
  const concatInputs: string[] = [];
  clips.forEach((clip, index) => {
    graph.push(`[${index}:v]${shape}[v${index}]`);
    concatInputs.push(`[v${index}]`);
    if (!audio) return;
    let audioInput = `${index}:a`;
    if (!clip.hasAudio) {
      audioInput = `${inputCount}:a`;
      inputCount += 1;
      inputs.push('-f', 'lavfi', '-t', ffmpegSeconds(clip.durationSeconds), '-i', 'anullsrc=r=48000:cl=stereo');
    }
    graph.push(`[${audioInput}]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,asetpts=PTS-STARTPTS[a${index}]`);
    concatInputs.push(`[a${index}]`);
  });
  graph.push(`${concatInputs.join('')}concat=n=2:v=1:a=${audio ? 1 : 0}[video]${audio ? '[audio]' : ''}`);

  const temp = await store.tempPathFor(outputKey);
  try {
    await runFfmpeg(
      [
        ...inputs,
        '-filter_complex',
        graph.join(';'),
        '-map',
        '[video]',
        ...(audio ? ['-map', '[audio]'] : []),
        ...h264Mp4OutputArgs({ audio }),
        temp,
      ],
      { expectedDurationSeconds: first.durationSeconds + second.durationSeconds, signal },
    );
    await store.commit(temp, outputKey);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
