// Routing decision time per request (target: p50 under 0.2 ms), beside a
// baseline measured in the same run: the capability filter alone (the
// modality, operation and limits check over the same capabilities), without
// policy, stats, breakers, experiments or scoring.
// Run: npx tsx bench/routing.ts [decisions]

import { CircuitBreakers } from '../src/routing/breakers.js';
import { defaultCapabilities, servesKind, unmetRequirement } from '../src/routing/capabilities.js';
import { classify } from '../src/routing/complexity.js';
import { defaultRoutingPolicy, parseRoutingPolicy } from '../src/routing/policy.js';
import { seededRandom } from '../src/routing/random.js';
import type { RouteRequest } from '../src/routing/request.js';
import { Router } from '../src/routing/router.js';
import { RoutingStats, type JobObservation } from '../src/routing/stats.js';

const DECISIONS = Number(process.argv[2] ?? 100_000);
const WARM_UP = 5_000;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

const requests: { name: string; request: RouteRequest }[] = [
  {
    name: 'generate 5 s 720p',
    request: {
      modality: 'VIDEO',
      operation: 'GENERATE',
      video: {
        operation: 'GENERATE',
        prompt: 'A lighthouse at dusk, waves rolling in',
        durationSeconds: 5,
        fps: 24,
        resolution: '720p',
        aspectRatio: '16:9',
      },
    },
  },
  {
    name: 'generate from image, premium',
    request: {
      modality: 'VIDEO',
      operation: 'GENERATE',
      tier: 'PREMIUM',
      maxCostUsd: 1,
      video: {
        operation: 'GENERATE',
        prompt: 'The lighthouse beam sweeps the sea',
        durationSeconds: 5,
        fps: 24,
        resolution: '720p',
        aspectRatio: '16:9',
        imageUrl: 'https://example.com/frame.png',
      },
    },
  },
  {
    name: 'simple edit',
    request: {
      modality: 'VIDEO',
      operation: 'EDIT',
      video: { operation: 'EDIT', prompt: "trim to the first 3 seconds, make it black and white and add the caption 'Hello'" },
    },
  },
  {
    name: 'generative edit',
    request: { modality: 'VIDEO', operation: 'EDIT', video: { operation: 'EDIT', prompt: 'turn the cat into a dog' } },
  },
  {
    name: 'extend, continuation',
    request: { modality: 'VIDEO', operation: 'EXTEND', video: { operation: 'EXTEND', prompt: 'the boat sails away', extensionSeconds: 5 } },
  },
  { name: 'text', request: { modality: 'TEXT', operation: 'GENERATE', usage: { inputTokens: 800, outputTokens: 400 } } },
];

// A realistic setting: a week of history for every candidate, breakers that
// have seen calls, and an A/B experiment on video generation.
const NOW = Date.now();
const capabilities = defaultCapabilities();
const random = seededRandom(1);
const history: JobObservation[] = [];
for (const capability of capabilities) {
  for (const operation of capability.operations) {
    for (let i = 0; i < 500; i++) {
      history.push({
        provider: capability.provider,
        model: capability.model,
        modality: capability.modality,
        operation,
        status: random() < 0.93 ? 'SUCCEEDED' : 'FAILED',
        latencyMs: capability.expected.latencyMs * (0.5 + random()),
        costUsd: random() * 0.5,
        rating: 1 + Math.floor(random() * 5),
        finishedAt: NOW - Math.floor(random() * 6 * 86_400_000),
      });
    }
  }
}
const stats = new RoutingStats({ now: () => NOW });
stats.load(history);
const defaults = defaultRoutingPolicy(NOW);
const policy = parseRoutingPolicy({
  ...defaults,
  policies: defaults.policies.map((rule) =>
    rule.operation === 'GENERATE'
      ? {
          ...rule,
          experiments: [
            {
              name: 'runway-vs-together',
              variants: [
                { name: 'runway', weight: 70, prefer: [{ provider: 'runway' }] },
                { name: 'together', weight: 30, prefer: [{ provider: 'together' }] },
              ],
            },
          ],
        }
      : rule,
  ),
});
const breakers = new CircuitBreakers(policy.circuitBreaker);
await Promise.all(capabilities.map((capability) => breakers.record(capability.provider, capability.model, 'success')));
const router = new Router({ capabilities, policy, stats, health: breakers, random: seededRandom(2) });
const registered = new Set(['local', 'together', 'runway', 'replicate']);

/** The baseline: what a router cannot do without, the capability check of every candidate. */
function filterOnly(request: RouteRequest): number {
  const classification = classify(request, policy.complexity);
  let fitting = 0;
  for (const capability of capabilities) {
    if (servesKind(capability, request.modality, request.operation) && unmetRequirement(capability, request, classification) === null) {
      fitting++;
    }
  }
  return fitting;
}

function measure(
  decide: (request: RouteRequest, i: number) => unknown,
  pick: (i: number) => RouteRequest,
  count = DECISIONS,
): Float64Array {
  let sink = 0;
  for (let i = 0; i < WARM_UP; i++) sink += decide(pick(i), i) ? 1 : 0;
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const request = pick(i);
    const start = performance.now();
    sink += decide(request, i) ? 1 : 0;
    times[i] = performance.now() - start;
  }
  if (sink < 0) console.log(sink);
  return times.sort();
}

const mixed = (i: number) => requests[i % requests.length]!.request;
const withCaller = (request: RouteRequest, i: number): RouteRequest => ({ ...request, callerKey: `caller-${i % 10_000}` });

const baseline = measure((request) => filterOnly(request), mixed);
const routing = measure((request, i) => router.route(withCaller(request, i), { registered }), mixed);

console.log(
  `routing decisions (${DECISIONS.toLocaleString('en')} each, a mix of ${requests.length} kinds, ` +
    `${history.length.toLocaleString('en')} jobs of history)`,
);
console.log(
  `  route():             p50 ${us(quantile(routing, 0.5))}, p95 ${us(quantile(routing, 0.95))}, ` +
    `p99 ${us(quantile(routing, 0.99))} (target p50 < 200 µs)`,
);
console.log(
  `  baseline filter:     p50 ${us(quantile(baseline, 0.5))}, p95 ${us(quantile(baseline, 0.95))}, p99 ${us(quantile(baseline, 0.99))}`,
);
console.log(`  per kind (${Math.ceil(DECISIONS / 5).toLocaleString('en')} each):`);
for (const { name, request } of requests) {
  const times = measure(
    (r, i) => router.route(withCaller(r, i), { registered }),
    () => request,
    Math.ceil(DECISIONS / 5),
  );
  console.log(`    ${name.padEnd(30)} p50 ${us(quantile(times, 0.5))}, p95 ${us(quantile(times, 0.95))}`);
}
