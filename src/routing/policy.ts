// The routing policy: one document, versioned, with a rule per modality and
// operation (strategy, weights, tiers, complexity preferences, fallback,
// experiments, canaries) and the settings shared by every rule (complexity
// thresholds, circuit breakers). Every field has a default, so a file or an
// admin mutation states only what it changes. Validated with zod; every
// problem is reported together.

import { z } from 'zod';
import { JOB_OPERATIONS, MODALITIES, VIDEO_RESOLUTIONS, type JobOperation, type Modality } from '../domain.js';
import { COMPLEXITIES, STRATEGIES, TIERS } from './request.js';

const name = z.string().trim().min(1);
const weight = z.number().nonnegative();

/** A provider, or one model of it. Models are named as the provider names them (they may contain "/"). */
export const preferenceSchema = z.strictObject({ provider: name, model: name.optional() });
export type Preference = z.infer<typeof preferenceSchema>;

const preferences = z.array(preferenceSchema).default(() => []);

/** BALANCED: how much each normalised part counts. */
const weightsSchema = z
  .strictObject({
    cost: weight.default(0.25),
    latency: weight.default(0.2),
    successRate: weight.default(0.3),
    quality: weight.default(0.25),
  })
  .refine((w) => w.cost + w.latency + w.successRate + w.quality > 0, 'at least one weight must be above 0');
export type ScoreWeights = z.infer<typeof weightsSchema>;

/**
 * BALANCED scores cost and latency as reference / (reference + value): 1 when
 * free or instant, 0.5 at the reference. Absent, a reference is the median of
 * the candidates' figures for the request.
 */
const referencesSchema = z.strictObject({
  costUsd: z.number().positive().optional(),
  latencyMs: z.number().positive().optional(),
});
export type ScoreReferences = z.infer<typeof referencesSchema>;

const tierRuleSchema = z.strictObject({
  /** Promoted in this order, after the complexity preferences. */
  prefer: preferences,
  /** Moved to the end at this tier, still usable as a last resort. */
  avoid: preferences,
  /** Never used at this tier (unless pinned). */
  exclude: preferences,
  /** Replaces the rule's strategy at this tier (the request's own strategy still wins). */
  strategy: z.enum(STRATEGIES).optional(),
});
export type TierRule = z.infer<typeof tierRuleSchema>;

const complexityRuleSchema = z.strictObject({
  /** Promoted first, in this order. */
  prefer: preferences,
  /** Moved to the end, still usable as a last resort. */
  avoid: preferences,
});
export type ComplexityRule = z.infer<typeof complexityRuleSchema>;

export const fallbackSettingsSchema = z
  .strictObject({
    /** Off: one candidate, one attempt (what `allowFallback: false` asks for one request). */
    enabled: z.boolean().default(true),
    /** Resubmit to the next candidate when an accepted job fails retryably or overruns its deadline. */
    afterAcceptance: z.boolean().default(true),
    /** Submissions per request, across candidates. */
    maxAttempts: z.number().int().min(1).max(10).default(3),
    backoffBaseMs: z.number().int().min(0).default(250),
    backoffCapMs: z.number().int().min(0).default(8_000),
    /** Fraction of each delay drawn at random: 0 none, 1 full jitter. */
    jitter: z.number().min(0).max(1).default(0.5),
    /** A provider asking to wait longer than this is not tried again within the request. */
    maxRetryAfterMs: z.number().int().min(0).default(30_000),
  })
  .refine((f) => f.backoffCapMs >= f.backoffBaseMs, { message: 'backoffCapMs must be at least backoffBaseMs', path: ['backoffCapMs'] });
export type FallbackSettings = z.infer<typeof fallbackSettingsSchema>;

/** How a finished job scores for the bandit: weights of each part, and the figures that score one half. */
const rewardSchema = z.strictObject({
  success: weight.default(0.4),
  latency: weight.default(0.2),
  cost: weight.default(0.2),
  rating: weight.default(0.2),
  latencyTargetMs: z.number().positive().default(60_000),
  costTargetUsd: z.number().positive().default(0.5),
});
export type RewardSettings = z.infer<typeof rewardSchema>;

const banditSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Bounds of each variant's share of traffic (0..1). */
    minWeight: z.number().min(0).max(1).default(0.05),
    maxWeight: z.number().min(0).max(1).default(0.95),
    /** Finished jobs each variant needs before its weight moves. */
    minObservations: z.number().int().min(0).default(20),
    reward: rewardSchema.prefault({}),
  })
  .refine((b) => b.minWeight <= b.maxWeight, { message: 'minWeight must not exceed maxWeight', path: ['minWeight'] });
export type BanditSettings = z.infer<typeof banditSchema>;

const variantSchema = z.strictObject({
  name,
  /** Relative share of traffic; the variants' weights need not add up to 1. */
  weight,
  /** Promoted above every other preference for traffic in this variant. */
  prefer: preferences,
  strategy: z.enum(STRATEGIES).optional(),
});
export type ExperimentVariant = z.infer<typeof variantSchema>;

const experimentSchema = z
  .strictObject({
    name,
    enabled: z.boolean().default(true),
    /** Only requests at these tiers / of these complexities take part (all when absent). */
    tiers: z.array(z.enum(TIERS)).optional(),
    complexities: z.array(z.enum(COMPLEXITIES)).optional(),
    variants: z.array(variantSchema).min(2),
    bandit: banditSchema.optional(),
  })
  .superRefine((experiment, context) => {
    const names = experiment.variants.map((variant) => variant.name);
    if (new Set(names).size !== names.length) {
      context.addIssue({ code: 'custom', message: 'variant names must be unique', path: ['variants'] });
    }
    if (experiment.variants.every((variant) => variant.weight === 0)) {
      context.addIssue({ code: 'custom', message: 'at least one variant needs a weight above 0', path: ['variants'] });
    }
    const bandit = experiment.bandit;
    const n = experiment.variants.length;
    if (bandit && (bandit.minWeight * n > 1 || bandit.maxWeight * n < 1)) {
      context.addIssue({
        code: 'custom',
        message: `with ${n} variants the bounds must allow weights adding up to 1 (minWeight <= ${(1 / n).toFixed(3)} <= maxWeight)`,
        path: ['bandit'],
      });
    }
  });
export type Experiment = z.infer<typeof experimentSchema>;

/** A model joining gradually: it gets `weight` of the traffic (sticky per caller) and none of the rest. */
const canarySchema = z.strictObject({ provider: name, model: name, weight: z.number().min(0).max(1), note: z.string().optional() });
export type Canary = z.infer<typeof canarySchema>;

export const routeRuleSchema = z
  .strictObject({
    modality: z.enum(MODALITIES),
    operation: z.enum(JOB_OPERATIONS),
    strategy: z.enum(STRATEGIES).default('BALANCED'),
    weights: weightsSchema.prefault({}),
    references: referencesSchema.prefault({}),
    tiers: z
      .strictObject({ PREMIUM: tierRuleSchema.prefault({}), STANDARD: tierRuleSchema.prefault({}), ECONOMY: tierRuleSchema.prefault({}) })
      .prefault({}),
    complexity: z
      .strictObject({
        SIMPLE: complexityRuleSchema.prefault({}),
        STANDARD: complexityRuleSchema.prefault({}),
        COMPLEX: complexityRuleSchema.prefault({}),
      })
      .prefault({}),
    fallback: fallbackSettingsSchema.prefault({}),
    experiments: z.array(experimentSchema).default(() => []),
    canaries: z.array(canarySchema).default(() => []),
  })
  .superRefine((rule, context) => {
    const names = rule.experiments.map((experiment) => experiment.name);
    if (new Set(names).size !== names.length) {
      context.addIssue({ code: 'custom', message: 'experiment names must be unique', path: ['experiments'] });
    }
  });
export type RouteRule = z.infer<typeof routeRuleSchema>;
export type RouteRuleInput = z.input<typeof routeRuleSchema>;

/** Shared by every rule: breakers belong to a provider and model, whatever the operation. */
export const circuitBreakerSettingsSchema = z.strictObject({
  /** Opens after this many failures in a row. */
  consecutiveFailures: z.number().int().min(1).default(5),
  /** Or when more than this share of the calls in the window failed ... */
  failureRatio: z.number().gt(0).lt(1).default(0.5),
  windowMs: z.number().int().min(1000).default(60_000),
  /** ... counting only once the window holds this many calls. */
  minimumCalls: z.number().int().min(1).default(10),
  /** How long an open breaker refuses calls before one probe goes through. */
  halfOpenAfterMs: z.number().int().min(0).default(30_000),
});
export type CircuitBreakerSettings = z.infer<typeof circuitBreakerSettingsSchema>;

export const complexityThresholdsSchema = z.strictObject({
  /** SIMPLE text to video: at most this long ... */
  simpleMaxSeconds: z.number().positive().default(10),
  /** ... and at most this resolution. */
  simpleMaxResolution: z.enum(VIDEO_RESOLUTIONS).default('720p'),
  /** Longer than this (output or extension) is COMPLEX. */
  longSeconds: z.number().positive().default(20),
  /** At or above this resolution is COMPLEX. */
  complexMinResolution: z.enum(VIDEO_RESOLUTIONS).default('1080p'),
  /** What a first-frame image makes a generation. */
  imageConditioned: z.enum(['STANDARD', 'COMPLEX']).default('COMPLEX'),
});
export type ComplexityThresholds = z.infer<typeof complexityThresholdsSchema>;

export const routingPolicySchema = z
  .strictObject({
    version: z.number().int().min(1),
    updatedAt: z.iso.datetime({ offset: true }),
    updatedBy: name,
    complexity: complexityThresholdsSchema.prefault({}),
    circuitBreaker: circuitBreakerSettingsSchema.prefault({}),
    /** Modality and operation pairs without a rule use the defaults of every field. */
    policies: z.array(routeRuleSchema).default(() => []),
  })
  .superRefine((policy, context) => {
    const seen = new Set<string>();
    policy.policies.forEach((rule, index) => {
      const key = ruleKey(rule.modality, rule.operation);
      if (seen.has(key)) {
        context.addIssue({ code: 'custom', message: `a second rule for ${rule.modality} ${rule.operation}`, path: ['policies', index] });
      }
      seen.add(key);
    });
  });
export type RoutingPolicy = z.infer<typeof routingPolicySchema>;
export type RoutingPolicyInput = z.input<typeof routingPolicySchema>;

export interface PolicyProblem {
  /** Dotted path of the field, e.g. policies.0.fallback.maxAttempts. */
  path: string;
  message: string;
}

export class RoutingPolicyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: PolicyProblem[],
  ) {
    super(`Invalid routing policy (${source}):\n${problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'RoutingPolicyError';
  }
}

/** Validates a policy document: the document with every default filled in, or every problem. */
export function checkRoutingPolicy(value: unknown): { ok: true; policy: RoutingPolicy } | { ok: false; problems: PolicyProblem[] } {
  const parsed = routingPolicySchema.safeParse(value);
  if (parsed.success) return { ok: true, policy: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })) };
}

/** Like checkRoutingPolicy, for start-up: throws RoutingPolicyError listing every problem. */
export function parseRoutingPolicy(value: unknown, source = 'policy'): RoutingPolicy {
  const checked = checkRoutingPolicy(value);
  if (!checked.ok) throw new RoutingPolicyError(source, checked.problems);
  return checked.policy;
}

export function ruleKey(modality: Modality, operation: JobOperation): string {
  return `${modality}:${operation}`;
}

/** The rule for a modality and operation, or one with every default when the policy has none. */
export function ruleFor(policy: RoutingPolicy, modality: Modality, operation: JobOperation): RouteRule {
  return (
    policy.policies.find((rule) => rule.modality === modality && rule.operation === operation) ??
    routeRuleSchema.parse({ modality, operation })
  );
}

/** The next revision of a policy: version + 1, stamped with who and when, validated. */
export function revisePolicy(
  policy: RoutingPolicy,
  change: { policies: RoutingPolicyInput['policies'] } & Partial<Pick<RoutingPolicyInput, 'complexity' | 'circuitBreaker'>>,
  by: string,
  now: number,
): RoutingPolicy {
  return parseRoutingPolicy(
    {
      version: policy.version + 1,
      updatedAt: new Date(now).toISOString(),
      updatedBy: by,
      complexity: change.complexity ?? policy.complexity,
      circuitBreaker: change.circuitBreaker ?? policy.circuitBreaker,
      policies: change.policies,
    },
    `revision by ${by}`,
  );
}

export function matchesPreference(preference: Preference, provider: string, model: string): boolean {
  return preference.provider === provider && (preference.model === undefined || preference.model === model);
}

const LOCAL: Preference = { provider: 'local' };
const RUNWAY: Preference = { provider: 'runway' };

/**
 * The policy when none is stored: premium video prefers Runway (and never a
 * local title card for a generation), economy prefers the local provider and
 * otherwise the cheapest, the standard tier turns to a title card for a
 * generation only when no cloud provider can; simple edits and extensions go
 * to the local provider first, and complex work avoids it. Short modalities
 * use the defaults (BALANCED, no preferences).
 */
export function defaultRoutingPolicy(now = 0): RoutingPolicy {
  const economy = { prefer: [LOCAL], strategy: 'CHEAPEST' as const };
  return parseRoutingPolicy(
    {
      version: 1,
      updatedAt: new Date(now).toISOString(),
      updatedBy: 'defaults',
      policies: [
        {
          modality: 'VIDEO',
          operation: 'GENERATE',
          tiers: { PREMIUM: { prefer: [RUNWAY], exclude: [LOCAL] }, STANDARD: { avoid: [LOCAL] }, ECONOMY: economy },
          complexity: { COMPLEX: { avoid: [LOCAL] } },
        },
        {
          modality: 'VIDEO',
          operation: 'EDIT',
          tiers: { PREMIUM: { prefer: [RUNWAY] }, ECONOMY: economy },
          complexity: { SIMPLE: { prefer: [LOCAL] }, COMPLEX: { avoid: [LOCAL] } },
        },
        {
          modality: 'VIDEO',
          operation: 'EXTEND',
          tiers: { PREMIUM: { prefer: [RUNWAY] }, ECONOMY: economy },
          complexity: { SIMPLE: { prefer: [LOCAL] }, STANDARD: { avoid: [LOCAL] }, COMPLEX: { avoid: [LOCAL] } },
        },
      ],
    },
    'defaults',
  );
}
