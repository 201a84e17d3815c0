// End to end over HTTP and the real graphql-ws client, on the local provider:
// generate, edit, extend, cancel; progress; stored outputs checked with ffprobe.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobe } from '../helpers/ffprobe.js';
import { PROGRESS_SUBSCRIPTION, RESULT_FIELDS, startGateway, type TestGateway } from '../helpers/gateway.js';

const GENERATE = `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { ${RESULT_FIELDS} } }`;
const EDIT = `mutation ($input: EditVideoInput!) { editVideo(input: $input) { ${RESULT_FIELDS} } }`;
const EXTEND = `mutation ($input: ExtendVideoInput!) { extendVideo(input: $input) { ${RESULT_FIELDS} } }`;
const CANCEL = `mutation ($id: ID!) { cancelJob(id: $id) { ${RESULT_FIELDS} } }`;

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  await gateway?.close();
});

async function download(url: string, name: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const file = path.join(gateway.dataDir, name);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

/** Runs a mutation and follows its job to the end through jobProgress. */
async function runToEnd(mutation: string, input: Record<string, unknown>) {
  const data = await gateway.graphql(mutation, { input });
  const result = Object.values(data)[0] as any;
  expect(result.__typename).toBe('JobPayload');
  expect(['QUEUED', 'RUNNING']).toContain(result.job.status);
  const events = await gateway.subscribe(PROGRESS_SUBSCRIPTION, { jobId: result.job.id });
  return { created: result.job, events: events.map((e) => e.jobProgress), final: events.at(-1)!.jobProgress.job };
}

function expectMonotonicProgress(events: { job: { progress: number | null; status: string } }[]) {
  let last = -1;
  for (const { job } of events) {
    if (job.progress === null) continue;
    expect(job.progress).toBeGreaterThanOrEqual(last);
    expect(job.progress).toBeLessThanOrEqual(1);
    last = job.progress;
  }
}

describe('generateVideo on the local provider', () => {
  let finished: any;

  it('returns at once, streams real progress, and ends SUCCEEDED with a measured, served mp4', async () => {
    const { created, events, final } = await runToEnd(GENERATE, {
      prompt: "A lighthouse at dusk: waves, gulls and 100% of the city's lights",
      durationSeconds: 4,
      fps: 30,
      resolution: '720p',
      aspectRatio: '16:9',
      seed: 7,
    });
    expect(created.modality).toBe('VIDEO');
    expect(created.operation).toBe('GENERATE');
    expect(events[0].job.id).toBe(created.id);
    expectMonotonicProgress(events);
    const intermediate = events.filter((e) => e.job.status === 'RUNNING' && e.job.progress > 0 && e.job.progress < 1);
    expect(intermediate.length).toBeGreaterThan(0);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.progress).toBe(1);
    expect(final.provider).toBe('local');
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0]).toMatchObject({ provider: 'local', status: 'SUCCEEDED' });
    expect(final.completedAt).not.toBeNull();
    expect(final.output).toMatchObject({ mimeType: 'video/mp4', width: 1280, height: 720 });
    expect(Math.abs(final.output.durationSeconds - 4)).toBeLessThanOrEqual(0.1);
    expect(final.output.url.startsWith(`${gateway.url}/media/`)).toBe(true);

    const file = await download(final.output.url, 'generated.mp4');
    const probe = await ffprobe(file);
    expect(Math.abs(probe.durationSeconds - 4)).toBeLessThanOrEqual(0.1);
    expect(probe).toMatchObject({ width: 1280, height: 720, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(probe.frameRate).toBe(30);
    expect((await readFile(file)).length).toBe(final.output.bytes);
    finished = final;
  });

  it('serves the output with its content type, an ETag and HTTP Range', async () => {
    const head = await fetch(finished.output.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('video/mp4');
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    const etag = head.headers.get('etag');
    expect(etag).toBeTruthy();
    const ranged = await fetch(finished.output.url, { headers: { range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${finished.output.bytes}`);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
    // As a browser revalidates (fetch itself would add cache-control: no-cache to a conditional request).
    const cached = await fetch(finished.output.url, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
    expect(cached.status).toBe(304);
    expect((await fetch(`${gateway.url}/media/..%2f..%2fetc/passwd`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/media/${finished.id}/nothing.mp4`)).status).toBe(404);
  });

  it('renders portrait and square frames at the requested size', async () => {
    const { final } = await runToEnd(GENERATE, {
      prompt: 'portrait',
      durationSeconds: 1,
      fps: 12,
      resolution: '480p',
      aspectRatio: '9:16',
    });
    expect(final.status).toBe('SUCCEEDED');
    const probe = await ffprobe(await download(final.output.url, 'portrait.mp4'));
    expect(probe).toMatchObject({ width: 480, height: 854, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(Math.abs(probe.durationSeconds - 1)).toBeLessThanOrEqual(0.1);
  });

  it('edits a finished job: trim, black and white and a caption in one request', async () => {
    const { final, events } = await runToEnd(EDIT, {
      sourceJobId: finished.id,
      prompt: "trim to the first 1.5 seconds, make it black and white and add the caption 'Hello'",
    });
    expectMonotonicProgress(events);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.operation).toBe('EDIT');
    const probe = await ffprobe(await download(final.output.url, 'edited.mp4'));
    expect(Math.abs(probe.durationSeconds - 1.5)).toBeLessThanOrEqual(0.1);
    expect(probe).toMatchObject({ width: 1280, height: 720, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(Math.abs(final.output.durationSeconds - probe.durationSeconds)).toBeLessThanOrEqual(0.01);
  });

  it('extends a finished job and measures the joined result', async () => {
    const { final } = await runToEnd(EXTEND, { sourceJobId: finished.id, extensionSeconds: 1.5, prompt: 'boomerang' });
    expect(final.status).toBe('SUCCEEDED');
    expect(final.operation).toBe('EXTEND');
    const probe = await ffprobe(await download(final.output.url, 'extended.mp4'));
    expect(Math.abs(probe.durationSeconds - 5.5)).toBeLessThanOrEqual(0.1);
    expect(probe).toMatchObject({ width: 1280, height: 720, codec: 'h264', pixelFormat: 'yuv420p' });
  });

  describe('a source video from an https URL', () => {
    let server: Server;
    let sourceUrl: string;

    beforeAll(async () => {
      const tls = new URL('../fixtures/tls/', import.meta.url);
      const video = await readFile(gateway.app.media.pathOf(finished.output.url.split('/media/')[1]));
      server = createServer(
        { key: await readFile(new URL('key.pem', tls)), cert: await readFile(new URL('cert.pem', tls)) },
        (req, res) => {
          if (req.url === '/clip.mp4') res.writeHead(200, { 'content-type': 'video/mp4' }).end(video);
          else if (req.url === '/page.html') res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
          else res.writeHead(404).end();
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      sourceUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('is fetched into the store and edited', async () => {
      const { final } = await runToEnd(EDIT, { sourceVideoUrl: `${sourceUrl}/clip.mp4`, prompt: 'reverse it and mute' });
      expect(final.status).toBe('SUCCEEDED');
      const probe = await ffprobe(await download(final.output.url, 'from-url.mp4'));
      expect(Math.abs(probe.durationSeconds - 4)).toBeLessThanOrEqual(0.1);
      expect(probe.hasAudio).toBe(false);
    });

    it('fails the job with VALIDATION when the URL is not a video', async () => {
      const { final } = await runToEnd(EDIT, { sourceVideoUrl: `${sourceUrl}/page.html`, prompt: 'reverse it' });
      expect(final.status).toBe('FAILED');
      expect(final.error.code).toBe('VALIDATION');
      expect(final.error.message).toContain('text/html');
    });
  });
});

describe('cancelJob', () => {
  it('ends a running render: the ffmpeg process is gone and the job is CANCELED', async () => {
    const data = await gateway.graphql(GENERATE, {
      input: { prompt: 'a long render to cancel', durationSeconds: 60, resolution: '1080p', fps: 30 },
    });
    const jobId = data.generateVideo.job.id as string;
    const client = gateway.ws();
    const seen: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: PROGRESS_SUBSCRIPTION, variables: { jobId } },
        { next: (value) => seen.push((value.data as any).jobProgress.job), error: reject, complete: resolve },
      );
    });
    await expect.poll(() => seen.some((job) => job.status === 'RUNNING' && job.progress > 0), { timeout: 20_000 }).toBe(true);
    expect(await ffmpegProcessesFor(jobId)).toBeGreaterThan(0);

    const canceled = await gateway.graphql(CANCEL, { id: jobId });
    expect(canceled.cancelJob.__typename).toBe('JobPayload');
    expect(canceled.cancelJob.job.status).toBe('CANCELED');
    await done;
    expect(seen.at(-1).status).toBe('CANCELED');
    await expect.poll(() => ffmpegProcessesFor(jobId), { timeout: 5000 }).toBe(0);

    const again = await gateway.graphql(CANCEL, { id: jobId });
    expect(again.cancelJob).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    const stored = await gateway.graphql(`query ($id: ID!) { job(id: $id) { status attempts { status } } }`, { id: jobId });
    expect(stored.job).toEqual({ status: 'CANCELED', attempts: [{ status: 'CANCELED' }] });
  });

  it('answers NotFoundError for an unknown job', async () => {
    const data = await gateway.graphql(CANCEL, { id: '0190f0e0-0000-7000-8000-000000000000' });
    expect(data.cancelJob).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });
});

const run = promisify(execFile);

async function ffmpegProcessesFor(jobId: string): Promise<number> {
  try {
    const { stdout } = await run('pgrep', ['-f', `ffmpeg.*${jobId}`]);
    return stdout.trim().split('\n').filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}
