// Extending a video without a model: after the source, either its last frame
// held with a slow zoom (freeze), its start played again (loop), or the clip
// played backwards and forwards (boomerang). One ffmpeg run joins the source
// and the extension.

import { assertUnreachable } from '../../domain.js';
import type { Support } from '../types.js';
import { h264Mp4OutputArgs } from './encoding.js';
import { MAX_REVERSE_PIXEL_SECONDS } from './edit-parser.js';
import { evenFloor, ffmpegSeconds, type RenderSource } from './render-source.js';

export type ExtendMode = 'freeze' | 'loop' | 'boomerang';

export const MAX_EXTENSION_SECONDS = 60;
/** Each bounce is one more input file; past this a loop is the better answer. */
export const MAX_BOOMERANG_BOUNCES = 12;
/** How far the freeze frame zooms in over the extension. */
const FREEZE_ZOOM = 0.12;

/** Boomerang wins over loop ("loop it backwards"), and freeze is the default. */
export function extendModeFromPrompt(prompt: string | undefined): ExtendMode {
  const text = (prompt ?? '').toLowerCase();
  if (/\b(?:boomerang|backwards?|reverse[ds]?|rewind|ping[\s-]?pong|bounce)\b/.test(text)) return 'boomerang';
  if (/\b(?:loop(?:s|ed|ing)?|repeat(?:s|ed|ing)?|replay|again|from the (?:start|beginning))\b/.test(text)) return 'loop';
  return 'freeze';
}

/** Whether an extension can be rendered locally. */
export function checkExtension(
  extensionSeconds: number,
  mode: ExtendMode,
  source: { durationSeconds: number; width: number; height: number },
): Support {
  if (!Number.isFinite(extensionSeconds) || extensionSeconds <= 0 || extensionSeconds > MAX_EXTENSION_SECONDS) {
    return { ok: false, reason: `the extension must be more than 0 and at most ${MAX_EXTENSION_SECONDS} seconds, not ${extensionSeconds}` };
  }
  if (mode === 'boomerang') {
    const bounces = Math.ceil(extensionSeconds / source.durationSeconds);
    if (bounces > MAX_BOOMERANG_BOUNCES) {
      return {
        ok: false,
        reason: `a ${extensionSeconds}s boomerang of a ${source.durationSeconds}s clip needs ${bounces} bounces, more than ${MAX_BOOMERANG_BOUNCES}: ask for a loop instead`,
      };
    }
    const reversedSeconds = Math.min(extensionSeconds, source.durationSeconds);
    const limitSeconds = MAX_REVERSE_PIXEL_SECONDS / (source.width * source.height);
    if (reversedSeconds > limitSeconds) {
      return {
        ok: false,
        reason: `a boomerang holds the reversed part in memory: at ${source.width}x${source.height} the local editor reverses at most ${limitSeconds.toFixed(1)}s, not ${reversedSeconds}s`,
      };
    }
  }
  return { ok: true };
}

export interface ExtendRender {
  args: string[];
  outputDurationSeconds: number;
}

interface Segment {
  /** Input options put before this segment's `-i`. */
  inputOptions: string[];
  videoFilters: string[];
  audioFilters: string[];
}

/** The ffmpeg arguments that write `source` followed by the extension. */
export function extendFfmpegArgs(mode: ExtendMode, extensionSeconds: number, source: RenderSource, outputPath: string): ExtendRender {
  const width = evenFloor(source.width);
  const height = evenFloor(source.height);
  const total = source.durationSeconds + extensionSeconds;
  // Every segment leaves in the same shape, which concat requires.
  const uniform = [`fps=${source.frameRate}`, `crop=${width}:${height}`, 'setsar=1', 'format=yuv420p'];

  const segments: Segment[] = [
    { inputOptions: [], videoFilters: ['setpts=PTS-STARTPTS'], audioFilters: ['asetpts=PTS-STARTPTS'] },
    ...extensionSegments(mode, extensionSeconds, source, width, height),
  ];
  // The freeze frame has no sound of its own: the source's audio is padded with silence.
  const joinAudio = source.hasAudio && mode !== 'freeze';

  // Video and sound are joined separately: joined together, concat would start
  // each segment after the longer of the two, and AAC sound runs a few
  // milliseconds past the picture, so every seam would hold a frame twice.
  const graph: string[] = [];
  segments.forEach((segment, index) => {
    graph.push(`[${index}:v]${[...segment.videoFilters, ...uniform].join(',')}[v${index}]`);
    if (joinAudio) graph.push(`[${index}:a]${segment.audioFilters.join(',')}[a${index}]`);
  });
  const videoInputs = segments.map((_segment, index) => `[v${index}]`).join('');
  // The last frame held a while, so that -t, not a rounding, ends the video.
  graph.push(`${videoInputs}concat=n=${segments.length}:v=1:a=0,tpad=stop_mode=clone:stop_duration=1[video]`);
  if (joinAudio) {
    const audioInputs = segments.map((_segment, index) => `[a${index}]`).join('');
    graph.push(`${audioInputs}concat=n=${segments.length}:v=0:a=1,apad[audio]`);
  } else if (source.hasAudio) {
    graph.push('[0:a]asetpts=PTS-STARTPTS,apad[audio]');
  }

  return {
    outputDurationSeconds: total,
    args: [
      ...segments.flatMap((segment) => [...segment.inputOptions, '-i', source.path]),
      '-filter_complex',
      graph.join(';'),
      '-map',
      '[video]',
      ...(source.hasAudio ? ['-map', '[audio]'] : []),
      '-t',
      ffmpegSeconds(total),
      ...h264Mp4OutputArgs({ audio: source.hasAudio }),
      outputPath,
    ],
  };
}

function extensionSegments(mode: ExtendMode, extensionSeconds: number, source: RenderSource, width: number, height: number): Segment[] {
  switch (mode) {
    case 'freeze': {
      const frames = Math.max(1, Math.round(extensionSeconds * source.framesPerSecond));
      // The last frame: decode the final half second and keep its last frame
      // (reverse buffers those few frames only). zoompan crops at whole pixels,
      // so it works on a frame scaled up twice to halve the jitter of a slow zoom.
      return [
        {
          inputOptions: ['-ss', ffmpegSeconds(Math.max(0, source.durationSeconds - 0.5))],
          videoFilters: [
            'reverse',
            'trim=end_frame=1',
            `scale=${width * 2}:${height * 2}:flags=bicubic`,
            `zoompan=z=1+${FREEZE_ZOOM}*on/${frames}:x=iw/2-(iw/zoom/2):y=ih/2-(ih/zoom/2):d=${frames}:s=${width}x${height}:fps=${source.frameRate}`,
            'setpts=PTS-STARTPTS',
          ],
          audioFilters: [],
        },
      ];
    }
    case 'loop': {
      const plays = Math.ceil(extensionSeconds / source.durationSeconds);
      const length = ffmpegSeconds(extensionSeconds);
      return [
        {
          inputOptions: ['-stream_loop', String(plays - 1)],
          videoFilters: [`trim=duration=${length}`, 'setpts=PTS-STARTPTS'],
          audioFilters: [`atrim=duration=${length}`, 'asetpts=PTS-STARTPTS'],
        },
      ];
    }
    case 'boomerang': {
      // Backwards from the end, then forwards from the start, and so on; every
      // bounce but the last is the whole clip, so each starts where the last ended.
      // (-ss from the start, not -sseof: -sseof counts from a container end that
      // AAC priming can push past the last frame, and loses a frame.)
      const segments: Segment[] = [];
      for (let remaining = extensionSeconds, bounce = 0; remaining > 1e-6; bounce += 1) {
        const length = Math.min(remaining, source.durationSeconds);
        remaining -= length;
        const backwards = bounce % 2 === 0;
        segments.push(
          backwards
            ? {
                inputOptions: ['-ss', ffmpegSeconds(source.durationSeconds - length)],
                videoFilters: ['reverse', 'setpts=PTS-STARTPTS'],
                audioFilters: ['areverse', 'asetpts=PTS-STARTPTS'],
              }
            : {
                inputOptions: ['-t', ffmpegSeconds(length)],
                videoFilters: ['setpts=PTS-STARTPTS'],
                audioFilters: ['asetpts=PTS-STARTPTS'],
              },
        );
      }
      return segments;
    }
    default:
      return assertUnreachable(mode);
  }
}
