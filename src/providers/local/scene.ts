// The local text-to-video "model": an animated scene drawn by ffmpeg filters.
// Its palette, motion and layout come from a hash of the prompt and seed, so
// the same request always gives the same frames and another seed another
// scene; the prompt itself is written across it.

import { createHash } from 'node:crypto';
import type { GenerateVideoRequest } from '../types.js';
import { drawtextFilter, escapeFilterOption, wrapText } from '../../media/drawtext.js';
import { h264Mp4OutputArgs } from './encoding.js';

/** The part of a generate request that decides the picture. */
export type SceneRequest = Pick<GenerateVideoRequest, 'prompt' | 'seed' | 'durationSeconds' | 'fps' | 'width' | 'height'>;

/**
 * The full ffmpeg argument list (without the progress and logging options
 * runFfmpeg adds) that renders `request` into `outputPath`. Exported so that
 * the benchmark can run exactly the command the provider runs.
 */
export function sceneFfmpegArgs(request: SceneRequest, outputPath: string): string[] {
  const frameCount = Math.max(1, Math.round(request.durationSeconds * request.fps));
  return [
    '-filter_complex',
    `${sceneFiltergraph(request)}[video]`,
    '-map',
    '[video]',
    '-frames:v',
    String(frameCount),
    ...h264Mp4OutputArgs(),
    outputPath,
  ];
}

/** The filtergraph, without its output label. */
function sceneFiltergraph(request: SceneRequest): string {
  const look = sceneLook(request.prompt, request.seed);
  const { width, height } = request;
  // The colour field is computed on a small grid and scaled up: the picture
  // is all smooth gradients, and geq costs per pixel. The scaler is asked for
  // bit-exact output so that its SIMD code paths cannot make one machine's
  // frames differ from another's.
  const gridScale = Math.max(width, height) / BACKGROUND_GRID_LONG_SIDE;
  const gridWidth = Math.max(8, Math.round(width / gridScale));
  const gridHeight = Math.max(8, Math.round(height / gridScale));

  const filters = [
    `nullsrc=size=${gridWidth}x${gridHeight}:rate=${request.fps}`,
    'format=gbrp',
    `geq=${(['r', 'g', 'b'] as const).map((channel) => `${channel}=${escapeFilterOption(colourExpression(look, channel, width / height))}`).join(':')}`,
    `scale=${width}:${height}:flags=bicubic+accurate_rnd+bitexact`,
    'format=yuv420p',
    'setsar=1',
    ...titleFilters(request.prompt, look, width, height),
  ];
  return filters.join(',');
}

const BACKGROUND_GRID_LONG_SIDE = 64;

type Rgb = [number, number, number];

interface Blob {
  radius: number;
  speedX: number;
  speedY: number;
  phaseX: number;
  phaseY: number;
}

interface SceneLook {
  /** Gradient from `deep` to `middle`, lit by blobs of `light`. */
  deep: Rgb;
  middle: Rgb;
  light: Rgb;
  gradientAngle: number;
  gradientCycles: number;
  gradientSpeed: number;
  gradientPhase: number;
  blobs: Blob[];
  titlePlacement: 'upper' | 'centre' | 'lower';
  titleSizeRatio: number;
}

/** Everything random-looking in a scene, drawn from SHA-256 of the seed and prompt. */
function sceneLook(prompt: string, seed: number): SceneLook {
  const next = hashStream(`${seed}\u0000${prompt}`);
  const between = (low: number, high: number) => low + (high - low) * next();

  const hue = next() * 360;
  const harmony = [30, 150, 180, 210, 120][Math.floor(next() * 5)] ?? 150;
  const saturation = between(0.5, 0.85);
  const blobs: Blob[] = [0, 1, 2].map(() => ({
    radius: between(0.12, 0.26),
    speedX: between(0.3, 1.1) * (next() < 0.5 ? -1 : 1),
    speedY: between(0.3, 1.1),
    phaseX: next() * 2 * Math.PI,
    phaseY: next() * 2 * Math.PI,
  }));
  return {
    deep: hslToRgb(hue, saturation, between(0.12, 0.24)),
    middle: hslToRgb(hue + harmony / 2, saturation, between(0.35, 0.5)),
    light: hslToRgb(hue + harmony, saturation, between(0.6, 0.72)),
    gradientAngle: next() * 2 * Math.PI,
    gradientCycles: between(0.5, 1.4),
    gradientSpeed: between(0.4, 1.3),
    gradientPhase: next() * 2 * Math.PI,
    blobs,
    titlePlacement: (['upper', 'centre', 'lower'] as const)[Math.floor(next() * 3)] ?? 'centre',
    titleSizeRatio: between(0.065, 0.085),
  };
}

/**
 * geq expression of one channel. No st()/ld() registers: geq evaluates one
 * expression from several slice threads at once, and registers are shared
 * between them (racing threads leave streaks and break determinism).
 */
function colourExpression(look: SceneLook, channel: 'r' | 'g' | 'b', aspect: number): string {
  const index = ({ r: 0, g: 1, b: 2 } as const)[channel];
  const [deep, middle, light] = [look.deep[index], look.middle[index], look.light[index]];
  const n = (value: number) => value.toFixed(4);
  const along = `(${n(Math.cos(look.gradientAngle))}*X/W+${n(Math.sin(look.gradientAngle))}*Y/H)`;
  const gradient = `0.5+0.5*sin(${n(2 * Math.PI * look.gradientCycles)}*${along}+${n(look.gradientSpeed)}*T+${n(look.gradientPhase)})`;
  const blobs = look.blobs
    .map((blob) => {
      const centreX = `(0.5+0.35*sin(${n(blob.speedX)}*T+${n(blob.phaseX)}))`;
      const centreY = `(0.5+0.3*cos(${n(blob.speedY)}*T+${n(blob.phaseY)}))`;
      return `exp(-(pow((X/W-${centreX})*${n(aspect)},2)+pow(Y/H-${centreY},2))/${n(blob.radius ** 2)})`;
    })
    .join('+');
  const base = `(${n(deep)}+${n(middle - deep)}*(${gradient}))`;
  return `${base}+(${n(light)}-${base})*0.85*min(1,${blobs})`;
}

function titleFilters(prompt: string, look: SceneLook, width: number, height: number): string[] {
  const fontSizePx = Math.max(10, Math.round(Math.min(width, height) * look.titleSizeRatio));
  const lines = wrapText(prompt, { maxLineWidthPx: width * 0.86, fontSizePx, maxLines: 4 });
  const lineHeight = Math.round(fontSizePx * 1.3);
  const blockHeight = lineHeight * lines.length;
  const top = {
    upper: height * 0.12,
    centre: (height - blockHeight) / 2,
    lower: height * 0.88 - blockHeight,
  }[look.titlePlacement];
  // Lines rise into place and fade in over the first 0.8 s, one after another.
  return lines.map((line, index) => {
    const start = (0.15 * index).toFixed(2);
    const rise = `max(0,1-(t-${start})/0.8)`;
    return drawtextFilter({
      text: line,
      fontSizePx,
      x: '(w-text_w)/2',
      y: `${Math.round(top + index * lineHeight)}+${Math.round(fontSizePx * 0.8)}*${rise}*${rise}`,
      color: 'white',
      alpha: `min(1,max(0,(t-${start})/0.8))`,
      shadow: { color: 'black@0.6', offsetPx: Math.max(1, fontSizePx / 14) },
    });
  });
}

/** Numbers in [0, 1) from SHA-256 in counter mode: block n hashes the input and n. */
function hashStream(input: string): () => number {
  let block = Buffer.alloc(0);
  let blockIndex = 0;
  let offset = 0;
  return () => {
    if (offset + 4 > block.length) {
      block = createHash('sha256').update(`${blockIndex}\u0000${input}`).digest();
      blockIndex += 1;
      offset = 0;
    }
    const value = block.readUInt32BE(offset) / 2 ** 32;
    offset += 4;
    return value;
  };
}

function hslToRgb(hueDegrees: number, saturation: number, lightness: number): Rgb {
  const hue = (((hueDegrees % 360) + 360) % 360) / 360;
  const q = lightness < 0.5 ? lightness * (1 + saturation) : lightness + saturation - lightness * saturation;
  const p = 2 * lightness - q;
  const channel = (shift: number) => {
    let t = hue + shift;
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [channel(1 / 3), channel(0), channel(-1 / 3)].map((value) => Math.round(value * 255)) as Rgb;
}
