// The routing API end to end, over HTTP and the real graphql-ws client:
// rateJob and Job.rating, providers (enabled, capabilities, health),
// policy revisions changed at run time, the explainRoute dry run,
// providerComparison, and providerHealth when a breaker opens.
//
// Two gateways: one with the cloud providers registered against the fakes
// (their keys set), one with no keys and no poller (only the local provider,
// and jobs that stay QUEUED).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { startReplicateFake, type ReplicateFake } from '../fakes/replicate.js';
import { startRunwayFake, type RunwayFake } from '../fakes/runway.js';
import { DEFAULT_TOGETHER_MODELS, startTogetherFake, type TogetherFake } from '../fakes/together.js';
import { PROGRESS_SUBSCRIPTION, startGateway, type TestGateway } from '../helpers/gateway.js';

const RATING_RESULT = `
  __typename
  ... on JobPayload { job { id status rating { score comment ratedAt } } }
  ... on Error { code message }
  ... on ValidationError { field }
`;
const RATE = `mutation ($id: ID!, $score: Int!, $comment: String) { rateJob(id: $id, score: $score, comment: $comment) { ${RATING_RESULT} } }`;
const GENERATE = `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { __typename ... on JobPayload { job { id status } } } }`;
const PROVIDERS = `{ providers { name enabled health models {
  model modality operations health price priceSummary expected { latencyMs successRate rating }
  video { minSeconds maxSeconds lengths resolutions aspectRatios minFps maxFps imageConditioning edits extensions }
} } }`;
const REVISION = 'version author reason createdAt policy';
const UPDATE_POLICY = `mutation ($policy: JSON!, $reason: String!) { updateRoutingPolicy(policy: $policy, reason: $reason) {
  __typename
  ... on RoutingPolicyPayload { revision { ${REVISION} } }
  ... on Error { code message }
  ... on ValidationError { field }
} }`;
const EXPLAIN = `query ($input: ExplainRouteInput!) { explainRoute(input: $input) {
  outcome complexity complexityReasons tier strategy policyVersion maxCostUsd
  candidates { rank provider model estimatedCostUsd score balancedScore preference
    parts { cost latency successRate quality } weights { cost latency successRate quality }
    expected { latencyMs latencyP95Ms successRate rating averageCostUsd source samples } }
  filtered { provider model code reason estimatedCostUsd }
  experiment { name variant applied }
  cheapest { provider model estimatedCostUsd }
} }`;

let together: TogetherFake;
let runway: RunwayFake;
let replicate: ReplicateFake;
let gateway: TestGateway;
let bare: TestGateway;

beforeAll(async () => {
  [together, runway, replicate] = await Promise.all([
    startTogetherFake({
      apiKey: 'together-key',
      models: [
        ...DEFAULT_TOGETHER_MODELS,
        { ...DEFAULT_TOGETHER_MODELS.find((m) => m.type === 'video')!, id: defaultProviderConfig.together.models.video.edit },
      ],
    }),
    startRunwayFake({ apiKey: 'runway-key' }),
    startReplicateFake({ apiKey: 'replicate-key' }),
  ]);
  [gateway, bare] = await Promise.all([
    startGateway({
      env: {
        TOGETHER_API_KEY: 'together-key',
        TOGETHER_BASE_URL: together.baseURL,
        RUNWAYML_API_SECRET: 'runway-key',
        RUNWAYML_BASE_URL: runway.baseURL,
        REPLICATE_API_TOKEN: 'replicate-key',
        REPLICATE_BASE_URL: replicate.baseUrl,
      },
    }),
    startGateway({ overrides: { startPoller: false } }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), bare?.close()]);
  await Promise.all([together?.close(), runway?.close(), replicate?.close()]);
});

/** A GraphQL response with errors, as the raw body. */
async function graphqlErrors(target: TestGateway, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${target.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return ((await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] }).errors ?? [];
}

async function explain(input: Record<string, unknown>) {
  return (await gateway.graphql(EXPLAIN, { input })).explainRoute;
}

describe('rateJob', () => {
  let jobId: string;

  beforeAll(async () => {
    const created = await gateway.graphql(GENERATE, {
      input: { prompt: 'a title to rate', durationSeconds: 1, resolution: '480p', routing: { provider: 'local' } },
    });
    expect(created.generateVideo.__typename).toBe('JobPayload');
    jobId = created.generateVideo.job.id;
    const events = await gateway.subscribe(PROGRESS_SUBSCRIPTION, { jobId });
    expect(events.at(-1).jobProgress.job).toMatchObject({ status: 'SUCCEEDED', provider: 'local' });
  });

  it('rates a finished job, a new rating replacing the old, and Job.rating shows it in job and jobs', async () => {
    const before = await gateway.graphql(`query ($id: ID!) { job(id: $id) { rating { score } } }`, { id: jobId });
    expect(before.job.rating).toBeNull();

    const first = (await gateway.graphql(RATE, { id: jobId, score: 3, comment: '  too dark  ' })).rateJob;
    expect(first).toMatchObject({ __typename: 'JobPayload', job: { id: jobId, status: 'SUCCEEDED', rating: { score: 3, comment: 'too dark' } } });
    expect(Number.isNaN(Date.parse(first.job.rating.ratedAt))).toBe(false);

    const second = (await gateway.graphql(RATE, { id: jobId, score: 5 })).rateJob;
    expect(second.job.rating).toMatchObject({ score: 5, comment: null });

    const listed = await gateway.graphql(`{ jobs(first: 10) { edges { node { id rating { score } } } } }`);
    expect(listed.jobs.edges.find((edge: any) => edge.node.id === jobId).node.rating).toEqual({ score: 5 });
  });

  it('answers ValidationError for a score outside 1..5 or a long comment, NotFoundError and ConflictError', async () => {
    for (const score of [0, 6]) {
      expect((await gateway.graphql(RATE, { id: jobId, score })).rateJob).toMatchObject({
        __typename: 'ValidationError',
        code: 'VALIDATION',
        field: 'score',
      });
    }
    expect((await gateway.graphql(RATE, { id: jobId, score: 4, comment: 'x'.repeat(2001) })).rateJob).toMatchObject({
      __typename: 'ValidationError',
      field: 'comment',
    });
    expect((await gateway.graphql(RATE, { id: jobId, score: 4, comment: 'x'.repeat(2000) })).rateJob.__typename).toBe('JobPayload');

    for (const id of ['0190f0e0-0000-7000-8000-000000000001', 'not-an-id']) {
      expect((await gateway.graphql(RATE, { id, score: 4 })).rateJob).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }

    // No poller on this gateway: the job stays QUEUED.
    const queued = (await bare.graphql(GENERATE, { input: { prompt: 'never rendered' } })).generateVideo.job;
    const conflict = (await bare.graphql(RATE, { id: queued.id, score: 4 })).rateJob;
    expect(conflict).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(conflict.message).toContain('QUEUED');
  });

  it('providerComparison shows the rated local job', async () => {
    const since = new Date(Date.now() - 60 * 60_000).toISOString();
    const data = await gateway.graphql(
      `query ($since: DateTime!) { providerComparison(modality: VIDEO, operation: GENERATE, since: $since) {
        provider model jobs succeeded failed successRate latencyP50Ms latencyP95Ms averageCostUsd averageRating ratings } }`,
      { since },
    );
    const local = data.providerComparison.find((row: any) => row.provider === 'local');
    expect(local).toMatchObject({ succeeded: 1, failed: 0, successRate: 1, averageRating: 4, ratings: 1 });
    expect(local.jobs).toBeGreaterThanOrEqual(1);
    expect(local.latencyP50Ms).toBeGreaterThan(0);
    expect(local.latencyP95Ms).toBeGreaterThanOrEqual(local.latencyP50Ms);

    const later = await gateway.graphql(
      `query ($since: DateTime!) { providerComparison(modality: VIDEO, operation: GENERATE, since: $since) { provider } }`,
      { since: new Date(Date.now() + 60_000).toISOString() },
    );
    expect(later.providerComparison).toEqual([]);
  });
});

describe('providers', () => {
  it('lists every declared provider: only local enabled without keys, all with keys, with capabilities and health', async () => {
    const withoutKeys = (await bare.graphql(PROVIDERS)).providers;
    expect(withoutKeys.map((p: any) => [p.name, p.enabled])).toEqual([
      ['local', true],
      ['together', false],
      ['runway', false],
      ['replicate', false],
    ]);

    const withKeys = (await gateway.graphql(PROVIDERS)).providers;
    expect(withKeys.every((p: any) => p.enabled && p.health === 'CLOSED')).toBe(true);
    const local = withKeys.find((p: any) => p.name === 'local');
    expect(local.models).toEqual([
      expect.objectContaining({
        model: 'ffmpeg',
        modality: 'VIDEO',
        operations: ['GENERATE', 'EDIT', 'EXTEND'],
        health: 'CLOSED',
        price: { kind: 'free' },
        priceSummary: 'free',
        video: expect.objectContaining({ imageConditioning: 'NONE', edits: ['simple'], minFps: 1, maxFps: 60 }),
      }),
    ]);
    const runwayModels = withKeys.find((p: any) => p.name === 'runway').models;
    const gen45 = runwayModels.find((m: any) => m.model === 'gen4.5');
    expect(gen45.operations).toContain('GENERATE');
    expect(gen45.price).toMatchObject({ kind: 'per-credit-second' });
    expect(gen45.priceSummary).toMatch(/credits per second/);
    expect(gen45.video.resolutions.length).toBeGreaterThan(0);
    const together = withKeys.find((p: any) => p.name === 'together');
    expect(together.models.some((m: any) => m.modality === 'TEXT' && m.video === null)).toBe(true);
  });
});

describe('routing policies at run time', () => {
  it('shows the seeded revision', async () => {
    for (const target of [gateway, bare]) {
      const data = await target.graphql(`{ routingPolicies { ${REVISION} } routingPolicy { version author } }`);
      expect(data.routingPolicies).toHaveLength(1);
      expect(data.routingPolicies[0]).toMatchObject({ version: 1, author: 'config', reason: 'initial policy' });
      expect(data.routingPolicies[0].policy.policies.length).toBeGreaterThan(0);
      expect(data.routingPolicy).toEqual({ version: 1, author: 'config' });
    }
  });

  it('updateRoutingPolicy writes a new version that takes effect without a restart', async () => {
    const before = await explain({ modality: 'VIDEO', operation: 'GENERATE', prompt: 'a lighthouse at dusk' });
    expect(before).toMatchObject({ outcome: 'ROUTED', strategy: 'BALANCED', policyVersion: 1 });

    const current = (await gateway.graphql(`{ routingPolicy { policy } }`)).routingPolicy.policy;
    const policies = current.policies.map((rule: any) =>
      rule.modality === 'VIDEO' && rule.operation === 'GENERATE' ? { ...rule, strategy: 'CHEAPEST' } : rule,
    );
    const updated = (await gateway.graphql(UPDATE_POLICY, { policy: { ...current, policies }, reason: 'cheaper video' })).updateRoutingPolicy;
    expect(updated.__typename).toBe('RoutingPolicyPayload');
    expect(updated.revision).toMatchObject({ version: 2, reason: 'cheaper video' });
    expect(updated.revision.author).toMatch(/^admin:.{8}$/);

    const data = await gateway.graphql(`{ routingPolicies(last: 5) { version author } routingPolicy { version policy } }`);
    expect(data.routingPolicies.map((r: any) => r.version)).toEqual([2, 1]);
    expect(data.routingPolicy.version).toBe(2);
    expect(data.routingPolicy.policy.policies.find((r: any) => r.operation === 'GENERATE' && r.modality === 'VIDEO').strategy).toBe('CHEAPEST');

    const after = await explain({ modality: 'VIDEO', operation: 'GENERATE', prompt: 'a lighthouse at dusk' });
    expect(after).toMatchObject({ outcome: 'ROUTED', strategy: 'CHEAPEST', policyVersion: 2 });
    const costs = after.candidates.map((c: any) => c.estimatedCostUsd);
    expect(after.candidates[0].score).toBe(after.candidates[0].parts.cost);
    expect(costs.length).toBeGreaterThan(1);
  });

  it('an invalid policy answers ValidationError with the field path, and writes nothing', async () => {
    const bad = (await gateway.graphql(UPDATE_POLICY, {
      policy: { policies: [{ modality: 'VIDEO', operation: 'GENERATE', strategy: 'FASTEST_EVER' }] },
      reason: 'typo',
    })).updateRoutingPolicy;
    expect(bad).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field: 'policy.policies.0.strategy' });

    const notObject = (await gateway.graphql(UPDATE_POLICY, { policy: 'CHEAPEST', reason: 'oops' })).updateRoutingPolicy;
    expect(notObject).toMatchObject({ __typename: 'ValidationError', field: 'policy' });
    const noReason = (await gateway.graphql(UPDATE_POLICY, { policy: {}, reason: ' ' })).updateRoutingPolicy;
    expect(noReason).toMatchObject({ __typename: 'ValidationError', field: 'reason' });

    const errors = await graphqlErrors(gateway, `{ routingPolicies(last: 0) { version } }`, {});
    expect(errors[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: 'last' });
    expect((await gateway.graphql(`{ routingPolicy { version } }`)).routingPolicy.version).toBe(2);
  });
});

describe('explainRoute', () => {
  it('ranks the local provider first for a simple edit, with the cloud editors after it', async () => {
    const result = await explain({ modality: 'VIDEO', operation: 'EDIT', prompt: 'trim to the first 2 seconds' });
    expect(result).toMatchObject({ outcome: 'ROUTED', complexity: 'SIMPLE', tier: 'STANDARD', experiment: null, cheapest: null });
    expect(result.complexityReasons[0]).toMatch(/local editor/);
    expect(result.candidates[0]).toMatchObject({ rank: 1, provider: 'local', model: 'ffmpeg', estimatedCostUsd: 0 });
    expect(result.candidates[0].preference).toMatch(/SIMPLE/);
    expect(result.candidates.length).toBeGreaterThan(1);
    expect(result.candidates.slice(1).every((c: any) => c.provider !== 'local')).toBe(true);
    for (const candidate of result.candidates) {
      for (const part of Object.values(candidate.parts) as number[]) expect(part).toBeGreaterThanOrEqual(0);
      expect(candidate.weights.cost + candidate.weights.latency + candidate.weights.successRate + candidate.weights.quality).toBeGreaterThan(0);
      expect(['PRIOR', 'OBSERVED']).toContain(candidate.expected.source);
    }
  });

  it('filters the local provider out of a generative edit, saying why', async () => {
    const result = await explain({ modality: 'VIDEO', operation: 'EDIT', prompt: 'turn the cat into a dog' });
    expect(result).toMatchObject({ outcome: 'ROUTED', complexity: 'COMPLEX' });
    expect(result.candidates.some((c: any) => c.provider === 'local')).toBe(false);
    expect(result.filtered).toContainEqual(
      expect.objectContaining({ provider: 'local', model: 'ffmpeg', code: 'CAPABILITY', reason: 'does no generative edits' }),
    );
  });

  it('answers OVER_BUDGET with the cheapest estimate when maxCostUsd is too low', async () => {
    const result = await explain({
      modality: 'VIDEO',
      operation: 'EDIT',
      prompt: 'turn the cat into a dog',
      sourceDurationSeconds: 4,
      sourceWidth: 1280,
      sourceHeight: 720,
      routing: { maxCostUsd: 0.0001 },
    });
    expect(result).toMatchObject({ outcome: 'OVER_BUDGET', candidates: [], maxCostUsd: 0.0001 });
    const overBudget = result.filtered.filter((f: any) => f.code === 'OVER_BUDGET');
    expect(overBudget.length).toBeGreaterThan(0);
    const lowest = Math.min(...overBudget.map((f: any) => f.estimatedCostUsd));
    expect(result.cheapest.estimatedCostUsd).toBe(lowest);
    expect(result.cheapest.estimatedCostUsd).toBeGreaterThan(0.0001);
  });

  it('honours a pin, a tier and a strategy, and short modalities', async () => {
    const pinned = await explain({ modality: 'VIDEO', operation: 'GENERATE', prompt: 'waves', routing: { provider: 'runway', strategy: 'FASTEST', tier: 'PREMIUM' } });
    expect(pinned).toMatchObject({ tier: 'PREMIUM', strategy: 'FASTEST' });
    expect(pinned.candidates.every((c: any) => c.provider === 'runway')).toBe(true);
    expect(pinned.filtered.some((f: any) => f.code === 'PIN')).toBe(true);

    const text = await bare.graphql(EXPLAIN, { input: { modality: 'TEXT', operation: 'GENERATE' } });
    expect(text.explainRoute.outcome).toBe('NO_CANDIDATE');
    expect(text.explainRoute.filtered.every((f: any) => f.code === 'NOT_REGISTERED')).toBe(true);
  });

  it('answers bad input with a GraphQL error carrying VALIDATION and the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ modality: 'VIDEO', operation: 'GENERATE', prompt: ' ' }, 'input.prompt'],
      [{ modality: 'VIDEO', operation: 'GENERATE', prompt: 'p', resolution: '4k' }, 'input.resolution'],
      [{ modality: 'VIDEO', operation: 'SPEAK', prompt: 'p' }, 'input.operation'],
      [{ modality: 'TEXT', operation: 'EDIT' }, 'input.operation'],
      [{ modality: 'VIDEO', operation: 'EXTEND' }, 'input.extensionSeconds'],
      [{ modality: 'VIDEO', operation: 'EDIT', prompt: 'reverse', sourceWidth: 640 }, 'input.sourceDurationSeconds'],
      [{ modality: 'VIDEO', operation: 'GENERATE', prompt: 'p', routing: { maxCostUsd: -1 } }, 'input.routing.maxCostUsd'],
      [{ modality: 'VIDEO', operation: 'GENERATE', prompt: 'p', routing: { model: 'gen4.5' } }, 'input.routing.provider'],
    ];
    for (const [input, field] of cases) {
      const errors = await graphqlErrors(gateway, EXPLAIN, { input });
      expect(errors[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'VALIDATION', field });
    }
  });
});

describe('providerHealth', () => {
  it('publishes a breaker opening, and providers shows it OPEN', async () => {
    const events: any[] = [];
    const client = gateway.ws();
    const unsubscribe = client.subscribe(
      { query: `subscription { providerHealth { provider model state previous at reason } }` },
      { next: (value) => events.push(value.data?.providerHealth ?? value.errors), error: (error) => events.push(error), complete: () => {} },
    );
    try {
      // graphql-ws does not acknowledge a subscription: wait until the server listens for changes.
      await expect.poll(() => gateway.app.routing.healthSubscribers(), { timeout: 5000 }).toBeGreaterThan(0);

      const threshold = gateway.app.routing.policy.circuitBreaker.consecutiveFailures;
      for (let i = 0; i < threshold; i++) await gateway.app.routing.breakers.record('runway', 'gen4.5', 'failure');

      await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(events).toContainEqual(
        expect.objectContaining({ provider: 'runway', model: null, state: 'OPEN', previous: 'CLOSED', reason: 'a job failed after acceptance' }),
      );
      expect(events).toContainEqual(expect.objectContaining({ provider: 'runway', model: 'gen4.5', state: 'OPEN', previous: 'CLOSED' }));
      expect(Number.isNaN(Date.parse(events[0].at))).toBe(false);
    } finally {
      unsubscribe();
    }

    const providers = (await gateway.graphql(`{ providers { name health models { model health } } }`)).providers;
    const runwayInfo = providers.find((p: any) => p.name === 'runway');
    expect(runwayInfo.health).toBe('OPEN');
    expect(runwayInfo.models.find((m: any) => m.model === 'gen4.5').health).toBe('OPEN');
    expect(providers.find((p: any) => p.name === 'local').health).toBe('CLOSED');

    const routed = await explain({ modality: 'VIDEO', operation: 'GENERATE', prompt: 'waves' });
    expect(routed.filtered).toContainEqual(expect.objectContaining({ provider: 'runway', code: 'CIRCUIT_OPEN' }));
  });
});
