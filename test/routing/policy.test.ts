import { describe, expect, it } from 'vitest';
import {
  RoutingPolicyError,
  checkRoutingPolicy,
  defaultRoutingPolicy,
  parseRoutingPolicy,
  revisePolicy,
  ruleFor,
} from '../../src/routing/policy.js';
import { policyWith } from './fixtures.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

describe('routing policy', () => {
  it('has defaults that validate and round-trip through JSON', () => {
    const policy = defaultRoutingPolicy(NOW);
    expect(policy).toMatchObject({ version: 1, updatedAt: '2025-06-01T12:00:00.000Z', updatedBy: 'defaults' });
    expect(parseRoutingPolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
    const generate = ruleFor(policy, 'VIDEO', 'GENERATE');
    expect(generate.tiers.PREMIUM).toEqual({ prefer: [{ provider: 'runway' }], avoid: [], exclude: [{ provider: 'local' }] });
    expect(generate.tiers.ECONOMY).toMatchObject({ prefer: [{ provider: 'local' }], strategy: 'CHEAPEST' });
    expect(ruleFor(policy, 'VIDEO', 'EDIT').complexity.SIMPLE.prefer).toEqual([{ provider: 'local' }]);
    expect(policy.circuitBreaker).toEqual({
      consecutiveFailures: 5,
      failureRatio: 0.5,
      windowMs: 60_000,
      minimumCalls: 10,
      halfOpenAfterMs: 30_000,
    });
  });

  it('fills every field a rule leaves out', () => {
    const rule = ruleFor(policyWith({ modality: 'TEXT', operation: 'GENERATE', strategy: 'FASTEST' }), 'TEXT', 'GENERATE');
    expect(rule).toMatchObject({
      strategy: 'FASTEST',
      weights: { cost: 0.25, latency: 0.2, successRate: 0.3, quality: 0.25 },
      fallback: {
        enabled: true,
        afterAcceptance: true,
        maxAttempts: 3,
        backoffBaseMs: 250,
        backoffCapMs: 8_000,
        jitter: 0.5,
        maxRetryAfterMs: 30_000,
      },
      experiments: [],
      canaries: [],
    });
    // A modality with no rule gets one with every default.
    expect(ruleFor(policyWith(), 'AUDIO', 'SPEAK')).toMatchObject({ modality: 'AUDIO', operation: 'SPEAK', strategy: 'BALANCED' });
  });

  it('reports every problem together, with its path', () => {
    const checked = checkRoutingPolicy({
      version: 0,
      updatedAt: 'yesterday',
      updatedBy: 'ops',
      policies: [
        { modality: 'VIDEO', operation: 'GENERATE', fallback: { maxAttempts: 0, backoffBaseMs: 100, backoffCapMs: 10 } },
        { modality: 'VIDEO', operation: 'GENERATE' },
        {
          modality: 'TEXT',
          operation: 'GENERATE',
          weights: { cost: 0, latency: 0, successRate: 0, quality: 0 },
          experiments: [
            {
              name: 'ab',
              variants: [
                { name: 'a', weight: 1 },
                { name: 'a', weight: 1 },
              ],
              bandit: { enabled: true, minWeight: 0.6 },
            },
          ],
        },
      ],
    });
    if (checked.ok) throw new Error('expected problems');
    expect(checked.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'version' }),
        expect.objectContaining({ path: 'updatedAt' }),
        expect.objectContaining({ path: 'policies.0.fallback.maxAttempts' }),
        { path: 'policies.0.fallback.backoffCapMs', message: 'backoffCapMs must be at least backoffBaseMs' },
        { path: 'policies.1', message: 'a second rule for VIDEO GENERATE' },
        { path: 'policies.2.weights', message: 'at least one weight must be above 0' },
        { path: 'policies.2.experiments.0.variants', message: 'variant names must be unique' },
        expect.objectContaining({ path: 'policies.2.experiments.0.bandit' }),
      ]),
    );
    expect(() => parseRoutingPolicy({ version: 1 }, 'routing.json')).toThrow(RoutingPolicyError);
  });

  it('makes revisions: version + 1, stamped', () => {
    const policy = defaultRoutingPolicy(NOW);
    const next = revisePolicy(
      policy,
      { policies: [{ modality: 'TEXT', operation: 'GENERATE', strategy: 'CHEAPEST' }] },
      'admin@example.com',
      NOW + 1_000,
    );
    expect(next).toMatchObject({ version: 2, updatedAt: '2025-06-01T12:00:01.000Z', updatedBy: 'admin@example.com' });
    expect(next.policies).toHaveLength(1);
    expect(next.circuitBreaker).toEqual(policy.circuitBreaker);
  });
});
