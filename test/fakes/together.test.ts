import Together, { toFile } from 'together-ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import type { MultipartBody, UploadedFile } from './fake-server.js';
import { sleep } from './fake-server.js';
import { defaultChatReply, startTogetherFake, type TogetherFake } from './together.js';

// The SDK retries 408, 409, 429 and >= 501 (not 500) twice by default, backing
// off for a second or more: tests set maxRetries themselves and answer with
// short retry-after values so they stay fast.
function clientFor(fake: TogetherFake, options: { maxRetries?: number; timeout?: number; apiKey?: string } = {}): Together {
  return new Together({ apiKey: fake.apiKey, baseURL: fake.baseURL, maxRetries: 0, ...options });
}

async function caught(promise: Promise<unknown>): Promise<InstanceType<typeof Together.APIError>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Together.APIError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('Together fake with the together-ai SDK', () => {
  let fake: TogetherFake;
  let client: Together;

  beforeAll(async () => {
    fake = await startTogetherFake({ stepMs: 60 });
    client = clientFor(fake);
  });
  afterAll(() => fake.close());
  afterEach(() => fake.clearScript());

  it('creates a video with seconds as a string and polls it to completion', async () => {
    const created = await client.videos.create({ model: 'google/veo-3.0', prompt: 'a red fox in snow', seconds: '5', width: 1280, height: 720 });
    const request = fake.lastRequest({ method: 'POST', path: '/v1/videos' })!;
    expect(request.headers['authorization']).toBe(`Bearer ${fake.apiKey}`);
    expect((request.body as Record<string, unknown>)['seconds']).toBe('5');
    expect(created).toMatchObject({ object: 'video', model: 'google/veo-3.0', status: 'queued', seconds: '5', size: '1280x720' });

    const seen = new Set<string>();
    let job = created;
    while (job.status !== 'completed') {
      await sleep(30);
      job = await client.videos.retrieve(created.id);
      seen.add(job.status);
    }
    expect(seen).toContain('in_progress');
    expect(job.outputs?.cost).toBeTypeOf('number');
    expect(job.completed_at).toBeTypeOf('number');
    const video = await fetch(job.outputs!.video_url);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
  });

  it('rejects seconds sent as a number, as the API validates', async () => {
    const error = await caught(client.videos.create({ model: 'google/veo-3.0', prompt: 'x', seconds: 5 as unknown as string }));
    expect(error).toBeInstanceOf(Together.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ error: { type: 'invalid_request_error', param: 'seconds' } });
    expect(error.message).toMatch(/^400 \{"error":/);
  });

  it('rejects a model that is not a video model, and an unknown one', async () => {
    expect((await caught(client.videos.create({ model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', prompt: 'x' }))).status).toBe(400);
    const unknown = await caught(client.videos.create({ model: 'nobody/nothing', prompt: 'x' }));
    expect(unknown.status).toBe(404);
    expect(unknown.error).toMatchObject({ error: { code: 'model_not_available' } });
  });

  it('follows a scripted failure and an explicit advance, driven by a manual clock', async () => {
    const clock = new ManualClock();
    const manual = await startTogetherFake({ clock, stepMs: 1_000 });
    try {
      const sdk = clientFor(manual);
      manual.scriptNextJob(['in_progress', { status: 'failed', error: { message: 'Prompt flagged', code: 'content_policy' } }]);
      const job = await sdk.videos.create({ model: 'ByteDance/Seedance-1.0-lite', prompt: 'x', seconds: '5' });
      expect(job.status).toBe('in_progress');
      clock.advance(999);
      expect((await sdk.videos.retrieve(job.id)).status).toBe('in_progress');
      clock.advance(1);
      expect(await sdk.videos.retrieve(job.id)).toMatchObject({
        status: 'failed',
        error: { message: 'Prompt flagged', code: 'content_policy' },
      });

      const second = await sdk.videos.create({ model: 'ByteDance/Seedance-1.0-lite', prompt: 'y', output_format: 'WEBM' });
      manual.finish(second.id);
      const done = await sdk.videos.retrieve(second.id);
      expect(done.status).toBe('completed');
      expect((await fetch(done.outputs!.video_url)).headers.get('content-type')).toBe('video/webm');
    } finally {
      await manual.close();
    }
  });

  it('answers chat completions with usage, including vision content parts', async () => {
    const completion = await client.chat.completions.create({
      model: 'Qwen/Qwen2.5-VL-72B-Instruct',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          ],
        },
      ],
    });
    expect(completion.choices[0]?.message?.content).toBe('Fake reply to: What is in this picture? (looked at 1 image)');
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });

  it('streams chat completions as SSE chunks ending with usage and [DONE]', async () => {
    fake.chatReply = () => 'one two three';
    try {
      const stream = await client.chat.completions.create({
        model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
        messages: [{ role: 'user', content: 'count' }],
        stream: true,
      });
      let text = '';
      let usage: unknown;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('one two three');
      expect(usage).toMatchObject({ completion_tokens: expect.any(Number), prompt_tokens: expect.any(Number) });
    } finally {
      fake.chatReply = defaultChatReply;
    }
  });

  it('generates images as URLs or base64', async () => {
    const byUrl = await client.images.generate({ model: 'black-forest-labs/FLUX.1-schnell', prompt: 'a cat', n: 2 });
    expect(byUrl.data).toHaveLength(2);
    const first = byUrl.data[0]!;
    expect(first.type).toBe('url');
    const image = await fetch((first as { url: string }).url);
    expect(image.headers.get('content-type')).toBe('image/png');

    const inline = await client.images.generate({ model: 'black-forest-labs/FLUX.1-schnell', prompt: 'a cat', response_format: 'base64' });
    const bytes = Buffer.from((inline.data[0] as { b64_json: string }).b64_json, 'base64');
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
  });

  it('returns speech as binary audio, wav by default and mp3 on request', async () => {
    const wav = Buffer.from(await (await client.audio.speech.create({ model: 'cartesia/sonic', input: 'hello', voice: 'friendly sidekick' })).arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(fake.lastRequest({ path: '/v1/audio/speech' })!.headers['accept']).toBe('application/octet-stream');

    const response = await client.audio.speech.create({ model: 'cartesia/sonic', input: 'hello', voice: 'friendly sidekick', response_format: 'mp3' });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    const mp3 = Buffer.from(await response.arrayBuffer());
    expect(mp3.length).toBeGreaterThan(1000);
  });

  it('transcribes an uploaded file or a URL, and fails for an expired URL', async () => {
    const upload = await client.audio.transcriptions.create({
      file: await toFile(Buffer.from('RIFF fake audio'), 'speech.wav', { type: 'audio/wav' }),
      model: 'openai/whisper-large-v3',
    });
    expect(upload.text).toBe('This is a fake transcription of the audio.');
    const sent = fake.lastRequest({ path: '/v1/audio/transcriptions' })!;
    expect(sent.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(((sent.body as MultipartBody)['file'] as UploadedFile).filename).toBe('speech.wav');

    const url = fake.media.publish('mp3');
    const byUrl = await client.audio.transcriptions.create({ file: url, response_format: 'verbose_json' });
    expect(byUrl).toMatchObject({ text: expect.any(String), language: 'en' });
    expect((fake.lastRequest({ path: '/v1/audio/transcriptions' })!.body as MultipartBody)['file']).toBe(url);

    fake.expireOutput(url);
    expect((await caught(client.audio.transcriptions.create({ file: url }))).status).toBe(400);
  });

  it('lists models as a bare array that tests can change between reads', async () => {
    const models = await client.models.list();
    expect(Array.isArray(models)).toBe(true);
    expect(models.filter((m) => (m.type as string) === 'video').map((m) => m.id)).toContain('google/veo-3.0');

    fake.models = fake.models.filter((m) => m.id !== 'google/veo-3.0');
    fake.models.push({ id: 'new/video-model', object: 'model', created: 1, type: 'video', pricing: { input: 0, output: 0, base: 0.5, finetune: 0, hourly: 0 } });
    const again = await client.models.list();
    expect(again.map((m) => m.id)).toContain('new/video-model');
    expect(again.map((m) => m.id)).not.toContain('google/veo-3.0');
  });

  it('answers 401 for a bad key in the Together error shape', async () => {
    const error = await caught(clientFor(fake, { apiKey: 'wrong' }).models.list());
    expect(error).toBeInstanceOf(Together.AuthenticationError);
    expect(error.error).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error' } });
  });

  it('serves scripted failures: 429 with retry-after is retried, 500 is not, 503 is', async () => {
    const retrying = clientFor(fake, { maxRetries: 2 });
    fake.failNext({ status: 429, retryAfter: 0.01, match: { path: '/v1/models' } });
    await retrying.models.list();
    const attempts = fake.requestsMatching({ path: '/v1/models' }).slice(-2);
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    expect(attempts.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);

    const before = fake.requests.length;
    fake.failNext({ status: 500, message: 'boom' });
    const error = await caught(retrying.models.list());
    expect(error).toBeInstanceOf(Together.InternalServerError);
    expect(error.error).toMatchObject({ error: { message: 'boom', type: 'server_error' } });
    expect(fake.requests.length - before).toBe(1);

    fake.failNext({ status: 503, retryAfterMs: 5 });
    await retrying.models.list();
    expect(fake.requests.slice(-2).map((r) => r.status)).toEqual([503, 200]);
  });

  it('can answer slowly or drop the connection', async () => {
    fake.delayNext(300);
    const slow = clientFor(fake, { timeout: 100 });
    await expect(slow.models.list()).rejects.toBeInstanceOf(Together.APIConnectionTimeoutError);

    fake.dropNext();
    await expect(client.models.list()).rejects.toBeInstanceOf(Together.APIConnectionError);
    await expect(client.models.list()).resolves.toBeDefined();
  });
});
