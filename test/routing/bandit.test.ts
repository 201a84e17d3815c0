import { describe, expect, it } from 'vitest';
import { boundWeights, jobReward, proposeBanditRevision, type BanditObservation } from '../../src/routing/bandit.js';
import type { RoutingPolicy } from '../../src/routing/policy.js';
import { seededRandom } from '../../src/routing/random.js';
import { Router, assignVariant } from '../../src/routing/router.js';
import { policyWith, textCapabilities, textRequest } from './fixtures.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

function banditPolicy(bounds: { minWeight: number; maxWeight: number } = { minWeight: 0.1, maxWeight: 0.9 }): RoutingPolicy {
  return policyWith({
    modality: 'TEXT',
    operation: 'GENERATE',
    experiments: [
      {
        name: 'alpha-vs-beta',
        variants: [
          { name: 'alpha', weight: 50, prefer: [{ provider: 'alpha' }] },
          { name: 'beta', weight: 50, prefer: [{ provider: 'beta' }] },
        ],
        bandit: { enabled: true, minObservations: 20, ...bounds },
      },
    ],
  });
}

const weightsOf = (policy: RoutingPolicy) =>
  Object.fromEntries(policy.policies[0]!.experiments[0]!.variants.map((variant) => [variant.name, variant.weight]));

describe('jobReward', () => {
  const reward = banditPolicy().policies[0]!.experiments[0]!.bandit!.reward;

  it('is 0 for a failure, null for a job that neither succeeded nor failed', () => {
    expect(jobReward({ status: 'FAILED', latencyMs: 10 }, reward)).toBe(0);
    expect(jobReward({ status: 'CANCELED' }, reward)).toBeNull();
  });

  it('folds success, latency, cost and rating into [0, 1]', () => {
    expect(jobReward({ status: 'SUCCEEDED' }, reward)).toBe(1);
    // At the targets latency and cost score 0.5; a rating of 3 scores 0.5.
    const atTargets = jobReward(
      { status: 'SUCCEEDED', latencyMs: reward.latencyTargetMs, costUsd: reward.costTargetUsd, rating: 3 },
      reward,
    )!;
    expect(atTargets).toBeCloseTo((0.4 + 0.2 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5) / 1, 12);
    const perfect = jobReward({ status: 'SUCCEEDED', latencyMs: 0, costUsd: 0, rating: 5 }, reward);
    expect(perfect).toBe(1);
  });
});

describe('boundWeights', () => {
  it('keeps proportions where it can and every weight within the bounds, adding up to 1', () => {
    const weights = boundWeights([0.98, 0.01, 0.01], 0.05, 0.8);
    expect(weights[0]).toBeCloseTo(0.8, 12);
    expect(weights[1]).toBeCloseTo(0.1, 12);
    expect(weights[2]).toBeCloseTo(0.1, 12);
    const lopsided = boundWeights([1, 0, 0, 0], 0.1, 0.9);
    expect(lopsided).toEqual([0.7, 0.1, 0.1, 0.1].map((w) => expect.closeTo(w, 12)));
    expect(boundWeights([0.3, 0.7], 0, 1)).toEqual([expect.closeTo(0.3, 12), expect.closeTo(0.7, 12)]);
    expect(boundWeights([1, 0], 0, 0.9)).toEqual([expect.closeTo(0.9, 9), expect.closeTo(0.1, 9)]);
  });
});

describe('proposeBanditRevision', () => {
  it('waits for enough observations per variant', () => {
    const policy = banditPolicy();
    const observations: BanditObservation[] = Array.from({ length: 30 }, () => ({
      experiment: 'alpha-vs-beta',
      variant: 'alpha',
      status: 'SUCCEEDED',
    }));
    const result = proposeBanditRevision(policy, observations, { random: seededRandom(1), now: NOW });
    expect(result.policy).toBe(policy);
    expect(result.shifts).toEqual([]);
    expect(result.skipped).toEqual([{ experiment: 'alpha-vs-beta', reason: 'fewer than 20 finished jobs for beta' }]);
  });

  it('moves traffic toward the better variant over simulated rounds, within the bounds', () => {
    // The router splits traffic by the current weights; alpha succeeds 90 % of the time, beta 60 %.
    const successRate: Record<string, number> = { alpha: 0.9, beta: 0.6 };
    const traffic = seededRandom(11);
    const outcomes = seededRandom(12);
    const thompson = seededRandom(13);
    let policy = banditPolicy();
    const router = new Router({ capabilities: textCapabilities, policy, random: traffic });
    const history: number[] = [weightsOf(policy).alpha! / 100];

    for (let round = 1; round <= 6; round++) {
      const observations: BanditObservation[] = [];
      for (let i = 0; i < 200; i++) {
        const result = router.route(textRequest());
        const variant = result.experiment!.variant;
        const succeeded = outcomes() < successRate[variant]!;
        observations.push({
          experiment: 'alpha-vs-beta',
          variant,
          modality: 'TEXT',
          operation: 'GENERATE',
          status: succeeded ? 'SUCCEEDED' : 'FAILED',
        });
      }
      const result = proposeBanditRevision(policy, observations, { random: thompson, now: NOW + round * 60_000 });
      if (result.shifts.length > 0) {
        expect(result.policy.version).toBe(policy.version + 1);
        expect(result.policy.updatedBy).toBe('bandit');
        expect(result.shifts[0]!.posteriors.map((p) => p.variant)).toEqual(['alpha', 'beta']);
      }
      policy = result.policy;
      router.setPolicy(policy);
      const weights = weightsOf(policy);
      for (const weight of Object.values(weights)) {
        expect(weight).toBeGreaterThanOrEqual(0.1);
        expect(weight).toBeLessThanOrEqual(0.9);
      }
      history.push(weights.alpha! / (weights.alpha! + weights.beta!));
    }
    expect(history.at(-1)).toBeCloseTo(0.9, 6);
    expect(policy.version).toBeGreaterThan(1);
    // Later rounds route more traffic to alpha.
    let alpha = 0;
    for (let i = 0; i < 2_000; i++) if (router.route(textRequest()).experiment!.variant === 'alpha') alpha++;
    expect(alpha / 2_000).toBeGreaterThan(0.85);
  });

  it('is deterministic for a seed', () => {
    const observations: BanditObservation[] = [
      ...Array.from(
        { length: 25 },
        (_, i) => ({ experiment: 'alpha-vs-beta', variant: 'alpha', status: i % 5 === 0 ? 'FAILED' : 'SUCCEEDED' }) as const,
      ),
      ...Array.from(
        { length: 25 },
        (_, i) => ({ experiment: 'alpha-vs-beta', variant: 'beta', status: i % 3 === 0 ? 'FAILED' : 'SUCCEEDED' }) as const,
      ),
    ];
    const run = () => proposeBanditRevision(banditPolicy(), observations, { random: seededRandom(5), now: NOW }).shifts;
    expect(run()).toEqual(run());
    const result = proposeBanditRevision(banditPolicy(), observations, { random: seededRandom(5), now: NOW });
    expect(result.reason).toMatch(/^bandit: TEXT GENERATE alpha-vs-beta: alpha 0\.5 → 0\.\d+, beta 0\.5 → 0\.\d+$/);
    const [shift] = run();
    expect(shift!.after.alpha).toBeGreaterThan(0.5);
    expect(shift!.after.alpha! + shift!.after.beta!).toBeCloseTo(1, 12);
  });

  it('sticky callers keep their variant until the weights move past them', () => {
    const policy = banditPolicy();
    const experiment = policy.policies[0]!.experiments[0]!;
    const before = Array.from({ length: 1_000 }, (_, i) => assignVariant(experiment, `caller-${i}`, seededRandom(1)).name);
    const shifted = { ...experiment, variants: experiment.variants.map((v) => ({ ...v, weight: v.name === 'alpha' ? 70 : 30 })) };
    const after = Array.from({ length: 1_000 }, (_, i) => assignVariant(shifted, `caller-${i}`, seededRandom(1)).name);
    // Moving weight from beta to alpha only moves callers from beta to alpha.
    before.forEach((variant, i) => {
      if (variant === 'alpha') expect(after[i]).toBe('alpha');
    });
  });
});
