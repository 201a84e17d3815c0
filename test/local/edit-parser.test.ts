import { describe, expect, it } from 'vitest';
import {
  editedDurationSeconds,
  parseEditPrompt,
  resolveTrim,
  type EditOperation,
} from '../../src/providers/local/edit-parser.js';

const source = { durationSeconds: 5, width: 1280, height: 720 };
const first = (seconds: number): EditOperation => ({
  kind: 'trim',
  start: { seconds: 0, from: 'start' },
  end: { seconds, from: 'start' },
});

describe('parseEditPrompt understands', () => {
  it.each<[string, EditOperation[]]>([
    [
      "trim to the first 3 seconds, make it black and white and add the caption 'Hello'",
      [first(3), { kind: 'grayscale' }, { kind: 'caption', text: 'Hello' }],
    ],
    ['first 3 seconds', [first(3)]],
    ['keep only the first 2.5 seconds', [first(2.5)]],
    ['trim it to 3 seconds', [first(3)]],
    ['last 2 seconds', [{ kind: 'trim', start: { seconds: 2, from: 'end' }, end: { seconds: 0, from: 'end' } }]],
    ['from 1s to 4s', [{ kind: 'trim', start: { seconds: 1, from: 'start' }, end: { seconds: 4, from: 'start' } }]],
    ['trim from 1 to 4 seconds', [{ kind: 'trim', start: { seconds: 1, from: 'start' }, end: { seconds: 4, from: 'start' } }]],
    ['between 0:01 and 0:03', [{ kind: 'trim', start: { seconds: 1, from: 'start' }, end: { seconds: 3, from: 'start' } }]],
    ['from 2s to the end', [{ kind: 'trim', start: { seconds: 2, from: 'start' }, end: { seconds: 0, from: 'end' } }]],
    ['cut the first 2 seconds', [{ kind: 'trim', start: { seconds: 2, from: 'start' }, end: { seconds: 0, from: 'end' } }]],
    ['remove the last second', [{ kind: 'trim', start: { seconds: 0, from: 'start' }, end: { seconds: 1, from: 'end' } }]],
    ['2x', [{ kind: 'speed', factor: 2 }]],
    ['play it at 1.5x speed', [{ kind: 'speed', factor: 1.5 }]],
    ['twice as fast', [{ kind: 'speed', factor: 2 }]],
    ['half speed', [{ kind: 'speed', factor: 0.5 }]],
    ['slow motion', [{ kind: 'speed', factor: 0.5 }]],
    ['make it 4 times slower', [{ kind: 'speed', factor: 0.25 }]],
    ['speed it up', [{ kind: 'speed', factor: 2 }]],
    ['reverse it', [{ kind: 'reverse' }]],
    ['play the video backwards', [{ kind: 'reverse' }]],
    ['grayscale', [{ kind: 'grayscale' }]],
    ['make the clip B&W', [{ kind: 'grayscale' }]],
    ['remove the colour', [{ kind: 'grayscale' }]],
    ['give it a sepia look', [{ kind: 'sepia' }]],
    ['crop to 9:16', [{ kind: 'crop', aspectRatio: '9:16' }]],
    ['crop it to 4:3', [{ kind: 'crop', aspectRatio: '4:3' }]],
    ['make it square', [{ kind: 'crop', aspectRatio: '1:1' }]],
    ['change the aspect ratio to 16:9', [{ kind: 'crop', aspectRatio: '16:9' }]],
    ['resize to 480p', [{ kind: 'resize', target: { resolution: '480p' } }]],
    ['scale it to 640x360', [{ kind: 'resize', target: { width: 640, height: 360 } }]],
    ['add the caption "Big, bold; [x] and more"', [{ kind: 'caption', text: 'Big, bold; [x] and more' }]],
    ["caption: 'It's 50% off'", [{ kind: 'caption', text: "It's 50% off" }]],
    ["'Hello world'", [{ kind: 'caption', text: 'Hello world' }]],
    ['fade in', [{ kind: 'fade', direction: 'in', seconds: null }]],
    [
      'fade in and out',
      [
        { kind: 'fade', direction: 'in', seconds: null },
        { kind: 'fade', direction: 'out', seconds: null },
      ],
    ],
    ['fade out over 2 seconds', [{ kind: 'fade', direction: 'out', seconds: 2 }]],
    ['fade to black', [{ kind: 'fade', direction: 'out', seconds: null }]],
    ['mute', [{ kind: 'mute' }]],
    ['remove the audio', [{ kind: 'mute' }]],
    ['turn off the sound', [{ kind: 'mute' }]],
    [
      'Please make the video black & white, then speed it up 2x and mute it.',
      [{ kind: 'speed', factor: 2 }, { kind: 'grayscale' }, { kind: 'mute' }],
    ],
  ])('%j', (prompt, operations) => {
    expect(parseEditPrompt(prompt, source)).toEqual({ ok: true, operations });
  });

  it('puts operations in the order they are applied, whatever the prompt’s order', () => {
    const parsed = parseEditPrompt('fade out, mute, sepia, reverse, first 2 seconds', source);
    expect(parsed.ok && parsed.operations.map((operation) => operation.kind)).toEqual(['trim', 'reverse', 'sepia', 'fade', 'mute']);
  });
});

describe('parseEditPrompt refuses', () => {
  it.each([
    'turn the cat into a dog',
    'make it look like Van Gogh painted it',
    'remove the person in the background',
    'add a dragon flying over the city',
    'make the sky purple',
    // One understood clause does not carry one it does not understand.
    'trim to the first 3 seconds and replace the sky with a sunset',
    'mute it and make it look like a cartoon',
  ])('the generative %j', (prompt) => {
    const parsed = parseEditPrompt(prompt, source);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(/needs a generative video provider/);
  });

  it.each<[string, RegExp]>([
    ['speed it up 10x', /speed 10x is outside the 0\.25x to 4x range/],
    ['0.1x', /speed 0\.1x is outside/],
    ['trim to the first 7 seconds', /trim goes to 7s but the source lasts 5s/],
    ['last 6 seconds', /trim goes to 6s but the source lasts 5s/],
    ['from 4s to 1s', /starts at 4s, not before its end at 1s/],
    ['from 2s to 2s', /starts at 2s, not before its end at 2s/],
    ['from 1s to 9s', /trim goes to 9s but the source lasts 5s/],
    ['fade in over 9 seconds', /9s fade in is longer than the 5s edited video/],
    ['crop to 21:9', /crop to 21:9 is not supported/],
    ['resize to 641x360', /even sides/],
    ['resize to 9000x9000', /outside 16 to 3840 pixels/],
    ["add the caption ''", /caption is empty/],
    ['trim the first 3 seconds', /could mean keep or remove/],
    ['2x and 3x', /both ask for a speed/],
    ['fade in, fade in over 2 seconds', /both ask for a fade in/],
    ['black and white and sepia', /contradict/],
    ['add the caption Hello', /put its text in quotes/],
    ['please', /no edit found/],
    ['', /no edit found/],
  ])('%j with a precise reason', (prompt, reason) => {
    const parsed = parseEditPrompt(prompt, source);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });

  it('a reverse longer than memory allows, and accepts it once trimmed', () => {
    const large = { durationSeconds: 30, width: 1920, height: 1080 };
    const whole = parseEditPrompt('reverse', large);
    expect(!whole.ok && whole.reason).toMatch(/reversing holds every frame in memory/);
    expect(parseEditPrompt('first 5 seconds, reverse', large).ok).toBe(true);
  });

  it('a backwards range without knowing the source', () => {
    expect(parseEditPrompt('from 3s to 1s').ok).toBe(false);
    expect(parseEditPrompt('trim to the first 7 seconds').ok).toBe(true);
  });
});

describe('edit timing', () => {
  it('resolves trims against the source and divides by the speed', () => {
    const parsed = parseEditPrompt('last 2 seconds, 2x', source);
    if (!parsed.ok) throw new Error(parsed.reason);
    const trim = parsed.operations[0];
    if (trim?.kind !== 'trim') throw new Error('no trim');
    expect(resolveTrim(trim, 5)).toEqual({ startSeconds: 3, endSeconds: 5 });
    expect(editedDurationSeconds(parsed.operations, 5)).toBe(1);
  });
});
