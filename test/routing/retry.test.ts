import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it, vi } from 'vitest';
import type { JobErrorInfo } from '../../src/domain.js';
import { ProviderCallError } from '../../src/providers/provider-errors.js';
import { ProviderError } from '../../src/providers/types.js';
import { CircuitBreakers } from '../../src/routing/breakers.js';
import { acceptedJobFailure, deadlineOverrun, submissionFailure } from '../../src/routing/failures.js';
import { circuitBreakerSettingsSchema, fallbackSettingsSchema, type FallbackSettings } from '../../src/routing/policy.js';
import { seededRandom } from '../../src/routing/random.js';
import { retryDelayMs, submitWithFallback, type FallbackCandidate } from '../../src/routing/retry.js';

const callError = (info: JobErrorInfo, status?: number, retryAfterMs?: number) => new ProviderCallError(info, 'p', status, retryAfterMs);
const unavailable = (status?: number) => callError({ code: 'PROVIDER_UNAVAILABLE', message: 'down', retryable: true }, status);
const rateLimited = (retryAfterMs?: number) =>
  callError({ code: 'RATE_LIMITED', message: 'slow down', retryable: true }, 429, retryAfterMs);
const rejected = () => callError({ code: 'CONTENT_REJECTED', message: 'SAFETY', retryable: false });

function fallback(overrides: Partial<FallbackSettings> = {}): FallbackSettings {
  return fallbackSettingsSchema.parse({ backoffBaseMs: 5, backoffCapMs: 40, jitter: 0, ...overrides });
}

const A = { provider: 'a', model: 'a-1' };
const B = { provider: 'b', model: 'b-1' };
const C = { provider: 'c', model: 'c-1' };

/** A submit that fails with each candidate's scripted errors in turn, then accepts. */
function scripted(script: Record<string, Error[]>) {
  const calls: string[] = [];
  const submit = vi.fn(async (candidate: FallbackCandidate, attempt: number) => {
    calls.push(`${attempt}:${candidate.provider}`);
    const next = script[candidate.provider]?.shift();
    if (next) throw next;
    return `accepted by ${candidate.provider}`;
  });
  return { submit, calls };
}

describe('retryDelayMs', () => {
  const settings = { backoffBaseMs: 100, backoffCapMs: 1_000, jitter: 0 };

  it('doubles from the base up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, settings, seededRandom(1)));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('takes off up to the jitter share at random, never more', () => {
    const random = seededRandom(42);
    for (const n of [1, 2, 3, 4]) {
      const full = Math.min(1_000, 100 * 2 ** (n - 1));
      const delays = Array.from({ length: 2_000 }, () => retryDelayMs(n, { ...settings, jitter: 0.5 }, random));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(Math.round(full * 0.5));
      expect(Math.max(...delays)).toBeLessThanOrEqual(full);
      // Spread over the range, not stuck at one end.
      const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
      expect(mean).toBeGreaterThan(full * 0.7);
      expect(mean).toBeLessThan(full * 0.8);
    }
  });

  it('is the same for the same seed', () => {
    const draw = () => Array.from({ length: 5 }, (_, i) => retryDelayMs(i + 1, { ...settings, jitter: 1 }, seededRandom(3)));
    expect(draw()).toEqual(draw());
  });

  it("honours the provider's Retry-After", () => {
    expect(retryDelayMs(1, settings, seededRandom(1), 5_000)).toBe(5_000);
    expect(retryDelayMs(4, settings, seededRandom(1), 10)).toBe(800);
  });
});

describe('failure decisions', () => {
  it.each<[string, Error, { moveOn: boolean; providerFault: boolean; repeatable: boolean }]>([
    ['503', unavailable(503), { moveOn: true, providerFault: true, repeatable: true }],
    ['a timeout', unavailable(), { moveOn: true, providerFault: true, repeatable: false }],
    ['429', rateLimited(1_000), { moveOn: true, providerFault: true, repeatable: true }],
    [
      '401',
      callError({ code: 'PROVIDER_AUTH', message: 'bad key', retryable: false }, 401),
      { moveOn: true, providerFault: true, repeatable: false },
    ],
    [
      '402',
      callError({ code: 'PROVIDER_ERROR', message: 'no credit', retryable: false }, 402),
      { moveOn: true, providerFault: true, repeatable: false },
    ],
    ['a content rejection', rejected(), { moveOn: false, providerFault: false, repeatable: false }],
    [
      '400',
      callError({ code: 'VALIDATION', message: 'bad', retryable: false }, 400),
      { moveOn: false, providerFault: false, repeatable: false },
    ],
    [
      'an abort',
      callError({ code: 'CANCELED', message: 'aborted', retryable: false }),
      { moveOn: false, providerFault: false, repeatable: false },
    ],
    ['an open circuit', new BrokenCircuitError(), { moveOn: true, providerFault: false, repeatable: true }],
  ])('at submission, %s', (_name, error, expected) => {
    expect(submissionFailure(error)).toMatchObject(expected);
  });

  it('keeps Retry-After, and leaves bugs to be rethrown', () => {
    expect(submissionFailure(rateLimited(1_500))?.retryAfterMs).toBe(1_500);
    expect(submissionFailure(new TypeError('x is undefined'))).toBeNull();
  });

  it('after acceptance: retryable failures move, content rejections never, overruns do', () => {
    expect(acceptedJobFailure({ code: 'PROVIDER_UNAVAILABLE', message: 'INTERNAL', retryable: true })).toMatchObject({
      moveOn: true,
      providerFault: true,
    });
    expect(acceptedJobFailure({ code: 'CONTENT_REJECTED', message: 'SAFETY', retryable: true })).toMatchObject({
      moveOn: false,
      providerFault: false,
    });
    expect(acceptedJobFailure({ code: 'PROVIDER_ERROR', message: 'failed', retryable: false })).toMatchObject({
      moveOn: false,
      providerFault: true,
    });
    expect(deadlineOverrun(600_000)).toMatchObject({
      moveOn: true,
      providerFault: true,
      message: 'the provider did not finish within 600 s',
    });
  });
});

describe('submitWithFallback', () => {
  it('moves to the next candidate at once on a retryable failure', async () => {
    const { submit, calls } = scripted({ a: [unavailable(502)] });
    const outcome = await submitWithFallback({ candidates: [A, B, C], submit, settings: fallback(), random: seededRandom(1) });
    expect(outcome).toMatchObject({ ok: true, value: 'accepted by b', candidate: B });
    expect(calls).toEqual(['1:a', '2:b']);
    expect(outcome.attempts.map((a) => [a.n, a.candidate.provider, a.outcome, a.delayMs])).toEqual([
      [1, 'a', 'failed', 0],
      [2, 'b', 'accepted', 0],
    ]);
    expect(outcome.attempts[0]!.decision?.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('stops on a content rejection', async () => {
    const error = rejected();
    const { submit, calls } = scripted({ a: [error] });
    const outcome = await submitWithFallback({ candidates: [A, B], submit, settings: fallback(), random: seededRandom(1) });
    expect(outcome).toMatchObject({ ok: false, error, decision: { code: 'CONTENT_REJECTED', moveOn: false } });
    expect(calls).toEqual(['1:a']);
  });

  it('is bounded by maxAttempts', async () => {
    const { submit, calls } = scripted({ a: [unavailable(503)], b: [unavailable(503)], c: [unavailable(503)] });
    const outcome = await submitWithFallback({
      candidates: [A, B, C],
      submit,
      settings: fallback({ maxAttempts: 2 }),
      random: seededRandom(1),
    });
    expect(outcome.ok).toBe(false);
    expect(calls).toEqual(['1:a', '2:b']);
  });

  it('tries one candidate once when fallback is off', async () => {
    const { submit, calls } = scripted({ a: [unavailable(503)] });
    const off = await submitWithFallback({
      candidates: [A, B],
      submit,
      settings: fallback(),
      random: seededRandom(1),
      allowFallback: false,
    });
    expect(off.ok).toBe(false);
    expect(calls).toEqual(['1:a']);
    const disabled = scripted({ a: [unavailable(503)] });
    await submitWithFallback({
      candidates: [A, B],
      submit: disabled.submit,
      settings: fallback({ enabled: false }),
      random: seededRandom(1),
    });
    expect(disabled.calls).toEqual(['1:a']);
  });

  it('goes back to a provider that refused the work, after a growing backoff', async () => {
    const { submit, calls } = scripted({ a: [unavailable(503), unavailable(503)] });
    const outcome = await submitWithFallback({ candidates: [A], submit, settings: fallback({ maxAttempts: 3 }), random: seededRandom(1) });
    expect(outcome.ok).toBe(true);
    expect(calls).toEqual(['1:a', '2:a', '3:a']);
    expect(outcome.attempts.map((a) => a.delayMs)).toEqual([0, 5, 10]);
  });

  it('waits out Retry-After before asking the same provider again', async () => {
    const { submit } = scripted({ a: [rateLimited(60)] });
    const started = performance.now();
    const outcome = await submitWithFallback({ candidates: [A], submit, settings: fallback(), random: seededRandom(1) });
    expect(outcome.ok).toBe(true);
    expect(outcome.attempts[1]!.delayMs).toBe(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('does not ask again a provider that wants more than maxRetryAfterMs, nor one that may have taken the work', async () => {
    const tooLong = scripted({ a: [rateLimited(120_000)] });
    const outcome = await submitWithFallback({ candidates: [A], submit: tooLong.submit, settings: fallback(), random: seededRandom(1) });
    expect(outcome.ok).toBe(false);
    expect(tooLong.calls).toEqual(['1:a']);

    const timedOut = scripted({ a: [unavailable()] });
    await submitWithFallback({ candidates: [A], submit: timedOut.submit, settings: fallback(), random: seededRandom(1) });
    expect(timedOut.calls).toEqual(['1:a']);
  });

  it('runs calls through the breakers: skips an open circuit and counts failures', async () => {
    const breakers = new CircuitBreakers(circuitBreakerSettingsSchema.parse({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 }));
    await expect(breakers.execute('a', 'a-1', () => Promise.reject(unavailable(503)))).rejects.toThrow();
    expect(breakers.isOpen('a', 'a-1')).toBe(true);

    const { submit, calls } = scripted({ b: [unavailable(502)] });
    const outcome = await submitWithFallback({ candidates: [A, B, C], submit, settings: fallback(), random: seededRandom(1), breakers });
    expect(outcome).toMatchObject({ ok: true, candidate: C });
    expect(calls).toEqual(['1:b', '2:c']);
    expect(breakers.isOpen('b', 'b-1')).toBe(true);
  });

  it('answers without calling when every circuit is open', async () => {
    const breakers = new CircuitBreakers(circuitBreakerSettingsSchema.parse({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 }));
    await breakers.record('a', 'a-1', 'failure');
    const submit = vi.fn();
    const outcome = await submitWithFallback({ candidates: [A], submit, settings: fallback(), random: seededRandom(1), breakers });
    expect(outcome).toMatchObject({ ok: false, decision: { code: 'CIRCUIT_OPEN' }, attempts: [] });
    expect(submit).not.toHaveBeenCalled();
  });

  it('stops when the request is canceled', async () => {
    const controller = new AbortController();
    const submit = vi.fn(async (candidate: FallbackCandidate) => {
      controller.abort();
      throw unavailable(503);
    });
    const outcome = await submitWithFallback({
      candidates: [A, B],
      submit,
      settings: fallback(),
      random: seededRandom(1),
      signal: controller.signal,
    });
    expect(outcome.ok).toBe(false);
    expect(submit).toHaveBeenCalledTimes(1);
  });

  it('rethrows a bug', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const submit = vi.fn(async () => Promise.reject(bug));
    await expect(submitWithFallback({ candidates: [A, B], submit, settings: fallback(), random: seededRandom(1) })).rejects.toBe(bug);
    expect(submit).toHaveBeenCalledTimes(1);
  });

  it('a ProviderError from the local provider moves on like any other', async () => {
    const shuttingDown = new ProviderError({ code: 'PROVIDER_UNAVAILABLE', message: 'shutting down', retryable: true }, 'local');
    const { submit, calls } = scripted({ a: [shuttingDown] });
    expect((await submitWithFallback({ candidates: [A, B], submit, settings: fallback(), random: seededRandom(1) })).ok).toBe(true);
    expect(calls).toEqual(['1:a', '2:b']);
  });
});
