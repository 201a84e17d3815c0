// ReplicateProvider through the real replicate SDK against the Replicate fake
// on loopback, and verifyReplicateWebhook against the fake's signed webhooks.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateWebhook } from 'replicate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { ReplicateProvider, verifyReplicateWebhook } from '../../src/providers/replicate.js';
import type { GenerateVideoRequest } from '../../src/providers/types.js';
import { startReplicateFake, type ReplicateFake } from '../fakes/replicate.js';
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
  prompt: 'a paper boat on a rainy street',
  durationSeconds: 6,
  fps: 24,
  resolution: '720p',
  aspectRatio: '16:9',
  width: 1280,
  height: 720,
  seed: 11,
};
const IMAGE = 'https://images.example/first.png';

/** A webhook receiver that keeps every delivery's headers and raw body. */
interface Receiver {
  url: string;
  deliveries: Array<{ headers: http.IncomingHttpHeaders; rawBody: Buffer }>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const deliveries: Receiver['deliveries'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, rawBody: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/replicate`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let fake: ReplicateFake;
let media: TempStore;
let receiver: Receiver;
let provider: ReplicateProvider;

function providerWith(overrides: { apiKey?: string; baseUrl?: string; webhookUrl?: string; timeoutMs?: number } = {}): ReplicateProvider {
  return new ReplicateProvider({
    apiKey: overrides.apiKey ?? fake.apiKey,
    baseUrl: overrides.baseUrl ?? fake.baseUrl,
    config: defaultProviderConfig,
    store: media.store,
    webhookUrl: overrides.webhookUrl,
    timeoutMs: overrides.timeoutMs,
  });
}

beforeAll(async () => {
  fake = await startReplicateFake({ stepMs: 60 });
  media = await tempStore();
  receiver = await startReceiver();
  provider = providerWith();
});

afterAll(async () => {
  await fake.close();
  await receiver.close();
  await media.cleanup();
});

const lastCreate = () => fake.lastRequest({ method: 'POST', path: /\/predictions$/ })!;

describe('ReplicateProvider: generate', () => {
  it('creates on /v1/models/{owner}/{name}/predictions, reads tqdm progress, prices predict_time', async () => {
    // Long enough in processing for several polls, even on a busy machine.
    fake.scriptNextJob(['starting', { status: 'processing', durationMs: 250 }, { status: 'processing', durationMs: 250 }, 'succeeded']);
    const submitted = await provider.generate(attempt(), request);
    expect(submitted).toMatchObject({ status: 'QUEUED', model: 'minimax/video-01' });
    const sent = lastCreate();
    expect(sent.path).toBe('/v1/models/minimax/video-01/predictions');
    expect(sent.body).toEqual({ input: { prompt: request.prompt, prompt_optimizer: true } });
    expect(sent.headers['prefer']).toBeUndefined();

    const answers = await pollToEnd(provider, submitted.providerJobId, 15);
    expectOrderly(answers);
    const progress = answers.filter((a) => a.status === 'RUNNING').map((a) => a.progress);
    expect(progress.some((p) => p !== null && p > 0 && p < 1)).toBe(true);
    const last = answers.at(-1)!;
    expect(last.status).toBe('SUCCEEDED');
    expect(last.output!.media![0]).toMatchObject({ kind: 'remote' });
    const predictTime = (fake.prediction(submitted.providerJobId)!['metrics'] as { predict_time: number }).predict_time;
    expect(predictTime).toBeGreaterThan(0);
    expect(last.costUsd).toBeCloseTo(predictTime * 0.0028, 12);
  });

  it('maps each model’s inputs: first frame, duration, frame counts', async () => {
    await provider.generate(attempt(), { ...request, imageUrl: IMAGE });
    expect(lastCreate().body).toMatchObject({ input: { first_frame_image: IMAGE } });

    await provider.generate(attempt(), { ...request, imageUrl: IMAGE, durationSeconds: 10, model: 'kwaivgi/kling-v2.1' });
    expect(lastCreate()).toMatchObject({
      path: '/v1/models/kwaivgi/kling-v2.1/predictions',
      body: { input: { prompt: request.prompt, start_image: IMAGE, duration: 10, mode: 'standard' } },
    });

    await provider.generate(attempt(), { ...request, imageUrl: IMAGE, durationSeconds: 5, model: 'wan-video/wan-2.2-i2v-fast' });
    expect(lastCreate().body).toEqual({ input: { image: IMAGE, prompt: request.prompt, num_frames: 81, resolution: '720p', seed: 11 } });

    await provider.generate(attempt(), { ...request, imageUrl: IMAGE, durationSeconds: 2, model: 'stability-ai/stable-video-diffusion' });
    expect(lastCreate()).toMatchObject({
      path: '/v1/models/stability-ai/stable-video-diffusion/predictions',
      body: { input: { input_image: IMAGE, video_length: '14_frames_with_svd', frames_per_second: 7, seed: 11 } },
    });
  });

  it('refuses what no configured model can make', () => {
    expect(provider.supportsGenerate({ ...request, durationSeconds: 12 })).toMatchObject({ ok: false, reason: expect.stringContaining('6 s') });
    expect(provider.supportsGenerate({ ...request, model: 'kwaivgi/kling-v2.1' })).toMatchObject({ ok: false });
    expect(provider.supportsGenerate({ ...request, model: 'someone/else' })).toMatchObject({ ok: false, reason: expect.stringContaining('not configured') });
    expect(provider.supportsEdit({ prompt: 'x', source: { key: 'a/b.mp4', path: '', durationSeconds: 1, width: 2, height: 2, hasAudio: false } })).toMatchObject({
      ok: false,
    });
  });

  it('treats aborted as terminal (CANCELED)', async () => {
    fake.scriptNextJob(['starting', 'processing', 'aborted']);
    const answers = await pollToEnd(provider, (await provider.generate(attempt(), request)).providerJobId);
    expect(answers.at(-1)!.status).toBe('CANCELED');
  });

  it('maps failed predictions: flagged content is a rejection', async () => {
    fake.scriptNextJob(['starting', { status: 'failed', error: { message: 'The input or output was flagged as sensitive. Please try again with different inputs. (E005)' } }]);
    const flagged = (await pollToEnd(provider, (await provider.generate(attempt(), request)).providerJobId)).at(-1)!;
    expect(flagged).toMatchObject({ status: 'FAILED', error: { code: 'CONTENT_REJECTED', retryable: false } });

    fake.scriptNextJob(['starting', { status: 'failed', error: { message: 'CUDA out of memory' } }]);
    const broken = (await pollToEnd(provider, (await provider.generate(attempt(), request)).providerJobId)).at(-1)!;
    expect(broken).toMatchObject({ status: 'FAILED', error: { code: 'PROVIDER_ERROR', message: 'CUDA out of memory' } });
  });

  it('cancels through predictions.cancel', async () => {
    fake.scriptNextJob(['starting', { status: 'processing', durationMs: Number.POSITIVE_INFINITY }, 'succeeded']);
    const submitted = await provider.generate(attempt(), request);
    await provider.cancel(submitted.providerJobId);
    expect(fake.lastRequest({ method: 'POST', path: /\/cancel$/ })!.path).toBe(`/v1/predictions/${submitted.providerJobId}/cancel`);
    expect(await provider.poll(submitted.providerJobId)).toMatchObject({ status: 'CANCELED' });
    expect(await provider.poll('nosuchprediction')).toEqual({ kind: 'lost' });
  });
});

describe('ReplicateProvider: extend', () => {
  it('sends the last frame to an image-to-video model and joins the clips', async () => {
    const jobId = randomUUID();
    const source = await storedSource(media.store, jobId);
    const extendRequest = { extensionSeconds: 5, source, prompt: 'the boat drifts on' };
    expect(provider.supportsExtend(extendRequest)).toEqual({ ok: true });
    const submitted = await provider.extend(attempt(jobId), extendRequest);
    const sent = lastCreate();
    expect(sent.path).toBe('/v1/models/minimax/video-01/predictions');
    const input = (sent.body as { input: Record<string, string> }).input;
    expect(input['prompt']).toBe('the boat drifts on');
    expect(input['first_frame_image']!.startsWith('data:image/jpeg;base64,')).toBe(true);

    const last = (await pollToEnd(provider, submitted.providerJobId)).at(-1)!;
    expect(last).toMatchObject({ status: 'SUCCEEDED', output: { media: [{ kind: 'stored', key: `${jobId}/extended-1.mp4` }] } });
    const continuation = await ffprobe(media.store.pathOf(`${jobId}/continuation-1.mp4`));
    const joined = await ffprobe(media.store.pathOf(`${jobId}/extended-1.mp4`));
    expect(Math.abs(joined.durationSeconds - (source.durationSeconds + continuation.durationSeconds))).toBeLessThan(0.25);
  });
});

describe('ReplicateProvider: errors', () => {
  it('maps 401 to PROVIDER_AUTH with the RFC 7807 detail and without the key', async () => {
    const secret = 'r8_secret_token_0123456789abcdefghij';
    const error = await rejection(providerWith({ apiKey: secret }).generate(attempt(), request));
    expect(error.info).toEqual({ code: 'PROVIDER_AUTH', message: 'You did not pass a valid authentication token', retryable: false });
    expectNoSecret(error, secret);
  });

  it('maps 429 to RATE_LIMITED with Retry-After, and turns the SDK’s retries off', async () => {
    fake.failNext({ status: 429, message: 'Request was throttled. Expected available in 9 seconds.', retryAfter: 9, match: { method: 'POST' } });
    const before = fake.requests.length;
    const error = await rejection(provider.generate(attempt(), request));
    expect(error.info).toEqual({ code: 'RATE_LIMITED', message: 'Request was throttled. Expected available in 9 seconds.', retryable: true });
    expect(error.retryAfterMs).toBe(9000);
    // The SDK would have sent six.
    expect(fake.requests.length).toBe(before + 1);
  });

  it.each([500, 503])('maps %i to PROVIDER_UNAVAILABLE, one request even for a GET', async (status) => {
    const submitted = await provider.generate(attempt(), request);
    // One scripted failure: an SDK retry would get the real answer and the poll would succeed.
    fake.failNext({ status, message: 'Internal server error', match: { method: 'GET' } });
    const before = fake.requests.length;
    const error = await rejection(provider.poll(submitted.providerJobId));
    expect(error.info).toEqual({ code: 'PROVIDER_UNAVAILABLE', message: 'Internal server error', retryable: true });
    expect(fake.requests.length).toBe(before + 1);
  });

  it.each([400, 422])('maps %i to VALIDATION with the detail', async (status) => {
    fake.failNext({ status, message: '- input.prompt: prompt is required\n', match: { method: 'POST' } });
    const error = await rejection(provider.generate(attempt(), request));
    expect(error.info).toEqual({ code: 'VALIDATION', message: '- input.prompt: prompt is required\n', retryable: false });
  });

  it('bounds each request in time: a timeout is PROVIDER_UNAVAILABLE, sent once', async () => {
    fake.delayNext(2_000, { method: 'POST' });
    const before = fake.requests.length;
    const error = await rejection(providerWith({ timeoutMs: 200 }).generate(attempt(), request));
    expect(error.info).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true, message: expect.stringContaining('in time') });
    expect(fake.requests.length).toBe(before + 1);
  });

  it('maps a refused connection to PROVIDER_UNAVAILABLE', async () => {
    const error = await rejection(providerWith({ baseUrl: `${await refusedOrigin()}/v1` }).generate(attempt(), request));
    expect(error.info).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
    expect(error.info.message).toContain('ECONNREFUSED');
    expectNoSecret(error, fake.apiKey);
  });
});

describe('Replicate webhooks', () => {
  it('sends start and completed webhooks that verify', async () => {
    const withHooks = providerWith({ webhookUrl: receiver.url });
    const submitted = await withHooks.generate(attempt(), request);
    expect(lastCreate().body).toMatchObject({ webhook: receiver.url, webhook_events_filter: ['start', 'completed'] });
    await pollToEnd(withHooks, submitted.providerJobId);
    await fake.flushWebhooks();

    const mine = receiver.deliveries.filter((d) => JSON.parse(d.rawBody.toString()).id === submitted.providerJobId);
    const verified = await Promise.all(mine.map((d) => verifyReplicateWebhook({ headers: d.headers, rawBody: d.rawBody, secret: fake.webhookSecret })));
    expect(verified.map((v) => (v.ok ? v.status : v.reason))).toEqual(['QUEUED', 'SUCCEEDED']);
    expect(verified[1]).toEqual({ ok: true, predictionId: submitted.providerJobId, status: 'SUCCEEDED', providerStatus: 'succeeded' });
  });

  it('rejects forged signatures and old timestamps (which the SDK alone accepts)', async () => {
    const withHooks = providerWith({ webhookUrl: receiver.url });
    const { providerJobId } = await withHooks.generate(attempt(), request);

    const forged = await fake.sendForgedWebhook(providerJobId);
    expect(await verifyReplicateWebhook({ headers: forged.headers, rawBody: forged.body, secret: fake.webhookSecret })).toMatchObject({
      ok: false,
      reason: 'invalid-signature',
    });

    const stale = await fake.sendStaleWebhook(providerJobId, { ageSeconds: 600 });
    expect(await verifyReplicateWebhook({ headers: stale.headers, rawBody: stale.body, secret: fake.webhookSecret })).toMatchObject({
      ok: false,
      reason: 'timestamp-out-of-tolerance',
    });
    // The SDK checks the signature only: the stale delivery passes it.
    expect(
      await validateWebhook({
        id: stale.headers['webhook-id'],
        timestamp: stale.headers['webhook-timestamp'],
        signature: stale.headers['webhook-signature'],
        body: stale.body,
        secret: fake.webhookSecret,
      }),
    ).toBe(true);

    const genuine = await fake.sendWebhook(providerJobId);
    const headers = new Headers(genuine.headers);
    expect(await verifyReplicateWebhook({ headers, rawBody: genuine.body, secret: fake.webhookSecret })).toMatchObject({ ok: true });
    // Within tolerance of a given clock only.
    const later = new Date(Number(genuine.headers['webhook-timestamp']) * 1000 + 301_000);
    expect(await verifyReplicateWebhook({ headers, rawBody: genuine.body, secret: fake.webhookSecret, now: later })).toMatchObject({
      ok: false,
      reason: 'timestamp-out-of-tolerance',
    });
    expect(await verifyReplicateWebhook({ headers: {}, rawBody: genuine.body, secret: fake.webhookSecret })).toMatchObject({
      ok: false,
      reason: 'missing-headers',
    });
    expect(
      await verifyReplicateWebhook({ headers, rawBody: genuine.body.replace('"status"', '"status" '), secret: fake.webhookSecret }),
    ).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });
});
