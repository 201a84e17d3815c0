// TogetherProvider through the real together-ai SDK against the Together fake
// on loopback.

import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/logger.js';
import { defaultProviderConfig, type ProviderConfig } from '../../src/provider-config.js';
import { TogetherProvider, extractCode } from '../../src/providers/together.js';
import type { GenerateVideoRequest } from '../../src/providers/types.js';
import type { MultipartBody, UploadedFile } from '../fakes/fake-server.js';
import { startTogetherFake, type TogetherFake, type TogetherVideoStatus } from '../fakes/together.js';
import { ffprobe } from '../helpers/ffprobe.js';
import {
  attempt,
  expectNoSecret,
  expectOrderly,
  pollToEnd,
  refusedOrigin,
  rejection,
  storedSource,
  tempStore,
  type TempStore,
} from './provider-test-kit.js';

const CODE_MODEL = defaultProviderConfig.together.models.code;
const EDIT_MODEL = defaultProviderConfig.together.models.video.edit;

// Prices of one and two dollars a token make the expected cost plain arithmetic.
const config: ProviderConfig = {
  ...defaultProviderConfig,
  together: {
    ...defaultProviderConfig.together,
    chatPrices: { default: { inputPerMillionUsd: 1e6, outputPerMillionUsd: 2e6 }, byModel: {} },
  },
};

const videoRequest: GenerateVideoRequest = {
  prompt: 'a lighthouse at dusk',
  durationSeconds: 5,
  fps: 24,
  resolution: '720p',
  aspectRatio: '16:9',
  width: 1280,
  height: 720,
  seed: 7,
};

let fake: TogetherFake;
let media: TempStore;
let provider: TogetherProvider;

function providerWith(overrides: { apiKey?: string; baseURL?: string; timeoutMs?: number; logger?: Logger } = {}): TogetherProvider {
  return new TogetherProvider({
    apiKey: overrides.apiKey ?? fake.apiKey,
    baseURL: overrides.baseURL ?? fake.baseURL,
    config,
    store: media.store,
    timeoutMs: overrides.timeoutMs,
    logger: overrides.logger,
  });
}

beforeAll(async () => {
  fake = await startTogetherFake({ stepMs: 60 });
  fake.models.push(
    { id: CODE_MODEL, object: 'model', created: 1_735_689_600, type: 'chat' },
    { id: EDIT_MODEL, object: 'model', created: 1_735_689_600, type: 'video', pricing: { input: 0, output: 0, base: 0.5, finetune: 0, hourly: 0 } },
  );
  media = await tempStore();
  provider = providerWith();
});

afterAll(async () => {
  await fake.close();
  await media.cleanup();
});

/** The fake's token count: a quarter token per character, four per message, 85 per image. */
function fakeUsage(messages: string[], reply: string, images = 0) {
  const chars = messages.reduce((sum, text) => sum + text.length, 0);
  return { prompt: Math.ceil(chars / 4) + images * 85 + messages.length * 4, completion: Math.max(1, Math.ceil(reply.length / 4)) };
}

describe('TogetherProvider: text, code, vision', () => {
  it('streams chat deltas, returns the whole text, and prices the usage', async () => {
    const deltas: string[] = [];
    const result = await provider.generateText(
      attempt(),
      { prompt: 'say something kind', system: 'be brief', maxTokens: 64 },
      (delta) => deltas.push(delta),
    );
    expect(result.text).toBe('Fake reply to: say something kind');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(result.text);
    expect(result.model).toBe(config.together.models.text);

    const body = fake.lastRequest({ path: '/v1/chat/completions' })!.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: config.together.models.text, stream: true, max_tokens: 64 });
    const usage = fakeUsage(['be brief', 'say something kind'], result.text);
    expect(result.costUsd).toBeCloseTo(usage.prompt * 1 + usage.completion * 2, 9);
  });

  it('generates code with the code model and a system prompt, without the fences', async () => {
    const original = fake.chatReply;
    fake.chatReply = () => 'Here you are:\n```python\ndef add(a, b):\n    return a + b\n```\nEnjoy.';
    try {
      const result = await provider.generateCode(attempt(), { prompt: 'add two numbers', language: 'Python' });
      expect(result).toMatchObject({ model: CODE_MODEL, language: 'python', text: 'def add(a, b):\n    return a + b' });
      const body = fake.lastRequest({ path: '/v1/chat/completions' })!.body as { messages: Array<{ role: string; content: string }> };
      expect(body.messages[0]).toMatchObject({ role: 'system' });
      expect(body.messages[0]!.content).toContain('Python');
    } finally {
      fake.chatReply = original;
    }
  });

  it('strips fences however the answer ends', () => {
    expect(extractCode('```ts\nconst a = 1;\n```')).toEqual({ code: 'const a = 1;', language: 'ts' });
    expect(extractCode('```\nplain\n```', 'Go')).toEqual({ code: 'plain', language: 'go' });
    expect(extractCode('```rust\nfn main() {', undefined)).toEqual({ code: 'fn main() {', language: 'rust' });
    expect(extractCode('x = 1', 'python')).toEqual({ code: 'x = 1', language: 'python' });
  });

  it('sends the image as an image_url content part for vision', async () => {
    const result = await provider.analyzeImage(attempt(), { imageUrl: 'https://images.example/cat.png', prompt: 'what is this?' });
    expect(result.text).toContain('looked at 1 image');
    expect(result.model).toBe(config.together.models.vision);
    const body = fake.lastRequest({ path: '/v1/chat/completions' })!.body as { messages: Array<{ content: unknown }> };
    expect(body.messages[0]!.content).toEqual([
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: 'https://images.example/cat.png' } },
    ]);
    const usage = fakeUsage(['what is this?'], result.text, 1);
    expect(result.costUsd).toBeCloseTo(usage.prompt + usage.completion * 2, 9);
  });
});

describe('TogetherProvider: images, speech, transcription', () => {
  it('turns image URLs into remote media', async () => {
    const result = await provider.generateImage(attempt(), { prompt: 'a red kite', width: 512, height: 512, count: 2, seed: 3 });
    expect(result.media).toHaveLength(2);
    for (const item of result.media) {
      expect(item.kind).toBe('remote');
      if (item.kind === 'remote') expect(item.url.startsWith(fake.media.origin)).toBe(true);
    }
    expect(fake.lastRequest({ path: '/v1/images/generations' })!.body).toMatchObject({ n: 2, width: 512, height: 512, seed: 3 });
  });

  it('turns b64_json images into bytes', async () => {
    const png = await readFile(fake.media.files.png);
    fake.failNext({
      status: 200,
      match: { path: '/v1/images/generations' },
      body: { id: 'img-1', model: config.together.models.image, object: 'list', data: [{ index: 0, type: 'b64_json', b64_json: png.toString('base64') }] },
    });
    const result = await provider.generateImage(attempt(), { prompt: 'a red kite', width: 512, height: 512, count: 1 });
    const item = result.media[0]!;
    expect(item.kind).toBe('bytes');
    if (item.kind !== 'bytes') return;
    expect(item.mimeType).toBe('image/png');
    expect(Buffer.concat(await item.body.toArray())).toEqual(png);
  });

  it.each([
    ['mp3', 'audio/mpeg'],
    ['wav', 'audio/wav'],
  ] as const)('speaks %s as a byte stream', async (format, mimeType) => {
    const result = await provider.speak(attempt(), { text: 'hello there', format });
    expect(result.media.kind).toBe('bytes');
    if (result.media.kind !== 'bytes') return;
    expect(result.media.mimeType).toBe(mimeType);
    const bytes = Buffer.concat(await result.media.body.toArray());
    expect(bytes).toEqual(await readFile(fake.media.files[format]));
    const request = fake.lastRequest({ path: '/v1/audio/speech' })!;
    expect(request.body).toMatchObject({ response_format: format, voice: config.together.speechVoice, input: 'hello there' });
    expect(request.headers['accept']).toBe('application/octet-stream');
  });

  it('transcribes audio at a URL and a stored file', async () => {
    const byUrl = await provider.transcribe(attempt(), { audio: { kind: 'url', url: fake.media.publish('mp3') } });
    expect(byUrl.text).toBe(fake.transcript);
    expect(typeof (fake.lastRequest({ path: '/v1/audio/transcriptions' })!.body as MultipartBody)['file']).toBe('string');

    const byFile = await provider.transcribe(attempt(), {
      audio: { kind: 'file', path: fake.media.files.mp3, mimeType: 'audio/mpeg' },
      language: 'en',
    });
    expect(byFile.text).toBe(fake.transcript);
    const body = fake.lastRequest({ path: '/v1/audio/transcriptions' })!.body as MultipartBody;
    const file = body['file'] as UploadedFile;
    expect(file.size).toBe((await readFile(fake.media.files.mp3)).length);
    expect(file.type).toBe('audio/mpeg');
    expect(body['language']).toBe('en');
  });
});

describe('TogetherProvider: video', () => {
  it('generates: seconds as a string, statuses in order, cost from outputs.cost', async () => {
    const submitted = await provider.generate(attempt(), { ...videoRequest, imageUrl: 'https://images.example/first.png' });
    expect(submitted.status).toBe('QUEUED');
    const body = fake.lastRequest({ method: 'POST', path: '/v1/videos' })!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      model: config.together.models.video.generate,
      prompt: 'a lighthouse at dusk',
      seconds: '5',
      width: 1280,
      height: 720,
      fps: 24,
      seed: 7,
      media: { frame_images: [{ input_image: 'https://images.example/first.png', frame: 'first' }] },
    });
    expect(typeof body['seconds']).toBe('string');

    const answers = await pollToEnd(provider, submitted.providerJobId);
    expectOrderly(answers);
    expect(answers.map((a) => a.status)).toContain('RUNNING');
    const last = answers.at(-1)!;
    expect(last.status).toBe('SUCCEEDED');
    expect(last.costUsd).toBe(0.14); // the fake's Seedance price
    expect(last.output?.media?.[0]).toMatchObject({ kind: 'remote' });
  });

  it('tolerates queued and cancelled', async () => {
    fake.scriptNextJob(['queued', 'cancelled']);
    const submitted = await provider.generate(attempt(), videoRequest);
    const answers = await pollToEnd(provider, submitted.providerJobId);
    expect(answers[0]!.status).toBe('QUEUED');
    expect(answers.at(-1)!.status).toBe('CANCELED');
  });

  it('treats an unknown status as a provider error, never success', async () => {
    fake.scriptNextJob([{ status: 'rendering' as TogetherVideoStatus, durationMs: Number.POSITIVE_INFINITY }, 'completed']);
    const submitted = await provider.generate(attempt(), videoRequest);
    const result = await provider.poll(submitted.providerJobId);
    expect(result).toMatchObject({ kind: 'status', status: 'FAILED', error: { code: 'PROVIDER_ERROR', retryable: false } });
  });

  it('maps failed jobs: a content policy code is a rejection, others a provider error', async () => {
    fake.scriptNextJob(['queued', { status: 'failed', error: { message: 'The prompt violates our policy', code: 'content_policy_violation' } }]);
    const rejected = await pollToEnd(provider, (await provider.generate(attempt(), videoRequest)).providerJobId);
    expect(rejected.at(-1)!).toMatchObject({ status: 'FAILED', error: { code: 'CONTENT_REJECTED', retryable: false } });
    expect(rejected.at(-1)!.error!.message).toContain('The prompt violates our policy');

    fake.scriptNextJob(['in_progress', { status: 'failed', error: { message: 'Video generation failed' } }]);
    const broken = await pollToEnd(provider, (await provider.generate(attempt(), videoRequest)).providerJobId);
    expect(broken.at(-1)!).toMatchObject({ status: 'FAILED', error: { code: 'PROVIDER_ERROR', message: 'Video generation failed' } });
  });

  it('edits through media.source_video with the edit model, and refuses a source without a URL', async () => {
    const jobId = randomUUID();
    const withUrl = await storedSource(media.store, jobId, 'https://gateway.example/media/source.mp4');
    expect(provider.supportsEdit({ prompt: 'make it snow', source: withUrl })).toEqual({ ok: true });
    const submitted = await provider.edit(attempt(jobId), { prompt: 'make it snow', source: withUrl });
    expect(fake.lastRequest({ method: 'POST', path: '/v1/videos' })!.body).toMatchObject({
      model: EDIT_MODEL,
      prompt: 'make it snow',
      media: { source_video: 'https://gateway.example/media/source.mp4' },
    });
    const answers = await pollToEnd(provider, submitted.providerJobId);
    expect(answers.at(-1)!).toMatchObject({ status: 'SUCCEEDED', costUsd: 0.5 });

    const support = provider.supportsEdit({ prompt: 'make it snow', source: { ...withUrl, publicUrl: undefined } });
    expect(support.ok).toBe(false);
    if (!support.ok) expect(support.reason).toMatch(/URL/);
  });

  it('extends with the clip in media.frame_videos and joins source and continuation', async () => {
    const jobId = randomUUID();
    const source = await storedSource(media.store, jobId, 'https://gateway.example/media/source.mp4');
    const request = { extensionSeconds: 2, source, prompt: 'the camera keeps rising' };
    expect(provider.supportsExtend(request)).toEqual({ ok: true });
    const submitted = await provider.extend(attempt(jobId, 2), request);
    expect(submitted.providerJobId.startsWith(`extend:${jobId}:2:`)).toBe(true);
    expect(fake.lastRequest({ method: 'POST', path: '/v1/videos' })!.body).toMatchObject({
      model: config.together.models.video.extend,
      seconds: '2',
      media: { frame_videos: [{ video: 'https://gateway.example/media/source.mp4' }] },
    });

    const last = (await pollToEnd(provider, submitted.providerJobId)).at(-1)!;
    expect(last.status).toBe('SUCCEEDED');
    const output = last.output!.media![0]!;
    expect(output).toEqual({ kind: 'stored', key: `${jobId}/extended-2.mp4` });
    const continuation = await ffprobe(media.store.pathOf(`${jobId}/continuation-2.mp4`));
    const joined = await ffprobe(media.store.pathOf(`${jobId}/extended-2.mp4`));
    expect(joined.durationSeconds).toBeCloseTo(source.durationSeconds + continuation.durationSeconds, 0);
    expect(Math.abs(joined.durationSeconds - source.durationSeconds - continuation.durationSeconds)).toBeLessThan(0.25);
    expect({ width: joined.width, height: joined.height }).toEqual({ width: source.width, height: source.height });
    // A repeated poll reuses the joined file.
    expect(await provider.poll(submitted.providerJobId)).toMatchObject({ status: 'SUCCEEDED', output: { media: [output] } });
  });

  it('answers lost for a job Together does not know, and cancel sends nothing', async () => {
    expect(await provider.poll('0b9e3c57-0000-4000-8000-000000000000')).toEqual({ kind: 'lost' });
    const before = fake.requests.length;
    await provider.cancel('0b9e3c57-0000-4000-8000-000000000000');
    expect(fake.requests.length).toBe(before);
  });
});

describe('TogetherProvider: errors', () => {
  it('maps 401 to PROVIDER_AUTH without the key anywhere', async () => {
    const secret = 'tgp_v1_this-is-a-secret-key-0123456789';
    const error = await rejection(providerWith({ apiKey: secret }).generateText(attempt(), { prompt: 'hi' }));
    expect(error.info).toEqual({ code: 'PROVIDER_AUTH', message: expect.stringContaining('Invalid API key'), retryable: false });
    expect(error.httpStatus).toBe(401);
    expectNoSecret(error, secret);
  });

  it('maps 429 to RATE_LIMITED with Retry-After, and the SDK does not retry', async () => {
    fake.failNext({ status: 429, message: 'Rate limit reached for requests', retryAfter: 7, match: { path: '/v1/videos' } });
    const before = fake.requestsMatching({ method: 'POST', path: '/v1/videos' }).length;
    const error = await rejection(provider.generate(attempt(), videoRequest));
    expect(error.info).toEqual({ code: 'RATE_LIMITED', message: 'Rate limit reached for requests', retryable: true });
    expect(error.retryAfterMs).toBe(7000);
    expect(fake.requestsMatching({ method: 'POST', path: '/v1/videos' }).length).toBe(before + 1);
  });

  it.each([500, 503])('maps %i to PROVIDER_UNAVAILABLE (retryable)', async (status) => {
    fake.failNext({ status, message: 'The server had an error', match: { path: '/v1/videos' } });
    const error = await rejection(provider.generate(attempt(), videoRequest));
    expect(error.info).toEqual({ code: 'PROVIDER_UNAVAILABLE', message: 'The server had an error', retryable: true });
  });

  it.each([400, 422])('maps %i to VALIDATION with the provider message', async (status) => {
    fake.failNext({ status, message: "Invalid value for 'seconds'", match: { path: '/v1/videos' } });
    const error = await rejection(provider.generate(attempt(), videoRequest));
    expect(error.info).toEqual({ code: 'VALIDATION', message: "Invalid value for 'seconds'", retryable: false });
  });

  it('maps an unknown model (404) to VALIDATION', async () => {
    const error = await rejection(provider.generate(attempt(), { ...videoRequest, model: 'nobody/no-model' }));
    expect(error.info.code).toBe('VALIDATION');
    expect(error.info.message).toContain('Unable to access model nobody/no-model');
  });

  it('maps a timeout to PROVIDER_UNAVAILABLE', async () => {
    fake.delayNext(2_000, { path: '/v1/videos' });
    const error = await rejection(providerWith({ timeoutMs: 200 }).generate(attempt(), videoRequest));
    expect(error.info).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true, message: expect.stringContaining('in time') });
  });

  it('keeps the key out of its logs', async () => {
    const lines: string[] = [];
    const logger = createLogger('trace', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    const logged = providerWith({ logger });
    const { providerJobId } = await logged.generate(attempt(), videoRequest);
    await pollToEnd(logged, providerJobId);
    await rejection(providerWith({ logger, apiKey: 'tgp_v1_logged-secret-key-abcdef' }).generate(attempt(), videoRequest));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(fake.apiKey);
    expect(lines.join('')).not.toContain('tgp_v1_logged-secret-key-abcdef');
  });

  it('maps a refused connection to PROVIDER_UNAVAILABLE', async () => {
    const error = await rejection(providerWith({ baseURL: `${await refusedOrigin()}/v1` }).generateText(attempt(), { prompt: 'hi' }));
    expect(error.info).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
    expect(error.info.message).toContain('ECONNREFUSED');
    expectNoSecret(error, fake.apiKey);
  });
});
