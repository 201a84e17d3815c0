// A short job runs inside its request and is never polled: if its process
// dies mid-call, nothing else would end it. The gateway fails such jobs (not
// resubmitted: the provider may have billed the work) — at once on PGlite at
// start, and after a long silence on a shared Postgres.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, usePostgres, type TestDatabase } from '../helpers/database.js';

let gateway: TestGateway;
let database: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'aideon-abandoned-'));
  gateway = await startGateway({ database, dataDir, overrides: { startPoller: false } });
});

afterAll(async () => {
  await gateway?.close();
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** A short job left RUNNING by a process that died during its provider call. */
async function leftRunning(): Promise<string> {
  const store = gateway.app.jobs;
  const id = uuidv7();
  await store.insert({ id, modality: 'TEXT', operation: 'GENERATE', status: 'QUEUED', input: { prompt: 'x' }, inputHash: id });
  await store.insertAttempt({ jobId: id, n: 1, provider: 'together', status: 'RUNNING' });
  await store.transition(id, 'QUEUED', 'RUNNING', { attemptCount: 1, provider: 'together' });
  return id;
}

it('fails a RUNNING short job with no process behind it, closes its attempt, and leaves video jobs alone', async () => {
  const abandoned = await leftRunning();
  const video = await gateway.graphql(
    `mutation { generateVideo(input: { prompt: "queued video" }) { ... on JobPayload { job { id } } } }`,
  );
  // Silent for less than the threshold: untouched.
  expect(await gateway.app.shortJobs.failAbandoned(60_000)).toBe(0);
  expect(await gateway.app.shortJobs.failAbandoned(0)).toBe(1);
  const job = await gateway.app.jobs.getWithAttempts(abandoned);
  expect(job).toMatchObject({ status: 'FAILED', error: { code: 'INTERNAL', retryable: true } });
  expect(job!.attempts).toMatchObject([{ status: 'FAILED', error: { code: 'INTERNAL' } }]);
  expect(job!.completedAt).not.toBeNull();
  expect((await gateway.app.jobs.get(video.generateVideo.job.id))!.status).toBe('QUEUED');
});

it(usePostgres ? 'on Postgres a restart does not fail jobs another instance may run' : 'on PGlite a restart fails what the dead process left running', async () => {
  const abandoned = await leftRunning();
  await gateway.close();
  gateway = await startGateway({ database, dataDir, overrides: { startPoller: false } });
  const job = await gateway.app.jobs.get(abandoned);
  expect(job!.status).toBe(usePostgres ? 'RUNNING' : 'FAILED');
});
