// Circuit breakers per provider and per provider and model, on cockatiel. A
// breaker opens after `consecutiveFailures` failures in a row, or when more
// than `failureRatio` of the calls in the last `windowMs` failed (once the
// window holds `minimumCalls`); after `halfOpenAfterMs` the next call is a
// probe that closes it on success and opens it again on failure.
//
// Submissions run through `execute`. Outcomes learnt later (a poll that finds
// an accepted job failed, a deadline overrun) are fed with `record`, which
// goes through the same cockatiel breaker, so an outcome arriving after the
// open interval is the probe. Cockatiel reads time from Date.now(): tests fake
// Date (vi.useFakeTimers({ toFake: ['Date'] })).

import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
  type IBreaker,
} from 'cockatiel';
import { assertUnreachable } from '../domain.js';
import { submissionFailure } from './failures.js';
import type { CircuitBreakerSettings } from './policy.js';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface BreakerStateChange {
  provider: string;
  /** Absent for the provider's own breaker. */
  model?: string;
  state: BreakerState;
  previous: BreakerState;
  at: number;
  /** The failure that opened it. */
  reason?: string;
}

export interface BreakerView {
  provider: string;
  model?: string;
  state: BreakerState;
  openedAt?: number;
  /** When an open breaker lets a probe through. */
  probeAfter?: number;
}

/** What the router asks of breakers. */
export interface CircuitHealth {
  /** True while calls to the provider or to this model are refused (open, or a probe in flight). */
  isOpen(provider: string, model: string): boolean;
}

/** A failure fed through `record`, counted like a failed call. */
class RecordedFailure extends Error {
  constructor() {
    super('a failure recorded after the call');
    this.name = 'RecordedFailure';
  }
}

/** Opens when any of its breakers says so; every one sees every outcome. */
class AnyBreaker implements IBreaker {
  constructor(private readonly breakers: readonly IBreaker[]) {}

  get state(): unknown {
    return this.breakers.map((breaker) => breaker.state);
  }

  set state(value: unknown) {
    if (!Array.isArray(value)) return;
    this.breakers.forEach((breaker, index) => {
      breaker.state = value[index];
    });
  }

  success(state: CircuitState): void {
    for (const breaker of this.breakers) breaker.success(state);
  }

  failure(state: CircuitState): boolean {
    let open = false;
    for (const breaker of this.breakers) open = breaker.failure(state) || open;
    return open;
  }
}

interface Entry {
  provider: string;
  model?: string;
  policy: CircuitBreakerPolicy;
  settings: CircuitBreakerSettings;
  state: BreakerState;
  openedAt?: number;
  /** Created under older settings: replaced once it is closed again. */
  stale: boolean;
}

/** Counts as a failure: what failures.ts calls the provider's fault, or a recorded one. Never an open circuit downstream. */
const countsAsFailure = handleWhen((error) => error instanceof RecordedFailure || (submissionFailure(error)?.providerFault ?? false));

function toState(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
    default:
      return assertUnreachable(state);
  }
}

export class CircuitBreakers implements CircuitHealth {
  private settings: CircuitBreakerSettings;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(change: BreakerStateChange) => void>();

  constructor(settings: CircuitBreakerSettings, options: { onStateChange?: (change: BreakerStateChange) => void } = {}) {
    this.settings = settings;
    if (options.onStateChange) this.listeners.add(options.onStateChange);
  }

  /** Subscribes to state changes (the providerHealth subscription); returns the unsubscribe. */
  onStateChange(listener: (change: BreakerStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * New settings (a policy revision): closed breakers are rebuilt at once
   * (losing only their counts); open ones keep theirs until they close.
   */
  reconfigure(settings: CircuitBreakerSettings): void {
    this.settings = settings;
    for (const [key, entry] of this.entries) {
      if (entry.state === 'closed') this.entries.set(key, this.create(entry.provider, entry.model));
      else entry.stale = true;
    }
  }

  /**
   * Runs a call to `provider`/`model` through both breakers. Throws
   * cockatiel's BrokenCircuitError, without calling, while either is open.
   */
  async execute<T>(provider: string, model: string, run: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const modelEntry = this.entry(provider, model);
    // Checked first so that the provider breaker never sees an open model circuit (in its half-open state, that would close it).
    if (this.refuses(modelEntry)) throw new BrokenCircuitError();
    const providerEntry = this.entry(provider);
    return providerEntry.policy.execute(() => modelEntry.policy.execute(({ signal: inner }) => run(inner), signal), signal);
  }

  /** The outcome of a call made outside `execute` (an accepted job's end), for both breakers. */
  async record(provider: string, model: string, outcome: 'success' | 'failure'): Promise<void> {
    await Promise.all([this.recordOn(this.entry(provider), outcome), this.recordOn(this.entry(provider, model), outcome)]);
  }

  state(provider: string, model?: string): BreakerState {
    return this.entries.get(entryKey(provider, model))?.state ?? 'closed';
  }

  isOpen(provider: string, model: string): boolean {
    const providerEntry = this.entries.get(entryKey(provider));
    const modelEntry = this.entries.get(entryKey(provider, model));
    return (providerEntry !== undefined && this.refuses(providerEntry)) || (modelEntry !== undefined && this.refuses(modelEntry));
  }

  /** Every breaker that has seen a call, for the providers query. */
  list(): BreakerView[] {
    return [...this.entries.values()].map((entry) => ({
      provider: entry.provider,
      ...(entry.model !== undefined ? { model: entry.model } : {}),
      state: entry.state,
      ...(entry.openedAt !== undefined && entry.state !== 'closed'
        ? { openedAt: entry.openedAt, probeAfter: entry.openedAt + entry.settings.halfOpenAfterMs }
        : {}),
    }));
  }

  private refuses(entry: Entry): boolean {
    switch (entry.state) {
      case 'closed':
        return false;
      case 'open':
        return Date.now() - (entry.openedAt ?? 0) < entry.settings.halfOpenAfterMs;
      case 'half-open':
      case 'isolated':
        return true;
      default:
        return assertUnreachable(entry.state);
    }
  }

  private async recordOn(entry: Entry, outcome: 'success' | 'failure'): Promise<void> {
    try {
      await entry.policy.execute(() => {
        if (outcome === 'failure') throw new RecordedFailure();
      });
    } catch (error) {
      // Open: the outcome is not wanted until a probe is due.
      if (!(error instanceof RecordedFailure) && !isBrokenCircuitError(error)) throw error;
    }
  }

  private entry(provider: string, model?: string): Entry {
    const key = entryKey(provider, model);
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = this.create(provider, model)));
    return entry;
  }

  private create(provider: string, model: string | undefined): Entry {
    const settings = this.settings;
    const policy = circuitBreaker(countsAsFailure, {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new AnyBreaker([
        new ConsecutiveBreaker(settings.consecutiveFailures),
        new SamplingBreaker({
          threshold: settings.failureRatio,
          duration: settings.windowMs,
          minimumRps: settings.minimumCalls / (settings.windowMs / 1000),
        }),
      ]),
    });
    const entry: Entry = { provider, ...(model !== undefined ? { model } : {}), policy, settings, state: 'closed', stale: false };
    policy.onStateChange((next) => {
      const previous = entry.state;
      entry.state = toState(next);
      const at = Date.now();
      if (entry.state === 'open') entry.openedAt = at;
      const failure = policy.lastFailure;
      const reason =
        entry.state === 'open' && failure && 'error' in failure
          ? failure.error instanceof RecordedFailure
            ? 'a job failed after acceptance'
            : failure.error.message
          : undefined;
      const change: BreakerStateChange = {
        provider,
        ...(model !== undefined ? { model } : {}),
        state: entry.state,
        previous,
        at,
        ...(reason !== undefined ? { reason } : {}),
      };
      if (entry.state === 'closed' && entry.stale) this.entries.set(entryKey(provider, model), this.create(provider, model));
      for (const listener of this.listeners) listener(change);
    });
    return entry;
  }
}

function entryKey(provider: string, model?: string): string {
  return model === undefined ? provider : `${provider}\u0000${model}`;
}
