import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Replicate, { parseProgressFromLogs, validateWebhook, type Prediction } from 'replicate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { sleep } from './fake-server.js';
import { signWebhook, startReplicateFake, type ReplicateFake } from './replicate.js';

// The SDK retries GET on 429 and 5xx and POST on 429 only, six attempts in
// all with practically no delay, and ignores Retry-After; it cannot be tuned.
function clientFor(fake: ReplicateFake, auth = fake.apiKey): Replicate {
  return new Replicate({ auth, baseUrl: fake.baseUrl });
}

interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function startReceiver(): Promise<{ url: string; received: ReceivedWebhook[]; close(): Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/replicate`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function verify(webhook: ReceivedWebhook, secret: string): Promise<boolean> {
  return validateWebhook(
    {
      id: String(webhook.headers['webhook-id']),
      timestamp: String(webhook.headers['webhook-timestamp']),
      signature: String(webhook.headers['webhook-signature']),
      body: webhook.body,
      secret,
    },
    globalThis.crypto,
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error & { response: Response }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { response: Response };
  }
  throw new Error('expected the call to fail');
}

const minimaxInput = { prompt: 'a paper boat on a river', prompt_optimizer: false };

describe('Replicate fake with the replicate SDK', () => {
  let fake: ReplicateFake;
  let client: Replicate;

  beforeAll(async () => {
    fake = await startReplicateFake({ stepMs: 60 });
    client = clientFor(fake);
  });
  afterAll(() => fake.close());
  afterEach(() => fake.clearScript());

  it('creates a prediction by model and polls it to success with logs, metrics and output', async () => {
    const created = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput });
    const request = fake.lastRequest({ method: 'POST' })!;
    expect(request.path).toBe('/v1/models/minimax/video-01/predictions');
    expect(request.headers['authorization']).toBe(`Bearer ${fake.apiKey}`);
    expect(request.body).toEqual({ input: minimaxInput });
    expect(request.status).toBe(201);
    expect(created).toMatchObject({ status: 'starting', model: 'minimax/video-01', output: null, error: null, logs: '' });
    expect(created.id).toMatch(/^[a-z2-7]{26}$/);
    expect(created.urls.get).toBe(`${fake.baseUrl}/predictions/${created.id}`);

    let prediction: Prediction = created;
    const statuses = new Set<string>();
    while (prediction.status === 'starting' || prediction.status === 'processing') {
      await sleep(20);
      prediction = await client.predictions.get(created.id);
      statuses.add(prediction.status);
    }
    expect(statuses).toContain('processing');
    expect(prediction.status).toBe('succeeded');
    expect(parseProgressFromLogs(prediction)).toEqual({ percentage: 1, current: 100, total: 100 });
    expect(prediction.metrics?.predict_time).toBeGreaterThan(0);
    expect(prediction.started_at).toBeTypeOf('string');
    const video = await fetch(prediction.output as string);
    expect(video.headers.get('content-type')).toBe('video/mp4');
  });

  it('writes tqdm lines that advance with the clock', async () => {
    const clock = new ManualClock();
    const manual = await startReplicateFake({ clock, stepMs: 1_000 });
    try {
      const sdk = clientFor(manual);
      const { id } = await sdk.predictions.create({ model: 'minimax/video-01', input: minimaxInput });
      clock.advance(1_000);
      const seen: Array<number | undefined> = [];
      for (let i = 0; i < 3; i += 1) {
        const prediction = await sdk.predictions.get(id);
        expect(prediction.status).toBe('processing');
        seen.push(parseProgressFromLogs(prediction)?.percentage);
        clock.advance(1_000);
      }
      expect(seen).toEqual([0, 0.33, 0.66]);
      expect((await sdk.predictions.get(id)).status).toBe('succeeded');
    } finally {
      await manual.close();
    }
  });

  it('creates a prediction by version on /v1/predictions', async () => {
    const version = (await client.models.get('stability-ai', 'stable-video-diffusion')).latest_version!.id;
    const prediction = await client.predictions.create({ version, input: { input_image: 'https://example.com/a.png' } });
    expect(fake.lastRequest({ method: 'POST' })!.path).toBe('/v1/predictions');
    expect(prediction).toMatchObject({ version, model: 'stability-ai/stable-video-diffusion' });
  });

  it('cancels a prediction, and scripts failed and aborted ones', async () => {
    fake.setStepMs(10_000);
    try {
      const { id } = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput });
      const canceled = await client.predictions.cancel(id);
      expect(fake.lastRequest({ method: 'POST' })!.path).toBe(`/v1/predictions/${id}/cancel`);
      expect(canceled.status).toBe('canceled');
      expect(canceled.completed_at).toBeTypeOf('string');
    } finally {
      fake.setStepMs(60);
    }

    fake.scriptNextJob(['starting', 'processing', { status: 'failed', error: { message: 'CUDA out of memory' } }]);
    fake.scriptNextJob(['starting', 'aborted']);
    const failing = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput });
    const aborting = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput });
    fake.finish(failing.id);
    fake.finish(aborting.id);
    expect(await client.predictions.get(failing.id)).toMatchObject({ status: 'failed', error: 'CUDA out of memory' });
    expect((await client.predictions.get(aborting.id)).status).toBe('aborted');
  });

  it('honours Prefer: wait', async () => {
    const done = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput, wait: true });
    expect(fake.lastRequest({ method: 'POST' })!.headers['prefer']).toBe('wait');
    expect(done.status).toBe('succeeded');

    fake.scriptNextJob([{ status: 'starting', durationMs: 60_000 }, 'succeeded']);
    const started = Date.now();
    const pending = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput, wait: 1 });
    expect(fake.lastRequest({ method: 'POST' })!.headers['prefer']).toBe('wait=1');
    expect(pending.status).toBe('starting');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('answers 422 problem details for invalid input', async () => {
    const error = await rejection(client.predictions.create({ model: 'kwaivgi/kling-v2.1', input: { prompt: 'x', duration: 7 } }));
    expect(error.name).toBe('ApiError');
    expect(error.response.status).toBe(422);
    expect(error.message).toContain('start_image is required');

    const raw = await fetch(`${fake.baseUrl}/models/minimax/video-01/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: {} }),
    });
    expect(raw.headers.get('content-type')).toBe('application/problem+json');
    expect(await raw.json()).toMatchObject({
      type: expect.any(String),
      title: 'Input validation failed',
      status: 422,
      detail: '- input: prompt is required\n',
      invalid_fields: [{ type: 'required', field: 'input', description: 'prompt is required' }],
    });
  });

  it('answers 401 and 404 as problem details', async () => {
    const unauthenticated = await rejection(clientFor(fake, 'r8_wrong').predictions.get('x'));
    expect(unauthenticated.response.status).toBe(401);
    const missing = await rejection(client.predictions.get('doesnotexist'));
    expect(missing.response.status).toBe(404);
    expect(missing.message).toContain('"title":"Not found"');
  });

  it('is retried by the SDK: POST on 429 only, GET on 429 and 5xx', async () => {
    fake.failNext({ status: 429, retryAfter: 1, match: { method: 'POST' } });
    await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput });
    expect(fake.requestsMatching({ method: 'POST' }).slice(-2).map((r) => r.status)).toEqual([429, 201]);

    fake.failNext({ status: 500, match: { method: 'POST' } });
    expect((await rejection(client.predictions.create({ model: 'minimax/video-01', input: minimaxInput }))).response.status).toBe(500);

    fake.failNext({ status: 503, times: 2 });
    await client.models.get('minimax', 'video-01');
    expect(fake.requests.slice(-3).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('serves models, versions and collections from a catalog tests can change', async () => {
    const model = await client.models.get('minimax', 'video-01');
    expect(model.latest_version?.id).toMatch(/^[0-9a-f]{64}$/);
    const versions = await client.models.versions.list('minimax', 'video-01');
    expect(versions.results[0]?.id).toBe(model.latest_version?.id);

    const collection = await client.collections.get('text-to-video');
    expect(collection.models?.map((m) => `${m.owner}/${m.name}`)).toEqual(['minimax/video-01', 'kwaivgi/kling-v2.1']);
    fake.collections.find((c) => c.slug === 'text-to-video')!.models.push('wan-video/wan-2.2-i2v-fast');
    expect((await client.collections.get('text-to-video')).models).toHaveLength(3);
  });

  it('uploads Buffer inputs to /v1/files first', async () => {
    const prediction = await client.predictions.create({
      model: 'minimax/video-01',
      input: { prompt: 'animate', first_frame_image: Buffer.from('fake png bytes') },
    });
    const upload = fake.lastRequest({ path: '/v1/files' })!;
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect((prediction.input as Record<string, string>)['first_frame_image']).toMatch(new RegExp(`^${fake.baseUrl}/files/`));
  });

  it('signs webhooks so that validateWebhook accepts them', async () => {
    const receiver = await startReceiver();
    try {
      const created = await client.predictions.create({ model: 'minimax/video-01', input: minimaxInput, webhook: receiver.url });
      while ((await client.predictions.get(created.id)).status !== 'succeeded') await sleep(20);
      await fake.flushWebhooks();

      const events = fake.webhookDeliveries.filter((d) => d.predictionId === created.id).map((d) => d.event);
      expect(events[0]).toBe('start');
      expect(events).toContain('logs');
      expect(events.slice(-2)).toEqual(['output', 'completed']);
      expect(receiver.received).toHaveLength(events.length);
      for (const webhook of receiver.received) {
        expect(webhook.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
        expect(await verify(webhook, fake.webhookSecret)).toBe(true);
      }
      const last = receiver.received.at(-1)!;
      expect(JSON.parse(last.body)).toMatchObject({ id: created.id, status: 'succeeded', webhook: receiver.url });

      // The Request form of validateWebhook, as a web handler would call it.
      const asRequest = new Request(receiver.url, {
        method: 'POST',
        headers: last.headers as Record<string, string>,
        body: last.body,
      });
      expect(await validateWebhook(asRequest, fake.webhookSecret)).toBe(true);
      expect(signWebhook(fake.webhookSecret, String(last.headers['webhook-id']), String(last.headers['webhook-timestamp']), last.body)).toBe(
        String(last.headers['webhook-signature']).slice(3),
      );
    } finally {
      await receiver.close();
    }
  });

  it('honours webhook_events_filter and sends forged, replayed and stale webhooks on request', async () => {
    const receiver = await startReceiver();
    try {
      const created = await client.predictions.create({
        model: 'minimax/video-01',
        input: minimaxInput,
        webhook: receiver.url,
        webhook_events_filter: ['completed'],
      });
      fake.finish(created.id);
      await fake.flushWebhooks();
      expect(receiver.received).toHaveLength(1);
      const genuine = fake.webhookDeliveries.at(-1)!;
      expect(genuine).toMatchObject({ kind: 'genuine', event: 'completed', status: 200 });

      await fake.sendForgedWebhook(created.id);
      expect(await verify(receiver.received.at(-1)!, fake.webhookSecret)).toBe(false);

      await fake.replayWebhook(genuine);
      const replayed = receiver.received.at(-1)!;
      expect(replayed.headers['webhook-id']).toBe(genuine.headers['webhook-id']);
      expect(replayed.body).toBe(genuine.body);

      await fake.sendStaleWebhook(created.id, { ageSeconds: 3_600 });
      const stale = receiver.received.at(-1)!;
      // The SDK checks only the signature: rejecting old timestamps is the receiver's job.
      expect(await verify(stale, fake.webhookSecret)).toBe(true);
      expect(Number(stale.headers['webhook-timestamp'])).toBeLessThan(Date.now() / 1000 - 3_500);
    } finally {
      await receiver.close();
    }
  });
});
