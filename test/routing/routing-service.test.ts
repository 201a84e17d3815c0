// RoutingService on a real database: a policy changed through one instance
// takes effect on another within its refresh interval (no restart), and the
// bandit shifts an experiment's weights toward the variant whose provider does
// better, as a logged revision.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { silentLogger } from '../../src/logger.js';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import type { VideoProvider } from '../../src/providers/types.js';
import { defaultCapabilities } from '../../src/routing/capabilities.js';
import { seededRandom } from '../../src/routing/random.js';
import { RoutingService } from '../../src/routing/routing-service.js';
import { RoutingStore } from '../../src/routing/routing-store.js';
import { createTestDatabase, usePostgres, type TestDatabase } from '../helpers/database.js';

let testDatabase: TestDatabase;
let dataDir: string;
const handles: DatabaseHandle[] = [];
const services: RoutingService[] = [];

/** Registered names only matter to the router: these providers are never called here. */
function registry(): ProviderRegistry {
  const registry = new ProviderRegistry();
  for (const name of ['runway', 'replicate', 'local']) registry.registerVideo({ name } as unknown as VideoProvider);
  return registry;
}

async function instance(handle: DatabaseHandle, seed: number): Promise<RoutingService> {
  const service = new RoutingService({
    store: new RoutingStore(handle.db),
    providers: registry(),
    capabilities: defaultCapabilities(defaultProviderConfig),
    logger: silentLogger(),
    refreshMs: 100,
    random: seededRandom(seed),
  });
  await service.start();
  services.push(service);
  return service;
}

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'aideon-routing-'));
  handles.push(await openDatabase({ databaseUrl: testDatabase.url, dataDir }));
  // Two instances: two connection pools on Postgres; on PGlite (one process per folder) they share the database.
  handles.push(usePostgres ? await openDatabase({ databaseUrl: testDatabase.url, dataDir }) : handles[0]!);
});

afterAll(async () => {
  for (const service of services) service.stop();
  for (const handle of new Set(handles)) await handle.close();
  await testDatabase.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const generateRequest = {
  modality: 'VIDEO' as const,
  operation: 'GENERATE' as const,
  video: { operation: 'GENERATE' as const, prompt: 'p', durationSeconds: 5, fps: 24, resolution: '720p' as const, aspectRatio: '16:9' as const },
};

describe('RoutingService', () => {
  it('seeds the policy once, and a change through one instance reaches another within seconds', async () => {
    const a = await instance(handles[0]!, 1);
    const b = await instance(handles[1]!, 2);
    const history = await a.history(10);
    expect(history.map((r) => [r.version, r.author])).toEqual([[1, 'config']]);
    expect(b.policy.version).toBe(1);
    expect(b.route(generateRequest).strategy).toBe('BALANCED');

    const changed = structuredClone(a.policy) as Record<string, any>;
    const rule = changed.policies.find((r: any) => r.modality === 'VIDEO' && r.operation === 'GENERATE');
    rule.strategy = 'CHEAPEST';
    const revision = await a.updatePolicy(changed, 'admin:test', 'cheaper video');
    expect(revision).toMatchObject({ version: 2, author: 'admin:test', reason: 'cheaper video' });
    expect(a.route(generateRequest).strategy).toBe('CHEAPEST');
    await expect.poll(() => b.route(generateRequest).strategy, { timeout: 3000, interval: 50 }).toBe('CHEAPEST');
    expect(b.policy.version).toBe(2);

    // A revision always goes on top of the latest stored one, whatever version the input claims.
    await expect(b.updatePolicy({ ...changed, version: 1 }, 'admin:other', 'again')).resolves.toMatchObject({ version: 3 });
  });

  it('the bandit moves weight toward the variant whose provider succeeds, as a logged revision', async () => {
    const service = services[0]!;
    const policy = structuredClone(service.policy) as Record<string, any>;
    const rule = policy.policies.find((r: any) => r.modality === 'VIDEO' && r.operation === 'GENERATE');
    rule.experiments = [
      {
        name: 'runway-vs-replicate',
        variants: [
          { name: 'runway-first', weight: 0.5, prefer: [{ provider: 'runway' }] },
          { name: 'replicate-first', weight: 0.5, prefer: [{ provider: 'replicate' }] },
        ],
        bandit: { enabled: true, minObservations: 10, minWeight: 0.1, maxWeight: 0.9 },
      },
    ];
    const before = (await service.updatePolicy(policy, 'admin:test', 'start the experiment')).version;

    // History: runway's variant succeeds quickly; replicate's mostly fails.
    const jobs = new JobStore(handles[0]!.db);
    const now = Date.now();
    for (let i = 0; i < 40; i++) {
      const variant = i % 2 === 0 ? 'runway-first' : 'replicate-first';
      const good = variant === 'runway-first' || i % 8 === 1;
      const id = uuidv7();
      await jobs.insert({
        id,
        modality: 'VIDEO',
        operation: 'GENERATE',
        status: good ? 'SUCCEEDED' : 'FAILED',
        input: {},
        inputHash: id,
        experiment: 'runway-vs-replicate',
        variant,
      });
      await jobs.insertAttempt({
        jobId: id,
        n: 1,
        provider: variant === 'runway-first' ? 'runway' : 'replicate',
        model: variant === 'runway-first' ? 'gen4.5' : 'minimax/video-01',
        status: good ? 'SUCCEEDED' : 'FAILED',
        costUsd: 0.1,
        startedAt: new Date(now - 60_000),
        finishedAt: new Date(now - 30_000),
        ...(good ? {} : { error: { code: 'PROVIDER_UNAVAILABLE', message: 'crashed', retryable: true } }),
      });
    }
    await service.refresh();
    const [latest] = await service.history(1);
    expect(latest!.version).toBeGreaterThan(before);
    expect(latest!.author).toBe('bandit');
    expect(latest!.reason).toMatch(/runway-vs-replicate/);
    const variants = latest!.policy.policies
      .find((r) => r.modality === 'VIDEO' && r.operation === 'GENERATE')!
      .experiments[0]!.variants.map((v) => [v.name, v.weight]);
    const weights = Object.fromEntries(variants) as Record<string, number>;
    expect(weights['runway-first']).toBeGreaterThan(0.5);
    expect(weights['runway-first']).toBeLessThanOrEqual(0.9);
    expect(weights['replicate-first']).toBeGreaterThanOrEqual(0.1);
    // And routing follows the new weights: most callers now start with Runway.
    let runwayFirst = 0;
    for (let i = 0; i < 1000; i++) {
      const decision = service.route({ ...generateRequest, callerKey: `caller-${i}` });
      if (decision.outcome === 'ROUTED' && decision.candidates[0]!.provider === 'runway') runwayFirst++;
    }
    expect(runwayFirst / 1000).toBeGreaterThan(0.6);
  });

  it('a catalog model joins as a 5% canary; operators pause, promote or remove it; a removed model leaves routing', async () => {
    const service = services[1]!;
    const canary = { provider: 'replicate', model: 'acme/new-video-model' };
    service.setCatalog({ live: [{ ...canary, modality: 'VIDEO' }], removed: [] });
    const revision = await service.addCanary(canary, 0.05, 'new in the catalog');
    expect(revision).toMatchObject({ author: 'catalog' });
    expect(await service.addCanary(canary, 0.05, 'again')).toBeNull();
    const share = () => {
      let first = 0;
      for (let i = 0; i < 1000; i++) {
        const decision = service.route({ ...generateRequest, callerKey: `canary-caller-${i}` });
        if (decision.outcome === 'ROUTED' && decision.candidates[0]!.model === canary.model) first++;
      }
      return first / 1000;
    };
    const canaryShare = share();
    expect(canaryShare).toBeGreaterThan(0.03);
    expect(canaryShare).toBeLessThan(0.07);

    await service.updateCanary(canary, 'PAUSE', 'admin:test');
    expect(share()).toBe(0);
    await service.updateCanary(canary, 'PROMOTE', 'admin:test');
    const promoted = service.route({ ...generateRequest, callerKey: 'anyone' });
    expect(promoted.outcome === 'ROUTED' && promoted.candidates.some((c) => c.model === canary.model)).toBe(true);
    await expect(service.updateCanary(canary, 'REMOVE', 'admin:test')).rejects.toThrow(/not a canary/);

    // The catalog drops a configured model that the policy names: it leaves routing and the policy.
    const gone = { provider: 'runway', model: 'gen4.5' };
    const policy = structuredClone(service.policy) as Record<string, any>;
    const rule = policy.policies.find((r: any) => r.modality === 'VIDEO' && r.operation === 'GENERATE');
    rule.tiers.PREMIUM.prefer = [gone];
    await service.updatePolicy(policy, 'admin:test', 'prefer gen4.5');
    const { namedIn } = await service.forgetModel(gone);
    expect(namedIn).toContain('VIDEO GENERATE tier PREMIUM prefer');
    service.setCatalog({ live: [], removed: [gone] });
    const premium = service.route({ ...generateRequest, tier: 'PREMIUM' });
    expect(premium.outcome === 'ROUTED' && premium.candidates.every((c) => c.model !== 'gen4.5')).toBe(true);
  });
});
