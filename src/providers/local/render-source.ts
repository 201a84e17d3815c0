// What a render needs to know about the video it edits or extends, measured
// from the file itself rather than trusted from the request.

import { frameRateValue, probeMedia } from '../../media/ffmpeg.js';

export interface RenderSource {
  path: string;
  durationSeconds: number;
  width: number;
  height: number;
  hasAudio: boolean;
  /** As ffprobe gives it ('30000/1001'); the output keeps it. */
  frameRate: string;
  framesPerSecond: number;
}

/** Used when a stream gives no usable rate (rare: some screen recordings). */
const FALLBACK_FRAME_RATE = '30';

export async function probeRenderSource(path: string, signal?: AbortSignal): Promise<RenderSource> {
  const info = await probeMedia(path, { signal });
  if (!info.videoCodec || info.width === 0 || info.height === 0) throw new Error(`the source has no video stream`);
  if (!(info.durationSeconds > 0)) throw new Error(`the source has no duration`);
  const frameRate = info.frameRate ?? FALLBACK_FRAME_RATE;
  return {
    path,
    durationSeconds: info.durationSeconds,
    width: info.width,
    height: info.height,
    hasAudio: info.hasAudio,
    frameRate,
    framesPerSecond: frameRateValue(frameRate),
  };
}

/** The largest even number not above `value` (H.264 in yuv420p needs even sides). */
export function evenFloor(value: number): number {
  return Math.max(2, Math.floor(value / 2) * 2);
}

/** The nearest even number to `value`. */
export function evenRound(value: number): number {
  return Math.max(2, Math.round(value / 2) * 2);
}

/** Seconds as ffmpeg reads them, without exponent notation or float noise. */
export function ffmpegSeconds(value: number): string {
  return String(Number(value.toFixed(6)));
}
