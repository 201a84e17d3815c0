// Bandit mode for experiments: Thompson sampling over each variant's reward
// (success, latency, cost and rating folded into [0, 1]). Each variant has a
// Beta posterior; its new weight is the chance that it is the best variant,
// estimated from seeded draws, then held within the experiment's bounds. The
// result is a new policy revision (pure: the caller stores and logs it).

import type { JobOperation, JobStatus, Modality } from '../domain.js';
import { revisePolicy, type BanditSettings, type RewardSettings, type RoutingPolicy } from './policy.js';
import { betaDraw, type Random } from './random.js';

/** A finished job that took part in an experiment. */
export interface BanditObservation {
  experiment: string;
  variant: string;
  /** When given, only the rule for this modality and operation takes it. */
  modality?: Modality;
  operation?: JobOperation;
  status: JobStatus;
  latencyMs?: number | null;
  costUsd?: number | null;
  rating?: number | null;
}

export interface VariantPosterior {
  variant: string;
  observations: number;
  meanReward: number;
  alpha: number;
  beta: number;
  /** Share of draws in which this variant's sample was the highest. */
  probabilityBest: number;
}

export interface BanditShift {
  modality: Modality;
  operation: JobOperation;
  experiment: string;
  /** Normalised weights before and after. */
  before: Record<string, number>;
  after: Record<string, number>;
  posteriors: VariantPosterior[];
}

export interface BanditResult {
  /** The new revision, or the same policy when nothing moved. */
  policy: RoutingPolicy;
  shifts: BanditShift[];
  /** Experiments left alone, and why. */
  skipped: { experiment: string; reason: string }[];
  /** For the revision log, when something moved: "bandit: TEXT GENERATE ab: a 0.5 → 0.9, b 0.5 → 0.1". */
  reason?: string;
}

export interface BanditOptions {
  random: Random;
  now: number;
  /** Monte Carlo draws for the chance of being best. */
  draws?: number;
  updatedBy?: string;
}

const DEFAULT_DRAWS = 2_000;
/** Weight changes smaller than this are not worth a revision. */
const MIN_SHIFT = 0.001;

/**
 * One job's reward in [0, 1]: 0 when it failed; otherwise the weighted mean
 * of success (1), latency and cost (each target / (target + value): 1 when
 * instant or free, 0.5 at the target) and rating ((r - 1) / 4). Parts with no
 * figure are left out. Null for a job that neither succeeded nor failed.
 */
export function jobReward(
  observation: Pick<BanditObservation, 'status' | 'latencyMs' | 'costUsd' | 'rating'>,
  reward: RewardSettings,
): number | null {
  if (observation.status === 'FAILED') return 0;
  if (observation.status !== 'SUCCEEDED') return null;
  let total = reward.success;
  let weights = reward.success;
  const part = (weight: number, value: number) => {
    total += weight * value;
    weights += weight;
  };
  if (observation.latencyMs != null) {
    part(reward.latency, reward.latencyTargetMs / (reward.latencyTargetMs + Math.max(0, observation.latencyMs)));
  }
  if (observation.costUsd != null) part(reward.cost, reward.costTargetUsd / (reward.costTargetUsd + Math.max(0, observation.costUsd)));
  if (observation.rating != null) part(reward.rating, Math.min(1, Math.max(0, (observation.rating - 1) / 4)));
  return weights > 0 ? total / weights : 1;
}

/**
 * Weights proportional to `raw` as far as the bounds allow, adding up to 1:
 * w = clamp(lambda * raw, min, max) with lambda found by bisection (the sum
 * grows with lambda). A raw weight of 0 counts as a hair above, so that it
 * can still take its minimum. Assumes n * min <= 1 <= n * max, which the
 * policy schema checks.
 */
export function boundWeights(raw: readonly number[], min: number, max: number): number[] {
  const values = raw.map((value) => Math.max(value, 1e-9));
  const clamp = (value: number) => (value < min ? min : value > max ? max : value);
  const total = (lambda: number) => values.reduce((sum, value) => sum + clamp(lambda * value), 0);
  let low = 0;
  let high = 1;
  while (total(high) < 1 && high < 1e15) high *= 2;
  for (let i = 0; i < 200 && high - low > high * 1e-15; i++) {
    const middle = (low + high) / 2;
    if (total(middle) < 1) low = middle;
    else high = middle;
  }
  const weights = values.map((value) => clamp(high * value));
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((weight) => weight / sum);
}

/** Posterior per variant and the chance each is best. */
export function thompsonPosteriors(
  variants: readonly string[],
  rewards: ReadonlyMap<string, readonly number[]>,
  random: Random,
  draws: number,
): VariantPosterior[] {
  const posteriors = variants.map((variant) => {
    const values = rewards.get(variant) ?? [];
    const sum = values.reduce((total, value) => total + value, 0);
    return {
      variant,
      observations: values.length,
      meanReward: values.length > 0 ? sum / values.length : 0,
      alpha: 1 + sum,
      beta: 1 + values.length - sum,
      probabilityBest: 0,
    };
  });
  const wins = new Array<number>(posteriors.length).fill(0);
  for (let draw = 0; draw < draws; draw++) {
    let best = 0;
    let bestSample = -1;
    posteriors.forEach((posterior, index) => {
      const sample = betaDraw(random, posterior.alpha, posterior.beta);
      if (sample > bestSample) {
        bestSample = sample;
        best = index;
      }
    });
    wins[best]!++;
  }
  posteriors.forEach((posterior, index) => {
    posterior.probabilityBest = wins[index]! / draws;
  });
  return posteriors;
}

/**
 * Proposes new weights for every enabled bandit experiment with enough
 * observations per variant, and returns them as one policy revision.
 */
export function proposeBanditRevision(
  policy: RoutingPolicy,
  observations: readonly BanditObservation[],
  options: BanditOptions,
): BanditResult {
  const draws = options.draws ?? DEFAULT_DRAWS;
  const shifts: BanditShift[] = [];
  const skipped: BanditResult['skipped'] = [];

  const policies = policy.policies.map((rule) => ({
    ...rule,
    experiments: rule.experiments.map((experiment) => {
      const bandit = experiment.bandit;
      if (!experiment.enabled || !bandit?.enabled) return experiment;
      const names = experiment.variants.map((variant) => variant.name);
      const rewards = collectRewards(observations, rule.modality, rule.operation, experiment.name, names, bandit);
      const thin = names.filter((name) => (rewards.get(name)?.length ?? 0) < bandit.minObservations);
      if (thin.length > 0) {
        skipped.push({ experiment: experiment.name, reason: `fewer than ${bandit.minObservations} finished jobs for ${thin.join(', ')}` });
        return experiment;
      }
      const posteriors = thompsonPosteriors(names, rewards, options.random, draws);
      const after = roundWeights(
        boundWeights(
          posteriors.map((p) => p.probabilityBest),
          bandit.minWeight,
          bandit.maxWeight,
        ),
        bandit.minWeight,
        bandit.maxWeight,
      );
      const total = experiment.variants.reduce((sum, variant) => sum + variant.weight, 0);
      const before = experiment.variants.map((variant) => variant.weight / total);
      if (before.every((weight, index) => Math.abs(weight - after[index]!) < MIN_SHIFT)) {
        skipped.push({ experiment: experiment.name, reason: 'the weights would not move' });
        return experiment;
      }
      shifts.push({
        modality: rule.modality,
        operation: rule.operation,
        experiment: experiment.name,
        before: Object.fromEntries(names.map((name, index) => [name, before[index]!])),
        after: Object.fromEntries(names.map((name, index) => [name, after[index]!])),
        posteriors,
      });
      return { ...experiment, variants: experiment.variants.map((variant, index) => ({ ...variant, weight: after[index]! })) };
    }),
  }));

  if (shifts.length === 0) return { policy, shifts, skipped };
  const reason = `bandit: ${shifts.map(describeShift).join('; ')}`;
  return { policy: revisePolicy(policy, { policies }, options.updatedBy ?? 'bandit', options.now), shifts, skipped, reason };
}

function describeShift(shift: BanditShift): string {
  const moves = Object.keys(shift.after).map((name) => `${name} ${round2(shift.before[name]!)} → ${round2(shift.after[name]!)}`);
  return `${shift.modality} ${shift.operation} ${shift.experiment}: ${moves.join(', ')}`;
}

function round2(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function collectRewards(
  observations: readonly BanditObservation[],
  modality: Modality,
  operation: JobOperation,
  experiment: string,
  variants: readonly string[],
  bandit: BanditSettings,
): Map<string, number[]> {
  const rewards = new Map<string, number[]>(variants.map((name) => [name, []]));
  for (const observation of observations) {
    if (observation.experiment !== experiment) continue;
    if (observation.modality !== undefined && observation.modality !== modality) continue;
    if (observation.operation !== undefined && observation.operation !== operation) continue;
    const value = jobReward(observation, bandit.reward);
    if (value !== null) rewards.get(observation.variant)?.push(value);
  }
  return rewards;
}

/** Four decimals, still adding up to 1: the largest weight that stays within the bounds absorbs the rounding. */
function roundWeights(weights: readonly number[], min: number, max: number): number[] {
  const round = (value: number) => Math.round(value * 10_000) / 10_000;
  const rounded = weights.map(round);
  const drift = round(1 - rounded.reduce((sum, weight) => sum + weight, 0));
  if (drift === 0) return rounded;
  const order = rounded.map((weight, index) => ({ weight, index })).sort((a, b) => b.weight - a.weight);
  const target = order.find(({ weight }) => weight + drift >= min - 1e-12 && weight + drift <= max + 1e-12) ?? order[0]!;
  rounded[target.index] = round(target.weight + drift);
  return rounded;
}
