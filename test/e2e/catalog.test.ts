// Catalog watch end to end: the Together and Replicate fakes' catalogs change
// between reads; the gateway notices, publishes catalogChanged, POSTs signed
// alerts, starts a new video model as a 5% canary, takes a removed model out
// of routing, and does not mistake an unreachable catalog for an empty one.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAlertSignature } from '../../src/catalog/alerts.js';
import { startReplicateFake, type ReplicateFake } from '../fakes/replicate.js';
import { DEFAULT_TOGETHER_MODELS, startTogetherFake, type TogetherFake } from '../fakes/together.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const ALERT_SECRET = 'alert-signing-secret';
const NEW_MODEL = 'acme/dream-video-1';

let together: TogetherFake;
let replicate: ReplicateFake;
let receiver: Server;
const alerts: { headers: Record<string, string>; body: string }[] = [];
let gateway: TestGateway;

beforeAll(async () => {
  together = await startTogetherFake({ apiKey: 'together-key' });
  replicate = await startReplicateFake({ apiKey: 'replicate-key' });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      alerts.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  gateway = await startGateway({
    env: {
      TOGETHER_API_KEY: 'together-key',
      TOGETHER_BASE_URL: together.baseURL,
      REPLICATE_API_TOKEN: 'replicate-key',
      REPLICATE_BASE_URL: replicate.baseUrl,
      // Checks are driven by the test (checkNow), not by the schedule.
      CATALOG_WATCH_INTERVAL_MS: '0',
      ALERT_WEBHOOK_URLS: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/catalog`,
      ALERT_WEBHOOK_SECRET: ALERT_SECRET,
    },
    overrides: { startPoller: false },
  });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  await Promise.all([together?.close(), replicate?.close()]);
});

const since = new Date(Date.now() - 60_000).toISOString();

function canaryShare(): number {
  let canary = 0;
  for (let i = 0; i < 1000; i++) {
    const decision = gateway.app.routing.route({
      modality: 'VIDEO',
      operation: 'GENERATE',
      video: { operation: 'GENERATE', prompt: 'p', durationSeconds: 5, fps: 24, resolution: '720p', aspectRatio: '16:9' },
      callerKey: `caller-${i}`,
    });
    if (decision.outcome === 'ROUTED' && decision.candidates[0]!.model === NEW_MODEL) canary++;
  }
  return canary / 1000;
}

describe('the catalog watch', () => {
  it('records a baseline without events', async () => {
    const checks = await gateway.app.catalog.watcher.checkNow();
    expect(checks.every((check) => check.ok)).toBe(true);
    const data = await gateway.graphql(`query ($since: DateTime!) { catalogEvents(since: $since) { id } }`, { since });
    expect(data.catalogEvents).toEqual([]);
    const models = await gateway.graphql(`{ providerModels(provider: "together", modality: VIDEO) { model } }`);
    expect(models.providerModels.map((m: any) => m.model)).toContain('ByteDance/Seedance-1.0-lite');
  });

  it('notices a new Together video model: catalogChanged, a signed alert, a 5% canary in routing', async () => {
    const client = gateway.ws();
    const received: any[] = [];
    const subscribed = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: `subscription { catalogChanged { provider model kind modality } }` },
        {
          next: (value) => {
            received.push((value.data as any).catalogChanged);
            resolve();
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    // graphql-ws confirms nothing: give the subscription a moment to be set up before the change.
    await new Promise((resolve) => setTimeout(resolve, 200));
    together.models.push({ ...DEFAULT_TOGETHER_MODELS.find((m) => m.type === 'video')!, id: NEW_MODEL, display_name: 'Dream Video' });
    const checks = await gateway.app.catalog.watcher.checkNow();
    expect(checks.find((c) => c.provider === 'together')).toMatchObject({ ok: true });
    await subscribed;
    expect(received).toContainEqual({ provider: 'together', model: NEW_MODEL, kind: 'NEW_MODEL', modality: 'VIDEO' });

    await gateway.app.catalog.watcher.settled();
    await expect.poll(() => alerts.length, { timeout: 5000 }).toBeGreaterThan(0);
    const alert = alerts.at(-1)!;
    expect(JSON.parse(alert.body)).toMatchObject({ provider: 'together', modelId: NEW_MODEL, kind: 'NEW_MODEL' });
    expect(
      verifyAlertSignature({
        secret: ALERT_SECRET,
        body: alert.body,
        timestamp: alert.headers['x-aideon-timestamp']!,
        signature: alert.headers['x-aideon-signature']!,
      }),
    ).toBe(true);
    expect(verifyAlertSignature({ secret: 'wrong', body: alert.body, timestamp: alert.headers['x-aideon-timestamp']!, signature: alert.headers['x-aideon-signature']! })).toBe(false);

    const events = await gateway.graphql(
      `query ($since: DateTime!) { catalogEvents(since: $since) { model kind deliveries { status httpStatus attempt } } }`,
      { since },
    );
    expect(events.catalogEvents).toContainEqual({
      model: NEW_MODEL,
      kind: 'NEW_MODEL',
      deliveries: [{ status: 'DELIVERED', httpStatus: 204, attempt: 1 }],
    });

    const policy = await gateway.graphql(`{ routingPolicy { author policy } }`);
    const rule = policy.routingPolicy.policy.policies.find((r: any) => r.modality === 'VIDEO' && r.operation === 'GENERATE');
    expect(rule.canaries).toContainEqual(expect.objectContaining({ provider: 'together', model: NEW_MODEL, weight: 0.05 }));
    const share = canaryShare();
    expect(share).toBeGreaterThan(0.03);
    expect(share).toBeLessThan(0.07);
  });

  it('operators pause the canary through updateCanary', async () => {
    const data = await gateway.graphql(
      `mutation { updateCanary(provider: "together", model: "${NEW_MODEL}", action: PAUSE) { __typename ... on RoutingPolicyPayload { revision { version author } } } }`,
    );
    expect(data.updateCanary.__typename).toBe('RoutingPolicyPayload');
    expect(canaryShare()).toBe(0);
    const missing = await gateway.graphql(
      `mutation { updateCanary(provider: "together", model: "no/such-model", action: PROMOTE) { __typename ... on Error { code } } }`,
    );
    expect(missing.updateCanary).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('an unreachable catalog is not an empty one: nothing is removed', async () => {
    together.failNext({ status: 500, match: { method: 'GET', path: '/v1/models' } });
    const checks = await gateway.app.catalog.watcher.checkNow();
    expect(checks.find((c) => c.provider === 'together')).toMatchObject({ ok: false });
    const models = await gateway.graphql(`{ providerModels(provider: "together", modality: VIDEO) { model removedAt } }`);
    expect(models.providerModels.map((m: any) => m.model)).toContain('ByteDance/Seedance-1.0-lite');
    expect(models.providerModels.every((m: any) => m.removedAt === null)).toBe(true);
  });

  it('a removed model that routing used is taken out of routing and reported', async () => {
    const before = await gateway.graphql(
      `{ explainRoute(input: { modality: VIDEO, operation: GENERATE, prompt: "p", durationSeconds: 5, routing: { provider: "together" } }) { candidates { model } } }`,
    );
    expect(before.explainRoute.candidates.map((c: any) => c.model)).toContain('ByteDance/Seedance-1.0-lite');
    together.models = together.models.filter((m) => m.id !== 'ByteDance/Seedance-1.0-lite');
    await gateway.app.catalog.watcher.checkNow();
    const events = await gateway.graphql(`query ($since: DateTime!) { catalogEvents(since: $since, provider: "together") { model kind } }`, { since });
    expect(events.catalogEvents).toContainEqual({ model: 'ByteDance/Seedance-1.0-lite', kind: 'REMOVED_MODEL' });
    const after = await gateway.graphql(
      `{ explainRoute(input: { modality: VIDEO, operation: GENERATE, prompt: "p", durationSeconds: 5, routing: { provider: "together" } }) { candidates { model } } }`,
    );
    expect(after.explainRoute.candidates.map((c: any) => c.model)).not.toContain('ByteDance/Seedance-1.0-lite');
    const removed = await gateway.graphql(`{ providerModels(provider: "together", includeRemoved: true) { model removedAt } }`);
    expect(removed.providerModels.find((m: any) => m.model === 'ByteDance/Seedance-1.0-lite').removedAt).not.toBeNull();
  });
});
