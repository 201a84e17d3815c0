// Validation of the short mutations' inputs (text, code, image, speech,
// transcription, vision) into normalised specs. Every problem is a
// ValidationError naming the offending field's path. Whether a sourceJobId
// names a finished audio job needs the job store: the short job service checks it.

import type { JobOperation, Modality } from '../domain.js';
import { ValidationError } from '../errors.js';
import type { ShortKind } from '../providers/registry.js';
import type { CodeRequest, ImageRequest, SpeechRequest, TextRequest, VisionRequest } from '../providers/types.js';
import { httpsUrl, MAX_PROMPT_CHARS, parseRouting, type RoutingInputLike, type RoutingWishes } from './video-requests.js';

/** Chat prompts (text, code, vision) may carry a document; image and speech prompts are short. */
export const MAX_CHAT_PROMPT_CHARS = 32_000;
export const MAX_TOKENS = 32_768;
export const MIN_IMAGE_SIDE = 64;
export const MAX_IMAGE_SIDE = 2048;
export const MAX_IMAGE_COUNT = 4;
export const DEFAULT_IMAGE_SIDE = 1024;

interface Routed {
  routing?: RoutingInputLike | null;
}

export interface GenerateTextInput extends Routed {
  prompt: string;
  system?: string | null;
  maxTokens?: number | null;
  temperature?: number | null;
}

export interface GenerateCodeInput extends Routed {
  prompt: string;
  language?: string | null;
  maxTokens?: number | null;
}

export interface GenerateImageInput extends Routed {
  prompt: string;
  width?: number | null;
  height?: number | null;
  count?: number | null;
  seed?: number | null;
}

export interface GenerateSpeechInput extends Routed {
  text: string;
  voice?: string | null;
  format?: string | null;
}

export interface TranscribeAudioInput extends Routed {
  audioUrl?: string | null;
  sourceJobId?: string | number | null;
  language?: string | null;
}

export interface AnalyzeImageInput extends Routed {
  imageUrl: string;
  prompt: string;
}

export type AudioSourceRef = { kind: 'url'; url: string } | { kind: 'job'; jobId: string };

export interface TranscriptionSpec {
  source: AudioSourceRef;
  language?: string;
  model?: string;
}

/** A validated request; `provider` pins one provider by name. Stored as the job's input. */
export type ShortSpec = { provider?: string; wishes?: RoutingWishes } & (
  | { kind: 'text'; request: TextRequest }
  | { kind: 'code'; request: CodeRequest }
  | { kind: 'image'; request: ImageRequest }
  | { kind: 'speech'; request: SpeechRequest }
  | { kind: 'transcription'; request: TranscriptionSpec }
  | { kind: 'vision'; request: VisionRequest }
);

export const SHORT_JOB_KIND: Record<ShortKind, { modality: Modality; operation: JobOperation }> = {
  text: { modality: 'TEXT', operation: 'GENERATE' },
  code: { modality: 'CODE', operation: 'GENERATE' },
  image: { modality: 'IMAGE', operation: 'GENERATE' },
  speech: { modality: 'AUDIO', operation: 'SPEAK' },
  transcription: { modality: 'AUDIO', operation: 'TRANSCRIBE' },
  vision: { modality: 'VISION', operation: 'ANALYZE' },
};

function text(value: string | null | undefined, field: string, maxChars: number): string;
function text(value: string | null | undefined, field: string, maxChars: number, optional: true): string | undefined;
function text(value: string | null | undefined, field: string, maxChars: number, optional = false): string | undefined {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '') {
    if (optional) return undefined;
    throw new ValidationError(`${field.replace(/^input\./, '')} must not be empty`, field);
  }
  if (trimmed.length > maxChars) {
    throw new ValidationError(`${field.replace(/^input\./, '')} is ${trimmed.length} characters; at most ${maxChars} are allowed`, field);
  }
  return trimmed;
}

function wholeNumber(value: number | null | undefined, field: string, min: number, max: number): number | undefined {
  if (value == null) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${field.replace(/^input\./, '')} must be a whole number from ${min} to ${max}`, field);
  }
  return value;
}

/** The pin goes with the request (provider, model); the rest of the wishes ride along for the router. */
function routing(input: Routed): { provider?: string; model?: string; wishes?: RoutingWishes } {
  const all = parseRouting(input.routing);
  if (!all) return {};
  const { provider, model, ...wishes } = all;
  return { provider, model, ...(Object.keys(wishes).length > 0 ? { wishes } : {}) };
}

/** Drops undefined fields, so equal requests hash equally however they were spelled. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function parseGenerateText(input: GenerateTextInput): ShortSpec {
  const { provider, model, wishes } = routing(input);
  const temperature = input.temperature ?? undefined;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0 && temperature <= 2)) {
    throw new ValidationError('temperature must be from 0 to 2', 'input.temperature');
  }
  return defined({
    kind: 'text',
    provider,
    wishes,
    request: defined({
      prompt: text(input.prompt, 'input.prompt', MAX_CHAT_PROMPT_CHARS),
      system: text(input.system, 'input.system', MAX_CHAT_PROMPT_CHARS, true),
      maxTokens: wholeNumber(input.maxTokens, 'input.maxTokens', 1, MAX_TOKENS),
      temperature,
      model,
    }),
  });
}

export function parseGenerateCode(input: GenerateCodeInput): ShortSpec {
  const { provider, model, wishes } = routing(input);
  const language = text(input.language, 'input.language', 40, true);
  if (language !== undefined && !/^[A-Za-z][A-Za-z0-9+#._ -]*$/.test(language)) {
    throw new ValidationError('language must be a programming language name, e.g. python', 'input.language');
  }
  return defined({
    kind: 'code',
    provider,
    wishes,
    request: defined({
      prompt: text(input.prompt, 'input.prompt', MAX_CHAT_PROMPT_CHARS),
      language,
      maxTokens: wholeNumber(input.maxTokens, 'input.maxTokens', 1, MAX_TOKENS),
      model,
    }),
  });
}

export function parseGenerateImage(input: GenerateImageInput): ShortSpec {
  const { provider, model, wishes } = routing(input);
  const side = (value: number | null | undefined, field: string) => {
    const size = wholeNumber(value, field, MIN_IMAGE_SIDE, MAX_IMAGE_SIDE) ?? DEFAULT_IMAGE_SIDE;
    if (size % 8 !== 0) throw new ValidationError(`${field.replace(/^input\./, '')} must be a multiple of 8`, field);
    return size;
  };
  return defined({
    kind: 'image',
    provider,
    wishes,
    request: defined({
      prompt: text(input.prompt, 'input.prompt', MAX_PROMPT_CHARS),
      width: side(input.width, 'input.width'),
      height: side(input.height, 'input.height'),
      count: wholeNumber(input.count, 'input.count', 1, MAX_IMAGE_COUNT) ?? 1,
      seed: wholeNumber(input.seed, 'input.seed', 0, 2 ** 31 - 1),
      model,
    }),
  });
}

export function parseGenerateSpeech(input: GenerateSpeechInput): ShortSpec {
  const { provider, model, wishes } = routing(input);
  const format = (input.format?.trim().toLowerCase() || 'mp3') as SpeechRequest['format'];
  if (format !== 'mp3' && format !== 'wav') throw new ValidationError('format must be mp3 or wav', 'input.format');
  return defined({
    kind: 'speech',
    provider,
    wishes,
    request: defined({
      text: text(input.text, 'input.text', MAX_PROMPT_CHARS),
      voice: text(input.voice, 'input.voice', 100, true),
      format,
      model,
    }),
  });
}

export function parseTranscribeAudio(input: TranscribeAudioInput): ShortSpec {
  const { provider, model, wishes } = routing(input);
  const jobId = input.sourceJobId == null ? '' : String(input.sourceJobId).trim();
  const url = input.audioUrl?.trim() ?? '';
  if ((jobId === '') === (url === '')) {
    throw new ValidationError('give exactly one of audioUrl and sourceJobId', jobId ? 'input.sourceJobId' : 'input');
  }
  const source: AudioSourceRef = jobId ? { kind: 'job', jobId } : { kind: 'url', url: httpsUrl(url, 'input.audioUrl') };
  const language = text(input.language, 'input.language', 10, true)?.toLowerCase();
  if (language !== undefined && !/^[a-z]{2,3}(-[a-z0-9]{2,8})?$/.test(language)) {
    throw new ValidationError('language must be a language code, e.g. en', 'input.language');
  }
  return defined({ kind: 'transcription', provider, wishes, request: defined({ source, language, model }) });
}

export function parseAnalyzeImage(input: AnalyzeImageInput): ShortSpec {
  const { provider, model, wishes } = routing(input);
  return defined({
    kind: 'vision',
    provider,
    wishes,
    request: defined({
      imageUrl: httpsUrl(input.imageUrl, 'input.imageUrl'),
      prompt: text(input.prompt, 'input.prompt', MAX_CHAT_PROMPT_CHARS),
      model,
    }),
  });
}

/** What the job row records as its prompt. */
export function specPrompt(spec: ShortSpec): string | null {
  switch (spec.kind) {
    case 'text':
    case 'code':
    case 'image':
    case 'vision':
      return spec.request.prompt;
    case 'speech':
      return spec.request.text;
    case 'transcription':
      return null;
  }
}

