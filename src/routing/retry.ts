// The one retry policy for submissions: the ranked candidates are tried in
// order through cockatiel's retry, each call through the circuit breakers,
// until one accepts, a failure stops the walk (failures.ts decides), or the
// attempts run out. Moving to a provider not tried yet in this request goes at
// once; going back to one that failed (a 429 or 503, or with a single
// candidate) waits an exponential backoff with jitter, and at least as long as
// the provider's Retry-After. A provider asking for more than
// `maxRetryAfterMs` is not asked again. The same delay function schedules a
// resubmission after acceptance (the poller's next_poll_at).

import { BrokenCircuitError, handleWhen, retry, type IBackoff, type IRetryBackoffContext } from 'cockatiel';
import { ProviderError } from '../providers/types.js';
import type { CircuitBreakers } from './breakers.js';
import { submissionFailure, type FailureDecision } from './failures.js';
import type { FallbackSettings } from './policy.js';
import type { Random } from './random.js';

export type BackoffSettings = Pick<FallbackSettings, 'backoffBaseMs' | 'backoffCapMs' | 'jitter'>;

/**
 * The wait before retry `retry` (1 for the first) of the same provider:
 * base * 2^(retry-1) capped, minus up to `jitter` of it at random, and never
 * less than the provider's Retry-After.
 */
export function retryDelayMs(retryNumber: number, settings: BackoffSettings, random: Random, retryAfterMs?: number): number {
  const exponential = Math.min(settings.backoffCapMs, settings.backoffBaseMs * 2 ** Math.max(0, retryNumber - 1));
  const jittered = exponential * (1 - settings.jitter * random());
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

export interface FallbackCandidate {
  provider: string;
  model: string;
}

export interface AttemptRecord<C extends FallbackCandidate = FallbackCandidate> {
  /** 1-based, over the whole request. */
  n: number;
  candidate: C;
  /** Waited before this attempt. */
  delayMs: number;
  outcome: 'accepted' | 'failed';
  /** For a failed attempt. */
  decision?: FailureDecision;
  error?: unknown;
}

export type FallbackOutcome<C extends FallbackCandidate, T> =
  | { ok: true; value: T; candidate: C; attempts: AttemptRecord<C>[] }
  /** Every attempt failed, or one failed in a way that stops the walk; `error` is the last failure. */
  | { ok: false; error: unknown; decision: FailureDecision | null; attempts: AttemptRecord<C>[] };

export interface FallbackOptions<C extends FallbackCandidate, T> {
  /** Ranked, best first (RouteResult.candidates). */
  candidates: readonly C[];
  /** Submits to one candidate. `attempt` is 1-based; record the JobAttempt before calling the provider. */
  submit: (candidate: C, attempt: number, signal: AbortSignal) => Promise<T>;
  settings: FallbackSettings;
  random: Random;
  breakers?: CircuitBreakers;
  /** The request's `allowFallback`: false tries the first candidate once. */
  allowFallback?: boolean;
  signal?: AbortSignal;
}

/** Which candidate comes next: first each in rank order, then again (and again) those that failed repeatably. */
class CandidateWalk<C extends FallbackCandidate> {
  readonly attempts: AttemptRecord<C>[] = [];
  private index = 0;
  private stopped = false;
  private readonly failuresByProvider = new Map<string, { count: number; retryAfterMs?: number }>();
  private readonly repeatable = new Set<C>();

  constructor(
    private readonly candidates: readonly C[],
    private readonly settings: FallbackSettings,
    private readonly random: Random,
    private readonly breakers: CircuitBreakers | undefined,
  ) {}

  /** The next candidate to try, or undefined when there is none. */
  peek(): C | undefined {
    if (this.stopped) return undefined;
    const n = this.candidates.length;
    // A first pass in order; after it, rounds over the repeatable ones until
    // the attempts run out (one round without a viable candidate ends it).
    const limit = Math.max(this.index, n) + n;
    for (let i = this.index; i < limit; i++) {
      const candidate = this.candidates[i % n]!;
      if (i >= n && !this.repeatable.has(candidate)) continue;
      if (this.breakers?.isOpen(candidate.provider, candidate.model)) continue;
      this.index = i;
      return candidate;
    }
    return undefined;
  }

  take(): C {
    const candidate = this.peek();
    if (!candidate) throw new Error('bug: no candidate left to take');
    this.index++;
    return candidate;
  }

  /** The wait before the next candidate: none for a fresh provider, a backoff for one that failed. */
  delayBeforeNext(): number {
    const next = this.peek();
    const failures = next ? this.failuresByProvider.get(next.provider) : undefined;
    if (!failures) return 0;
    return retryDelayMs(failures.count, this.settings, this.random, failures.retryAfterMs);
  }

  failed(candidate: C, decision: FailureDecision): void {
    if (!decision.moveOn) this.stopped = true;
    if (decision.code === 'CIRCUIT_OPEN') {
      // No call was made: the provider is not owed a backoff.
      if (decision.repeatable) this.repeatable.add(candidate);
      return;
    }
    const earlier = this.failuresByProvider.get(candidate.provider);
    this.failuresByProvider.set(candidate.provider, {
      count: (earlier?.count ?? 0) + 1,
      ...(decision.retryAfterMs !== undefined ? { retryAfterMs: decision.retryAfterMs } : {}),
    });
    const tooLong = (decision.retryAfterMs ?? 0) > this.settings.maxRetryAfterMs;
    if (decision.repeatable && !tooLong) this.repeatable.add(candidate);
    else this.repeatable.delete(candidate);
  }
}

function canceled(provider: string): ProviderError {
  return new ProviderError({ code: 'CANCELED', message: 'the request was canceled', retryable: false }, provider);
}

/** A failure that is a bug (not a ProviderError): rethrown as it is. */
class Unexpected extends Error {
  constructor(readonly original: unknown) {
    super('unexpected failure');
  }
}

/**
 * Submits to the ranked candidates until one accepts. Expected failures are
 * returned (`ok: false`) with every attempt; a thrown bug propagates.
 */
export async function submitWithFallback<C extends FallbackCandidate, T>(options: FallbackOptions<C, T>): Promise<FallbackOutcome<C, T>> {
  const { settings, breakers } = options;
  if (options.candidates.length === 0) throw new Error('submitWithFallback needs at least one candidate');
  const fallback = settings.enabled && options.allowFallback !== false;
  const walk = new CandidateWalk(fallback ? options.candidates : options.candidates.slice(0, 1), settings, options.random, breakers);
  let lastError: unknown = undefined;
  let lastDecision: FailureDecision | null = null;
  let pendingDelay = 0;

  const backoff: IBackoff<IRetryBackoffContext<unknown>> = {
    get duration() {
      return pendingDelay;
    },
    next: () => backoff,
  };
  const policy = retry(
    handleWhen((error) => !(error instanceof Unexpected) && walk.peek() !== undefined),
    { maxAttempts: (fallback ? settings.maxAttempts : 1) - 1, backoff: { next: () => backoff } },
  );

  if (walk.peek() === undefined) {
    // Every candidate's circuit opened since the route was chosen.
    const error = new BrokenCircuitError();
    return { ok: false, error, decision: submissionFailure(error), attempts: [] };
  }
  try {
    const value = await policy.execute(async ({ signal }) => {
      const candidate = walk.take();
      const n = walk.attempts.length + 1;
      const delayMs = pendingDelay;
      try {
        if (signal.aborted) throw canceled(candidate.provider);
        const run = (inner: AbortSignal) => options.submit(candidate, n, inner);
        const result = breakers ? await breakers.execute(candidate.provider, candidate.model, run, signal) : await run(signal);
        walk.attempts.push({ n, candidate, delayMs, outcome: 'accepted' });
        return { value: result, candidate };
      } catch (error) {
        const decision = submissionFailure(error);
        walk.attempts.push({ n, candidate, delayMs, outcome: 'failed', ...(decision ? { decision } : {}), error });
        if (!decision) throw new Unexpected(error);
        walk.failed(candidate, decision);
        lastError = error;
        lastDecision = decision;
        pendingDelay = walk.delayBeforeNext();
        throw error;
      }
    }, options.signal);
    return { ok: true, value: value.value, candidate: value.candidate, attempts: walk.attempts };
  } catch (error) {
    if (error instanceof Unexpected) throw error.original;
    return { ok: false, error: lastError ?? error, decision: lastDecision, attempts: walk.attempts };
  }
}
