import { describe, expect, it } from 'vitest';
import { defaultCapabilities } from '../../src/routing/capabilities.js';
import { defaultRoutingPolicy, type RoutingPolicy } from '../../src/routing/policy.js';
import { seededRandom } from '../../src/routing/random.js';
import { Router, assignVariant, type RouteContext, type RouteResult } from '../../src/routing/router.js';
import type { RouteRequest } from '../../src/routing/request.js';
import { RoutingStats } from '../../src/routing/stats.js';
import { editRequest, extendRequest, generateRequest, policyWith, textCapabilities, textRequest } from './fixtures.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

function textRouter(policy: RoutingPolicy = policyWith(), stats?: RoutingStats): Router {
  return new Router({ capabilities: textCapabilities, policy, random: seededRandom(7), ...(stats ? { stats } : {}) });
}

function videoRouter(options: { policy?: RoutingPolicy; health?: { isOpen(provider: string, model: string): boolean } } = {}): Router {
  return new Router({
    capabilities: defaultCapabilities(),
    policy: options.policy ?? defaultRoutingPolicy(NOW),
    random: seededRandom(7),
    ...(options.health ? { health: options.health } : {}),
  });
}

function routed(result: RouteResult) {
  if (result.outcome !== 'ROUTED') throw new Error(`expected ROUTED, got ${result.outcome}: ${JSON.stringify(result.filtered)}`);
  return result;
}

const names = (result: RouteResult) => routed(result).candidates.map((c) => `${c.provider}/${c.model}`);
const providers = (result: RouteResult) => routed(result).candidates.map((c) => c.provider);
const filteredAs = (result: RouteResult, code: string) =>
  result.filtered.filter((f) => f.code === code).map((f) => `${f.provider}/${f.model}`);

describe('strategies', () => {
  it('BALANCED ranks by the weighted parts and explains each part', () => {
    const result = routed(textRouter().route(textRequest()));
    expect(result.strategy).toBe('BALANCED');
    expect(providers(result)).toEqual(['beta', 'gamma', 'alpha']);

    // Cost and latency score against the candidates' medians ($0.05, 5 s); success and quality as they are.
    expect(result.references).toEqual({ costUsd: 0.05, latencyMs: 5_000 });
    const [beta, gamma, alpha] = result.candidates;
    const close = (parts: object, expected: Record<string, number>) =>
      Object.entries(expected).forEach(([part, value]) => expect((parts as Record<string, number>)[part]).toBeCloseTo(value, 12));
    close(alpha!.parts, { cost: 0.05 / 0.06, latency: 5_000 / 15_000, successRate: 0.9, quality: 0.5 });
    close(beta!.parts, { cost: 0.5, latency: 5_000 / 6_000, successRate: 0.95, quality: 0.625 });
    close(gamma!.parts, { cost: 0.05 / 0.25, latency: 0.5, successRate: 0.99, quality: 0.95 });
    for (const candidate of result.candidates) {
      const { weights: w, parts: p } = candidate;
      const expected =
        (w.cost * p.cost + w.latency * p.latency + w.successRate * p.successRate + w.quality * p.quality) /
        (w.cost + w.latency + w.successRate + w.quality);
      expect(candidate.balancedScore).toBeCloseTo(expected, 12);
      expect(candidate.score).toBe(candidate.balancedScore);
      expect(candidate.expected.source).toBe('prior');
    }
    expect(result.candidates.map((c) => c.rank)).toEqual([1, 2, 3]);
    expect(beta!.estimatedCostUsd).toBe(0.05);
  });

  it('BALANCED scores against configured references', () => {
    const policy = policyWith({ modality: 'TEXT', operation: 'GENERATE', references: { costUsd: 0.01, latencyMs: 1_000 } });
    const result = routed(textRouter(policy).route(textRequest()));
    expect(result.references).toEqual({ costUsd: 0.01, latencyMs: 1_000 });
    const alpha = result.candidates.find((c) => c.provider === 'alpha')!;
    expect(alpha.parts.cost).toBe(0.5);
    expect(alpha.parts.latency).toBeCloseTo(1 / 11, 12);
  });

  it('BALANCED follows the policy weights', () => {
    const costOnly = policyWith({ modality: 'TEXT', operation: 'GENERATE', weights: { cost: 1, latency: 0, successRate: 0, quality: 0 } });
    expect(providers(textRouter(costOnly).route(textRequest()))).toEqual(['alpha', 'beta', 'gamma']);
    const qualityOnly = policyWith({
      modality: 'TEXT',
      operation: 'GENERATE',
      weights: { cost: 0, latency: 0, successRate: 0, quality: 1 },
    });
    expect(providers(textRouter(qualityOnly).route(textRequest()))).toEqual(['gamma', 'beta', 'alpha']);
  });

  it('CHEAPEST orders by the estimate', () => {
    const result = routed(textRouter().route(textRequest({ strategy: 'CHEAPEST' })));
    expect(providers(result)).toEqual(['alpha', 'beta', 'gamma']);
    expect(result.candidates.map((c) => c.estimatedCostUsd)).toEqual([0.01, 0.05, 0.2]);
    expect(result.candidates[0]!.score).toBe(result.candidates[0]!.parts.cost);
  });

  it('FASTEST orders by the expected time to complete', () => {
    const result = routed(textRouter().route(textRequest({ strategy: 'FASTEST' })));
    expect(providers(result)).toEqual(['beta', 'gamma', 'alpha']);
    expect(result.candidates.map((c) => c.expected.latencyMs)).toEqual([1_000, 5_000, 10_000]);
  });

  it('FASTEST follows observed latency once there is history', () => {
    const stats = new RoutingStats({ now: () => NOW, priorWeight: 2 });
    const row = (provider: string, model: string, latencyMs: number) => ({
      provider,
      model,
      modality: 'TEXT' as const,
      operation: 'GENERATE' as const,
      status: 'SUCCEEDED' as const,
      latencyMs,
      finishedAt: NOW - 60_000,
    });
    stats.load([
      ...Array.from({ length: 40 }, () => row('alpha', 'a-1', 300)),
      ...Array.from({ length: 40 }, () => row('beta', 'b-1', 4_000)),
    ]);
    const result = routed(textRouter(policyWith(), stats).route(textRequest({ strategy: 'FASTEST' })));
    expect(providers(result)).toEqual(['alpha', 'beta', 'gamma']);
    expect(result.candidates[0]!.expected).toMatchObject({ source: 'observed', samples: 40 });
    // 40 observations of 300 ms blended with a prior of 10 s worth 2.
    expect(result.candidates[0]!.expected.latencyMs).toBeCloseTo((300 * 40 + 10_000 * 2) / 42, 6);
  });

  it('BEST_QUALITY orders by rating, observed ratings included', () => {
    expect(providers(textRouter().route(textRequest({ strategy: 'BEST_QUALITY' })))).toEqual(['gamma', 'beta', 'alpha']);

    const stats = new RoutingStats({ now: () => NOW });
    const ratedFive = {
      provider: 'alpha',
      model: 'a-1',
      modality: 'TEXT' as const,
      operation: 'GENERATE' as const,
      status: 'SUCCEEDED' as const,
      rating: 5,
      finishedAt: NOW - 1_000,
    };
    stats.load(Array.from({ length: 50 }, () => ({ ...ratedFive })));
    // 50 ratings of 5 against a prior of 3 worth 10: (250 + 30) / 60 = 4.67, still under gamma's 4.8 ...
    expect(providers(textRouter(policyWith(), stats).route(textRequest({ strategy: 'BEST_QUALITY' })))[0]).toBe('gamma');
    // ... and 150: (750 + 30) / 160 = 4.875.
    stats.load(Array.from({ length: 150 }, () => ({ ...ratedFive })));
    expect(providers(textRouter(policyWith(), stats).route(textRequest({ strategy: 'BEST_QUALITY' })))[0]).toBe('alpha');
  });

  it('takes the strategy from the request, else the tier, else the rule', () => {
    const policy = policyWith({
      modality: 'TEXT',
      operation: 'GENERATE',
      strategy: 'FASTEST',
      tiers: { ECONOMY: { strategy: 'CHEAPEST' } },
    });
    const router = textRouter(policy);
    expect(router.route(textRequest()).strategy).toBe('FASTEST');
    expect(router.route(textRequest({ tier: 'ECONOMY' })).strategy).toBe('CHEAPEST');
    expect(router.route(textRequest({ tier: 'ECONOMY', strategy: 'BEST_QUALITY' })).strategy).toBe('BEST_QUALITY');
  });
});

describe('tiers (default policy)', () => {
  const router = videoRouter();

  it('PREMIUM video prefers Runway and never draws a title card for a generation', () => {
    const result = router.route(generateRequest({}, { tier: 'PREMIUM' }));
    expect(providers(result)[0]).toBe('runway');
    expect(routed(result).candidates[0]!.preference).toBe('the PREMIUM tier prefers it');
    expect(filteredAs(result, 'TIER')).toEqual(['local/ffmpeg']);
  });

  it('STANDARD generation turns to the local title card only after every cloud provider', () => {
    const result = router.route(generateRequest());
    expect(providers(result).at(-1)).toBe('local');
    expect(providers(result).slice(0, -1)).not.toContain('local');
  });

  it('ECONOMY prefers the local provider, then the cheapest', () => {
    const result = routed(router.route(generateRequest({}, { tier: 'ECONOMY' })));
    expect(result.strategy).toBe('CHEAPEST');
    expect(providers(result)[0]).toBe('local');
    const rest = result.candidates.slice(1).map((c) => c.estimatedCostUsd);
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
  });

  it('ECONOMY does not put the local provider first for complex work', () => {
    const result = routed(router.route(generateRequest({ resolution: '1080p' }, { tier: 'ECONOMY' })));
    expect(result.complexity).toBe('COMPLEX');
    expect(providers(result).at(-1)).toBe('local');
    expect(result.candidates.at(-1)!.preference).toBe('COMPLEX work avoids it');
  });

  it('a tier can exclude providers', () => {
    const policy = policyWith({ modality: 'TEXT', operation: 'GENERATE', tiers: { ECONOMY: { exclude: [{ provider: 'gamma' }] } } });
    const result = textRouter(policy).route(textRequest({ tier: 'ECONOMY' }));
    expect(providers(result)).not.toContain('gamma');
    expect(result.filtered).toEqual([{ provider: 'gamma', model: 'g-1', code: 'TIER', reason: 'the ECONOMY tier excludes it' }]);
  });
});

describe('complexity routes (default policy)', () => {
  const router = videoRouter();

  it('a simple edit goes to the local provider first', () => {
    const result = routed(router.route(editRequest('trim to the first 3 seconds and make it black and white')));
    expect(result.complexity).toBe('SIMPLE');
    expect(names(result)[0]).toBe('local/ffmpeg');
    expect(result.candidates[0]!.preference).toBe('SIMPLE work prefers it');
  });

  it('a generative edit goes to the cloud', () => {
    const result = routed(router.route(editRequest('turn the cat into a dog')));
    expect(result.complexity).toBe('COMPLEX');
    expect(providers(result)).not.toContain('local');
    expect(providers(result).sort()).toEqual(['runway', 'together']);
    expect(result.filtered).toContainEqual(
      expect.objectContaining({ provider: 'local', code: 'CAPABILITY', reason: 'does no generative edits' }),
    );
  });

  it('a loop or boomerang extension only the local provider does faithfully', () => {
    const result = routed(router.route(extendRequest('boomerang', 2)));
    expect(result.complexity).toBe('SIMPLE');
    expect(names(result)).toEqual(['local/ffmpeg']);
  });

  it('an extension with no prompt prefers the local freeze, the cloud continuation after', () => {
    const result = routed(router.route(extendRequest(undefined, 5)));
    expect(result.complexity).toBe('SIMPLE');
    expect(providers(result)[0]).toBe('local');
    expect(providers(result).length).toBeGreaterThan(1);
  });

  it('a described continuation goes to the cloud', () => {
    const result = routed(router.route(extendRequest('the boat sails out of the harbour', 5)));
    expect(result.complexity).toBe('STANDARD');
    expect(providers(result)).not.toContain('local');
  });

  it('long or 1080p generations are COMPLEX', () => {
    expect(router.route(generateRequest({ durationSeconds: 30 })).complexity).toBe('COMPLEX');
    expect(router.route(generateRequest({ resolution: '1080p' })).complexity).toBe('COMPLEX');
    expect(router.route(generateRequest({ imageUrl: 'https://example.com/frame.png' })).complexity).toBe('COMPLEX');
    expect(router.route(generateRequest({ durationSeconds: 5 })).complexity).toBe('SIMPLE');
    expect(router.route(generateRequest({ durationSeconds: 15 })).complexity).toBe('STANDARD');
  });

  it('a complexity rule can prefer a provider', () => {
    const policy = policyWith({ modality: 'TEXT', operation: 'GENERATE', complexity: { STANDARD: { prefer: [{ provider: 'alpha' }] } } });
    const result = routed(textRouter(policy).route(textRequest()));
    expect(providers(result)).toEqual(['alpha', 'beta', 'gamma']);
    expect(result.candidates[0]!.preference).toBe('STANDARD work prefers it');
  });
});

describe('filters', () => {
  it('a pinned provider is the only candidate', () => {
    const result = videoRouter().route(generateRequest({}, { pin: { provider: 'replicate' } }));
    expect(providers(result)).toEqual(['replicate']);
    expect(filteredAs(result, 'PIN')).toEqual(
      expect.arrayContaining(['local/ffmpeg', 'runway/gen4.5', 'together/ByteDance/Seedance-1.0-lite']),
    );
  });

  it('a pinned model is the only candidate, and the tier cannot exclude it', () => {
    const result = videoRouter().route(
      generateRequest({ imageUrl: 'https://example.com/f.png' }, { pin: { provider: 'replicate', model: 'kwaivgi/kling-v2.1' } }),
    );
    expect(names(result)).toEqual(['replicate/kwaivgi/kling-v2.1']);
    const local = videoRouter().route(generateRequest({}, { tier: 'PREMIUM', pin: { provider: 'local' } }));
    expect(names(local)).toEqual(['local/ffmpeg']);
  });

  it('a pinned model nobody declares names itself in the filtered list', () => {
    const result = videoRouter().route(generateRequest({}, { pin: { provider: 'runway', model: 'gen9' } }));
    expect(result.outcome).toBe('NO_CANDIDATE');
    expect(result.filtered).toContainEqual({
      provider: 'runway',
      model: 'gen9',
      code: 'CAPABILITY',
      reason: 'runway declares no model gen9',
    });
  });

  it('leaves out providers that are not registered', () => {
    const result = videoRouter().route(generateRequest(), { registered: new Set(['local', 'runway']) });
    expect(new Set(providers(result))).toEqual(new Set(['local', 'runway']));
    expect(filteredAs(result, 'NOT_REGISTERED')).toContain('together/ByteDance/Seedance-1.0-lite');
  });

  it('maxCostUsd leaves out the dear candidates', () => {
    const result = routed(textRouter().route(textRequest({ maxCostUsd: 0.06 })));
    expect(providers(result)).toEqual(['beta', 'alpha']);
    expect(result.filtered).toEqual([
      { provider: 'gamma', model: 'g-1', code: 'OVER_BUDGET', reason: 'estimated $0.20, above the $0.06 allowed', estimatedCostUsd: 0.2 },
    ]);
  });

  it('when nothing fits the budget, names the cheapest estimate', () => {
    const result = videoRouter().route(generateRequest({}, { tier: 'PREMIUM', maxCostUsd: 0.05 }));
    expect(result).toMatchObject({
      outcome: 'OVER_BUDGET',
      maxCostUsd: 0.05,
      cheapest: { provider: 'together', model: 'ByteDance/Seedance-1.0-lite' },
      candidates: [],
    });
    if (result.outcome !== 'OVER_BUDGET') throw new Error('unreachable');
    expect(result.cheapest.estimatedCostUsd).toBeCloseTo(0.14, 10);
    // Candidates refused for another reason are not "the cheapest".
    expect(filteredAs(result, 'TIER')).toEqual(['local/ffmpeg']);
  });

  it('leaves out a candidate whose circuit is open', () => {
    const open = new Set(['runway/gen4.5']);
    const result = videoRouter({ health: { isOpen: (provider, model) => open.has(`${provider}/${model}`) } }).route(
      generateRequest({}, { tier: 'PREMIUM' }),
    );
    expect(providers(result)).not.toContain('runway');
    expect(result.filtered).toContainEqual({
      provider: 'runway',
      model: 'gen4.5',
      code: 'CIRCUIT_OPEN',
      reason: 'its circuit breaker is open',
    });
  });

  it('leaves out candidates already tried and those the adapter refuses', () => {
    const context: RouteContext = {
      exclude: [{ provider: 'beta', model: 'b-1' }],
      supports: ({ provider }) => (provider === 'gamma' ? { ok: false, reason: 'gamma cannot today' } : { ok: true }),
    };
    const result = textRouter().route(textRequest(), context);
    expect(providers(result)).toEqual(['alpha']);
    expect(result.filtered.map((f) => [f.provider, f.code, f.reason])).toEqual([
      ['beta', 'EXCLUDED', 'already tried for this job'],
      ['gamma', 'UNSUPPORTED', 'gamma cannot today'],
    ]);
  });

  it('says so when no provider declares the work', () => {
    const result = textRouter().route({ modality: 'AUDIO', operation: 'SPEAK' });
    expect(result).toMatchObject({ outcome: 'NO_CANDIDATE', candidates: [], filtered: [] });
  });

  it('checks video limits: first frame, length, resolution, ratio', () => {
    const router = videoRouter();
    const portrait = router.route(generateRequest({ aspectRatio: '1:1' }, { pin: { provider: 'runway' } }));
    expect(portrait.filtered).toContainEqual(
      expect.objectContaining({ model: 'gen4.5', code: 'CAPABILITY', reason: 'frames 16:9, 9:16, not 1:1' }),
    );
    const long = router.route(generateRequest({ durationSeconds: 30 }, { pin: { provider: 'runway' } }));
    expect(long.filtered).toContainEqual(expect.objectContaining({ model: 'gen4.5', reason: 'makes 2 to 10 s, not 30 s' }));
    const minimax = router.route(generateRequest({ durationSeconds: 10 }, { pin: { provider: 'replicate', model: 'minimax/video-01' } }));
    expect(minimax.filtered).toContainEqual(expect.objectContaining({ model: 'minimax/video-01', reason: 'makes 6 s videos, not 10 s' }));
  });
});

describe('experiments', () => {
  const split = (weights: [number, number], extra: object = {}) =>
    policyWith({
      modality: 'TEXT',
      operation: 'GENERATE',
      experiments: [
        {
          name: 'gamma-vs-alpha',
          variants: [
            { name: 'gamma', weight: weights[0], prefer: [{ provider: 'gamma' }] },
            { name: 'alpha', weight: weights[1], prefer: [{ provider: 'alpha' }] },
          ],
          ...extra,
        },
      ],
    });

  it('splits 70/30 within 2 % over 10,000 callers, and routes each to its variant', () => {
    const router = textRouter(split([70, 30]));
    let gamma = 0;
    for (let i = 0; i < 10_000; i++) {
      const result = routed(router.route(textRequest({ callerKey: `caller-${i}` })));
      expect(result.experiment?.name).toBe('gamma-vs-alpha');
      const variant = result.experiment!.variant;
      expect(result.candidates[0]!.provider).toBe(variant);
      expect(result.experiment!.applied).toBe(true);
      if (variant === 'gamma') gamma++;
    }
    expect(Math.abs(gamma / 10_000 - 0.7)).toBeLessThan(0.02);
  });

  it('splits callers with no key at random, from the seeded generator', () => {
    const router = textRouter(split([30, 70]));
    let gamma = 0;
    for (let i = 0; i < 10_000; i++) if (router.route(textRequest()).experiment!.variant === 'gamma') gamma++;
    expect(Math.abs(gamma / 10_000 - 0.3)).toBeLessThan(0.02);
  });

  it('keeps a caller on its variant (sticky), across routers and policy revisions', () => {
    const first = textRouter(split([50, 50]));
    const second = new Router({ capabilities: textCapabilities, policy: split([50, 50]), random: seededRandom(99) });
    for (let i = 0; i < 200; i++) {
      const caller = `sticky-${i}`;
      const variant = first.route(textRequest({ callerKey: caller })).experiment!.variant;
      for (let repeat = 0; repeat < 3; repeat++) expect(first.route(textRequest({ callerKey: caller })).experiment!.variant).toBe(variant);
      expect(second.route(textRequest({ callerKey: caller })).experiment!.variant).toBe(variant);
    }
  });

  it('assignVariant skips variants of weight 0', () => {
    const experiment = {
      name: 'e',
      variants: [
        { name: 'off', weight: 0, prefer: [] },
        { name: 'on', weight: 1, prefer: [] },
      ],
    };
    for (let i = 0; i < 100; i++) expect(assignVariant(experiment, `c${i}`, seededRandom(1)).name).toBe('on');
  });

  it('applies only to the tiers and complexities it names', () => {
    const router = textRouter(split([50, 50], { tiers: ['PREMIUM'] }));
    expect(router.route(textRequest()).experiment).toBeUndefined();
    expect(router.route(textRequest({ tier: 'PREMIUM', callerKey: 'x' })).experiment?.name).toBe('gamma-vs-alpha');
  });

  it('says when the variant could not decide the route, and leaves pinned requests out', () => {
    const router = textRouter(split([50, 50]));
    const caller = Array.from({ length: 100 }, (_, i) => `c${i}`).find(
      (key) => router.route(textRequest({ callerKey: key })).experiment!.variant === 'gamma',
    )!;
    const unavailable = router.route(textRequest({ callerKey: caller }), { registered: new Set(['alpha', 'beta']) });
    expect(unavailable.experiment).toEqual({ name: 'gamma-vs-alpha', variant: 'gamma', applied: false });
    expect(router.route(textRequest({ callerKey: caller, pin: { provider: 'gamma' } })).experiment).toBeUndefined();
  });

  it('a variant can change the strategy', () => {
    const policy = policyWith({
      modality: 'TEXT',
      operation: 'GENERATE',
      experiments: [
        {
          name: 'strategy',
          variants: [
            { name: 'cheap', weight: 1, strategy: 'CHEAPEST' },
            { name: 'never', weight: 0 },
          ],
        },
      ],
    });
    const result = textRouter(policy).route(textRequest({ callerKey: 'c' }));
    expect(result.strategy).toBe('CHEAPEST');
    expect(providers(result)[0]).toBe('alpha');
  });
});

describe('canaries', () => {
  it('gives a canary its share of callers, first, and keeps it from everyone else', () => {
    const policy = policyWith({ modality: 'TEXT', operation: 'GENERATE', canaries: [{ provider: 'gamma', model: 'g-1', weight: 0.1 }] });
    const router = textRouter(policy);
    let inSlice = 0;
    for (let i = 0; i < 10_000; i++) {
      const result = routed(router.route(textRequest({ callerKey: `caller-${i}` })));
      if (result.candidates[0]!.provider === 'gamma') {
        inSlice++;
        expect(result.candidates[0]!.preference).toBe('a canary, and this request is in its slice');
      } else {
        expect(providers(result)).not.toContain('gamma');
        expect(result.filtered[0]).toMatchObject({ provider: 'gamma', code: 'CANARY' });
      }
    }
    expect(Math.abs(inSlice / 10_000 - 0.1)).toBeLessThan(0.01);
  });
});

describe('policy changes', () => {
  it('take effect on the next decision, without a new router', () => {
    const router = textRouter();
    expect(providers(router.route(textRequest()))[0]).toBe('beta');
    router.setPolicy({ ...policyWith({ modality: 'TEXT', operation: 'GENERATE', strategy: 'CHEAPEST' }), version: 2 });
    const result = router.route(textRequest());
    expect(result.policyVersion).toBe(2);
    expect(providers(result)[0]).toBe('alpha');
  });
});

describe('short modalities on the default capabilities', () => {
  it('routes each to Together with a cost estimate from the configured prices', () => {
    const router = videoRouter();
    const requests: RouteRequest[] = [
      { modality: 'TEXT', operation: 'GENERATE', usage: { inputTokens: 1_000_000, outputTokens: 0 } },
      { modality: 'AUDIO', operation: 'SPEAK', usage: { characters: 1_000_000 } },
      { modality: 'AUDIO', operation: 'TRANSCRIBE', usage: { audioSeconds: 120 } },
      { modality: 'IMAGE', operation: 'GENERATE', usage: { images: 1, width: 1000, height: 1000 } },
      { modality: 'VISION', operation: 'ANALYZE' },
      { modality: 'CODE', operation: 'GENERATE' },
    ];
    const costs = requests.map((request) => routed(router.route(request)).candidates[0]!.estimatedCostUsd);
    [0.88, 65, 0.003, 0.0027].forEach((expected, index) => expect(costs[index]).toBeCloseTo(expected, 10));
    for (const request of requests) expect(providers(router.route(request))).toEqual(['together']);
  });
});
