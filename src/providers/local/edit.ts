// Turns parsed edit operations into one ffmpeg run over the source.

import { drawtextFilter, wrapText } from '../../media/drawtext.js';
import { assertUnreachable, type AspectRatio } from '../../domain.js';
import { editedDurationSeconds, fadeSeconds, resolveTrim, type EditOperation } from './edit-parser.js';
import { h264Mp4OutputArgs } from './encoding.js';
import { evenFloor, evenRound, ffmpegSeconds, type RenderSource } from './render-source.js';

export interface EditRender {
  args: string[];
  outputDurationSeconds: number;
}

// Sepia by the classic matrix (rows: output R, G, B from input R, G, B).
const SEPIA_MIXER = 'colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131';

/** The ffmpeg arguments that apply `operations` (in EDIT_OPERATION_ORDER) to `source`. */
export function editFfmpegArgs(operations: readonly EditOperation[], source: RenderSource, outputPath: string): EditRender {
  const outputDuration = editedDurationSeconds(operations, source.durationSeconds);
  const keepAudio = source.hasAudio && !operations.some((operation) => operation.kind === 'mute');
  const { video, audio } = timelineFilters(operations, source);
  let size = { width: source.width, height: source.height };

  for (const operation of operations) {
    switch (operation.kind) {
      case 'trim':
      case 'reverse':
      case 'speed':
        // In timelineFilters.
        break;
      case 'mute':
        // The audio is not mapped.
        break;
      case 'crop':
        size = cropSize(size, operation.aspectRatio);
        video.push(`crop=${size.width}:${size.height}`);
        break;
      case 'resize':
        if ('resolution' in operation.target) {
          size = sizeForShortSide(size, Number.parseInt(operation.target.resolution, 10));
          video.push(`scale=${size.width}:${size.height}`);
        } else {
          // Fill the frame and cut the overflow: no stretching, no black bars.
          size = { ...operation.target };
          video.push(`scale=${size.width}:${size.height}:force_original_aspect_ratio=increase`, `crop=${size.width}:${size.height}`);
        }
        break;
      case 'grayscale':
        video.push('hue=s=0');
        break;
      case 'sepia':
        video.push(SEPIA_MIXER);
        break;
      case 'caption':
        video.push(...captionFilters(operation.text, size));
        break;
      case 'fade': {
        const length = fadeSeconds(operation, outputDuration);
        const start = operation.direction === 'in' ? 0 : Math.max(0, outputDuration - length);
        const options = `t=${operation.direction}:st=${ffmpegSeconds(start)}:d=${ffmpegSeconds(length)}`;
        video.push(`fade=${options}`);
        audio.push(`afade=${options}`);
        break;
      }
      default:
        assertUnreachable(operation);
    }
  }

  // Crops and resizes keep sides even; a source with an odd side needs it here.
  if (size.width % 2 !== 0 || size.height % 2 !== 0) {
    size = { width: evenFloor(size.width), height: evenFloor(size.height) };
    video.push(`crop=${size.width}:${size.height}`);
  }

  // Silence pads audio that ends before the video does; -t ends both.
  const graph = [`[0:v]${[...video, 'format=yuv420p'].join(',')}[video]`];
  if (keepAudio) graph.push(`[0:a]${[...audio, 'apad'].join(',')}[audio]`);

  return {
    outputDurationSeconds: outputDuration,
    args: [
      '-i',
      source.path,
      '-filter_complex',
      graph.join(';'),
      '-map',
      '[video]',
      ...(keepAudio ? ['-map', '[audio]'] : []),
      '-t',
      ffmpegSeconds(outputDuration),
      ...h264Mp4OutputArgs({ audio: keepAudio }),
      outputPath,
    ],
  };
}

/**
 * Trim, reverse and speed, which change time: afterwards timestamps start at
 * 0 on the edited timeline (fades count from there) at a constant frame rate.
 */
function timelineFilters(operations: readonly EditOperation[], source: RenderSource): { video: string[]; audio: string[] } {
  const video: string[] = [];
  const audio: string[] = [];
  const trim = operations.find((operation) => operation.kind === 'trim');
  if (trim?.kind === 'trim') {
    const { startSeconds, endSeconds } = resolveTrim(trim, source.durationSeconds);
    const range = `start=${ffmpegSeconds(startSeconds)}:end=${ffmpegSeconds(endSeconds)}`;
    video.push(`trim=${range}`);
    audio.push(`atrim=${range}`);
  }
  video.push('setpts=PTS-STARTPTS');
  audio.push('asetpts=PTS-STARTPTS');
  if (operations.some((operation) => operation.kind === 'reverse')) {
    video.push('reverse');
    audio.push('areverse');
  }
  // The last frame is held a while (cut by -t later), still on the source's
  // own timeline: tpad stamps its frames by the source frame rate, and
  // ffmpeg 4.1's fps filter drops the real last frame of a slowed clip unless
  // frames follow it.
  video.push('tpad=stop_mode=clone:stop_duration=1');
  const speed = operations.find((operation) => operation.kind === 'speed');
  if (speed?.kind === 'speed') {
    video.push(`setpts=PTS/${Number(speed.factor.toFixed(6))}`);
    audio.push(...atempoChain(speed.factor));
  }
  video.push(`fps=${source.frameRate}`);
  return { video, audio };
}

/** atempo sounds best between 0.5 and 2, so larger changes are a chain of steps. */
function atempoChain(factor: number): string[] {
  const steps: string[] = [];
  let remaining = factor;
  while (remaining > 2) {
    steps.push('atempo=2');
    remaining /= 2;
  }
  while (remaining < 0.5) {
    steps.push('atempo=0.5');
    remaining /= 0.5;
  }
  if (Math.abs(remaining - 1) > 1e-9) steps.push(`atempo=${Number(remaining.toFixed(6))}`);
  return steps;
}

/** The largest centred frame of the aspect ratio inside `size`. */
export function cropSize(size: { width: number; height: number }, aspectRatio: AspectRatio): { width: number; height: number } {
  const [ratioWidth, ratioHeight] = aspectRatio.split(':').map(Number) as [number, number];
  if (size.width * ratioHeight > size.height * ratioWidth) {
    return { width: evenFloor((size.height * ratioWidth) / ratioHeight), height: evenFloor(size.height) };
  }
  return { width: evenFloor(size.width), height: evenFloor((size.width * ratioHeight) / ratioWidth) };
}

/** `size` scaled so that its short side is `shortSide` (720p of 9:16 is 720x1280). */
export function sizeForShortSide(size: { width: number; height: number }, shortSide: number): { width: number; height: number } {
  if (size.width >= size.height) return { width: evenRound((shortSide * size.width) / size.height), height: shortSide };
  return { width: shortSide, height: evenRound((shortSide * size.height) / size.width) };
}

function captionFilters(text: string, size: { width: number; height: number }): string[] {
  const fontSizePx = Math.max(12, Math.round(Math.min(size.width, size.height) * 0.065));
  const lines = wrapText(text, { maxLineWidthPx: size.width * 0.86, fontSizePx, maxLines: 3 });
  const lineHeight = Math.round(fontSizePx * 1.45);
  const bottom = size.height - Math.round(size.height * 0.07);
  return lines.map((line, index) =>
    drawtextFilter({
      text: line,
      fontSizePx,
      x: '(w-text_w)/2',
      y: String(bottom - (lines.length - index) * lineHeight),
      color: 'white',
      box: { color: 'black@0.55', borderPx: fontSizePx * 0.25 },
    }),
  );
}
