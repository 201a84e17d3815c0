import RunwayML from '@runwayml/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { RUNWAY_API_VERSION, startRunwayFake, type RunwayFake } from './runway.js';

// The SDK retries 408, 409, 429 and every 5xx twice by default with a 0.5 s+
// backoff: tests pass maxRetries and short retry-after-ms values.
function clientFor(fake: RunwayFake, options: { maxRetries?: number; apiKey?: string } = {}): RunwayML {
  return new RunwayML({ apiKey: fake.apiKey, baseURL: fake.baseURL, maxRetries: 0, ...options });
}

async function caught(promise: Promise<unknown>): Promise<InstanceType<typeof RunwayML.APIError>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RunwayML.APIError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

const textToVideo = { model: 'gen4.5', promptText: 'a lighthouse at dusk', ratio: '1280:720', duration: 5 } as const;

describe('Runway fake with @runwayml/sdk', () => {
  const clock = new ManualClock();
  let fake: RunwayFake;
  let client: RunwayML;

  beforeAll(async () => {
    fake = await startRunwayFake({ clock, stepMs: 1_000 });
    client = clientFor(fake);
  });
  afterAll(() => fake.close());
  afterEach(() => fake.clearScript());

  it('creates a text-to-video task with the version header and bearer', async () => {
    const created = await client.textToVideo.create(textToVideo);
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.estimatedCost.credits).toBe(60);
    const request = fake.lastRequest({ method: 'POST', path: '/v1/text_to_video' })!;
    expect(request.headers['x-runway-version']).toBe(RUNWAY_API_VERSION);
    expect(request.headers['authorization']).toBe(`Bearer ${fake.apiKey}`);
    expect(request.body).toEqual(textToVideo);
  });

  it('goes PENDING, THROTTLED, RUNNING with rising progress, then SUCCEEDED with output and cost', async () => {
    fake.scriptNextJob(['PENDING', 'THROTTLED', 'RUNNING', 'RUNNING', 'SUCCEEDED']);
    const { id } = await client.textToVideo.create(textToVideo);
    expect(await client.tasks.retrieve(id)).toMatchObject({ status: 'PENDING', estimatedCost: { credits: 60 } });
    clock.advance(1_000);
    expect(await client.tasks.retrieve(id)).toMatchObject({ status: 'THROTTLED', estimatedCost: { credits: 60 } });

    const progress: number[] = [];
    for (const step of [1_000, 500, 500, 500]) {
      clock.advance(step);
      const task = await client.tasks.retrieve(id);
      expect(task.status).toBe('RUNNING');
      if (task.status === 'RUNNING') progress.push(task.progress);
    }
    expect(progress).toEqual([0, 0.25, 0.5, 0.75]);

    clock.advance(500);
    const done = await client.tasks.retrieve(id);
    expect(done.status).toBe('SUCCEEDED');
    if (done.status !== 'SUCCEEDED') return;
    expect(done.cost).toEqual({ credits: 60 });
    expect(new Date(done.createdAt).toISOString()).toBe(done.createdAt);
    const video = await fetch(done.output[0]!);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');

    fake.expireOutput(done.output[0]!);
    expect((await fetch(done.output[0]!)).status).toBe(403);
  });

  it('reports a SAFETY failure with its failure code', async () => {
    fake.scriptNextJob(['PENDING', { status: 'FAILED', error: { message: 'Prompt was flagged.', code: 'SAFETY.INPUT.TEXT' } }]);
    const { id } = await client.textToVideo.create(textToVideo);
    fake.advance(id);
    expect(await client.tasks.retrieve(id)).toMatchObject({
      status: 'FAILED',
      failure: 'Prompt was flagged.',
      failureCode: 'SAFETY.INPUT.TEXT',
      cost: { credits: 0 },
    });
  });

  it('validates each model the way the API does, answering {"error": "..."}', async () => {
    const badDuration = await caught(client.textToVideo.create({ ...textToVideo, duration: 12 }));
    expect(badDuration).toBeInstanceOf(RunwayML.BadRequestError);
    expect(badDuration.status).toBe(400);
    expect(badDuration.error).toEqual({ error: expect.stringContaining('duration') });
    expect(badDuration.message).toMatch(/^400 \{"error":"/);

    const badRatio = await caught(client.textToVideo.create({ ...textToVideo, ratio: '960:960' as '1280:720' }));
    expect(badRatio.error).toEqual({ error: expect.stringContaining('ratio') });

    const noImage = await caught(
      client.imageToVideo.create({ model: 'gen4_turbo', ratio: '1280:720' } as unknown as RunwayML.ImageToVideoCreateParams),
    );
    expect(noImage.error).toEqual({ error: expect.stringContaining('promptImage') });

    const httpImage = await caught(client.imageToVideo.create({ model: 'gen4_turbo', ratio: '1280:720', promptImage: 'http://127.0.0.1/x.png' }));
    expect(httpImage.status).toBe(400);

    const noVideo = await caught(
      client.videoToVideo.create({ model: 'aleph2', promptText: 'make it snow' } as unknown as RunwayML.VideoToVideoCreateParams),
    );
    expect(noVideo.error).toEqual({ error: expect.stringContaining('videoUri') });
  });

  it('accepts image-to-video from a data URI and video-to-video from an https URL', async () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const i2v = await client.imageToVideo.create({ model: 'gen4_turbo', ratio: '960:960', promptImage: [{ uri: png, position: 'first' }], duration: 5 });
    expect(i2v.estimatedCost.credits).toBe(25);
    const v2v = await client.videoToVideo.create({ model: 'aleph2', videoUri: 'https://example.com/in.mp4', promptText: 'make it snow' });
    expect(v2v.id).toBeTypeOf('string');
  });

  it('cancels a running task with DELETE, then deletes it for good', async () => {
    const { id } = await client.textToVideo.create(textToVideo);
    fake.advance(id);
    await client.tasks.delete(id);
    const request = fake.lastRequest({ method: 'DELETE' })!;
    expect(request.status).toBe(204);
    expect(await client.tasks.retrieve(id)).toMatchObject({ status: 'CANCELLED', cost: { credits: 0 } });

    await client.tasks.delete(id);
    const gone = await caught(client.tasks.retrieve(id));
    expect(gone).toBeInstanceOf(RunwayML.NotFoundError);
    expect(gone.error).toEqual({ error: expect.any(String) });
  });

  it('requires X-Runway-Version and a valid key', async () => {
    const missing = await fetch(`${fake.baseURL}/v1/tasks/whatever`, { headers: { authorization: `Bearer ${fake.apiKey}` } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: expect.stringContaining('X-Runway-Version') });

    const wrongVersion = new RunwayML({ apiKey: fake.apiKey, baseURL: fake.baseURL, maxRetries: 0, runwayVersion: '2023-01-01' });
    expect((await caught(wrongVersion.tasks.retrieve('x'))).status).toBe(400);

    const badKey = await caught(clientFor(fake, { apiKey: 'nope' }).tasks.retrieve('x'));
    expect(badKey).toBeInstanceOf(RunwayML.AuthenticationError);
  });

  it('answers 429 on create past the daily cap', async () => {
    const capped = await startRunwayFake({ clock, dailyTaskLimit: 1 });
    try {
      const sdk = clientFor(capped);
      await sdk.textToVideo.create(textToVideo);
      const error = await caught(sdk.textToVideo.create(textToVideo));
      expect(error).toBeInstanceOf(RunwayML.RateLimitError);
      expect(error.error).toEqual({ error: expect.stringContaining('daily') });
    } finally {
      await capped.close();
    }
  });

  it('holds tasks over the concurrency limit in THROTTLED until a slot frees', async () => {
    const limited = await startRunwayFake({ clock, stepMs: 1_000, concurrencyLimit: 1 });
    try {
      const sdk = clientFor(limited);
      const first = await sdk.textToVideo.create(textToVideo);
      const second = await sdk.textToVideo.create(textToVideo);
      expect(await sdk.tasks.retrieve(second.id)).toMatchObject({ status: 'THROTTLED', estimatedCost: { credits: 60 } });
      clock.advance(60_000);
      expect((await sdk.tasks.retrieve(first.id)).status).toBe('SUCCEEDED');
      expect((await sdk.tasks.retrieve(second.id)).status).toBe('PENDING');
      clock.advance(4_000);
      expect((await sdk.tasks.retrieve(second.id)).status).toBe('SUCCEEDED');
    } finally {
      await limited.close();
    }
  });

  it('is retried by the SDK on 500 and 429', async () => {
    const retrying = clientFor(fake, { maxRetries: 2 });
    fake.failNext({ status: 500, retryAfterMs: 5 });
    fake.failNext({ status: 429, retryAfterMs: 5 });
    const created = await retrying.textToVideo.create(textToVideo);
    expect(created.id).toBeTypeOf('string');
    expect(fake.requests.slice(-3).map((r) => r.status)).toEqual([500, 429, 200]);
  });
});
