// Text in ffmpeg frames: the escaping that lets any user string through a
// filtergraph, a drawtext filter builder that always names its font (a fresh
// machine has no system fonts), and word wrapping for a frame's width.

import { createRequire } from 'node:module';

/** DejaVu Sans from the dejavu-fonts-ttf package. */
export const defaultFontPath: string = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

/**
 * Escapes a value for `key=<value>` inside a filtergraph string. ffmpeg
 * unescapes it twice: the graph parser splits filters at `[ ] , ;` and the
 * filter splits its options at `:`; both honour `\` and `'` and trim
 * unescaped whitespace at the ends. So the value is escaped for the option
 * level first, then the result for the graph level.
 *
 * Used for every option value we build (user text, font paths, expressions
 * with commas), so there is one way to get a value through.
 */
export function escapeFilterOption(value: string): string {
  return escapeLevel(escapeLevel(value, OPTION_SPECIALS), GRAPH_SPECIALS);
}

const OPTION_SPECIALS = new Set(["\\", "'", ':']);
const GRAPH_SPECIALS = new Set(["\\", "'", '[', ']', ',', ';']);

function escapeLevel(value: string, specials: ReadonlySet<string>): string {
  const chars = [...value];
  const lastIndex = chars.length - 1;
  return chars
    .map((char, index) => {
      const trimmedAway = /\s/.test(char) && (index === 0 || index === lastIndex);
      return specials.has(char) || trimmedAway ? `\\${char}` : char;
    })
    .join('');
}

export interface DrawtextOptions {
  text: string;
  fontSizePx: number;
  /** ffmpeg expressions (may use w, h, text_w, text_h, t). */
  x: string;
  y: string;
  /** ffmpeg colour, e.g. 'white' or '0xRRGGBB@0.8'. */
  color: string;
  /** Expression for the opacity 0..1, e.g. to fade text in. */
  alpha?: string;
  shadow?: { color: string; offsetPx: number };
  box?: { color: string; borderPx: number };
  fontPath?: string;
}

/**
 * A drawtext filter for one line of user text. `expansion=none` makes `%`
 * literal (no `%{pts}` and friends); control characters become spaces, since
 * drawtext would break lines at them or draw boxes.
 */
export function drawtextFilter(options: DrawtextOptions): string {
  const printable = options.text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  const settings: Array<[string, string]> = [
    ['fontfile', options.fontPath ?? defaultFontPath],
    ['expansion', 'none'],
    ['text', printable],
    ['fontsize', String(Math.round(options.fontSizePx))],
    ['fontcolor', options.color],
    ['x', options.x],
    ['y', options.y],
  ];
  if (options.alpha !== undefined) settings.push(['alpha', options.alpha]);
  if (options.shadow) {
    const offset = String(Math.round(options.shadow.offsetPx));
    settings.push(['shadowcolor', options.shadow.color], ['shadowx', offset], ['shadowy', offset]);
  }
  if (options.box) {
    settings.push(['box', '1'], ['boxcolor', options.box.color], ['boxborderw', String(Math.round(options.box.borderPx))]);
  }
  return `drawtext=${settings.map(([key, value]) => `${key}=${escapeFilterOption(value)}`).join(':')}`;
}

export interface WrapOptions {
  maxLineWidthPx: number;
  fontSizePx: number;
  maxLines: number;
}

const ELLIPSIS = '…';

/**
 * Splits text into lines that fit `maxLineWidthPx` at the font size, breaking
 * between words (and inside a word longer than a line). Past `maxLines` the
 * last line ends with an ellipsis. Widths are estimated from DejaVu Sans'
 * advances, rounded up so that a line never overflows.
 */
export function wrapText(text: string, options: WrapOptions): string[] {
  const maxEm = options.maxLineWidthPx / options.fontSizePx;
  const words = text
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .split(/\s+/)
    .filter((word) => word !== '')
    .flatMap((word) => splitLongWord(word, maxEm));

  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    const candidate = current === '' ? word : `${current} ${word}`;
    if (textWidthEm(candidate) <= maxEm) {
      current = candidate;
    } else {
      lines.push(current);
      current = word;
    }
  }
  if (current !== '') lines.push(current);

  if (lines.length <= options.maxLines) return lines;
  const kept = lines.slice(0, options.maxLines);
  let last = kept[kept.length - 1] ?? '';
  while (last !== '' && textWidthEm(`${last}${ELLIPSIS}`) > maxEm) last = [...last].slice(0, -1).join('');
  kept[kept.length - 1] = `${last.trimEnd()}${ELLIPSIS}`;
  return kept;
}

function splitLongWord(word: string, maxEm: number): string[] {
  if (textWidthEm(word) <= maxEm) return [word];
  const pieces: string[] = [];
  let piece = '';
  for (const char of word) {
    if (piece !== '' && textWidthEm(piece + char) > maxEm) {
      pieces.push(piece);
      piece = '';
    }
    piece += char;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

/** Estimated advance of a string in em, for DejaVu Sans. */
export function textWidthEm(text: string): number {
  let width = 0;
  for (const char of text) width += charWidthEm(char);
  return width;
}

// DejaVu Sans advances in em (read from the font's hmtx table), grouped and
// rounded up to the widest member of each group. Anything else, accented
// letters, Cyrillic and glyphs the font lacks, counts as the widest (Ж is 1.08).
function charWidthEm(char: string): number {
  if (" .,:;'|ijlI".includes(char)) return 0.34;
  if ('!ftr()[]"`-/\\*_?'.includes(char)) return 0.54;
  if (/[a-kn-vx-z]/.test(char)) return 0.64;
  if (/[A-LN-VX-Z0-9$&{}]/.test(char)) return 0.8;
  if ('#+=<>^~'.includes(char)) return 0.85;
  if ('mwMW%@…'.includes(char)) return 1.0;
  return 1.1;
}
