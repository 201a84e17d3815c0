// A fake of Together AI's HTTP API, faithful enough for the `together-ai` SDK
// to run unmodified against it: chat (plain and SSE), images, speech,
// transcription, video jobs and the model catalog, with Together's error shape
// `{"error":{"message","type","param","code"}}`.

import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import {
  HttpError,
  bearerToken,
  isUploadedFile,
  objectBody,
  type FormattedError,
  type Route,
  type RouteContext,
} from './fake-server.js';
import type { TimelineJob } from './job-timeline.js';
import { ProviderFake, mediaHostFor, type ProviderFakeOptions } from './provider-fake.js';

/** Video job statuses: the SDK knows in_progress, completed, failed; the guides add queued and cancelled. */
export type TogetherVideoStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export interface TogetherModel {
  id: string;
  object: 'model';
  created: number;
  /** Compared as a string: the API returns types (video, audio, transcribe) the SDK's enum lacks. */
  type: string;
  display_name?: string;
  organization?: string;
  context_length?: number;
  pricing?: { input: number; output: number; base: number; finetune: number; hourly: number };
}

function model(id: string, type: string, organization: string, pricing: Partial<NonNullable<TogetherModel['pricing']>>): TogetherModel {
  return {
    id,
    object: 'model',
    created: 1_735_689_600,
    type,
    display_name: id.split('/').at(-1),
    organization,
    pricing: { input: 0, output: 0, base: 0, finetune: 0, hourly: 0, ...pricing },
  };
}

/** The catalog a new fake starts with; video prices (`pricing.base`) are USD per video. */
export const DEFAULT_TOGETHER_MODELS: readonly TogetherModel[] = [
  { ...model('meta-llama/Llama-3.3-70B-Instruct-Turbo', 'chat', 'Meta', { input: 0.88, output: 0.88 }), context_length: 131_072 },
  { ...model('Qwen/Qwen2.5-VL-72B-Instruct', 'chat', 'Qwen', { input: 1.95, output: 8 }), context_length: 32_768 },
  model('black-forest-labs/FLUX.1-schnell', 'image', 'Black Forest Labs', { base: 0.0027 }),
  model('cartesia/sonic', 'audio', 'Cartesia', { base: 65 }),
  model('openai/whisper-large-v3', 'transcribe', 'OpenAI', { base: 0.0015 }),
  model('google/veo-3.0', 'video', 'Google', { base: 1.6 }),
  model('ByteDance/Seedance-1.0-lite', 'video', 'ByteDance', { base: 0.14 }),
  model('kwaivgi/kling-2.1-master', 'video', 'Kuaishou', { base: 0.92 }),
];

export interface TogetherFakeOptions extends ProviderFakeOptions {
  models?: TogetherModel[];
  /** The assistant's answer to a chat request (default: echoes the last user text). */
  chatReply?: (body: Record<string, unknown>) => string;
  /** What transcription returns (default: a fixed sentence). */
  transcript?: string;
}

interface VideoJobData {
  model: string;
  request: Record<string, unknown>;
  seconds: string;
  size: string;
  format: 'MP4' | 'WEBM';
  price: number;
  completedAt?: number;
  videoUrl?: string;
}

const TERMINAL: ReadonlySet<TogetherVideoStatus> = new Set(['completed', 'failed', 'cancelled']);

export class TogetherFake extends ProviderFake<TogetherVideoStatus, VideoJobData> {
  /** The catalog `GET /v1/models` returns; tests may replace or edit it between reads. */
  models: TogetherModel[];
  chatReply: (body: Record<string, unknown>) => string;
  transcript: string;

  constructor(options: TogetherFakeOptions, media: Awaited<ReturnType<typeof mediaHostFor>>) {
    super(options, {
      apiKey: 'together-test-key',
      ...media,
      jobs: {
        defaultScript: ['queued', 'in_progress', 'in_progress', 'completed'],
        isTerminal: (status) => TERMINAL.has(status),
        isRunning: (status) => status === 'in_progress',
      },
    });
    this.models = structuredClone([...(options.models ?? DEFAULT_TOGETHER_MODELS)]);
    this.chatReply = options.chatReply ?? defaultChatReply;
    this.transcript = options.transcript ?? 'This is a fake transcription of the audio.';
  }

  /** `http://127.0.0.1:PORT/v1`, for `new Together({ baseURL })`. */
  get baseURL(): string {
    return `${this.origin}/v1`;
  }

  protected routes(): Route[] {
    return [
      { method: 'POST', pattern: '/v1/chat/completions', handler: (c) => this.#chat(c) },
      { method: 'POST', pattern: '/v1/images/generations', handler: (c) => this.#images(c) },
      { method: 'POST', pattern: '/v1/audio/speech', handler: (c) => this.#speech(c) },
      { method: 'POST', pattern: '/v1/audio/transcriptions', handler: (c) => this.#transcribe(c) },
      { method: 'POST', pattern: '/v1/videos', handler: (c) => this.#createVideo(c) },
      { method: 'GET', pattern: '/v1/videos/:id', handler: (c) => this.#getVideo(c) },
      { method: 'GET', pattern: '/v1/models', handler: () => ({ json: structuredClone(this.models) }) },
    ];
  }

  protected formatError(error: HttpError): FormattedError {
    return {
      contentType: 'application/json',
      body: {
        error: {
          message: error.message,
          type: errorType(error.status),
          param: error.details.param ?? null,
          code: error.details.code ?? null,
          ...error.details.extra,
        },
      },
    };
  }

  protected authorize({ record }: RouteContext): void {
    if (bearerToken(record.headers) !== this.apiKey) {
      throw new HttpError(
        401,
        'Invalid API key provided. You can find your API key at https://api.together.ai/settings/api-keys.',
        { code: 'invalid_api_key' },
      );
    }
  }

  protected onTransition(job: TimelineJob<TogetherVideoStatus, VideoJobData>): void {
    const status = this.jobs.status(job);
    if (TERMINAL.has(status)) job.data.completedAt = job.enteredAt;
    if (status === 'completed') {
      job.data.videoUrl = this.publishOutput(job.data.format === 'WEBM' ? 'webm' : 'mp4', job.id);
    }
  }

  /** The VideoJob JSON the API would answer now. */
  videoJob(id: string): Record<string, unknown> | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    const step = this.jobs.step(job);
    const data = job.data;
    return {
      id: job.id,
      object: 'video',
      model: data.model,
      status: step.status,
      created_at: Math.floor(job.createdAt / 1000),
      size: data.size,
      seconds: data.seconds,
      ...(data.completedAt !== undefined && { completed_at: Math.floor(data.completedAt / 1000) }),
      ...(step.status === 'failed' && {
        error: step.error ?? { message: 'Video generation failed', code: 'generation_failed' },
      }),
      ...(step.status === 'completed' && { outputs: { cost: data.price, video_url: data.videoUrl } }),
    };
  }

  #model(id: unknown, param = 'model'): TogetherModel {
    if (typeof id !== 'string' || id === '') throw invalid(`'${param}' is required`, param);
    const found = this.models.find((m) => m.id === id);
    if (!found) {
      throw new HttpError(
        404,
        `Unable to access model ${id}. Please visit https://api.together.ai/models to view the list of supported models.`,
        { code: 'model_not_available', param },
      );
    }
    return found;
  }

  #chat({ record, res }: RouteContext): 'handled' | { json: unknown } {
    const body = objectBody(record);
    const model = this.#model(body['model']);
    const messages = body['messages'];
    if (!Array.isArray(messages) || messages.length === 0) throw invalid("'messages' must be a non-empty array", 'messages');
    let promptChars = 0;
    let images = 0;
    messages.forEach((message: unknown, i) => {
      if (typeof message !== 'object' || message === null) throw invalid(`messages.${i} must be an object`, 'messages');
      const { role, content } = message as Record<string, unknown>;
      if (!['system', 'user', 'assistant', 'tool', 'function'].includes(String(role))) {
        throw invalid(`messages.${i}.role is invalid`, 'messages');
      }
      if (typeof content === 'string') {
        promptChars += content.length;
      } else if (Array.isArray(content)) {
        for (const part of content as Array<Record<string, unknown>>) {
          if (part?.['type'] === 'text' && typeof part['text'] === 'string') promptChars += part['text'].length;
          else if (part?.['type'] === 'image_url' && typeof (part['image_url'] as { url?: unknown })?.url === 'string') images += 1;
          else if (['video_url', 'audio_url'].includes(String(part?.['type']))) continue;
          else throw invalid(`messages.${i}.content has an invalid part`, 'messages');
        }
      } else if (!(role === 'assistant' && content == null)) {
        throw invalid(`messages.${i}.content must be a string or an array of parts`, 'messages');
      }
    });
    const maxTokens = body['max_tokens'];
    if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) {
      throw invalid("'max_tokens' must be a positive integer", 'max_tokens');
    }

    const reply = this.chatReply(body);
    const usage = {
      prompt_tokens: Math.ceil(promptChars / 4) + images * 85 + messages.length * 4,
      completion_tokens: Math.max(1, Math.ceil(reply.length / 4)),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(this.clock.now() / 1000);

    if (body['stream'] === true) {
      writeSse(res, [
        ...reply.split(/(?<=\s)/).map((piece, i) => ({
          id,
          object: 'chat.completion.chunk',
          created,
          model: model.id,
          choices: [
            {
              index: 0,
              text: piece,
              logprobs: null,
              finish_reason: null,
              seed: null,
              delta: { token_id: 1000 + i, role: 'assistant', content: piece, tool_calls: null },
            },
          ],
          usage: null,
        })),
        {
          id,
          object: 'chat.completion.chunk',
          created,
          model: model.id,
          choices: [
            {
              index: 0,
              text: '',
              logprobs: null,
              finish_reason: 'stop',
              seed: 42,
              delta: { token_id: 2, role: 'assistant', content: '', tool_calls: null },
            },
          ],
          usage,
        },
      ]);
      return 'handled';
    }
    return {
      json: {
        id,
        object: 'chat.completion',
        created,
        model: model.id,
        prompt: [],
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            logprobs: null,
            seed: 42,
            message: { role: 'assistant', content: reply, tool_calls: [] },
          },
        ],
        usage,
      },
    };
  }

  async #images({ record }: RouteContext): Promise<{ json: unknown }> {
    const body = objectBody(record);
    const model = this.#model(body['model']);
    if (model.type !== 'image') throw invalid(`Model ${model.id} is not an image model`, 'model');
    if (typeof body['prompt'] !== 'string' || body['prompt'] === '') throw invalid("'prompt' is required", 'prompt');
    const n = body['n'] ?? 1;
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 4) throw invalid("'n' must be an integer from 1 to 4", 'n');
    const format = body['response_format'] ?? 'url';
    // The SDK types say 'base64'; 'b64_json' (OpenAI's spelling) is accepted as well.
    if (!['url', 'base64', 'b64_json'].includes(String(format))) {
      throw invalid("'response_format' must be 'url' or 'base64'", 'response_format');
    }
    const png = format === 'url' ? undefined : (await readFile(this.media.files.png)).toString('base64');
    const data = Array.from({ length: n as number }, (_, index) =>
      png === undefined
        ? { index, type: 'url', url: this.publishOutput('png', `image-${index}`) }
        : { index, type: 'b64_json', b64_json: png },
    );
    return { json: { id: `img-${randomBytes(12).toString('hex')}`, model: model.id, object: 'list', data } };
  }

  async #speech({ record, res }: RouteContext): Promise<'handled' | { body: Buffer; headers: Record<string, string> }> {
    const body = objectBody(record);
    const model = this.#model(body['model']);
    if (model.type !== 'audio') throw invalid(`Model ${model.id} is not a text-to-speech model`, 'model');
    if (typeof body['input'] !== 'string' || body['input'] === '') throw invalid("'input' is required", 'input');
    if (typeof body['voice'] !== 'string' || body['voice'] === '') throw invalid("'voice' is required", 'voice');
    const stream = body['stream'] === true;
    const format = body['response_format'] ?? (stream ? 'raw' : 'wav');
    if (!['mp3', 'wav', 'raw'].includes(String(format))) throw invalid("'response_format' must be mp3, wav or raw", 'response_format');
    if (stream && format !== 'raw') throw invalid("Streaming supports only response_format 'raw'", 'response_format');

    const wav = await readFile(this.media.files.wav);
    const pcm = wavSamples(wav);
    if (stream) {
      const chunks: unknown[] = [];
      for (let offset = 0; offset < pcm.length; offset += 16_384) {
        chunks.push({ object: 'audio.tts.chunk', model: model.id, b64: pcm.subarray(offset, offset + 16_384).toString('base64') });
      }
      writeSse(res, chunks);
      return 'handled';
    }
    switch (format) {
      case 'mp3':
        return { body: await readFile(this.media.files.mp3), headers: { 'content-type': 'audio/mpeg' } };
      case 'wav':
        return { body: wav, headers: { 'content-type': 'audio/wav' } };
      default:
        return { body: pcm, headers: { 'content-type': 'audio/pcm' } };
    }
  }

  async #transcribe({ record }: RouteContext): Promise<{ json: unknown }> {
    if (!record.headers['content-type']?.startsWith('multipart/form-data')) {
      throw invalid('Transcription requests must be multipart/form-data', 'file');
    }
    const body = objectBody(record);
    const file = body['file'];
    if (body['model'] !== undefined) this.#model(body['model']);
    if (isUploadedFile(file)) {
      if (file.size === 0) throw invalid('The uploaded file is empty', 'file');
    } else if (typeof file === 'string') {
      await assertDownloadable(file);
    } else {
      throw invalid("'file' is required: an audio upload or an http(s) URL", 'file');
    }
    const format = body['response_format'] ?? 'json';
    if (format === 'json') return { json: { text: this.transcript } };
    if (format !== 'verbose_json') throw invalid("'response_format' must be json or verbose_json", 'response_format');
    const language = typeof body['language'] === 'string' && body['language'] !== 'auto' ? body['language'] : 'en';
    return {
      json: {
        task: 'transcribe',
        language,
        duration: 1,
        text: this.transcript,
        segments: [{ id: 0, start: 0, end: 1, text: this.transcript }],
      },
    };
  }

  #createVideo({ record }: RouteContext): { json: unknown } {
    const body = objectBody(record);
    const model = this.#model(body['model']);
    if (model.type !== 'video') throw invalid(`Model ${model.id} is not a video model`, 'model');
    const prompt = body['prompt'];
    if (prompt !== undefined && typeof prompt !== 'string') throw typeError('prompt', 'a string', prompt);
    if (prompt === undefined && body['media'] === undefined && body['frame_images'] === undefined) {
      throw invalid("'prompt' is required", 'prompt');
    }
    const seconds = body['seconds'];
    if (seconds !== undefined) {
      if (typeof seconds !== 'string') throw typeError('seconds', 'a string', seconds);
      if (!/^\d+$/.test(seconds) || Number(seconds) < 1 || Number(seconds) > 60) {
        throw invalid(`Invalid value for 'seconds': '${seconds}'`, 'seconds');
      }
    }
    for (const field of ['width', 'height', 'fps', 'steps', 'seed', 'output_quality']) {
      if (body[field] !== undefined && !Number.isInteger(body[field])) throw typeError(field, 'an integer', body[field]);
    }
    if (body['guidance_scale'] !== undefined && typeof body['guidance_scale'] !== 'number') {
      throw typeError('guidance_scale', 'a number', body['guidance_scale']);
    }
    for (const field of ['ratio', 'resolution', 'negative_prompt']) {
      if (body[field] !== undefined && typeof body[field] !== 'string') throw typeError(field, 'a string', body[field]);
    }
    if (body['generate_audio'] !== undefined && typeof body['generate_audio'] !== 'boolean') {
      throw typeError('generate_audio', 'a boolean', body['generate_audio']);
    }
    const format = body['output_format'] ?? 'MP4';
    if (format !== 'MP4' && format !== 'WEBM') throw invalid("'output_format' must be MP4 or WEBM", 'output_format');
    if (body['media'] !== undefined) validateVideoMedia(body['media']);

    const width = (body['width'] as number | undefined) ?? 1280;
    const height = (body['height'] as number | undefined) ?? 720;
    const job = this.jobs.create(randomUUID(), {
      model: model.id,
      request: body,
      seconds: seconds ?? '5',
      size: `${width}x${height}`,
      format,
      price: model.pricing?.base ?? 0,
    });
    return { json: this.videoJob(job.id) };
  }

  #getVideo({ params }: RouteContext): { json: unknown } {
    const job = this.videoJob(params['id']!);
    if (!job) throw new HttpError(404, `Video job ${params['id']} not found`, { code: 'not_found' });
    return { json: job };
  }
}

export async function startTogetherFake(options: TogetherFakeOptions = {}): Promise<TogetherFake> {
  return new TogetherFake(options, await mediaHostFor(options)).listen();
}

/** Echoes the last user message's text and counts its images. */
export function defaultChatReply(body: Record<string, unknown>): string {
  const messages = (body['messages'] as Array<{ role: string; content: unknown }>) ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const parts = typeof last?.content === 'string' ? [{ type: 'text', text: last.content }] : ((last?.content as Array<Record<string, unknown>>) ?? []);
  const text = parts.filter((p) => p['type'] === 'text').map((p) => p['text']).join(' ');
  const images = parts.filter((p) => p['type'] === 'image_url').length;
  return `Fake reply to: ${text}${images ? ` (looked at ${images} image${images > 1 ? 's' : ''})` : ''}`;
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function invalid(message: string, param?: string): HttpError {
  return new HttpError(400, message, { param, code: 'invalid_request' });
}

function typeError(param: string, expected: string, value: unknown): HttpError {
  return invalid(`Invalid type for '${param}': expected ${expected}, but got ${Array.isArray(value) ? 'array' : typeof value}`, param);
}

function validateVideoMedia(media: unknown): void {
  if (typeof media !== 'object' || media === null || Array.isArray(media)) throw typeError('media', 'an object', media);
  const m = media as Record<string, unknown>;
  const urlOrRef = (value: unknown, key: string, param: string) => {
    const url = typeof value === 'string' ? value : (value as Record<string, unknown> | null)?.[key];
    if (typeof url !== 'string' || url === '') throw invalid(`'${param}' must be a URL or {${key}: URL}`, param);
  };
  const list = (field: string, each: (item: unknown, param: string) => void) => {
    const value = m[field];
    if (value === undefined) return;
    if (!Array.isArray(value)) throw typeError(`media.${field}`, 'an array', value);
    value.forEach((item, i) => each(item, `media.${field}.${i}`));
  };
  list('frame_images', (item, param) => {
    const frame = item as Record<string, unknown>;
    if (typeof frame?.['input_image'] !== 'string') throw invalid(`'${param}.input_image' is required`, param);
    const position = frame['frame'];
    if (position !== undefined && typeof position !== 'number' && position !== 'first' && position !== 'last') {
      throw invalid(`'${param}.frame' must be a number, 'first' or 'last'`, param);
    }
  });
  list('reference_images', (item, param) => {
    if (typeof item !== 'string') throw typeError(param, 'a string', item);
  });
  list('frame_videos', (item, param) => urlOrRef(item, 'video', param));
  list('reference_videos', (item, param) => urlOrRef(item, 'video', param));
  list('audio_inputs', (item, param) => urlOrRef(item, 'audio', param));
  if (m['source_video'] !== undefined) urlOrRef(m['source_video'], 'video', 'media.source_video');
}

async function assertDownloadable(url: string): Promise<void> {
  let ok = false;
  if (/^https?:\/\//.test(url)) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      ok = response.ok;
      await response.body?.cancel();
    } catch {
      ok = false;
    }
  }
  if (!ok) throw invalid(`Could not download audio from ${url}`, 'file');
}

/** The sample bytes of a RIFF/WAVE file (the `data` chunk). */
function wavSamples(wav: Buffer): Buffer {
  for (let offset = 12; offset + 8 <= wav.length; ) {
    const size = wav.readUInt32LE(offset + 4);
    if (wav.toString('ascii', offset, offset + 4) === 'data') return wav.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  throw new Error('no data chunk in the fake wav');
}

function writeSse(res: http.ServerResponse, events: unknown[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
  res.end('data: [DONE]\n\n');
}
