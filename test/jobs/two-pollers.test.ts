// Two poller instances, each with its own database connection, share 50 jobs:
// every job is submitted once, finishes exactly once, and is never polled by
// both at the same time. On Postgres these are two connection pools; on
// PGlite the two pollers share the one embedded database.

import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { InProcessJobEventBus } from '../../src/jobs/job-events.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { Poller } from '../../src/jobs/poller.js';
import { VideoJobService } from '../../src/jobs/video-job-service.js';
import { parseGenerateVideo } from '../../src/jobs/video-requests.js';
import { silentLogger } from '../../src/logger.js';
import { MediaIntake } from '../../src/media/fetch-media.js';
import { FileMediaStore, mediaKey } from '../../src/media/store.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import { localCapabilities } from '../../src/routing/capabilities.js';
import { RoutingService } from '../../src/routing/routing-service.js';
import { RoutingStore } from '../../src/routing/routing-store.js';
import type { PollResult, SubmitResult, VideoProvider } from '../../src/providers/types.js';
import { createTestDatabase, usePostgres, type TestDatabase } from '../helpers/database.js';

const JOBS = 50;
const POLLS_TO_FINISH = 3;

/** A remote provider seen from both instances: it counts what each job costs it. */
class CountingProvider implements VideoProvider {
  readonly name = 'counting';
  readonly runsInProcess = false;
  readonly submissions = new Map<string, number>();
  readonly polls = new Map<string, number>();
  readonly pollingNow = new Map<string, number>();
  readonly pollers = new Map<string, Set<string>>();
  overlaps = 0;

  constructor(
    private readonly media: FileMediaStore,
    private readonly sample: string,
  ) {}

  supportsGenerate = () => ({ ok: true as const });
  supportsEdit = () => ({ ok: false as const, reason: 'generate only' });
  supportsExtend = () => ({ ok: false as const, reason: 'generate only' });

  async generate(context: { jobId: string }): Promise<SubmitResult> {
    this.submissions.set(context.jobId, (this.submissions.get(context.jobId) ?? 0) + 1);
    return { providerJobId: context.jobId, status: 'QUEUED' };
  }
  edit(): Promise<SubmitResult> {
    throw new Error('not used');
  }
  extend(): Promise<SubmitResult> {
    throw new Error('not used');
  }

  async poll(id: string): Promise<PollResult> {
    const now = (this.pollingNow.get(id) ?? 0) + 1;
    this.pollingNow.set(id, now);
    if (now > 1) this.overlaps++;
    try {
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
      const count = (this.polls.get(id) ?? 0) + 1;
      this.polls.set(id, count);
      if (count < POLLS_TO_FINISH) return { kind: 'status', status: 'RUNNING', progress: count / POLLS_TO_FINISH, nextPollMs: 0 };
      const key = mediaKey(id, 'output.mp4');
      await this.media.write(key, createReadStream(this.sample));
      return { kind: 'status', status: 'SUCCEEDED', progress: 1, output: { media: [{ kind: 'stored', key }] }, costUsd: 0.01 };
    } finally {
      this.pollingNow.set(id, this.pollingNow.get(id)! - 1);
    }
  }

  async cancel(): Promise<void> {}
}

let testDatabase: TestDatabase;
let dataDir: string;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'aideon-pollers-'));
});

afterAll(async () => {
  for (const handle of handles) await handle.close();
  await testDatabase.drop();
  await rm(dataDir, { recursive: true, force: true });
});

it(`two pollers share ${JOBS} jobs: each submitted once, finished once, never polled by both at once`, async () => {
  const sample = path.join(dataDir, 'sample.mp4');
  await promisify(execFile)(ffmpegInstaller.path, [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10', '-t', '0.5', '-pix_fmt', 'yuv420p', sample,
  ]);
  const media = new FileMediaStore(path.join(dataDir, 'media'));
  const provider = new CountingProvider(media, sample);

  const first = await openDatabase({ databaseUrl: testDatabase.url, dataDir });
  handles.push(first);
  const second = usePostgres ? await openDatabase({ databaseUrl: testDatabase.url, dataDir }) : first;
  if (second !== first) handles.push(second);

  const terminalEvents: string[] = [];
  const registry = new ProviderRegistry().registerVideo(provider);
  const instances = [first, second].map((handle, index) => {
    const store = new JobStore(handle.db);
    const events = new InProcessJobEventBus();
    const service = new VideoJobService({
      store,
      events,
      providers: registry,
      media,
      logger: silentLogger(),
      intake: new MediaIntake(media, { maxBytes: 10_000_000, timeoutMs: 1000 }),
      routing: new RoutingService({
        store: new RoutingStore(handle.db),
        providers: registry,
        // The counting provider serves what the local one declares.
        capabilities: localCapabilities().map((capability) => ({ ...capability, provider: provider.name })),
        logger: silentLogger(),
      }),
    });
    const originalPublish = events.publish.bind(events);
    events.publish = (event) => {
      if (event.job.status === 'SUCCEEDED') terminalEvents.push(event.job.id);
      originalPublish(event);
    };
    const poller = new Poller({
      store,
      advancer: service,
      logger: silentLogger(),
      leaseMs: 10_000,
      concurrency: 8,
      idleMs: 10,
      owner: `poller-${index}`,
    });
    return { store, service, poller };
  });

  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const job = await instances[i % 2]!.service.create(parseGenerateVideo({ prompt: `job ${i}`, durationSeconds: 1 }));
    ids.push(job.id);
  }
  const claimedBy = new Map<string, Set<string>>();
  const originalAdvance = instances.map((instance) => instance.service.advance.bind(instance.service));
  instances.forEach((instance, index) => {
    instance.service.advance = (job, owner) => {
      if (!claimedBy.has(job.id)) claimedBy.set(job.id, new Set());
      claimedBy.get(job.id)!.add(`poller-${index}`);
      return originalAdvance[index]!(job, owner);
    };
  });

  for (const instance of instances) instance.poller.start();
  const store = instances[0]!.store;
  await expect
    .poll(async () => (await store.list({ first: 100, status: 'SUCCEEDED' })).length, { timeout: 40_000, interval: 200 })
    .toBe(JOBS);
  await Promise.all(instances.map((instance) => instance.poller.stop()));

  for (const id of ids) {
    expect(provider.submissions.get(id)).toBe(1);
    expect(provider.polls.get(id)).toBe(POLLS_TO_FINISH);
    const job = await store.getWithAttempts(id);
    expect(job!.status).toBe('SUCCEEDED');
    expect(job!.attempts).toHaveLength(1);
    expect(job!.costUsd).toBeCloseTo(0.01);
  }
  expect(provider.overlaps).toBe(0);
  expect(terminalEvents.sort()).toEqual([...ids].sort());
  // Both instances really took part.
  const byPoller = [...claimedBy.values()].flatMap((owners) => [...owners]);
  expect(new Set(byPoller)).toEqual(new Set(['poller-0', 'poller-1']));
});
