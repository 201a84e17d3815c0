// Reads an edit prompt ("trim to the first 3 seconds, make it black and white
// and add the caption 'Hello'") into operations ffmpeg can do without a model.
// Strict on purpose: a clause it does not understand makes the whole prompt a
// refusal, because silently dropping part of what someone asked for is worse
// than sending the job to a generative provider. The job service and router
// use it to tell simple edits from generative ones.

import type { AspectRatio, VideoResolution } from '../../domain.js';

/** A moment in the source, counted from its start or back from its end. */
export interface TimePoint {
  seconds: number;
  from: 'start' | 'end';
}

export type EditOperation =
  | { kind: 'trim'; start: TimePoint; end: TimePoint }
  | { kind: 'reverse' }
  | { kind: 'speed'; factor: number }
  | { kind: 'crop'; aspectRatio: AspectRatio }
  | { kind: 'resize'; target: { resolution: VideoResolution } | { width: number; height: number } }
  | { kind: 'grayscale' }
  | { kind: 'sepia' }
  | { kind: 'caption'; text: string }
  /** `seconds` null: the default length, decided once the output's duration is known. */
  | { kind: 'fade'; direction: 'in' | 'out'; seconds: number | null }
  | { kind: 'mute' };

export type EditOperationKind = EditOperation['kind'];

/** The order operations are applied in, whatever order the prompt named them. */
export const EDIT_OPERATION_ORDER: readonly EditOperationKind[] = [
  'trim',
  'reverse',
  'speed',
  'crop',
  'resize',
  'grayscale',
  'sepia',
  'caption',
  'fade',
  'mute',
];

export type EditParseResult = { ok: true; operations: EditOperation[] } | { ok: false; reason: string };

/** What the parser checks a prompt against when the source is known. */
export interface EditSourceFacts {
  durationSeconds: number;
  width: number;
  height: number;
}

export const MIN_SPEED = 0.25;
export const MAX_SPEED = 4;
export const MAX_CAPTION_LENGTH = 200;
const MAX_FRAME_SIDE = 3840;
const MIN_OUTPUT_SECONDS = 0.1;
/** Slack for "the first 5 seconds" of a clip that measures 4.96 s. */
const DURATION_TOLERANCE_SECONDS = 0.1;
/**
 * `reverse` holds every decoded frame of what it reverses in memory: about 20 s
 * of 720p (0.8 GB at 30 fps). Larger sizes get proportionally less time.
 */
export const MAX_REVERSE_PIXEL_SECONDS = 1280 * 720 * 20;

const DEFAULT_FADE_SECONDS = 1;

const GENERATIVE_REASON =
  'is not a simple edit the local ffmpeg editor understands (trim, speed, reverse, black and white, sepia, crop, resize, caption, fade, mute): it needs a generative video provider';

/**
 * Parses an edit prompt. With `source`, also checks the operations against it
 * (trim inside its duration, reverse within memory, fades within the result).
 */
export function parseEditPrompt(prompt: string, source?: EditSourceFacts): EditParseResult {
  const { clauses, quotes } = splitClauses(prompt);
  const operations: EditOperation[] = [];
  const clauseOf = new Map<EditOperation, string>();

  for (const clause of clauses) {
    const parsed = parseClause(clause, quotes);
    if ('reason' in parsed) return { ok: false, reason: parsed.reason };
    for (const operation of parsed.operations) {
      const earlier = operations.find((other) => sameSlot(other, operation));
      if (earlier) {
        return {
          ok: false,
          reason: `"${clauseOf.get(earlier)}" and "${clause}" both ask for ${describeSlot(operation)}: ask for it once`,
        };
      }
      operations.push(operation);
      clauseOf.set(operation, clause);
    }
  }

  if (operations.length === 0) {
    return {
      ok: false,
      reason: `no edit found in "${prompt.trim()}": the local editor understands trim, speed, reverse, black and white, sepia, crop, resize, caption, fade and mute; anything else needs a generative video provider`,
    };
  }
  const kinds = new Set(operations.map((operation) => operation.kind));
  if (kinds.has('grayscale') && kinds.has('sepia')) {
    return { ok: false, reason: 'black and white and sepia contradict each other: ask for one of them' };
  }

  operations.sort((a, b) => EDIT_OPERATION_ORDER.indexOf(a.kind) - EDIT_OPERATION_ORDER.indexOf(b.kind));
  const problem = source ? checkAgainstSource(operations, source) : checkWithoutSource(operations);
  return problem ? { ok: false, reason: problem } : { ok: true, operations };
}

/** Start and end of a trim in seconds of the source. */
export function resolveTrim(
  trim: Extract<EditOperation, { kind: 'trim' }>,
  sourceDurationSeconds: number,
): { startSeconds: number; endSeconds: number } {
  const at = (point: TimePoint) => (point.from === 'start' ? point.seconds : sourceDurationSeconds - point.seconds);
  return { startSeconds: at(trim.start), endSeconds: Math.min(at(trim.end), sourceDurationSeconds) };
}

/** Duration of the edited video. */
export function editedDurationSeconds(operations: readonly EditOperation[], sourceDurationSeconds: number): number {
  let duration = sourceDurationSeconds;
  for (const operation of operations) {
    if (operation.kind === 'trim') {
      const { startSeconds, endSeconds } = resolveTrim(operation, sourceDurationSeconds);
      duration = endSeconds - startSeconds;
    }
    if (operation.kind === 'speed') duration /= operation.factor;
  }
  return duration;
}

/** A fade's length: as asked, or one second but no more than half the video. */
export function fadeSeconds(fade: Extract<EditOperation, { kind: 'fade' }>, outputDurationSeconds: number): number {
  return fade.seconds ?? Math.min(DEFAULT_FADE_SECONDS, outputDurationSeconds / 2);
}

function checkWithoutSource(operations: readonly EditOperation[]): string | null {
  const trim = operations.find((operation) => operation.kind === 'trim');
  if (trim?.kind === 'trim' && trim.start.from === trim.end.from) {
    const startsBeforeEnd =
      trim.start.from === 'start' ? trim.start.seconds < trim.end.seconds : trim.start.seconds > trim.end.seconds;
    if (!startsBeforeEnd) return `the trim starts at ${describePoint(trim.start)}, not before its end at ${describePoint(trim.end)}`;
  }
  return null;
}

function checkAgainstSource(operations: readonly EditOperation[], source: EditSourceFacts): string | null {
  const withoutSource = checkWithoutSource(operations);
  if (withoutSource) return withoutSource;
  const sourceDuration = source.durationSeconds;
  let reversedSeconds = sourceDuration;

  for (const operation of operations) {
    if (operation.kind === 'trim') {
      for (const point of [operation.start, operation.end]) {
        if (point.seconds > sourceDuration + DURATION_TOLERANCE_SECONDS) {
          return `the trim goes to ${formatSeconds(point.seconds)} but the source lasts ${formatSeconds(sourceDuration)}`;
        }
      }
      const { startSeconds, endSeconds } = resolveTrim(operation, sourceDuration);
      if (startSeconds < 0) return `the trim starts before the start of the ${formatSeconds(sourceDuration)} source`;
      if (startSeconds >= endSeconds) {
        return `the trim starts at ${formatSeconds(startSeconds)}, not before its end at ${formatSeconds(endSeconds)}`;
      }
      reversedSeconds = endSeconds - startSeconds;
    }
  }

  const outputDuration = editedDurationSeconds(operations, sourceDuration);
  if (outputDuration < MIN_OUTPUT_SECONDS) {
    return `the edited video would last ${formatSeconds(outputDuration)}, less than ${formatSeconds(MIN_OUTPUT_SECONDS)}`;
  }
  for (const operation of operations) {
    if (operation.kind === 'fade' && operation.seconds !== null && operation.seconds > outputDuration) {
      return `a ${formatSeconds(operation.seconds)} fade ${operation.direction} is longer than the ${formatSeconds(outputDuration)} edited video`;
    }
    if (operation.kind === 'reverse') {
      const limitSeconds = MAX_REVERSE_PIXEL_SECONDS / (source.width * source.height);
      if (reversedSeconds > limitSeconds) {
        return `reversing holds every frame in memory: at ${source.width}x${source.height} the local editor reverses at most ${formatSeconds(limitSeconds)}, not ${formatSeconds(reversedSeconds)} (trim first)`;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Clauses

const QUOTE_OPEN = '\uE000';
const QUOTE_CLOSE = '\uE001';
const QUOTE_PLACEHOLDER = /\uE000(\d+)\uE001/;

/**
 * Sets quoted text aside (captions keep their case and punctuation), rewrites phrases whose "and" is not a separator, and splits at
 * commas, semicolons, sentence ends, "and", "then", "also", "plus", "with".
 */
function splitClauses(prompt: string): { clauses: string[]; quotes: string[] } {
  const quotes: string[] = [];
  const setAside = (_match: string, before: string, text: string) => {
    quotes.push(text);
    return `${before} ${QUOTE_OPEN}${quotes.length - 1}${QUOTE_CLOSE} `;
  };
  let text = prompt
    .replace(/[\uE000\uE001]/g, '')
    .replace(/(^|[^\p{L}\p{N}])"([^"]*)"/gu, setAside)
    .replace(/(^|[^\p{L}\p{N}])\u201c([^\u201d]*)\u201d/gu, setAside)
    .replace(/(^|[^\p{L}\p{N}])\u2018(.*?)\u2019(?![\p{L}\p{N}])/gu, setAside)
    // A single quote opens after a non-letter and closes before one, so the
    // apostrophe in 'It's here' stays inside the caption.
    .replace(/(^|[^\p{L}\p{N}])'(.*?)'(?![\p{L}\p{N}])/gu, setAside)
    .replace(/\u2019/g, "'");

  text = text
    .replace(/\bblack\s*(?:and|&|n|'n')\s*white\b|\bb\s*[&/]\s*w\b/gi, 'grayscale')
    .replace(/\bfade\s+in\s*(?:and|&|\/)\s*(?:fade\s+)?out\b/gi, 'fade in, fade out')
    .replace(new RegExp(String.raw`\bbetween\s+(${TIME})\s+and\s+(${TIME})`, 'gi'), 'from $1 to $2')
    .replace(/&/g, ' and ');

  const clauses = text
    .split(/[,;!?]|\.(?=\s|$)|\b(?:and|then|also|plus|with|after\s+that)\b/i)
    .map((clause) => clause.replace(/\s+/g, ' ').trim())
    .filter((clause) => clause !== '');
  return { clauses, quotes };
}

const LEADING_FILLER =
  /^(?:please|kindly|and|then|also|now|next|finally|just|so|simply|can you|could you|would you|will you|i want you to|i'd like you to|i would like you to|i need you to|i want to|i'd like to|i would like to|i want|i need|let's|lets|go ahead and)\b\s*/;
const TRAILING_FILLER = /\s*\b(?:please|too|as well|for me|thanks|thank you|if possible|if you can)$/;
/** The video itself, which every clause is about anyway. */
const OBJECT_WORDS =
  /\b(?:the|this|that|my|our)\s+(?:whole\s+|entire\s+)?(?:video|clip|footage|movie|film|recording|thing)\b|\bit\b/g;
/** Verbs that add nothing once the object is gone ("make it grayscale", "turn it into slow motion"). */
const LEADING_VERB = /^(?:make|turn(?!\s+off)|convert|change|render|set|put|give|apply|add|use|do)\b\s*(?:(?:to|into|in|as|a|an)\b\s*)?/;

function stripFiller(clause: string): string {
  let text = clause.replace(OBJECT_WORDS, ' ').replace(/\s+/g, ' ').trim();
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(LEADING_FILLER, '').replace(TRAILING_FILLER, '').replace(LEADING_VERB, '').trim();
  }
  return text;
}

type ClauseResult = { operations: EditOperation[] } | { reason: string };

function parseClause(clause: string, quotes: readonly string[]): ClauseResult {
  const text = stripFiller(clause.toLowerCase());
  const shown = restoreQuotes(clause, quotes);
  if (text === '') return { operations: [] };
  for (const rule of CLAUSE_RULES) {
    const match = rule.pattern.exec(text);
    if (!match) continue;
    const built = rule.build(match, quotes);
    if (typeof built === 'string') return { reason: built };
    return { operations: [built] };
  }
  const hint = HINTS.find((candidate) => candidate.pattern.test(text));
  const reason = `"${shown}" ${GENERATIVE_REASON}`;
  return { reason: hint ? `${reason}. ${hint.example}` : reason };
}

function restoreQuotes(text: string, quotes: readonly string[]): string {
  return text.replace(new RegExp(QUOTE_PLACEHOLDER.source, 'g'), (_match, index: string) => `'${quotes[Number(index)] ?? ''}'`).replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------
// Rules: each pattern matches a whole clause once filler is stripped; `build`
// returns the operation or, for a value out of range, the reason.

const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  'half a': 0.5,
};
const NUMBER = String.raw`(?:\d+(?:\.\d+)?|\.\d+|half a|an|a|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty)`;
const UNIT = String.raw`(?:s|secs?|seconds?)\b`;
/** A length: "3 seconds", "1.5s", "a second", "2-second". */
const DURATION = String.raw`(${NUMBER})\s*-?\s*${UNIT}`;
/** A moment: "4", "4s", "4 seconds", "0:04". */
const TIME = String.raw`(?:\d+:\d{1,2}(?:\.\d+)?|${NUMBER})(?:\s*${UNIT})?`;

function parseNumber(text: string): number {
  const word = NUMBER_WORDS[text.replace(/\s+/g, ' ')];
  return word ?? Number(text);
}

function parseTime(text: string): number {
  const value = text.replace(new RegExp(String.raw`\s*${UNIT}$`), '').trim();
  const clock = /^(\d+):(\d{1,2}(?:\.\d+)?)$/.exec(value);
  return clock ? Number(clock[1]) * 60 + Number(clock[2]) : parseNumber(value);
}

interface ClauseRule {
  pattern: RegExp;
  build: (match: RegExpExecArray, quotes: readonly string[]) => EditOperation | string;
}

const rule = (source: string, build: ClauseRule['build']): ClauseRule => ({ pattern: new RegExp(`^(?:${source})$`), build });
const group = (match: RegExpExecArray, index: number): string => match[index] ?? '';

const EDGE = String.raw`(first|last|final|opening|beginning)`;
/** After first/last the number may be left out: "the last second". */
const EDGE_DURATION = String.raw`(?:(${NUMBER})\s*-?\s*)?${UNIT}`;
const edgeSeconds = (number: string | undefined): number => (number ? parseNumber(number) : 1);
const edgeFrom = (word: string): 'start' | 'end' => (word === 'last' || word === 'final' ? 'end' : 'start');

function keepEdge(edge: 'start' | 'end', seconds: number): EditOperation | string {
  if (!(seconds > 0)) return `a trim to ${formatSeconds(seconds)} keeps nothing`;
  return edge === 'start'
    ? { kind: 'trim', start: { seconds: 0, from: 'start' }, end: { seconds, from: 'start' } }
    : { kind: 'trim', start: { seconds, from: 'end' }, end: { seconds: 0, from: 'end' } };
}

function removeEdge(edge: 'start' | 'end', seconds: number): EditOperation | string {
  if (!(seconds > 0)) return `cutting ${formatSeconds(seconds)} cuts nothing`;
  return edge === 'start'
    ? { kind: 'trim', start: { seconds, from: 'start' }, end: { seconds: 0, from: 'end' } }
    : { kind: 'trim', start: { seconds: 0, from: 'start' }, end: { seconds, from: 'end' } };
}

function speed(factor: number, asked: string): EditOperation | string {
  if (!Number.isFinite(factor) || factor < MIN_SPEED || factor > MAX_SPEED) {
    return `speed ${asked} is outside the ${MIN_SPEED}x to ${MAX_SPEED}x range the local editor can do`;
  }
  return { kind: 'speed', factor };
}

function speedTimes(value: string, direction: string): EditOperation | string {
  const number = parseNumber(value);
  const slower = /slow/.test(direction);
  return speed(slower ? 1 / number : number, slower ? `1/${number}x` : `${number}x`);
}

const SUPPORTED_RATIOS: readonly AspectRatio[] = ['16:9', '9:16', '1:1', '4:3'];
const RATIO_WORDS: Record<string, AspectRatio> = {
  square: '1:1',
  vertical: '9:16',
  portrait: '9:16',
  widescreen: '16:9',
  landscape: '16:9',
};

function crop(match: RegExpExecArray): EditOperation | string {
  const word = match[3];
  if (word) return { kind: 'crop', aspectRatio: RATIO_WORDS[word] ?? '1:1' };
  const ratio = `${group(match, 1)}:${group(match, 2)}`;
  const supported = SUPPORTED_RATIOS.find((candidate) => candidate === ratio);
  if (!supported) return `crop to ${ratio} is not supported: the local editor crops to ${SUPPORTED_RATIOS.join(', ')}`;
  return { kind: 'crop', aspectRatio: supported };
}

const RESOLUTION_WORDS: Record<string, VideoResolution> = { sd: '480p', hd: '720p', 'full hd': '1080p', fhd: '1080p' };

function resize(match: RegExpExecArray): EditOperation | string {
  if (match[1]) return { kind: 'resize', target: { resolution: `${match[1]}p` as VideoResolution } };
  if (match[4]) return { kind: 'resize', target: { resolution: RESOLUTION_WORDS[match[4].replace(/\s+/g, ' ')] ?? '720p' } };
  const width = Number(match[2]);
  const height = Number(match[3]);
  if (width < 16 || height < 16 || width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE) {
    return `a ${width}x${height} frame is outside 16 to ${MAX_FRAME_SIDE} pixels a side`;
  }
  if (width % 2 !== 0 || height % 2 !== 0) return `a ${width}x${height} frame needs even sides for H.264 (yuv420p)`;
  return { kind: 'resize', target: { width, height } };
}

function caption(match: RegExpExecArray, quotes: readonly string[]): EditOperation | string {
  const text = (quotes[Number(match[1])] ?? '').trim();
  if (text === '') return 'the caption is empty';
  if ([...text].length > MAX_CAPTION_LENGTH) return `the caption is longer than ${MAX_CAPTION_LENGTH} characters`;
  return { kind: 'caption', text };
}

function fade(direction: string, seconds: string | undefined): EditOperation | string {
  const length = seconds === undefined ? null : parseNumber(seconds);
  if (length !== null && !(length > 0)) return `a ${formatSeconds(length)} fade is no fade`;
  return { kind: 'fade', direction: direction === 'out' ? 'out' : 'in', seconds: length };
}

const QUOTE = String.raw`\uE000(\d+)\uE001`;
const SPEED_NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const SPEED_SUFFIX = String.raw`(?:\s+(speed|faster|slower|as fast|the speed|playback|real[ -]?time))?`;

const CLAUSE_RULES: readonly ClauseRule[] = [
  // trim
  rule(
    String.raw`(?:(?:trim|cut|shorten|clip|reduce|crop)(?: down)? to |keep |use |show )?(?:only )?(?:the )?${EDGE} ${EDGE_DURATION}(?: only)?`,
    (m) => keepEdge(edgeFrom(group(m, 1)), edgeSeconds(m[2])),
  ),
  rule(
    String.raw`(?:cut|remove|drop|delete|skip|chop|lose|trim)(?: off| out| away) (?:the )?${EDGE} ${EDGE_DURATION}|(?:cut|remove|drop|delete|skip|chop|lose) (?:the )?${EDGE} ${EDGE_DURATION}(?: off| out| away)?`,
    (m) => (m[1] ? removeEdge(edgeFrom(m[1]), edgeSeconds(m[2])) : removeEdge(edgeFrom(group(m, 3)), edgeSeconds(m[4]))),
  ),
  rule(String.raw`trim (?:the )?${EDGE} ${EDGE_DURATION}`, (m) => {
    const edge = group(m, 1);
    const amount = `${m[2] ?? '1'} second${edgeSeconds(m[2]) === 1 ? '' : 's'}`;
    return `"trim the ${edge} ${amount}" could mean keep or remove them: say "trim to the ${edge} ${amount}" to keep them or "cut the ${edge} ${amount}" to remove them`;
  }),
  rule(
    String.raw`(?:(?:trim|cut|clip|crop|shorten)(?: to)? |keep |use )?(?:only )?(?:the (?:part|section|segment|bit) )?(?:from|starting at) (${TIME}|the start|the beginning|start|beginning) (?:to|until|till|through|-) (${TIME}|the end|end)`,
    (m) => trimRange(group(m, 1), group(m, 2)),
  ),
  rule(String.raw`(?:trim|cut|clip|shorten)(?: to)? (${TIME}) ?(?:-|to) ?(${TIME})`, (m) => trimRange(group(m, 1), group(m, 2))),
  rule(String.raw`(?:trim|cut|shorten|clip|reduce)(?: down)? to ${DURATION}(?: long)?|${DURATION} long`, (m) =>
    keepEdge('start', parseNumber(group(m, 1) || group(m, 2))),
  ),
  // speed
  rule(
    String.raw`(?:(?:speed up|speed|play|playback|run|(?:the )?(?:playback )?speed)(?: by| to| at)? (?:a factor of )?)?(?:at )?${SPEED_NUMBER} ?(?:x|×|times)${SPEED_SUFFIX}`,
    (m) => speedTimes(group(m, 1), group(m, 2)),
  ),
  rule(String.raw`(?:slow down|slow) (?:by )?${SPEED_NUMBER} ?(?:x|×|times)`, (m) => speedTimes(group(m, 1), 'slower')),
  rule(String.raw`(two|three|four|five|ten) times (faster|slower|as fast|the speed)`, (m) => speedTimes(group(m, 1), group(m, 2))),
  rule(String.raw`(?:at )?(\d+(?:\.\d+)?) ?% (?:speed|of the speed)`, (m) => speed(Number(group(m, 1)) / 100, `${group(m, 1)}%`)),
  rule(String.raw`(?:at )?(?:double|twice the) speed|twice as fast|double[ -]?time|speed up|faster`, () => speed(2, '2x')),
  rule(String.raw`(?:at )?half (?:the )?speed|half as fast|(?:in )?slow[ -]?mo(?:tion)?|slow down|slower`, () => speed(0.5, '0.5x')),
  rule(String.raw`(?:at )?(?:a )?quarter (?:of the )?speed|quarter as fast`, () => speed(0.25, '0.25x')),
  // reverse
  rule(String.raw`(?:play |run )?(?:in )?(?:reverse|reversed|backwards?)(?: playback)?|reverse (?:playback|direction)`, () => ({
    kind: 'reverse',
  })),
  // colour
  rule(
    String.raw`(?:in |to )?(?:grayscale|greyscale|gray|grey|monochrome|desaturated?|colou?rless)|(?:remove|drop|strip|take out|kill) (?:the |all (?:the )?)?colou?rs?|(?:no|without) colou?rs?`,
    () => ({ kind: 'grayscale' }),
  ),
  rule(String.raw`(?:in |to )?(?:an? )?sepia(?:[ -]?(?:tone[sd]?|look|filter|effect|tint|colou?rs?))?`, () => ({ kind: 'sepia' })),
  // crop
  rule(
    String.raw`(?:crop|reframe)?(?: ?(?:to|into|as|in))? ?(?:an? )?(?:(\d+) ?[:/] ?(\d+)|(square|vertical|portrait|widescreen|landscape))(?: (?:aspect(?: ratio)?|ratio|format|crop|frame|shape|orientation))?`,
    crop,
  ),
  rule(String.raw`(?:the )?aspect(?: ratio)? (?:to )?(\d+) ?[:/] ?(\d+)()`, crop),
  // resize
  rule(
    String.raw`(?:(?:resize|scale|rescale|downscale|upscale|export|output|save|encode)(?: down| up)?)?(?: ?(?:to|at|in|as))? ?(?:(480|720|1080)p|(\d{1,5}) ?[x×] ?(\d{1,5})|(full hd|fhd|hd|sd))(?: (?:resolution|res|size|quality))?`,
    resize,
  ),
  // caption
  rule(
    String.raw`(?:(?:write|say|show|display|overlay|burn in|insert|include) )?(?:(?:a|an|the) )?(?:(?:caption|text|title|subtitle|subtitles|label|words?|overlay)(?: text)? ?)?(?:(?:saying|that says|which says|reading|of|:|=) ?)?${QUOTE}(?: (?:as (?:a |an |the )?(?:caption|title|subtitle|text|label)|caption|title|subtitle|text|label|on top|on screen|at the bottom|on|over|to|in))?`,
    caption,
  ),
  // fade
  rule(
    String.raw`(?:an? )?fade[ -]?(in|out)(?: (?:over|for|of|during|in|lasting))?(?: (?:the )?(?:first|last))?(?: ${DURATION})?(?: at the (?:start|beginning|end))?`,
    (m) => fade(group(m, 1), m[2]),
  ),
  rule(String.raw`(?:an? )?${DURATION} fade[ -]?(in|out)(?: at the (?:start|beginning|end))?`, (m) => fade(group(m, 2), m[1])),
  rule(String.raw`fade (?:out )?to black(?: at the end)?`, () => fade('out', undefined)),
  rule(String.raw`fade (?:in )?from black(?: at the (?:start|beginning))?`, () => fade('in', undefined)),
  // mute
  rule(
    String.raw`mute|muted|silent|silence|(?:no|without) (?:audio|sound)|(?:remove|drop|strip|cut|kill|lose|delete|turn off|switch off) (?:the )?(?:audio|sound)(?: track)?|(?:the )?(?:audio|sound) off`,
    () => ({ kind: 'mute' }),
  ),
];

function trimRange(startText: string, endText: string): EditOperation | string {
  const start: TimePoint = /start|beginning/.test(startText)
    ? { seconds: 0, from: 'start' }
    : { seconds: parseTime(startText), from: 'start' };
  const end: TimePoint = /end/.test(endText) ? { seconds: 0, from: 'end' } : { seconds: parseTime(endText), from: 'start' };
  return { kind: 'trim', start, end };
}

/** Topics a refused clause seems to be about, with how to ask for them. */
const HINTS: ReadonlyArray<{ pattern: RegExp; example: string }> = [
  { pattern: /\b(?:trim|shorten|first|last|seconds?)\b/, example: 'For a trim, say e.g. "trim to the first 3 seconds", "the last 2 seconds" or "from 1s to 4s".' },
  { pattern: /\b(?:speed|fast|slow|\d+(?:\.\d+)?x)\b/, example: 'For speed, say e.g. "2x", "half speed" or "slow motion" (0.25x to 4x).' },
  { pattern: /\b(?:crop|aspect|ratio)\b/, example: 'For a crop, say e.g. "crop to 16:9", "9:16", "1:1" or "4:3".' },
  { pattern: /\b(?:resize|scale|resolution|\d+p|4k)\b/, example: 'For a resize, say e.g. "resize to 720p" or "640x360".' },
  { pattern: /\b(?:caption|text|title|subtitles?)\b/, example: `For a caption, put its text in quotes, e.g. add the caption 'Hello'.` },
  { pattern: /\bfade\b/, example: 'For a fade, say e.g. "fade in", "fade out over 2 seconds".' },
];

// ---------------------------------------------------------------------------

function sameSlot(a: EditOperation, b: EditOperation): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind === 'fade' && b.kind === 'fade' ? a.direction === b.direction : true;
}

function describeSlot(operation: EditOperation): string {
  return operation.kind === 'fade' ? `a fade ${operation.direction}` : `${operation.kind === 'mute' ? 'muting' : `a ${operation.kind}`}`;
}

function describePoint(point: TimePoint): string {
  return point.from === 'start' ? formatSeconds(point.seconds) : `${formatSeconds(point.seconds)} before the end`;
}

function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(2))}s`;
}
