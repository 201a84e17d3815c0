import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain.js';
import type { AttemptOutcome } from '../../src/routing/routing-store.js';
import { RoutingStats, providerComparison, quantile, type JobObservation } from '../../src/routing/stats.js';
import { textCapabilities } from './fixtures.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const HOUR = 3_600_000;

function job(overrides: Partial<JobObservation> & { status: JobStatus }): JobObservation {
  return { provider: 'alpha', model: 'a-1', modality: 'TEXT', operation: 'GENERATE', finishedAt: NOW - HOUR, ...overrides };
}

const alpha = textCapabilities[0]!;

describe('quantile', () => {
  it('is the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.95)).toBe(95);
    expect(quantile([7], 0.95)).toBe(7);
    expect(quantile([], 0.5)).toBeNull();
  });
});

describe('RoutingStats', () => {
  it('uses the priors when there is no history', () => {
    const stats = new RoutingStats({ now: () => NOW });
    expect(stats.expected(alpha, 'GENERATE')).toEqual({
      latencyMs: 10_000,
      latencyP95Ms: null,
      successRate: 0.9,
      rating: 3,
      avgCostUsd: null,
      source: 'prior',
      samples: 0,
    });
  });

  it('blends history with the priors, the prior worth priorWeight observations', () => {
    const stats = new RoutingStats({ now: () => NOW, priorWeight: 10 });
    stats.load([
      ...Array.from({ length: 30 }, (_, i) => job({ status: 'SUCCEEDED', latencyMs: 1_000 + i * 100, costUsd: 0.02, rating: 5 })),
      ...Array.from({ length: 10 }, () => job({ status: 'FAILED' })),
      // The request's fault, not the provider's; and a canceled job: neither counts as a failure.
      job({ status: 'FAILED', errorCode: 'CONTENT_REJECTED' }),
      job({ status: 'CANCELED' }),
    ]);
    const observed = stats.observed('alpha', 'a-1', 'TEXT', 'GENERATE')!;
    expect(observed).toMatchObject({
      jobs: 42,
      succeeded: 30,
      failed: 10,
      successRate: 0.75,
      latencyP50Ms: 2_400,
      latencyP95Ms: 3_800,
      latencySamples: 30,
      ratings: 30,
    });
    expect(observed.avgCostUsd).toBeCloseTo(0.02, 12);
    const expected = stats.expected(alpha, 'GENERATE');
    expect(expected.source).toBe('observed');
    expect(expected.successRate).toBeCloseTo((0.75 * 40 + 0.9 * 10) / 50, 12);
    expect(expected.latencyMs).toBeCloseTo((2_400 * 30 + 10_000 * 10) / 40, 12);
    expect(expected.rating).toBeCloseTo((5 * 30 + 3 * 10) / 40, 12);
  });

  it('leaves out jobs older than the window, and keeps separate keys apart', () => {
    const stats = new RoutingStats({ now: () => NOW, windowMs: 24 * HOUR });
    stats.load([
      job({ status: 'FAILED', finishedAt: new Date(NOW - 48 * HOUR) }),
      job({ status: 'SUCCEEDED', latencyMs: 500 }),
      job({ status: 'SUCCEEDED', latencyMs: 500, operation: 'ANALYZE' }),
    ]);
    expect(stats.observed('alpha', 'a-1', 'TEXT', 'GENERATE')).toMatchObject({ jobs: 1, failed: 0 });
    expect(stats.observed('alpha', 'a-1', 'TEXT', 'ANALYZE')).toMatchObject({ jobs: 1 });
    expect(stats.observed('beta', 'b-1', 'TEXT', 'GENERATE')).toBeUndefined();
  });

  it("takes the routing store's outcomes as they are", () => {
    const outcome: AttemptOutcome = {
      provider: 'alpha',
      model: 'a-1',
      modality: 'TEXT',
      operation: 'GENERATE',
      status: 'SUCCEEDED',
      latencyMs: 1_200,
      costUsd: 0.01,
      rating: null,
      finishedAt: new Date(NOW - HOUR),
      errorCode: null,
      experiment: null,
      variant: null,
    };
    const legacy: AttemptOutcome = { ...outcome, model: null };
    const stats = new RoutingStats({ now: () => NOW });
    stats.load([outcome, legacy]);
    expect(stats.observed('alpha', 'a-1', 'TEXT', 'GENERATE')).toMatchObject({ jobs: 1, latencyP50Ms: 1_200 });
    expect(stats.comparison({ modality: 'TEXT', operation: 'GENERATE' }).map((row) => [row.model, row.jobs])).toEqual([
      [null, 1],
      ['a-1', 1],
    ]);
  });

  it('takes one job at a time between loads', () => {
    const stats = new RoutingStats({ now: () => NOW, priorWeight: 0 });
    expect(stats.expected(alpha, 'GENERATE').latencyMs).toBe(10_000);
    stats.observe(job({ status: 'SUCCEEDED', latencyMs: 2_000 }));
    expect(stats.expected(alpha, 'GENERATE')).toMatchObject({ latencyMs: 2_000, successRate: 1, source: 'observed' });
  });
});

describe('providerComparison', () => {
  it('aggregates per provider and model since a moment, most jobs first', () => {
    const rows: JobObservation[] = [
      job({ status: 'SUCCEEDED', latencyMs: 100, costUsd: 0.01, rating: 4 }),
      job({ status: 'SUCCEEDED', latencyMs: 300, costUsd: 0.03 }),
      job({ status: 'FAILED', costUsd: 0 }),
      job({ provider: 'beta', model: 'b-1', status: 'SUCCEEDED', latencyMs: 50, rating: 2 }),
      job({ provider: 'beta', model: 'b-1', status: 'SUCCEEDED', latencyMs: 70, finishedAt: NOW - 10 * HOUR }),
      job({ provider: 'gamma', model: 'g-1', status: 'SUCCEEDED', modality: 'IMAGE' }),
    ];
    const comparison = providerComparison(rows, { modality: 'TEXT', operation: 'GENERATE', since: new Date(NOW - 2 * HOUR) });
    expect(comparison).toEqual([
      {
        provider: 'alpha',
        model: 'a-1',
        jobs: 3,
        succeeded: 2,
        failed: 1,
        successRate: 2 / 3,
        latencyP50Ms: 100,
        latencyP95Ms: 300,
        latencySamples: 2,
        avgCostUsd: expect.closeTo(0.04 / 3, 12),
        avgRating: 4,
        ratings: 1,
      },
      {
        provider: 'beta',
        model: 'b-1',
        jobs: 1,
        succeeded: 1,
        failed: 0,
        successRate: 1,
        latencyP50Ms: 50,
        latencyP95Ms: 50,
        latencySamples: 1,
        avgCostUsd: null,
        avgRating: 2,
        ratings: 1,
      },
    ]);
  });
});
