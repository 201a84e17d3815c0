// The routing decision: which providers and models may serve a request, in
// which order. Pure and synchronous: capabilities, policy, observed figures
// and breaker state come in; the ranked candidates, every filtered one with
// its reason, the experiment variant and the complexity come out. The same
// result is the explainRoute dry run.
//
// Filters, in order: the pin, registration, capability, the tier's
// exclusions, canaries outside their slice, candidates already tried, open
// circuits, the adapters' own check, and the budget (maxCostUsd) last, so that
// "nothing fits the budget" can name the cheapest estimate.
//
// Order: preference groups first (a canary in its slice, the experiment
// variant's list, the complexity's list, the tier's list, everyone else, the
// avoided ones: the complexity's, which the tier cannot promote, then the
// tier's), each list in its own order; within a group, the
// strategy (BALANCED score, CHEAPEST estimate, FASTEST observed latency,
// BEST_QUALITY rating), ties broken by the BALANCED score. Cost and latency
// score against a reference (configured, or the candidates' median) rather
// than min-max, so that a cent's difference between two candidates stays a
// small difference.

import { assertUnreachable, type JobOperation, type Modality } from '../domain.js';
import type { Support } from '../providers/types.js';
import type { CircuitHealth } from './breakers.js';
import { priceUsd, unmetRequirement, workUnits, type Capability } from './capabilities.js';
import { classify } from './complexity.js';
import {
  matchesPreference,
  routeRuleSchema,
  ruleKey,
  type Canary,
  type Experiment,
  type ExperimentVariant,
  type Preference,
  type RouteRule,
  type RoutingPolicy,
  type ScoreReferences,
  type ScoreWeights,
} from './policy.js';
import { hashUnit, seededRandom, type Random } from './random.js';
import type { Complexity, RouteRequest, Strategy, Tier } from './request.js';
import { priorFigures, type ExpectedFigures, type RoutingStats } from './stats.js';

export const DEFAULT_TIER: Tier = 'STANDARD';

export interface CandidateRef {
  provider: string;
  model: string;
}

export type FilterCode =
  | 'PIN'
  | 'NOT_REGISTERED'
  | 'CAPABILITY'
  | 'TIER'
  | 'CANARY'
  | 'EXCLUDED'
  | 'CIRCUIT_OPEN'
  | 'UNSUPPORTED'
  | 'OVER_BUDGET';

export interface FilteredCandidate extends CandidateRef {
  code: FilterCode;
  reason: string;
  /** Known for candidates that reached the budget check. */
  estimatedCostUsd?: number;
}

/** Each part in [0, 1], higher is better. */
export interface ScoreParts {
  /** reference / (reference + estimate): 1 when free, 0.5 at the reference cost. */
  cost: number;
  /** reference / (reference + expected latency). */
  latency: number;
  /** Expected success rate as it is. */
  successRate: number;
  /** Expected rating, (r - 1) / 4. */
  quality: number;
}

export interface RankedCandidate extends CandidateRef {
  /** 1 for the first choice. */
  rank: number;
  estimatedCostUsd: number;
  expected: ExpectedFigures;
  parts: ScoreParts;
  weights: ScoreWeights;
  /** Weighted mean of the parts. */
  balancedScore: number;
  /** The strategy's own measure, in [0, 1]: the BALANCED score, or the cost, latency or quality part. */
  score: number;
  /** Why it was promoted or demoted, when it was. */
  preference?: string;
}

interface RouteDecisionBase {
  complexity: Complexity;
  complexityReasons: string[];
  tier: Tier;
  strategy: Strategy;
  policyVersion: number;
  filtered: FilteredCandidate[];
  /**
   * The experiment and variant this request was assigned. `applied` when the
   * variant decided the route (it changes only the strategy, or the first
   * candidate is one it prefers): record it on the job only then, or the
   * variant is credited with another's work.
   */
  experiment?: { name: string; variant: string; applied: boolean };
}

export type RouteResult =
  | (RouteDecisionBase & {
      outcome: 'ROUTED';
      candidates: RankedCandidate[];
      /** What the cost and latency parts were scored against. */
      references: Required<ScoreReferences>;
    })
  /** Nothing can serve the request; `filtered` says why for each. */
  | (RouteDecisionBase & { outcome: 'NO_CANDIDATE'; candidates: [] })
  /** Candidates exist but every estimate is above maxCostUsd; `cheapest` is the lowest. */
  | (RouteDecisionBase & {
      outcome: 'OVER_BUDGET';
      candidates: [];
      maxCostUsd: number;
      cheapest: CandidateRef & { estimatedCostUsd: number };
    });

export interface RouteContext {
  /** Providers registered in this process (those with keys). All declared ones when absent. */
  registered?: ReadonlySet<string>;
  /** Already tried for this job (a resubmission after acceptance). */
  exclude?: readonly CandidateRef[];
  /** The adapter's own supports*() for a candidate that passed every other filter. */
  supports?: (candidate: CandidateRef) => Support;
}

export interface RouterOptions {
  capabilities: readonly Capability[];
  policy: RoutingPolicy;
  stats?: RoutingStats;
  health?: CircuitHealth;
  /** Seeded in tests; used for experiment and canary draws of callers with no key. */
  random?: Random;
}

interface Survivor {
  capability: Capability;
  estimatedCostUsd: number;
  expected: ExpectedFigures;
  group: number;
  order: number;
  preference?: string;
}

/** Preference groups, in ranking order. */
const GROUP = { canary: 0, variant: 1, complexity: 2, tier: 3, neutral: 4, avoided: 5 } as const;

export class Router {
  private policyDocument: RoutingPolicy;
  private rules = new Map<string, RouteRule>();
  private byKind = new Map<string, Capability[]>();
  private declared = new Set<string>();
  private readonly stats: RoutingStats | undefined;
  private readonly health: CircuitHealth | undefined;
  private readonly random: Random;

  constructor(options: RouterOptions) {
    this.stats = options.stats;
    this.health = options.health;
    this.random = options.random ?? seededRandom(Date.now());
    this.policyDocument = options.policy;
    this.setPolicy(options.policy);
    this.setCapabilities(options.capabilities);
  }

  get policy(): RoutingPolicy {
    return this.policyDocument;
  }

  /** Takes effect for the next decision (a revision loaded from the database). */
  setPolicy(policy: RoutingPolicy): void {
    this.policyDocument = policy;
    this.rules = new Map(policy.policies.map((rule) => [ruleKey(rule.modality, rule.operation), rule]));
  }

  setCapabilities(capabilities: readonly Capability[]): void {
    this.byKind = new Map();
    this.declared = new Set();
    for (const capability of capabilities) {
      this.declared.add(candidateKey(capability.provider, capability.model));
      for (const operation of capability.operations) {
        const key = ruleKey(capability.modality, operation);
        const list = this.byKind.get(key) ?? [];
        list.push(capability);
        this.byKind.set(key, list);
      }
    }
  }

  route(request: RouteRequest, context: RouteContext = {}): RouteResult {
    const rule = this.rule(request.modality, request.operation);
    const classification = classify(request, this.policyDocument.complexity);
    const tier = request.tier ?? DEFAULT_TIER;
    const tierRule = rule.tiers[tier];
    const complexityRule = rule.complexity[classification.complexity];
    // A model is pinned only within a pinned provider (the request parser refuses it otherwise).
    const pin = request.pin?.provider ? { provider: request.pin.provider, model: request.pin.model } : undefined;
    // A pinned request chose for itself: it takes part in no experiment.
    const experiment = pin ? undefined : activeExperiment(rule, tier, classification.complexity);
    const variant = experiment ? assignVariant(experiment, request.callerKey, this.random) : undefined;
    const strategy = request.strategy ?? variant?.strategy ?? tierRule.strategy ?? rule.strategy;
    const units = workUnits(request);

    const preferenceFacts: PreferenceFacts = {
      ...(variant && experiment ? { variant, experimentName: experiment.name } : {}),
      complexity: classification.complexity,
      complexityPrefer: complexityRule.prefer,
      complexityAvoid: complexityRule.avoid,
      tier,
      tierPrefer: tierRule.prefer,
      tierAvoid: tierRule.avoid,
    };
    const filtered: FilteredCandidate[] = [];
    const overBudget: FilteredCandidate[] = [];
    const survivors: Survivor[] = [];
    const capabilities = this.byKind.get(ruleKey(request.modality, request.operation)) ?? [];

    for (const capability of capabilities) {
      const { provider, model } = capability;
      if (pin && pin.provider !== provider) {
        filtered.push(refusal(capability, 'PIN', `the request is pinned to ${pin.provider}`));
        continue;
      }
      if (pin?.model !== undefined && pin.model !== model) {
        filtered.push(refusal(capability, 'PIN', `the request is pinned to ${pin.provider} ${pin.model}`));
        continue;
      }
      if (context.registered && !context.registered.has(provider)) {
        filtered.push(refusal(capability, 'NOT_REGISTERED', `${provider} is not registered (no key)`));
        continue;
      }
      const unmet = unmetRequirement(capability, request, classification);
      if (unmet) {
        filtered.push(refusal(capability, 'CAPABILITY', unmet));
        continue;
      }
      if (!pin && findPreference(tierRule.exclude, provider, model) >= 0) {
        filtered.push(refusal(capability, 'TIER', `the ${tier} tier excludes it`));
        continue;
      }
      const canary = pin ? undefined : rule.canaries.find((entry) => entry.provider === provider && entry.model === model);
      const inCanarySlice = canary ? canaryDraw(canary, request.callerKey, this.random) : false;
      if (canary && !inCanarySlice) {
        filtered.push(refusal(capability, 'CANARY', `a canary taking ${formatShare(canary.weight)} of the traffic, and this request is outside it`));
        continue;
      }
      if (context.exclude?.some((tried) => tried.provider === provider && tried.model === model)) {
        filtered.push(refusal(capability, 'EXCLUDED', 'already tried for this job'));
        continue;
      }
      if (this.health?.isOpen(provider, model)) {
        filtered.push(refusal(capability, 'CIRCUIT_OPEN', 'its circuit breaker is open'));
        continue;
      }
      if (context.supports) {
        const support = context.supports({ provider, model });
        if (!support.ok) {
          filtered.push(refusal(capability, 'UNSUPPORTED', support.reason));
          continue;
        }
      }
      const estimatedCostUsd = priceUsd(capability.price, units);
      if (request.maxCostUsd !== undefined && estimatedCostUsd > request.maxCostUsd) {
        const entry: FilteredCandidate = {
          provider,
          model,
          code: 'OVER_BUDGET',
          reason: `estimated ${formatUsd(estimatedCostUsd)}, above the ${formatUsd(request.maxCostUsd)} allowed`,
          estimatedCostUsd,
        };
        filtered.push(entry);
        overBudget.push(entry);
        continue;
      }
      const expected = this.stats ? this.stats.expected(capability, request.operation) : priorFigures(capability, request.operation);
      survivors.push({ capability, estimatedCostUsd, expected, ...placement(preferenceFacts, provider, model, inCanarySlice) });
    }

    if (pin?.model !== undefined && !this.declared.has(candidateKey(pin.provider, pin.model))) {
      filtered.push({
        provider: pin.provider,
        model: pin.model,
        code: 'CAPABILITY',
        reason: `${pin.provider} declares no model ${pin.model}`,
      });
    }

    const base: RouteDecisionBase = {
      complexity: classification.complexity,
      complexityReasons: classification.reasons,
      tier,
      strategy,
      policyVersion: this.policyDocument.version,
      filtered,
    };
    const assignment = experiment && variant ? { name: experiment.name, variant: variant.name } : undefined;

    if (survivors.length === 0) {
      if (overBudget.length > 0 && request.maxCostUsd !== undefined) {
        const cheapest = overBudget.reduce((a, b) => (b.estimatedCostUsd! < a.estimatedCostUsd! ? b : a));
        return {
          ...base,
          ...(assignment ? { experiment: { ...assignment, applied: false } } : {}),
          outcome: 'OVER_BUDGET',
          candidates: [],
          maxCostUsd: request.maxCostUsd,
          cheapest: { provider: cheapest.provider, model: cheapest.model, estimatedCostUsd: cheapest.estimatedCostUsd! },
        };
      }
      return { ...base, ...(assignment ? { experiment: { ...assignment, applied: false } } : {}), outcome: 'NO_CANDIDATE', candidates: [] };
    }
    const { candidates, references } = rank(survivors, rule, strategy);
    // The variant decided the route if it only changes the strategy, or if the first candidate is one it prefers.
    const first = candidates[0]!;
    const applied = variant !== undefined && (variant.prefer.length === 0 || findPreference(variant.prefer, first.provider, first.model) >= 0);
    return { ...base, ...(assignment ? { experiment: { ...assignment, applied } } : {}), outcome: 'ROUTED', candidates, references };
  }

  private rule(modality: Modality, operation: JobOperation): RouteRule {
    const key = ruleKey(modality, operation);
    let rule = this.rules.get(key);
    if (!rule) {
      rule = routeRuleSchema.parse({ modality, operation });
      this.rules.set(key, rule);
    }
    return rule;
  }
}

function refusal(capability: Capability, code: FilterCode, reason: string): FilteredCandidate {
  return { provider: capability.provider, model: capability.model, code, reason };
}

/** The first enabled experiment whose tiers and complexities take this request. */
function activeExperiment(rule: RouteRule, tier: Tier, complexity: Complexity): Experiment | undefined {
  return rule.experiments.find(
    (experiment) =>
      experiment.enabled &&
      (experiment.tiers === undefined || experiment.tiers.includes(tier)) &&
      (experiment.complexities === undefined || experiment.complexities.includes(complexity)),
  );
}

/**
 * A caller's variant: a stable hash of the caller and the experiment's name
 * placed on the cumulative weights, so a caller keeps its variant while the
 * weights stay; a caller with no key draws at random.
 */
export function assignVariant(
  experiment: Pick<Experiment, 'name' | 'variants'>,
  callerKey: string | undefined,
  random: Random,
): ExperimentVariant {
  const total = experiment.variants.reduce((sum, variant) => sum + variant.weight, 0);
  const point = (callerKey !== undefined ? hashUnit(`${experiment.name}\u0000${callerKey}`) : random()) * total;
  let cumulative = 0;
  let chosen = experiment.variants[0]!;
  for (const variant of experiment.variants) {
    if (variant.weight <= 0) continue;
    chosen = variant;
    cumulative += variant.weight;
    if (point < cumulative) break;
  }
  return chosen;
}

/** Whether this request falls in a canary's slice (sticky per caller). */
function canaryDraw(canary: Canary, callerKey: string | undefined, random: Random): boolean {
  const point = callerKey !== undefined ? hashUnit(`canary\u0000${canary.provider}\u0000${canary.model}\u0000${callerKey}`) : random();
  return point < canary.weight;
}

function findPreference(list: readonly Preference[], provider: string, model: string): number {
  for (let i = 0; i < list.length; i++) {
    if (matchesPreference(list[i]!, provider, model)) return i;
  }
  return -1;
}

interface PreferenceFacts {
  variant?: ExperimentVariant;
  experimentName?: string;
  complexity: Complexity;
  complexityPrefer: readonly Preference[];
  complexityAvoid: readonly Preference[];
  tier: Tier;
  tierPrefer: readonly Preference[];
  tierAvoid: readonly Preference[];
}

/** The candidate's preference group, its place in that group's list, and why. */
function placement(facts: PreferenceFacts, provider: string, model: string, inCanarySlice: boolean): Pick<Survivor, 'group' | 'order' | 'preference'> {
  if (inCanarySlice) return { group: GROUP.canary, order: 0, preference: 'a canary, and this request is in its slice' };
  if (facts.variant) {
    const index = findPreference(facts.variant.prefer, provider, model);
    if (index >= 0) {
      return { group: GROUP.variant, order: index, preference: `experiment ${facts.experimentName} variant ${facts.variant.name} prefers it` };
    }
  }
  const complexityIndex = findPreference(facts.complexityPrefer, provider, model);
  if (complexityIndex >= 0) return { group: GROUP.complexity, order: complexityIndex, preference: `${facts.complexity} work prefers it` };
  // Complexity outranks the tier: economy's liking for the local provider does not send it complex work first.
  const avoidIndex = findPreference(facts.complexityAvoid, provider, model);
  if (avoidIndex >= 0) return { group: GROUP.avoided, order: avoidIndex, preference: `${facts.complexity} work avoids it` };
  const tierIndex = findPreference(facts.tierPrefer, provider, model);
  if (tierIndex >= 0) return { group: GROUP.tier, order: tierIndex, preference: `the ${facts.tier} tier prefers it` };
  const tierAvoidIndex = findPreference(facts.tierAvoid, provider, model);
  if (tierAvoidIndex >= 0) return { group: GROUP.avoided, order: tierAvoidIndex, preference: `the ${facts.tier} tier avoids it` };
  return { group: GROUP.neutral, order: 0 };
}

/** reference / (reference + value): 1 at zero, 0.5 at the reference. */
function relativeTo(reference: number, value: number): number {
  return reference > 0 ? reference / (reference + value) : 1;
}

/** The configured reference, or the median of the figures (the smallest positive one when the median is 0). */
function referenceOf(configured: number | undefined, values: number[]): number {
  if (configured !== undefined) return configured;
  values.sort((a, b) => a - b);
  const middle = values.length >> 1;
  const median = values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
  if (median > 0) return median;
  return values.find((value) => value > 0) ?? 0;
}

function rank(
  survivors: Survivor[],
  rule: RouteRule,
  strategy: Strategy,
): { candidates: RankedCandidate[]; references: Required<ScoreReferences> } {
  const weights = rule.weights;
  const references = {
    costUsd: referenceOf(
      rule.references.costUsd,
      survivors.map((s) => s.estimatedCostUsd),
    ),
    latencyMs: referenceOf(
      rule.references.latencyMs,
      survivors.map((s) => s.expected.latencyMs),
    ),
  };
  const weightSum = weights.cost + weights.latency + weights.successRate + weights.quality;

  const scored = survivors.map((survivor) => {
    const parts: ScoreParts = {
      cost: relativeTo(references.costUsd, survivor.estimatedCostUsd),
      latency: relativeTo(references.latencyMs, survivor.expected.latencyMs),
      successRate: clamp01(survivor.expected.successRate),
      quality: clamp01((survivor.expected.rating - 1) / 4),
    };
    const balancedScore =
      (weights.cost * parts.cost +
        weights.latency * parts.latency +
        weights.successRate * parts.successRate +
        weights.quality * parts.quality) /
      weightSum;
    return { survivor, parts, balancedScore, score: strategyScore(strategy, parts, balancedScore) };
  });

  scored.sort((a, b) => {
    if (a.survivor.group !== b.survivor.group) return a.survivor.group - b.survivor.group;
    if (a.survivor.order !== b.survivor.order) return a.survivor.order - b.survivor.order;
    const byStrategy = compareByStrategy(strategy, a.survivor, b.survivor);
    if (byStrategy !== 0) return byStrategy;
    if (a.balancedScore !== b.balancedScore) return b.balancedScore - a.balancedScore;
    const ka = candidateKey(a.survivor.capability.provider, a.survivor.capability.model);
    const kb = candidateKey(b.survivor.capability.provider, b.survivor.capability.model);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

  const candidates = scored.map(({ survivor, parts, balancedScore, score }, index) => ({
    provider: survivor.capability.provider,
    model: survivor.capability.model,
    rank: index + 1,
    estimatedCostUsd: survivor.estimatedCostUsd,
    expected: survivor.expected,
    parts,
    weights,
    balancedScore,
    score,
    ...(survivor.preference !== undefined ? { preference: survivor.preference } : {}),
  }));
  return { candidates, references };
}

function strategyScore(strategy: Strategy, parts: ScoreParts, balancedScore: number): number {
  switch (strategy) {
    case 'BALANCED':
      return balancedScore;
    case 'CHEAPEST':
      return parts.cost;
    case 'FASTEST':
      return parts.latency;
    case 'BEST_QUALITY':
      return parts.quality;
    default:
      return assertUnreachable(strategy);
  }
}

/** Negative when `a` goes first. On raw figures, so that no normalisation hides a difference. */
function compareByStrategy(strategy: Strategy, a: Survivor, b: Survivor): number {
  switch (strategy) {
    case 'BALANCED':
      return 0;
    case 'CHEAPEST':
      return a.estimatedCostUsd - b.estimatedCostUsd;
    case 'FASTEST':
      return a.expected.latencyMs - b.expected.latencyMs;
    case 'BEST_QUALITY':
      return b.expected.rating - a.expected.rating;
    default:
      return assertUnreachable(strategy);
  }
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}

function candidateKey(provider: string, model: string): string {
  return `${provider}\u0000${model}`;
}

function formatUsd(value: number): string {
  return `$${value.toFixed(value < 0.01 ? 4 : 2)}`;
}

function formatShare(weight: number): string {
  return `${Math.round(weight * 1000) / 10}%`;
}
