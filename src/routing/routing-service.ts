// Routing in a running gateway: the router with the policy in force (loaded
// from the database, seeded from the config file, refreshed every few
// seconds so a change made through any instance takes effect on all),
// circuit breakers whose changes are published, observed figures loaded from
// recent jobs, and the bandit's weight shifts, each a logged revision.

import { EventEmitter } from 'node:events';
import { eventStream } from '../event-stream.js';
import type { JobOperation, Modality } from '../domain.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Support } from '../providers/types.js';
import { proposeBanditRevision } from './bandit.js';
import { CircuitBreakers, type BreakerStateChange, type BreakerView } from './breakers.js';
import type { Capability } from './capabilities.js';
import { checkRoutingPolicy, defaultRoutingPolicy, parseRoutingPolicy, ruleFor, type RoutingPolicy } from './policy.js';
import { seededRandom, type Random } from './random.js';
import type { RouteRequest } from './request.js';
import { Router, type CandidateRef, type RouteResult } from './router.js';
import type { RoutingStore } from './routing-store.js';
import { providerComparison, RoutingStats, type ComparisonRow, type JobObservation } from './stats.js';

export interface RoutingServiceOptions {
  store: RoutingStore;
  providers: ProviderRegistry;
  capabilities: readonly Capability[];
  /** The policy in the config file, if it has one. */
  configuredPolicy?: unknown;
  logger: Logger;
  random?: Random;
  /** How often the policy, the observed figures and the bandit are refreshed. */
  refreshMs?: number;
  /** How far back observed figures look. */
  statsWindowMs?: number;
  /** The providers' catalogs as last read (any instance's watcher): reloaded at every refresh. */
  catalog?: () => Promise<{ live: readonly CatalogModelRef[]; removed: readonly CandidateRef[] }>;
}

export interface PolicyRevision {
  version: number;
  policy: RoutingPolicy;
  author: string;
  reason: string;
  createdAt: Date;
}

const CONFIG_AUTHOR = 'config';

export class RoutingService {
  readonly router: Router;
  readonly breakers: CircuitBreakers;
  readonly stats: RoutingStats;
  readonly random: Random;
  private readonly health = new EventEmitter().setMaxListeners(0);
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private current: readonly Capability[];

  constructor(private readonly options: RoutingServiceOptions) {
    const seed = defaultRoutingPolicy();
    this.random = options.random ?? seededRandom(Date.now());
    this.current = options.capabilities;
    this.stats = new RoutingStats({ windowMs: options.statsWindowMs });
    this.breakers = new CircuitBreakers(seed.circuitBreaker, {
      onStateChange: (change) => {
        this.options.logger.info(change, 'circuit breaker changed');
        this.health.emit('change', change);
      },
    });
    this.router = new Router({
      capabilities: options.capabilities,
      policy: seed,
      stats: this.stats,
      health: this.breakers,
      random: this.random,
    });
  }

  get policy(): RoutingPolicy {
    return this.router.policy;
  }

  /** Loads (or seeds) the policy and the figures, then refreshes both on a timer. */
  async start(): Promise<void> {
    await this.seedFromConfig();
    await this.refresh();
    const every = this.options.refreshMs ?? 2000;
    this.timer = setInterval(() => void this.refresh(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  route(request: RouteRequest, context: { exclude?: readonly CandidateRef[]; supports?: (candidate: CandidateRef) => Support } = {}): RouteResult {
    return this.router.route(request, { registered: this.registered(), ...context });
  }

  /** Breaker changes from now on (the providerHealth subscription). */
  healthChanges(): AsyncIterableIterator<BreakerStateChange> {
    return eventStream<BreakerStateChange>(this.health, 'change');
  }

  /** How many healthChanges() streams are open (a subscriber can wait until it is listening). */
  healthSubscribers(): number {
    return this.health.listenerCount('change');
  }

  breakerViews(): BreakerView[] {
    return this.breakers.list();
  }

  registered(): ReadonlySet<string> {
    return new Set(this.options.providers.names());
  }

  capabilities(): readonly Capability[] {
    return this.current;
  }

  /**
   * What the providers' catalogs say now: video models of a known provider
   * that nothing declares yet join the candidates (shaped like that
   * provider's own video capability); models the catalogs removed leave
   * them, configured ones included, so no request is routed to a model
   * that is gone.
   */
  setCatalog(catalog: { live: readonly CatalogModelRef[]; removed: readonly CandidateRef[] }): void {
    const removed = new Set(catalog.removed.map((m) => `${m.provider}\u0000${m.model}`));
    const declared = new Set(this.options.capabilities.map((c) => `${c.provider}\u0000${c.model}`));
    const discovered: Capability[] = [];
    for (const model of catalog.live) {
      const key = `${model.provider}\u0000${model.model}`;
      if (model.modality !== 'VIDEO' || declared.has(key) || removed.has(key)) continue;
      const template = this.options.capabilities.find(
        (c) => c.provider === model.provider && c.modality === 'VIDEO' && c.operations.includes('GENERATE'),
      );
      if (template) discovered.push({ ...template, model: model.model, operations: ['GENERATE'] });
    }
    this.current = [...this.options.capabilities, ...discovered].filter((c) => !removed.has(`${c.provider}\u0000${c.model}`));
    this.router.setCapabilities(this.current);
  }

  /**
   * A new video model starts as a canary: it takes `weight` of the VIDEO
   * GENERATE traffic (sticky per caller) so comparison starts at once. A
   * logged revision; nothing when it is already named.
   */
  async addCanary(candidate: CandidateRef, weight: number, note: string): Promise<PolicyRevision | null> {
    return this.revise('catalog', `canary ${candidate.provider} ${candidate.model} at ${weight}`, (policy) => {
      const rule = videoGenerateRule(policy);
      if (rule.canaries.some((c) => c.provider === candidate.provider && c.model === candidate.model)) return null;
      rule.canaries.push({ ...candidate, weight, note });
      return policy;
    });
  }

  /** Operators' decision on a canary: promote it to a regular candidate, pause it (weight 0), or remove it from routing. */
  async updateCanary(candidate: CandidateRef, action: 'PROMOTE' | 'PAUSE' | 'REMOVE', author: string): Promise<PolicyRevision> {
    const revision = await this.revise(author, `${action.toLowerCase()} canary ${candidate.provider} ${candidate.model}`, (policy) => {
      const rule = videoGenerateRule(policy);
      const index = rule.canaries.findIndex((c) => c.provider === candidate.provider && c.model === candidate.model);
      if (index < 0) throw new NotFoundError(`${candidate.provider} ${candidate.model} is not a canary`);
      if (action === 'PAUSE') rule.canaries[index]!.weight = 0;
      else rule.canaries.splice(index, 1);
      if (action === 'REMOVE') {
        for (const tier of Object.values(rule.tiers)) tier.exclude.push({ provider: candidate.provider, model: candidate.model });
      }
      return policy;
    });
    return revision!;
  }

  /**
   * A model a catalog removed is taken out of every rule that names it
   * (canaries, preferences, experiment variants). Returns where it was named.
   */
  async forgetModel(candidate: CandidateRef): Promise<{ revision: PolicyRevision | null; namedIn: string[] }> {
    const namedIn: string[] = [];
    const revision = await this.revise('catalog', `${candidate.provider} ${candidate.model} was removed from its catalog`, (policy) => {
      const named = (p: { provider: string; model?: string | undefined }) => p.provider === candidate.provider && p.model === candidate.model;
      for (const rule of policy.policies) {
        const where = `${rule.modality} ${rule.operation}`;
        const before = rule.canaries.length;
        rule.canaries = rule.canaries.filter((c) => !named(c));
        if (rule.canaries.length !== before) namedIn.push(`${where} canaries`);
        for (const [tierName, tier] of Object.entries(rule.tiers)) {
          for (const list of ['prefer', 'avoid'] as const) {
            const kept = tier[list].filter((p) => !named(p));
            if (kept.length !== tier[list].length) namedIn.push(`${where} tier ${tierName} ${list}`);
            tier[list] = kept;
          }
        }
        for (const [level, complexity] of Object.entries(rule.complexity)) {
          for (const list of ['prefer', 'avoid'] as const) {
            const kept = complexity[list].filter((p) => !named(p));
            if (kept.length !== complexity[list].length) namedIn.push(`${where} complexity ${level} ${list}`);
            complexity[list] = kept;
          }
        }
        for (const experiment of rule.experiments) {
          for (const variant of experiment.variants) {
            const kept = variant.prefer.filter((p) => !named(p));
            if (kept.length !== variant.prefer.length) namedIn.push(`${where} experiment ${experiment.name} variant ${variant.name}`);
            variant.prefer = kept;
          }
        }
      }
      return namedIn.length > 0 ? policy : null;
    });
    return { revision, namedIn };
  }

  /** Writes `change(copy of the policy in force)` as the next revision; null when it changes nothing. */
  private async revise(
    author: string,
    reason: string,
    change: (policy: RoutingPolicy) => RoutingPolicy | null,
  ): Promise<PolicyRevision | null> {
    for (let tries = 0; tries < 3; tries++) {
      await this.refresh();
      const next = change(structuredClone(this.policy));
      if (!next) return null;
      try {
        return await this.updatePolicy(next, author, reason);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    throw new ConflictError('the routing policy kept changing; try again');
  }

  /** The record of a finished attempt, taken into the figures at once (the refresh reloads them anyway). */
  observe(observation: JobObservation): void {
    this.stats.observe(observation);
  }

  async comparison(modality: Modality, operation: JobOperation, since: Date): Promise<ComparisonRow[]> {
    const rows = await this.options.store.outcomesSince(since);
    return providerComparison(rows, { modality, operation, since });
  }

  async history(limit: number): Promise<PolicyRevision[]> {
    return (await this.options.store.policyHistory(limit)).map(toRevision);
  }

  /**
   * A new revision from an operator: validated, written on top of the
   * version in force, taken into effect here at once and on every other
   * instance at its next refresh.
   */
  async updatePolicy(input: unknown, author: string, reason: string): Promise<PolicyRevision> {
    const current = await this.options.store.latestVersion();
    const candidate = {
      ...(typeof input === 'object' && input !== null ? input : {}),
      version: current + 1,
      updatedAt: new Date().toISOString(),
      updatedBy: author,
    };
    const checked = checkRoutingPolicy(candidate);
    if (!checked.ok) {
      const first = checked.problems[0]!;
      throw new ValidationError(
        checked.problems.map((p) => `${p.path || '(policy)'}: ${p.message}`).join('; '),
        `policy${first.path ? `.${first.path}` : ''}`,
      );
    }
    const row = await this.options.store.addPolicy(current, {
      policy: checked.policy as unknown as Record<string, unknown>,
      author,
      reason,
    });
    if (!row) throw new ConflictError(`routing policy version ${current + 1} was written meanwhile; read it and try again`);
    this.apply(checked.policy);
    return toRevision(row);
  }

  /** Policy, figures and bandit, brought up to date; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    try {
      if (this.options.catalog) this.setCatalog(await this.options.catalog());
      const latest = await this.options.store.latestPolicy();
      if (latest && latest.version !== this.policy.version) this.apply(parseRoutingPolicy(latest.policy, `revision ${latest.version}`));
      const windowMs = this.options.statsWindowMs ?? 7 * 24 * 60 * 60 * 1000;
      const outcomes = await this.options.store.outcomesSince(new Date(Date.now() - windowMs));
      this.stats.load(outcomes);
      await this.banditStep(outcomes);
    } catch (error) {
      this.options.logger.error({ err: error }, 'refreshing routing failed');
    }
  }

  private async banditStep(outcomes: Awaited<ReturnType<RoutingStore['outcomesSince']>>): Promise<void> {
    const observations = outcomes.flatMap((outcome) =>
      outcome.experiment && outcome.variant ? [{ ...outcome, experiment: outcome.experiment, variant: outcome.variant }] : [],
    );
    if (observations.length === 0) return;
    const result = proposeBanditRevision(this.policy, observations, { random: this.random, now: Date.now() });
    if (!result.reason) return;
    // On top of the version this instance holds: if another instance moved
    // first, the write fails and the next refresh starts from its revision.
    const row = await this.options.store.addPolicy(this.policy.version, {
      policy: result.policy as unknown as Record<string, unknown>,
      author: 'bandit',
      reason: result.reason,
    });
    if (row) {
      this.options.logger.info({ version: row.version, reason: result.reason }, 'bandit shifted experiment weights');
      this.apply(result.policy);
    }
  }

  /**
   * The config file's policy becomes a revision when the database has none,
   * or when it differs from the last one the config wrote (so a restart does
   * not undo operators' changes made since with an unchanged file).
   */
  private async seedFromConfig(): Promise<void> {
    const history = await this.options.store.policyHistory(1000);
    const lastFromConfig = history.find((row) => row.author === CONFIG_AUTHOR);
    const configured = this.options.configuredPolicy;
    if (history.length > 0 && configured === undefined) return;
    const base = configured === undefined ? defaultRoutingPolicy() : { ...(configured as object), version: 1, updatedAt: new Date(0).toISOString(), updatedBy: CONFIG_AUTHOR };
    const seed = parseRoutingPolicy(base, 'the config file');
    if (lastFromConfig && sameRules(lastFromConfig.policy as unknown as RoutingPolicy, seed)) return;
    const version = history[0]?.version ?? 0;
    const policy = parseRoutingPolicy({ ...seed, version: version + 1, updatedAt: new Date().toISOString(), updatedBy: CONFIG_AUTHOR });
    await this.options.store.addPolicy(version, {
      policy: policy as unknown as Record<string, unknown>,
      author: CONFIG_AUTHOR,
      reason: history.length === 0 ? 'initial policy' : 'the config file changed',
    });
  }

  private apply(policy: RoutingPolicy): void {
    this.router.setPolicy(policy);
    this.breakers.reconfigure(policy.circuitBreaker);
  }
}

export interface CatalogModelRef extends CandidateRef {
  modality: Modality | null;
}

/** The VIDEO GENERATE rule of a policy, added with defaults when it has none. */
function videoGenerateRule(policy: RoutingPolicy): RoutingPolicy['policies'][number] {
  let rule = policy.policies.find((r) => r.modality === 'VIDEO' && r.operation === 'GENERATE');
  if (!rule) {
    rule = ruleFor(policy, 'VIDEO', 'GENERATE');
    policy.policies.push(rule);
  }
  return rule;
}

function sameRules(a: RoutingPolicy, b: RoutingPolicy): boolean {
  const rules = (policy: RoutingPolicy) =>
    JSON.stringify({ complexity: policy.complexity, circuitBreaker: policy.circuitBreaker, policies: policy.policies });
  return rules(a) === rules(b);
}

function toRevision(row: { version: number; policy: Record<string, unknown>; author: string; reason: string; createdAt: Date }): PolicyRevision {
  return {
    version: row.version,
    policy: parseRoutingPolicy(row.policy, `revision ${row.version}`),
    author: row.author,
    reason: row.reason,
    createdAt: row.createdAt,
  };
}
