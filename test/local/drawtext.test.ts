import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFontPath, drawtextFilter, escapeFilterOption, textWidthEm, wrapText } from '../../src/media/drawtext.js';
import { tempStore } from './helpers.js';

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempStore());
});
afterAll(() => cleanup());

describe('escapeFilterOption', () => {
  // Escaped once for the option level (\ ' :) and again for the graph level (\ ' [ ] , ;).
  it.each([
    ['plain text', 'plain text'],
    ['50% off', '50% off'],
    ['a:b', String.raw`a\\:b`],
    ["it's", String.raw`it\\\'s`],
    [String.raw`C:\path`, String.raw`C\\:\\\\path`],
    ['[x],y;z', String.raw`\[x\]\,y\;z`],
    [' pad ', String.raw`\\ pad\\\ `],
    ['a=b', 'a=b'],
  ])('escapes %j as %j', (value, escaped) => {
    expect(escapeFilterOption(value)).toBe(escaped);
  });
});

/** MD5 of the first frame a filtergraph (one video output) produces. */
async function firstFrameHash(graph: string): Promise<string> {
  const { stdout } = await run(ffmpegInstaller.path, ['-v', 'error', '-filter_complex', graph, '-frames:v', '1', '-f', 'framemd5', '-']);
  const line = stdout.split('\n').find((entry) => entry !== '' && !entry.startsWith('#'));
  return line?.split(',').at(-1)?.trim() ?? '';
}

const CANVAS = 'color=c=black:s=480x60:d=0.04';
const TEXT_LAYOUT = { fontSizePx: 20, x: '10', y: '20', color: 'white' };

/**
 * The reference: drawtext reading the same text from a file, where nothing
 * is escaped at all. Equal frames mean the escaping delivered every character.
 */
async function referenceHash(text: string, name: string): Promise<string> {
  const file = path.join(dir, `${name}.txt`);
  await writeFile(file, text);
  return firstFrameHash(`${CANVAS},drawtext=fontfile=${defaultFontPath}:expansion=none:textfile=${file}:fontsize=20:fontcolor=white:x=10:y=20`);
}

describe('drawtextFilter', () => {
  const nasty = [
    String.raw`It's 50% off: C:\path, [x]; done`,
    String.raw`%{pts} %{localtime} \n %%`,
    String.raw`'quoted' "double" \' \\ trailing\ `,
    '  spaces around  ',
    String.raw`;,[]'\:%= {} | & $HOME`,
    'ünïcödé — ✓ ¿¡ 😀',
  ];

  it.each(nasty.map((text, index) => [text, index] as const))('draws %j exactly as drawtext reads it from a file', async (text, index) => {
    const escaped = await firstFrameHash(`${CANVAS},${drawtextFilter({ text, ...TEXT_LAYOUT })}`);
    const reference = await referenceHash(text, `nasty-${index}`);
    expect(escaped).toBe(reference);
    // Not an empty canvas on both sides.
    expect(escaped).not.toBe(await firstFrameHash(CANVAS));
  });

  it('draws different text differently (the comparison above can fail)', async () => {
    const one = await firstFrameHash(`${CANVAS},${drawtextFilter({ text: "It's 50%", ...TEXT_LAYOUT })}`);
    const other = await firstFrameHash(`${CANVAS},${drawtextFilter({ text: "It's 60%", ...TEXT_LAYOUT })}`);
    expect(one).not.toBe(other);
  });

  it('draws control characters as spaces', async () => {
    const withControls = await firstFrameHash(`${CANVAS},${drawtextFilter({ text: 'a\nb\tc\u0000d', ...TEXT_LAYOUT })}`);
    expect(withControls).toBe(await referenceHash('a b c d', 'controls'));
  });

  it('always names the bundled font and turns expansion off', () => {
    const filter = drawtextFilter({ text: 'x', ...TEXT_LAYOUT });
    expect(filter).toContain(`fontfile=${escapeFilterOption(defaultFontPath)}`);
    expect(filter).toContain('expansion=none');
    expect(defaultFontPath).toMatch(/dejavu-fonts-ttf[/\\]ttf[/\\]DejaVuSans\.ttf$/);
  });
});

describe('wrapText', () => {
  const prompt = 'A red fox runs through a snowy forest at dawn while the camera slowly pans across tall pine trees';

  it('breaks between words into lines that fit the estimated width', () => {
    const lines = wrapText(prompt, { maxLineWidthPx: 300, fontSizePx: 20, maxLines: 10 });
    expect(lines.join(' ')).toBe(prompt);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(textWidthEm(line) * 20).toBeLessThanOrEqual(300);
  });

  it('caps the number of lines and ends the last one with an ellipsis', () => {
    const lines = wrapText(prompt, { maxLineWidthPx: 200, fontSizePx: 20, maxLines: 2 });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/…$/);
    expect(textWidthEm(lines[1]!) * 20).toBeLessThanOrEqual(200);
  });

  it('splits a word longer than a line', () => {
    const lines = wrapText('x'.repeat(60), { maxLineWidthPx: 100, fontSizePx: 10, maxLines: 10 });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join('')).toBe('x'.repeat(60));
  });

  it('gives no lines for blank text and flattens control characters', () => {
    expect(wrapText('  \n\t ', { maxLineWidthPx: 100, fontSizePx: 10, maxLines: 3 })).toEqual([]);
    expect(wrapText('a\nb', { maxLineWidthPx: 100, fontSizePx: 10, maxLines: 3 })).toEqual(['a b']);
  });

  it('produces lines whose rendered glyphs really fit the width', async () => {
    const maxLineWidthPx = 240;
    const fontSizePx = 24;
    const text = 'WWW MMM mmm www ЖЖЖ QQQ %%% @@@ ### Wide Words Matter Most When Measured';
    const lines = wrapText(text, { maxLineWidthPx, fontSizePx, maxLines: 20 });
    for (const line of lines) {
      // Drawn at x=0 on a canvas twice as wide: whatever lies right of the
      // limit must be black, and the left part must hold the text.
      const drawn = `color=c=black:s=${maxLineWidthPx * 2}x40:d=0.04,${drawtextFilter({ text: line, fontSizePx, x: '0', y: '4', color: 'white' })}`;
      const [left, right] = await Promise.all([
        brightest(`${drawn},crop=${maxLineWidthPx}:40:0:0`),
        brightest(`${drawn},crop=${maxLineWidthPx}:40:${maxLineWidthPx}:0`),
      ]);
      expect(left, line).toBeGreaterThan(200);
      expect(right, line).toBeLessThan(40);
    }
  });
});

let measurement = 0;

/** The brightest luma of the first frame (ffmpeg measures: the bundled ffprobe has no drawtext). */
async function brightest(graph: string): Promise<number> {
  measurement += 1;
  const file = path.join(dir, `stats-${measurement}.txt`);
  await run(ffmpegInstaller.path, [
    '-v', 'error', '-filter_complex', `${graph},signalstats,metadata=mode=print:file=${file}`, '-frames:v', '1', '-f', 'null', '-',
  ]);
  const match = /lavfi\.signalstats\.YMAX=(\d+)/.exec(await readFile(file, 'utf8'));
  if (!match) throw new Error(`no YMAX measured for ${graph}`);
  return Number(match[1]);
}
