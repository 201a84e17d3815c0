// The catalog watcher on a real database, reading the Together and Replicate
// fakes through the real SDKs while the tests change their catalogs between
// reads: a baseline, then each kind of change, an outage that must not look
// like an empty catalog, and the lease that lets one of two instances watch.

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogReaders, type CatalogReader } from '../../src/catalog/catalog-readers.js';
import { CatalogStore, type CatalogEvent } from '../../src/catalog/catalog-store.js';
import { CatalogWatcher, type ProviderCheck } from '../../src/catalog/catalog-watcher.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { silentLogger } from '../../src/logger.js';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { startReplicateFake, type ReplicateFake } from '../fakes/replicate.js';
import { startTogetherFake, type TogetherFake, type TogetherModel } from '../fakes/together.js';
import { createTestDatabase, usePostgres, type TestDatabase } from '../helpers/database.js';

let testDatabase: TestDatabase;
let dataDir: string;
const handles: DatabaseHandle[] = [];
let together: TogetherFake;
let replicate: ReplicateFake;
let store: CatalogStore;
let readers: Record<string, CatalogReader>;
const published: CatalogEvent[] = [];
let watcher: CatalogWatcher;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'aideon-catalog-'));
  handles.push(await openDatabase({ databaseUrl: testDatabase.url, dataDir }));
  // A second instance: its own pool on Postgres; on PGlite (one process per folder) the same database.
  handles.push(usePostgres ? await openDatabase({ databaseUrl: testDatabase.url, dataDir }) : handles[0]!);
  together = await startTogetherFake();
  replicate = await startReplicateFake();
  store = new CatalogStore(handles[0]!.db);
  readers = createCatalogReaders({
    config: defaultProviderConfig,
    together: { apiKey: together.apiKey, baseURL: together.baseURL, timeoutMs: 5_000 },
    replicate: { apiKey: replicate.apiKey, baseUrl: replicate.baseUrl, timeoutMs: 5_000 },
    runway: true,
  });
  watcher = new CatalogWatcher({ store, readers, logger: silentLogger(), onEvent: (event) => void published.push(event) });
});

afterAll(async () => {
  await together?.close();
  await replicate?.close();
  for (const handle of new Set(handles)) await handle.close();
  await testDatabase?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

function byProvider(checks: ProviderCheck[], provider: string): ProviderCheck {
  const check = checks.find((c) => c.provider === provider);
  if (!check) throw new Error(`no check for ${provider}`);
  return check;
}

function allEvents(checks: ProviderCheck[]): CatalogEvent[] {
  return checks.flatMap((c) => c.events);
}

function togetherModel(id: string, type: string, base: number): TogetherModel {
  return {
    id,
    object: 'model',
    created: 1_767_225_600,
    type,
    display_name: id.split('/').at(-1),
    organization: id.split('/')[0],
    pricing: { input: 0, output: 0, base, finetune: 0, hourly: 0 },
  };
}

// The tests build on each other: one catalog history, read in order.
describe('CatalogWatcher', () => {
  it('records a baseline on the first read of each provider, without events', async () => {
    const checks = await watcher.checkNow();
    expect(checks.map((c) => [c.provider, c.ok, c.ok && c.baseline])).toEqual([
      ['together', true, true],
      ['replicate', true, true],
      ['runway', true, true],
    ]);
    expect(allEvents(checks)).toEqual([]);
    expect(published).toEqual([]);

    const videos = await store.models({ provider: 'together', modality: 'VIDEO' });
    expect(videos.map((m) => m.modelId)).toEqual(['ByteDance/Seedance-1.0-lite', 'google/veo-3.0', 'kwaivgi/kling-2.1-master']);
    expect(videos[0]).toMatchObject({ providerType: 'video', pricing: { base: 0.14 }, removedAt: null });
    const transcribe = (await store.models({ provider: 'together' })).find((m) => m.modelId === 'openai/whisper-large-v3');
    expect(transcribe).toMatchObject({ modality: 'AUDIO', providerType: 'transcribe' });

    const minimax = (await store.models({ provider: 'replicate' })).find((m) => m.modelId === 'minimax/video-01');
    expect(minimax?.version).toBe(replicate.models.find((m) => m.name === 'video-01')!.version);
    expect((await store.models({ provider: 'runway' })).map((m) => m.modelId).sort()).toEqual(
      ['aleph2', 'gen4.5', 'gen4_turbo', 'veo3.1', 'veo3.1_fast'].sort(),
    );

    // A second read of unchanged catalogs: nothing to report.
    expect(allEvents(await watcher.checkNow())).toEqual([]);
  });

  it('reports a new Together video model as NEW_MODEL with modality VIDEO', async () => {
    const since = new Date();
    together.models.push(togetherModel('Wan-AI/Wan2.5-T2V', 'video', 0.35));
    const checks = await watcher.checkNow();
    const events = allEvents(checks);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      provider: 'together',
      modelId: 'Wan-AI/Wan2.5-T2V',
      kind: 'NEW_MODEL',
      modality: 'VIDEO',
      details: { after: { providerType: 'video', pricing: { base: 0.35 }, displayName: 'Wan2.5-T2V' } },
    });
    expect(published.map((e) => e.id)).toEqual([events[0]!.id]);
    const stored = await store.events(since);
    expect(stored.map((e) => [e.id, e.kind, e.modality])).toEqual([[events[0]!.id, 'NEW_MODEL', 'VIDEO']]);
    expect(stored[0]!.at).toBeInstanceOf(Date);
  });

  it('reports a price change as PRICE_CHANGED with the prices before and after', async () => {
    together.models.find((m) => m.id === 'google/veo-3.0')!.pricing!.base = 1.2;
    const events = allEvents(await watcher.checkNow());
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      provider: 'together',
      modelId: 'google/veo-3.0',
      kind: 'PRICE_CHANGED',
      modality: 'VIDEO',
      details: { before: { pricing: { base: 1.6 } }, after: { pricing: { base: 1.2 } } },
    });
    const [veo] = (await store.models({ provider: 'together' })).filter((m) => m.modelId === 'google/veo-3.0');
    expect(veo?.pricing).toMatchObject({ base: 1.2 });
  });

  it('reports a model gone from the catalog as REMOVED_MODEL and sets removed_at; its return is a NEW_MODEL', async () => {
    const kling = together.models.find((m) => m.id === 'kwaivgi/kling-2.1-master')!;
    together.models = together.models.filter((m) => m !== kling);
    const events = allEvents(await watcher.checkNow());
    expect(events.map((e) => [e.provider, e.modelId, e.kind, e.modality])).toEqual([
      ['together', 'kwaivgi/kling-2.1-master', 'REMOVED_MODEL', 'VIDEO'],
    ]);
    expect(events[0]!.details.before).toMatchObject({ pricing: { base: 0.92 } });

    expect((await store.models({ provider: 'together' })).map((m) => m.modelId)).not.toContain('kwaivgi/kling-2.1-master');
    const removed = (await store.models({ provider: 'together', includeRemoved: true })).find(
      (m) => m.modelId === 'kwaivgi/kling-2.1-master',
    );
    expect(removed?.removedAt).toBeInstanceOf(Date);
    // Still gone on the next read: reported once.
    expect(allEvents(await watcher.checkNow())).toEqual([]);

    together.models.push(kling);
    const back = allEvents(await watcher.checkNow());
    expect(back.map((e) => [e.modelId, e.kind, e.details.reappeared])).toEqual([['kwaivgi/kling-2.1-master', 'NEW_MODEL', true]]);
    const restored = (await store.models({ provider: 'together' })).find((m) => m.modelId === 'kwaivgi/kling-2.1-master');
    expect(restored?.removedAt).toBeNull();
  });

  it('reports a new Replicate version as NEW_VERSION, and a model new in the text-to-video collection', async () => {
    const minimax = replicate.models.find((m) => m.owner === 'minimax' && m.name === 'video-01')!;
    const before = minimax.version;
    minimax.version = createHash('sha256').update('minimax/video-01@2').digest('hex');
    replicate.models.push({
      owner: 'google',
      name: 'veo-3',
      description: 'Text to video with audio.',
      version: createHash('sha256').update('google/veo-3').digest('hex'),
      official: true,
      output: 'video',
      input: { prompt: { type: 'string', required: true } },
    });
    replicate.collections.find((c) => c.slug === 'text-to-video')!.models.push('google/veo-3');

    const events = allEvents(await watcher.checkNow());
    expect(events.map((e) => [e.provider, e.modelId, e.kind, e.modality])).toEqual([
      ['replicate', 'minimax/video-01', 'NEW_VERSION', 'VIDEO'],
      ['replicate', 'google/veo-3', 'NEW_MODEL', 'VIDEO'],
    ]);
    expect(events[0]!.details).toEqual({ before: { version: before }, after: { version: minimax.version } });
    const stored = (await store.models({ provider: 'replicate' })).find((m) => m.modelId === 'minimax/video-01');
    expect(stored?.version).toBe(minimax.version);
  });

  it('takes an unreachable or failing Together catalog for an outage: reported, no events, no removals', async () => {
    const before = await store.models({ provider: 'together' });
    together.failNext({ status: 500, match: { method: 'GET', path: '/v1/models' } });
    const failed = await watcher.checkNow();
    expect(byProvider(failed, 'together')).toMatchObject({ ok: false, events: [] });
    expect((byProvider(failed, 'together') as { error: string }).error).toMatch(/500|Internal/i);
    expect(byProvider(failed, 'replicate').ok).toBe(true);
    expect(allEvents(failed)).toEqual([]);

    together.dropNext({ method: 'GET', path: '/v1/models' });
    const dropped = await watcher.checkNow();
    expect(byProvider(dropped, 'together').ok).toBe(false);
    expect(allEvents(dropped)).toEqual([]);

    const after = await store.models({ provider: 'together' });
    expect(after.map((m) => [m.modelId, m.removedAt])).toEqual(before.map((m) => [m.modelId, null]));
    // Back again: the catalog is unchanged, so nothing is reported.
    expect(allEvents(await watcher.checkNow())).toEqual([]);
  });

  it('reports a genuinely empty Together catalog as removals, and a missing Replicate collection as no error', async () => {
    const saved = together.models;
    const collections = replicate.collections;
    together.models = [];
    replicate.collections = collections.filter((c) => c.slug !== 'text-to-video');
    const checks = await watcher.checkNow();
    expect(byProvider(checks, 'together')).toMatchObject({ ok: true, models: 0 });
    expect(byProvider(checks, 'together').events.every((e) => e.kind === 'REMOVED_MODEL')).toBe(true);
    expect(byProvider(checks, 'together').events).toHaveLength(saved.length);
    // The collection's own model (google/veo-3) is no longer listed: gone; the configured ones stay.
    expect(byProvider(checks, 'replicate')).toMatchObject({ ok: true });
    expect(byProvider(checks, 'replicate').events.map((e) => [e.modelId, e.kind])).toEqual([['google/veo-3', 'REMOVED_MODEL']]);

    together.models = saved;
    replicate.collections = collections;
    const back = allEvents(await watcher.checkNow());
    expect(back.every((e) => e.kind === 'NEW_MODEL' && e.details.reappeared)).toBe(true);
    expect(back).toHaveLength(saved.length + 1);
  });

  it('skips Replicate entirely when its API fails, and records a configured model answering 404 as removed', async () => {
    replicate.failNext({ status: 503, match: { method: 'GET', path: /^\/v1\/models\// } });
    const failed = await watcher.checkNow();
    expect(byProvider(failed, 'replicate')).toMatchObject({ ok: false, events: [] });
    expect(allEvents(failed)).toEqual([]);
    expect((await store.models({ provider: 'replicate' })).every((m) => m.removedAt === null)).toBe(true);

    replicate.failNext({ status: 503, match: { method: 'GET', path: '/v1/collections/text-to-video' } });
    expect(byProvider(await watcher.checkNow(), 'replicate')).toMatchObject({ ok: false, events: [] });

    const saved = replicate.models;
    replicate.models = saved.filter((m) => m.name !== 'wan-2.2-i2v-fast');
    const events = allEvents(await watcher.checkNow());
    expect(events.map((e) => [e.modelId, e.kind])).toEqual([['wan-video/wan-2.2-i2v-fast', 'REMOVED_MODEL']]);
    replicate.models = saved;
    expect(allEvents(await watcher.checkNow()).map((e) => e.kind)).toEqual(['NEW_MODEL']);
  });
});

describe('CatalogWatcher checks at once', () => {
  it('records a change once when two instances check the same catalog concurrently', async () => {
    const since = new Date();
    const other = new CatalogWatcher({ store: new CatalogStore(handles[1]!.db), readers, logger: silentLogger() });
    together.models.push(togetherModel('MiniMax/Hailuo-02', 'video', 0.49));
    const [first, second] = await Promise.all([watcher.checkNow(), other.checkNow()]);
    const events = [...allEvents(first), ...allEvents(second)];
    expect(events.map((e) => [e.modelId, e.kind])).toEqual([['MiniMax/Hailuo-02', 'NEW_MODEL']]);
    expect((await store.events(since)).map((e) => e.id)).toEqual([events[0]!.id]);
  });
});

describe('CatalogWatcher lease', () => {
  it('lets only one of two instances watch, and hands over when it stops', async () => {
    const reads = { a: 0, b: 0 };
    const counting = (name: 'a' | 'b'): Record<string, CatalogReader> => ({
      runway: async (signal) => {
        reads[name] += 1;
        return readers['runway']!(signal);
      },
    });
    const a = new CatalogWatcher({ store, readers: counting('a'), logger: silentLogger(), owner: 'instance-a', leaseMs: 2_000 });
    const b = new CatalogWatcher({
      store: new CatalogStore(handles[1]!.db),
      readers: counting('b'),
      logger: silentLogger(),
      owner: 'instance-b',
      leaseMs: 2_000,
    });
    try {
      a.start(40);
      b.start(40);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const holder = await store.leaseHolder('catalog-watch');
      expect(holder).not.toBeNull();
      const [leader, follower] = holder!.owner === 'instance-a' ? ([a, b] as const) : ([b, a] as const);
      const leaderReads = reads[leader === a ? 'a' : 'b'];
      expect(leaderReads).toBeGreaterThanOrEqual(3);
      expect(reads[follower === a ? 'a' : 'b']).toBe(0);
      expect(leader.holdsLease).toBe(true);
      expect(follower.holdsLease).toBe(false);

      // The leader stops and gives the lease up: the other takes over on its next tick.
      await leader.stop();
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect((await store.leaseHolder('catalog-watch'))?.owner).toBe(follower.owner);
      expect(follower.holdsLease).toBe(true);
      expect(reads[follower === a ? 'a' : 'b']).toBeGreaterThan(0);
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(await store.leaseHolder('catalog-watch')).toBeNull();
  });
});
