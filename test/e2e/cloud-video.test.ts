// Video through the cloud providers, over GraphQL, through the official SDKs
// against the fakes on loopback: outputs copied into our store (and still
// served after the provider's URL expired), costs, a safety rejection, and
// Replicate webhooks accepted, forged, replayed and arriving before the poll.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicateFake, type ReplicateFake } from '../fakes/replicate.js';
import { startRunwayFake, type RunwayFake } from '../fakes/runway.js';
import { DEFAULT_TOGETHER_MODELS, startTogetherFake, type TogetherFake } from '../fakes/together.js';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { ffprobe } from '../helpers/ffprobe.js';
import { freePort } from '../helpers/net.js';
import { PROGRESS_SUBSCRIPTION, RESULT_FIELDS, startGateway, type TestGateway } from '../helpers/gateway.js';

const GENERATE = `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { ${RESULT_FIELDS} } }`;

let together: TogetherFake;
let runway: RunwayFake;
let replicate: ReplicateFake;
let gateway: TestGateway;

beforeAll(async () => {
  together = await startTogetherFake({
    apiKey: 'together-secret-key',
    // The configured video-edit model must be in the catalog, as with the real API.
    models: [
      ...DEFAULT_TOGETHER_MODELS,
      { ...DEFAULT_TOGETHER_MODELS.find((m) => m.type === 'video')!, id: defaultProviderConfig.together.models.video.edit },
    ],
  });
  runway = await startRunwayFake({ apiKey: 'runway-secret-key', acceptHttpInputs: true });
  replicate = await startReplicateFake({ apiKey: 'replicate-secret-key' });
  const port = await freePort();
  gateway = await startGateway({
    env: {
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TOGETHER_API_KEY: 'together-secret-key',
      TOGETHER_BASE_URL: together.baseURL,
      RUNWAYML_API_SECRET: 'runway-secret-key',
      RUNWAYML_BASE_URL: runway.baseURL,
      REPLICATE_API_TOKEN: 'replicate-secret-key',
      REPLICATE_BASE_URL: replicate.baseUrl,
      REPLICATE_WEBHOOK_SECRET: replicate.webhookSecret,
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([together?.close(), runway?.close(), replicate?.close()]);
});

async function generate(input: Record<string, unknown>) {
  const data = await gateway.graphql(GENERATE, { input });
  expect(data.generateVideo.__typename).toBe('JobPayload');
  return data.generateVideo.job as { id: string; status: string };
}

async function follow(jobId: string) {
  const events = (await gateway.subscribe(PROGRESS_SUBSCRIPTION, { jobId })).map((e) => e.jobProgress.job);
  return { events, final: events.at(-1) };
}

async function expectStoredVideo(final: any) {
  expect(final.output.url.startsWith(`${gateway.url}/media/${final.id}/`)).toBe(true);
  const response = await fetch(final.output.url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('video/mp4');
  const file = path.join(gateway.dataDir, `${final.id}.mp4`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  const probe = await ffprobe(file);
  expect(probe.codec).toBe('h264');
  expect(final.output).toMatchObject({ width: probe.width, height: probe.height, mimeType: 'video/mp4' });
  expect(Math.abs(final.output.durationSeconds - probe.durationSeconds)).toBeLessThan(0.01);
}

describe('video through the cloud providers', () => {
  it('runway: text to video with THROTTLED shown as QUEUED, progress, credits as cost, output stored', async () => {
    // THROTTLED lasts long enough that the first poll (at about 1 s) sees it.
    runway.scriptNextJob(['PENDING', { status: 'THROTTLED', durationMs: 2500 }, 'RUNNING', 'RUNNING', 'SUCCEEDED']);
    const job = await generate({ prompt: 'a fox in the snow', durationSeconds: 5, routing: { provider: 'runway' } });
    const { events, final } = await follow(job.id);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.provider).toBe('runway');
    expect(final.attempts).toMatchObject([{ provider: 'runway', status: 'SUCCEEDED' }]);
    expect(final.costUsd).toBeGreaterThan(0);
    expect(events.some((e) => e.status === 'QUEUED' && /throttled/i.test(e.message ?? ''))).toBe(true);
    const progress = events.map((e) => e.progress).filter((p) => p !== null);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const create = runway.lastRequest({ method: 'POST', path: '/v1/text_to_video' })!;
    expect(create.headers['x-runway-version']).toBe('2024-11-06');
    expect(create.headers.authorization).toBe('Bearer runway-secret-key');
    await expectStoredVideo(final);

    // The provider's URL expires; ours is still served.
    const providerUrl = (runway.task(runway.jobIds().at(-1)!) as { output?: string[] }).output![0]!;
    runway.expireOutput(providerUrl);
    expect((await fetch(providerUrl)).status).toBe(403);
    expect((await fetch(final.output.url)).status).toBe(200);
  });

  it('runway: a safety rejection fails the job with CONTENT_REJECTED, not retryable, without the key', async () => {
    runway.scriptNextJob(['PENDING', { status: 'FAILED', error: { message: 'Prompt was flagged.', code: 'SAFETY.INPUT.TEXT' } }]);
    const job = await generate({ prompt: 'something flagged', durationSeconds: 5, routing: { provider: 'runway' } });
    const { final } = await follow(job.id);
    expect(final.status).toBe('FAILED');
    expect(final.error).toMatchObject({ code: 'CONTENT_REJECTED', retryable: false });
    expect(final.error.message).toContain('Prompt was flagged.');
    expect(JSON.stringify(final)).not.toContain('runway-secret-key');
  });

  it('together: the default provider when its key is set; seconds sent as a string; cost from outputs.cost', async () => {
    const job = await generate({ prompt: 'a paper boat on a river', durationSeconds: 5 });
    const { final } = await follow(job.id);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.provider).toBe('together');
    const create = together.lastRequest({ method: 'POST', path: '/v1/videos' })!;
    expect((create.body as { seconds: unknown }).seconds).toBe('5');
    expect(final.costUsd).toBeGreaterThan(0);
    await expectStoredVideo(final);
  });

  it('replicate: the model path, tqdm progress, a webhook that arrives before the next poll, forged and replayed webhooks', async () => {
    replicate.scriptNextJob([{ status: 'starting', durationMs: 60_000 }, 'processing', 'succeeded']);
    const job = await generate({ prompt: 'waves', durationSeconds: 5, routing: { provider: 'replicate', model: 'minimax/video-01' } });
    const create = await expect
      .poll(() => replicate.lastRequest({ method: 'POST', path: '/v1/models/minimax/video-01/predictions' }), { timeout: 5000 })
      .toBeTruthy()
      .then(() => replicate.lastRequest({ method: 'POST', path: '/v1/models/minimax/video-01/predictions' })!);
    expect((create.body as { webhook?: string }).webhook).toBe(`${gateway.app.config.PUBLIC_URL}/webhooks/replicate`);
    const predictionId = replicate.jobIds().at(-1)!;

    // Let the poller back off (polls at about 1 s, 2.5 s, 4.75 s), then finish the prediction:
    // the completed webhook makes the job due at once instead of at the next scheduled poll.
    const polls = () => replicate.requestsMatching({ method: 'GET', path: `/v1/predictions/${predictionId}` }).length;
    await expect.poll(polls, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const finishedAt = Date.now();
    replicate.finish(predictionId);
    await replicate.flushWebhooks();
    const genuine = replicate.webhookDeliveries.filter((d) => d.predictionId === predictionId && d.kind === 'genuine');
    expect(genuine.at(-1)).toMatchObject({ event: 'completed', status: 200 });
    const { final } = await follow(job.id);
    expect(final.status).toBe('SUCCEEDED');
    expect(Date.now() - finishedAt).toBeLessThan(1500);
    // predict_time x the model's price per second (the fake's predict time may round to 0).
    expect(final.costUsd).not.toBeNull();
    expect(final.attempts[0].costUsd).toBe(final.costUsd);
    await expectStoredVideo(final);

    const forged = await replicate.sendForgedWebhook(predictionId);
    expect(forged.status).toBe(401);
    const replayed = await replicate.replayWebhook(genuine.at(-1)!);
    expect(replayed.status).toBe(200);
    const stale = await replicate.sendStaleWebhook(predictionId, { ageSeconds: 3600 });
    expect(stale.status).toBe(401);
  });

  describe('image to video', () => {
    const imageUrl = 'https://images.example.com/first-frame.png';

    it('runway uses gen4_turbo with the image as promptImage', async () => {
      const final = (await follow((await generate({ prompt: 'animate it', durationSeconds: 5, imageUrl, routing: { provider: 'runway' } })).id)).final;
      expect(final).toMatchObject({ status: 'SUCCEEDED', provider: 'runway' });
      expect(runway.lastRequest({ method: 'POST', path: '/v1/image_to_video' })!.body).toMatchObject({ model: 'gen4_turbo', promptImage: imageUrl });
      await expectStoredVideo(final);
    });

    it('replicate reaches Stable Video Diffusion for image to video', async () => {
      const final = (
        await follow((await generate({ prompt: 'animate it', imageUrl, routing: { provider: 'replicate', model: 'stability-ai/stable-video-diffusion' } })).id)
      ).final;
      expect(final).toMatchObject({ status: 'SUCCEEDED', provider: 'replicate' });
      const create = replicate.lastRequest({ method: 'POST', path: '/v1/models/stability-ai/stable-video-diffusion/predictions' })!;
      expect(JSON.stringify(create.body)).toContain(imageUrl);
      await expectStoredVideo(final);
    });

    it('together sends the image as the first frame', async () => {
      const final = (await follow((await generate({ prompt: 'animate it', durationSeconds: 5, imageUrl, routing: { provider: 'together' } })).id)).final;
      expect(final).toMatchObject({ status: 'SUCCEEDED', provider: 'together' });
      const create = together.lastRequest({ method: 'POST', path: '/v1/videos' })!;
      expect(JSON.stringify((create.body as any).media)).toContain(imageUrl);
      await expectStoredVideo(final);
    });
  });

  describe('edit and extend a finished video', () => {
    const EDIT = `mutation ($input: EditVideoInput!) { editVideo(input: $input) { ${RESULT_FIELDS} } }`;
    const EXTEND = `mutation ($input: ExtendVideoInput!) { extendVideo(input: $input) { ${RESULT_FIELDS} } }`;
    let source: any;

    beforeAll(async () => {
      const job = await generate({ prompt: 'a source clip', durationSeconds: 5, routing: { provider: 'runway' } });
      source = (await follow(job.id)).final;
      expect(source.status).toBe('SUCCEEDED');
    });

    async function run(mutation: string, input: Record<string, unknown>) {
      const data = await gateway.graphql(mutation, { input });
      const result = Object.values(data)[0] as any;
      expect(result.__typename, JSON.stringify(result)).toBe('JobPayload');
      return (await follow(result.job.id)).final;
    }

    it('runway edits through video_to_video (aleph2); an http public URL is not https, so the source goes inline', async () => {
      const final = await run(EDIT, { sourceJobId: source.id, prompt: 'make it look like a watercolor painting', routing: { provider: 'runway' } });
      expect(final).toMatchObject({ status: 'SUCCEEDED', provider: 'runway', operation: 'EDIT' });
      const create = runway.lastRequest({ method: 'POST', path: '/v1/video_to_video' })!;
      expect(create.body).toMatchObject({ model: 'aleph2' });
      expect(String((create.body as { videoUri: unknown }).videoUri)).toMatch(/^data:video\/mp4;base64,/);
      await expectStoredVideo(final);
    });

    it('runway extends through the last frame, image to video, and a local join', async () => {
      const final = await run(EXTEND, { sourceJobId: source.id, extensionSeconds: 5, routing: { provider: 'runway' } });
      expect(final).toMatchObject({ status: 'SUCCEEDED', provider: 'runway', operation: 'EXTEND' });
      const create = runway.lastRequest({ method: 'POST', path: '/v1/image_to_video' })!;
      expect(String((create.body as { promptImage: unknown }).promptImage)).toMatch(/^data:image\//);
      expect(final.output.durationSeconds).toBeGreaterThan(source.output.durationSeconds + 1);
      await expectStoredVideo(final);
    });

    it('together edits with media.source_video and extends with media.frame_videos', async () => {
      const edited = await run(EDIT, { sourceJobId: source.id, prompt: 'turn the sky purple', routing: { provider: 'together' } });
      expect(edited).toMatchObject({ status: 'SUCCEEDED', provider: 'together' });
      const editCreate = together.lastRequest({ method: 'POST', path: '/v1/videos' })!;
      expect((editCreate.body as any).media.source_video).toBe(source.output.url);
      await expectStoredVideo(edited);

      const extended = await run(EXTEND, { sourceJobId: source.id, extensionSeconds: 5, routing: { provider: 'together' } });
      expect(extended).toMatchObject({ status: 'SUCCEEDED', provider: 'together' });
      const extendCreate = together.lastRequest({ method: 'POST', path: '/v1/videos' })!;
      expect((extendCreate.body as any).media.frame_videos).toEqual([{ video: source.output.url }]);
      expect(extended.output.durationSeconds).toBeGreaterThan(source.output.durationSeconds + 1);
      await expectStoredVideo(extended);
    });

    it('replicate extends through an image-to-video model and a local join', async () => {
      const final = await run(EXTEND, { sourceJobId: source.id, extensionSeconds: 5, routing: { provider: 'replicate' } });
      expect(final).toMatchObject({ status: 'SUCCEEDED', provider: 'replicate' });
      expect(final.output.durationSeconds).toBeGreaterThan(source.output.durationSeconds + 1);
      await expectStoredVideo(final);
    });

    it('a generative edit with no provider pinned goes to a cloud provider, not the local one', async () => {
      const final = await run(EDIT, { sourceJobId: source.id, prompt: 'turn the fox into a wolf' });
      expect(final.status).toBe('SUCCEEDED');
      expect(final.provider).not.toBe('local');
    });
  });

  describe('provider failures at submission', () => {
    it('a 500 fails the job PROVIDER_UNAVAILABLE (retryable) and a 400 VALIDATION, with the provider message', async () => {
      runway.failNext({ status: 500, message: 'upstream exploded', match: { method: 'POST', path: '/v1/text_to_video' } });
      const unavailable = (await follow((await generate({ prompt: 'x', durationSeconds: 5, routing: { provider: 'runway' } })).id)).final;
      expect(unavailable).toMatchObject({ status: 'FAILED', error: { code: 'PROVIDER_UNAVAILABLE', retryable: true } });
      expect(unavailable.error.message).toContain('upstream exploded');
      expect(unavailable.attempts).toMatchObject([{ provider: 'runway', status: 'FAILED' }]);

      runway.failNext({ status: 400, message: 'promptText is too long', match: { method: 'POST', path: '/v1/text_to_video' } });
      const invalid = (await follow((await generate({ prompt: 'y', durationSeconds: 5, routing: { provider: 'runway' } })).id)).final;
      expect(invalid).toMatchObject({ status: 'FAILED', error: { code: 'VALIDATION', retryable: false } });
      expect(invalid.error.message).toContain('promptText is too long');
      expect(JSON.stringify([unavailable, invalid])).not.toContain('runway-secret-key');
    });
  });

  describe('routing fallbacks', () => {
    it('premium video goes to Runway first; a 500 at submission moves it to the next candidate', async () => {
      runway.failNext({ status: 500, message: 'runway is down', match: { method: 'POST', path: '/v1/text_to_video' } });
      const job = await generate({ prompt: 'premium fallback', durationSeconds: 5, routing: { tier: 'PREMIUM' } });
      const { final } = await follow(job.id);
      expect(final.status).toBe('SUCCEEDED');
      expect(final.attempts[0]).toMatchObject({ provider: 'runway', status: 'FAILED', error: { code: 'PROVIDER_UNAVAILABLE' } });
      expect(final.attempts).toHaveLength(2);
      expect(final.attempts[1].provider).not.toBe('runway');
      expect(final.attempts[1].status).toBe('SUCCEEDED');
      expect(final.provider).toBe(final.attempts[1].provider);
    });

    it('a job Runway accepted and then failed retryably is resubmitted to another provider', async () => {
      runway.scriptNextJob(['PENDING', 'RUNNING', { status: 'FAILED', error: { message: 'the model crashed', code: 'INTERNAL.BAD_OUTPUT.CODE01' } }]);
      const job = await generate({ prompt: 'after acceptance', durationSeconds: 5, routing: { tier: 'PREMIUM' } });
      const { final, events } = await follow(job.id);
      expect(final.status).toBe('SUCCEEDED');
      expect(final.attempts[0]).toMatchObject({ provider: 'runway', status: 'FAILED', error: { code: 'PROVIDER_UNAVAILABLE', retryable: true } });
      expect(final.attempts[1].provider).not.toBe('runway');
      // The resubmission shows in the progress events: back to QUEUED with the first attempt closed.
      expect(events.some((e) => e.status === 'QUEUED' && e.attempts.length === 1 && e.attempts[0].status === 'FAILED')).toBe(true);
    });

    it('allowFallback: false fails the job on the first candidate, and a safety rejection is never moved', async () => {
      runway.failNext({ status: 500, message: 'runway is down', match: { method: 'POST', path: '/v1/text_to_video' } });
      const strict = (await follow((await generate({ prompt: 'no fallback', durationSeconds: 5, routing: { tier: 'PREMIUM', allowFallback: false } })).id)).final;
      expect(strict).toMatchObject({ status: 'FAILED', error: { code: 'PROVIDER_UNAVAILABLE' } });
      expect(strict.attempts).toHaveLength(1);

      runway.scriptNextJob(['PENDING', { status: 'FAILED', error: { message: 'Prompt was flagged.', code: 'SAFETY.INPUT.TEXT' } }]);
      const rejected = (await follow((await generate({ prompt: 'flagged', durationSeconds: 5, routing: { tier: 'PREMIUM' } })).id)).final;
      expect(rejected).toMatchObject({ status: 'FAILED', error: { code: 'CONTENT_REJECTED' } });
      expect(rejected.attempts).toHaveLength(1);
    });

    it('maxCostUsd below every estimate answers BudgetExceededError with the cheapest estimate', async () => {
      const data = await gateway.graphql(
        `mutation { generateVideo(input: { prompt: "x", durationSeconds: 5, routing: { maxCostUsd: 0.0001, tier: PREMIUM } }) {
          __typename ... on BudgetExceededError { code message cheapestEstimateUsd } } }`,
      );
      expect(data.generateVideo).toMatchObject({ __typename: 'BudgetExceededError', code: 'BUDGET_EXCEEDED' });
      expect(data.generateVideo.cheapestEstimateUsd).toBeGreaterThan(0.0001);
    });
  });

  it('a pinned provider without a key answers NoProviderError naming the keys', async () => {
    const data = await gateway.graphql(GENERATE, { input: { prompt: 'x', routing: { provider: 'nonesuch' } } });
    expect(data.generateVideo).toMatchObject({ __typename: 'NoProviderError', code: 'NO_PROVIDER' });
  });
});
