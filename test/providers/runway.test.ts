// RunwayProvider through the real @runwayml/sdk against the Runway fake on loopback.

import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { RunwayProvider, THROTTLED_MESSAGE } from '../../src/providers/runway.js';
import type { GenerateVideoRequest } from '../../src/providers/types.js';
import { RUNWAY_API_VERSION, startRunwayFake, type RunwayFake } from '../fakes/runway.js';
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

const request: GenerateVideoRequest = {
  prompt: 'waves on a black sand beach',
  durationSeconds: 5,
  fps: 24,
  resolution: '720p',
  aspectRatio: '16:9',
  width: 1280,
  height: 720,
  seed: 42,
};

let fake: RunwayFake;
let media: TempStore;
let provider: RunwayProvider;

function providerWith(overrides: { apiKey?: string; baseURL?: string } = {}): RunwayProvider {
  return new RunwayProvider({
    apiKey: overrides.apiKey ?? fake.apiKey,
    baseURL: overrides.baseURL ?? fake.baseURL,
    config: defaultProviderConfig,
    store: media.store,
  });
}

beforeAll(async () => {
  fake = await startRunwayFake({ stepMs: 60 });
  media = await tempStore();
  provider = providerWith();
});

afterAll(async () => {
  await fake.close();
  await media.cleanup();
});

const lastCreate = (endpoint: string) => fake.lastRequest({ method: 'POST', path: `/v1/${endpoint}` })!;

describe('RunwayProvider: generate', () => {
  it('makes text to video with gen4.5 and reports progress and cost in USD', async () => {
    fake.scriptNextJob(['PENDING', { status: 'RUNNING', durationMs: 250 }, { status: 'RUNNING', durationMs: 250 }, 'SUCCEEDED']);
    const submitted = await provider.generate(attempt(), request);
    expect(submitted).toMatchObject({ status: 'QUEUED', model: 'gen4.5', costEstimateUsd: 0.6 });
    const sent = lastCreate('text_to_video');
    expect(sent.headers['x-runway-version']).toBe(RUNWAY_API_VERSION);
    expect(sent.body).toEqual({ model: 'gen4.5', promptText: request.prompt, ratio: '1280:720', duration: 5, seed: 42 });

    const answers = await pollToEnd(provider, submitted.providerJobId);
    expectOrderly(answers);
    const running = answers.filter((a) => a.status === 'RUNNING');
    expect(running.length).toBeGreaterThan(1);
    expect(running.some((a) => (a.progress ?? 0) > 0)).toBe(true);
    const last = answers.at(-1)!;
    expect(last).toMatchObject({ status: 'SUCCEEDED', progress: 1, costUsd: 0.6 });
    expect(last.output!.media![0]).toMatchObject({ kind: 'remote' });
    for (const poll of fake.requestsMatching({ method: 'GET', path: /^\/v1\/tasks\// })) {
      expect(poll.headers['x-runway-version']).toBe(RUNWAY_API_VERSION);
    }
  });

  it('makes image to video with gen4_turbo when a first frame is given', async () => {
    const square = { ...request, aspectRatio: '1:1' as const, width: 720, height: 720, imageUrl: 'https://images.example/first.png' };
    const submitted = await provider.generate(attempt(), square);
    expect(submitted.model).toBe('gen4_turbo');
    expect(lastCreate('image_to_video').body).toEqual({
      model: 'gen4_turbo',
      promptImage: 'https://images.example/first.png',
      promptText: request.prompt,
      ratio: '960:960',
      duration: 5,
      seed: 42,
    });
    expect((await pollToEnd(provider, submitted.providerJobId)).at(-1)!).toMatchObject({ status: 'SUCCEEDED', costUsd: 0.25 });
  });

  it('maps frame shapes to Runway ratios and refuses what a model cannot make', () => {
    expect(provider.supportsGenerate({ ...request, aspectRatio: '9:16', width: 720, height: 1280 })).toEqual({ ok: true });
    const cases: Array<[Partial<GenerateVideoRequest>, RegExp]> = [
      [{ aspectRatio: '4:3', width: 960, height: 720 }, /no 960x720 frame shape/],
      [{ resolution: '1080p', width: 1920, height: 1080 }, /below the 1080p/],
      [{ durationSeconds: 12 }, /2 to 10 second/],
      [{ durationSeconds: 1 }, /2 to 10 second/],
      [{ prompt: 'x'.repeat(1001) }, /at most 1000 characters/],
      [{ model: 'gen3a_turbo' }, /no text to video model "gen3a_turbo"/],
      [{ imageUrl: 'http://insecure.example/a.png' }, /https URL or a data URI/],
    ];
    for (const [change, reason] of cases) {
      const support = provider.supportsGenerate({ ...request, ...change });
      expect(support.ok).toBe(false);
      if (!support.ok) expect(support.reason).toMatch(reason);
    }
    // 4:3 exists for image to video (1104:832).
    expect(provider.supportsGenerate({ ...request, aspectRatio: '4:3', width: 960, height: 720, imageUrl: 'https://i.example/a.png' })).toEqual({
      ok: true,
    });
    // veo3.1 has 1080p, in 4, 6 or 8 seconds.
    const veo = { ...request, model: 'veo3.1', resolution: '1080p' as const, width: 1920, height: 1080 };
    expect(provider.supportsGenerate({ ...veo, durationSeconds: 6 })).toEqual({ ok: true });
    expect(provider.supportsGenerate(veo)).toMatchObject({ ok: false, reason: expect.stringMatching(/4, 6, 8 seconds only/) });
  });

  it('shows THROTTLED as QUEUED with a message', async () => {
    fake.scriptNextJob(['THROTTLED', 'PENDING', 'RUNNING', 'SUCCEEDED']);
    const submitted = await provider.generate(attempt(), request);
    const answers = await pollToEnd(provider, submitted.providerJobId);
    expect(answers[0]).toMatchObject({ status: 'QUEUED', message: THROTTLED_MESSAGE });
    expect(answers.filter((a) => a.message === THROTTLED_MESSAGE).every((a) => a.status === 'QUEUED')).toBe(true);
    expect(answers.at(-1)!.status).toBe('SUCCEEDED');
  });

  it('maps SAFETY failures to CONTENT_REJECTED and INTERNAL ones to a retryable PROVIDER_UNAVAILABLE', async () => {
    fake.scriptNextJob(['PENDING', { status: 'FAILED', error: { message: 'The prompt was flagged by moderation.', code: 'SAFETY.INPUT.TEXT' } }]);
    const safety = (await pollToEnd(provider, (await provider.generate(attempt(), request)).providerJobId)).at(-1)!;
    expect(safety).toMatchObject({ status: 'FAILED', costUsd: 0, error: { code: 'CONTENT_REJECTED', retryable: false } });
    expect(safety.error!.message).toContain('The prompt was flagged by moderation.');

    fake.scriptNextJob(['RUNNING', { status: 'FAILED', error: { message: 'An unexpected error occurred.', code: 'INTERNAL.BAD_OUTPUT.CODE01' } }]);
    const internal = (await pollToEnd(provider, (await provider.generate(attempt(), request)).providerJobId)).at(-1)!;
    expect(internal).toMatchObject({ status: 'FAILED', error: { code: 'PROVIDER_UNAVAILABLE', retryable: true } });
  });
});

describe('RunwayProvider: cancel', () => {
  it('cancels through DELETE /v1/tasks/{id}', async () => {
    fake.scriptNextJob(['PENDING', { status: 'RUNNING', durationMs: Number.POSITIVE_INFINITY }, 'SUCCEEDED']);
    const submitted = await provider.generate(attempt(), request);
    await provider.cancel(submitted.providerJobId);
    const deleted = fake.lastRequest({ method: 'DELETE' })!;
    expect(deleted.path).toBe(`/v1/tasks/${submitted.providerJobId}`);
    expect(deleted.status).toBe(204);
    expect(await provider.poll(submitted.providerJobId)).toMatchObject({ status: 'CANCELED', costUsd: 0 });
  });

  it('treats a task Runway no longer has as lost, and cancelling it as done', async () => {
    const unknown = randomUUID();
    expect(await provider.poll(unknown)).toEqual({ kind: 'lost' });
    await expect(provider.cancel(unknown)).resolves.toBeUndefined();
  });
});

describe('RunwayProvider: edit and extend', () => {
  it('edits with aleph2: the public https URL, else the file as a data URI', async () => {
    const jobId = randomUUID();
    const source = await storedSource(media.store, jobId);

    const byUrl = { prompt: 'make it winter', source: { ...source, publicUrl: 'https://gateway.example/media/source.mp4' } };
    expect(provider.supportsEdit(byUrl)).toEqual({ ok: true });
    await provider.edit(attempt(jobId), byUrl);
    expect(lastCreate('video_to_video').body).toEqual({
      model: 'aleph2',
      videoUri: 'https://gateway.example/media/source.mp4',
      promptText: 'make it winter',
    });

    // No URL (or a plain http one, which Runway does not fetch): the bytes go inline.
    const inline = { prompt: 'make it winter', source: { ...source, publicUrl: 'http://gateway.example/media/source.mp4' } };
    const submitted = await provider.edit(attempt(jobId), inline);
    const videoUri = (lastCreate('video_to_video').body as { videoUri: string }).videoUri;
    expect(videoUri.startsWith('data:video/mp4;base64,')).toBe(true);
    expect((await pollToEnd(provider, submitted.providerJobId)).at(-1)!).toMatchObject({ status: 'SUCCEEDED', costUsd: 0.75 });
  });

  it('refuses to edit a source too large for a data URI when it has no URL', async () => {
    const jobId = randomUUID();
    const source = await storedSource(media.store, jobId);
    const big = path.join(media.root, jobId, 'big.mp4');
    await writeFile(big, Buffer.alloc(4_000_000));
    const support = provider.supportsEdit({ prompt: 'x', source: { ...source, path: big } });
    expect(support).toMatchObject({ ok: false, reason: expect.stringMatching(/no public URL.*too large.*data URI/) });
  });

  it('extends: last frame -> image to video -> joined after the source', async () => {
    const jobId = randomUUID();
    const source = await storedSource(media.store, jobId);
    const extendRequest = { extensionSeconds: 3, source };
    expect(provider.supportsExtend(extendRequest)).toEqual({ ok: true });
    expect(provider.supportsExtend({ ...extendRequest, extensionSeconds: 11 })).toMatchObject({ ok: false });

    const submitted = await provider.extend(attempt(jobId), extendRequest);
    expect(submitted.providerJobId).toMatch(new RegExp(`^extend:${jobId}:1:${jobId}/source.mp4:`));
    const body = lastCreate('image_to_video').body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'gen4_turbo', duration: 3, ratio: '1280:720' });
    expect(String(body['promptImage']).startsWith('data:image/jpeg;base64,')).toBe(true);
    expect(typeof body['promptText']).toBe('string');

    const last = (await pollToEnd(provider, submitted.providerJobId)).at(-1)!;
    expect(last).toMatchObject({ status: 'SUCCEEDED', costUsd: 0.15, output: { media: [{ kind: 'stored', key: `${jobId}/extended-1.mp4` }] } });
    const continuation = await ffprobe(media.store.pathOf(`${jobId}/continuation-1.mp4`));
    const joined = await ffprobe(media.store.pathOf(`${jobId}/extended-1.mp4`));
    expect(Math.abs(joined.durationSeconds - (source.durationSeconds + continuation.durationSeconds))).toBeLessThan(0.25);
    expect(joined).toMatchObject({ width: source.width, height: source.height, hasAudio: true, codec: 'h264' });

    await provider.cancel(submitted.providerJobId);
    expect(fake.lastRequest({ method: 'DELETE' })!.path).toBe(`/v1/tasks/${submitted.providerJobId.split(':').at(-1)}`);
  });
});

describe('RunwayProvider: errors', () => {
  it('maps 401 to PROVIDER_AUTH without the key anywhere', async () => {
    const secret = 'key_runway_secret_0123456789abcdef';
    const error = await rejection(providerWith({ apiKey: secret }).generate(attempt(), request));
    expect(error.info).toEqual({
      code: 'PROVIDER_AUTH',
      message: 'Invalid API key. Make sure you are using a valid key for this environment.',
      retryable: false,
    });
    expectNoSecret(error, secret);
  });

  it('maps 429 to RATE_LIMITED with Retry-After, without SDK retries', async () => {
    fake.failNext({ status: 429, message: 'Too many requests', retryAfter: 3, match: { path: '/v1/text_to_video' } });
    const before = fake.requestsMatching({ path: '/v1/text_to_video' }).length;
    const error = await rejection(provider.generate(attempt(), request));
    expect(error.info).toEqual({ code: 'RATE_LIMITED', message: 'Too many requests', retryable: true });
    expect(error.retryAfterMs).toBe(3000);
    expect(fake.requestsMatching({ path: '/v1/text_to_video' }).length).toBe(before + 1);
  });

  it('maps the daily cap (429 on create) to RATE_LIMITED', async () => {
    const capped = await startRunwayFake({ dailyTaskLimit: 0, media: fake.media });
    try {
      const error = await rejection(providerWith({ baseURL: capped.baseURL, apiKey: capped.apiKey }).generate(attempt(), request));
      expect(error.info.code).toBe('RATE_LIMITED');
      expect(error.info.message).toContain('daily task limit');
    } finally {
      await capped.close();
    }
  });

  it.each([500, 503])('maps %i to PROVIDER_UNAVAILABLE (retryable), polls included', async (status) => {
    fake.failNext({ status, message: 'Service unavailable', match: { path: '/v1/text_to_video' } });
    expect((await rejection(provider.generate(attempt(), request))).info).toEqual({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'Service unavailable',
      retryable: true,
    });
    const submitted = await provider.generate(attempt(), request);
    fake.failNext({ status, match: { method: 'GET' } });
    expect((await rejection(provider.poll(submitted.providerJobId))).info).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
  });

  it.each([400, 422])('maps %i to VALIDATION with Runway’s message', async (status) => {
    fake.failNext({ status, message: 'Validation of body failed: promptText must be a non-empty string.', match: { path: '/v1/text_to_video' } });
    const error = await rejection(provider.generate(attempt(), request));
    expect(error.info).toEqual({ code: 'VALIDATION', message: 'Validation of body failed: promptText must be a non-empty string.', retryable: false });
  });

  it('maps a refused connection to PROVIDER_UNAVAILABLE', async () => {
    const error = await rejection(providerWith({ baseURL: await refusedOrigin() }).generate(attempt(), request));
    expect(error.info).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
    expectNoSecret(error, fake.apiKey);
  });
});
