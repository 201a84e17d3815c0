// Observed figures per provider, model and operation, kept in memory for the
// router: latency (time to complete) p50/p95, success rate, average cost and
// rating. Loaded from recent jobs and refreshed by the caller; until a
// provider has history its declared priors stand in, and while history is
// thin the two are blended (the prior counts as `priorWeight` observations).

import type { JobErrorCode, JobOperation, JobStatus, Modality } from '../domain.js';
import { expectationFor, type Capability } from './capabilities.js';
import { isProviderFault } from './failures.js';

/** One finished job (or attempt), as read from the database. */
export interface JobObservation {
  provider: string;
  /**
   * The model the attempt ran (the router names one for every candidate,
   * LOCAL_MODEL for the local provider). Null rows (attempts recorded before
   * routing) appear in providerComparison but match no capability.
   */
  model: string | null;
  modality: Modality;
  operation: JobOperation;
  status: JobStatus;
  /** Time to complete: from submission to the terminal state (async work included). */
  latencyMs?: number | null;
  costUsd?: number | null;
  /** 1..5 from rateJob. */
  rating?: number | null;
  finishedAt: Date | number;
  /** A failure that was the request's fault (VALIDATION, CONTENT_REJECTED) does not count against the provider. */
  errorCode?: JobErrorCode | null;
}

/** What the history says, before any prior. */
export interface ObservedFigures {
  jobs: number;
  succeeded: number;
  /** Failures that were the provider's fault. */
  failed: number;
  /** succeeded / (succeeded + failed); null without outcomes. */
  successRate: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  /** Succeeded jobs with a latency. */
  latencySamples: number;
  avgCostUsd: number | null;
  avgRating: number | null;
  ratings: number;
}

/** What the router expects of a candidate: observed figures blended with its priors. */
export interface ExpectedFigures {
  latencyMs: number;
  latencyP95Ms: number | null;
  successRate: number;
  rating: number;
  avgCostUsd: number | null;
  /** prior: no history yet; observed: history blended with the prior. */
  source: 'prior' | 'observed';
  samples: number;
}

export interface ComparisonRow extends ObservedFigures {
  provider: string;
  model: string | null;
}

export interface RoutingStatsOptions {
  /** Milliseconds since the epoch; a fake clock in tests. */
  now?: () => number;
  /** Jobs older than this are left out of `load`. */
  windowMs?: number;
  /** How many observations a prior is worth. */
  priorWeight?: number;
  /** Latency samples kept per key between loads (the newest). */
  maxSamples?: number;
}

const DEFAULT_WINDOW_MS = 7 * 24 * 60 * 60_000;
const DEFAULT_PRIOR_WEIGHT = 10;
const DEFAULT_MAX_SAMPLES = 2_000;

/** Running totals for one provider, model, modality and operation. */
class Tally {
  jobs = 0;
  succeeded = 0;
  failed = 0;
  latencies: number[] = [];
  sorted = true;
  costSum = 0;
  costs = 0;
  ratingSum = 0;
  ratings = 0;

  add(row: JobObservation, maxSamples: number): void {
    this.jobs++;
    if (row.status === 'SUCCEEDED') {
      this.succeeded++;
      if (isFiniteNumber(row.latencyMs) && row.latencyMs >= 0) {
        this.latencies.push(row.latencyMs);
        if (this.latencies.length > maxSamples) this.latencies.shift();
        this.sorted = false;
      }
    } else if (row.status === 'FAILED' && (row.errorCode == null || isProviderFault(row.errorCode))) {
      this.failed++;
    }
    if (isFiniteNumber(row.costUsd)) {
      this.costSum += row.costUsd;
      this.costs++;
    }
    if (isFiniteNumber(row.rating)) {
      this.ratingSum += row.rating;
      this.ratings++;
    }
  }

  figures(): ObservedFigures {
    if (!this.sorted) {
      this.latencies.sort((a, b) => a - b);
      this.sorted = true;
    }
    const outcomes = this.succeeded + this.failed;
    return {
      jobs: this.jobs,
      succeeded: this.succeeded,
      failed: this.failed,
      successRate: outcomes > 0 ? this.succeeded / outcomes : null,
      latencyP50Ms: quantile(this.latencies, 0.5),
      latencyP95Ms: quantile(this.latencies, 0.95),
      latencySamples: this.latencies.length,
      avgCostUsd: this.costs > 0 ? this.costSum / this.costs : null,
      avgRating: this.ratings > 0 ? this.ratingSum / this.ratings : null,
      ratings: this.ratings,
    };
  }
}

function isFiniteNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Nearest-rank quantile of sorted values; null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function statsKey(provider: string, model: string | null, modality: Modality, operation: JobOperation): string {
  return `${provider}\u0000${model ?? ''}\u0000${modality}\u0000${operation}`;
}

/** A candidate's priors, as expected figures (no history). */
export function priorFigures(capability: Capability, operation: JobOperation): ExpectedFigures {
  const prior = expectationFor(capability, operation);
  return {
    latencyMs: prior.latencyMs,
    latencyP95Ms: null,
    successRate: prior.successRate,
    rating: prior.rating,
    avgCostUsd: null,
    source: 'prior',
    samples: 0,
  };
}

function finishedAtMs(row: JobObservation): number {
  return typeof row.finishedAt === 'number' ? row.finishedAt : row.finishedAt.getTime();
}

/**
 * providerComparison: per provider and model, the jobs of one modality and
 * operation finished since `since` (all when absent), most jobs first.
 */
export function providerComparison(
  rows: Iterable<JobObservation>,
  filter: { modality: Modality; operation: JobOperation; since?: Date | number },
): ComparisonRow[] {
  const since = filter.since === undefined ? -Infinity : typeof filter.since === 'number' ? filter.since : filter.since.getTime();
  const tallies = new Map<string, { provider: string; model: string | null; tally: Tally }>();
  for (const row of rows) {
    if (row.modality !== filter.modality || row.operation !== filter.operation || finishedAtMs(row) < since) continue;
    const key = `${row.provider}\u0000${row.model ?? ''}`;
    let entry = tallies.get(key);
    if (!entry) tallies.set(key, (entry = { provider: row.provider, model: row.model, tally: new Tally() }));
    entry.tally.add(row, Number.POSITIVE_INFINITY);
  }
  return [...tallies.values()]
    .map(({ provider, model, tally }) => ({ provider, model, ...tally.figures() }))
    .sort((a, b) => b.jobs - a.jobs || a.provider.localeCompare(b.provider) || (a.model ?? '').localeCompare(b.model ?? ''));
}

export class RoutingStats {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly priorWeight: number;
  private readonly maxSamples: number;
  private tallies = new Map<string, Tally>();
  private rows: JobObservation[] = [];
  /** Expected figures per capability and operation, until the next change. */
  private readonly expectedCache = new Map<string, ExpectedFigures>();

  constructor(options: RoutingStatsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.priorWeight = options.priorWeight ?? DEFAULT_PRIOR_WEIGHT;
    this.maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  }

  /** Replaces everything with these jobs (those inside the window). */
  load(rows: Iterable<JobObservation>): void {
    const oldest = this.now() - this.windowMs;
    this.tallies = new Map();
    this.rows = [];
    this.expectedCache.clear();
    for (const row of rows) {
      if (finishedAtMs(row) >= oldest) this.add(row);
    }
  }

  /** Adds one finished job between loads. */
  observe(row: JobObservation): void {
    this.add(row);
    this.expectedCache.clear();
  }

  observed(provider: string, model: string, modality: Modality, operation: JobOperation): ObservedFigures | undefined {
    return this.tallies.get(statsKey(provider, model, modality, operation))?.figures();
  }

  /** What to expect of `capability` for `operation`: the history blended with the priors. */
  expected(capability: Capability, operation: JobOperation): ExpectedFigures {
    const key = statsKey(capability.provider, capability.model, capability.modality, operation);
    const cached = this.expectedCache.get(key);
    if (cached) return cached;
    const figures = this.blend(capability, operation, this.tallies.get(key)?.figures());
    this.expectedCache.set(key, figures);
    return figures;
  }

  comparison(filter: { modality: Modality; operation: JobOperation; since?: Date | number }): ComparisonRow[] {
    return providerComparison(this.rows, filter);
  }

  private add(row: JobObservation): void {
    const key = statsKey(row.provider, row.model, row.modality, row.operation);
    let tally = this.tallies.get(key);
    if (!tally) this.tallies.set(key, (tally = new Tally()));
    tally.add(row, this.maxSamples);
    this.rows.push(row);
  }

  private blend(capability: Capability, operation: JobOperation, observed: ObservedFigures | undefined): ExpectedFigures {
    const prior = priorFigures(capability, operation);
    if (!observed || observed.jobs === 0) return prior;
    const k = this.priorWeight;
    const outcomes = observed.succeeded + observed.failed;
    const mix = (value: number | null, n: number, priorValue: number) =>
      value === null || n === 0 ? priorValue : (value * n + priorValue * k) / (n + k);
    return {
      latencyMs: mix(observed.latencyP50Ms, observed.latencySamples, prior.latencyMs),
      latencyP95Ms: observed.latencyP95Ms,
      successRate: mix(observed.successRate, outcomes, prior.successRate),
      rating: mix(observed.avgRating, observed.ratings, prior.rating),
      avgCostUsd: observed.avgCostUsd,
      source: 'observed',
      samples: observed.jobs,
    };
  }
}
