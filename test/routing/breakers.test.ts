import { BrokenCircuitError } from 'cockatiel';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderCallError } from '../../src/providers/provider-errors.js';
import { CircuitBreakers, type BreakerStateChange } from '../../src/routing/breakers.js';
import { circuitBreakerSettingsSchema, type CircuitBreakerSettings } from '../../src/routing/policy.js';

// Cockatiel reads Date.now(): only Date is faked, timers stay real.
const START = Date.parse('2025-06-01T12:00:00Z');
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

function settings(overrides: Partial<CircuitBreakerSettings> = {}): CircuitBreakerSettings {
  return circuitBreakerSettingsSchema.parse({ consecutiveFailures: 3, halfOpenAfterMs: 1_000, minimumCalls: 100, ...overrides });
}

const unavailable = () => new ProviderCallError({ code: 'PROVIDER_UNAVAILABLE', message: 'HTTP 503', retryable: true }, 'runway', 503);
const rejected = () => new ProviderCallError({ code: 'CONTENT_REJECTED', message: 'SAFETY.INPUT.TEXT', retryable: false }, 'runway');

function recorder(breakers: CircuitBreakers): string[] {
  const changes: string[] = [];
  breakers.onStateChange((change: BreakerStateChange) => changes.push(`${change.model ?? '*'}:${change.previous}->${change.state}`));
  return changes;
}

async function fail(breakers: CircuitBreakers, model = 'gen4.5', error: Error = unavailable(), provider = 'runway'): Promise<void> {
  await expect(breakers.execute(provider, model, async () => Promise.reject(error))).rejects.toBe(error);
}

describe('circuit breakers', () => {
  it('open after N consecutive failures, refuse calls, probe after the interval and close on success', async () => {
    const breakers = new CircuitBreakers(settings());
    const changes = recorder(breakers);
    await fail(breakers);
    await fail(breakers);
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(false);
    await fail(breakers);

    expect(breakers.state('runway', 'gen4.5')).toBe('open');
    expect(breakers.state('runway')).toBe('open');
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(true);
    // The provider's own breaker is open too, so its other models are refused.
    expect(breakers.isOpen('runway', 'gen4_turbo')).toBe(true);
    const call = vi.fn(async () => 'accepted');
    await expect(breakers.execute('runway', 'gen4.5', call)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(call).not.toHaveBeenCalled();

    advance(999);
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(true);
    advance(1);
    // Due for a probe: the router may send one request.
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(false);
    expect(breakers.list()).toContainEqual({ provider: 'runway', state: 'open', openedAt: START, probeAfter: START + 1_000 });

    await expect(breakers.execute('runway', 'gen4.5', call)).resolves.toBe('accepted');
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
    expect(breakers.state('runway')).toBe('closed');
    expect(changes).toEqual([
      'gen4.5:closed->open',
      '*:closed->open',
      'gen4.5:open->half-open',
      '*:open->half-open',
      'gen4.5:half-open->closed',
      '*:half-open->closed',
    ]);
  });

  it('open again when the probe fails', async () => {
    const breakers = new CircuitBreakers(settings());
    for (let i = 0; i < 3; i++) await fail(breakers);
    advance(1_000);
    await fail(breakers);
    expect(breakers.state('runway', 'gen4.5')).toBe('open');
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(true);
    advance(1_000);
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(false);
  });

  it('refuse other calls while a probe is in flight', async () => {
    const breakers = new CircuitBreakers(settings());
    for (let i = 0; i < 3; i++) await fail(breakers);
    advance(1_000);
    let finish: (value: string) => void = () => {};
    const probe = breakers.execute('runway', 'gen4.5', () => new Promise<string>((resolve) => (finish = resolve)));
    await Promise.resolve();
    expect(breakers.state('runway', 'gen4.5')).toBe('half-open');
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(true);
    finish('accepted');
    await expect(probe).resolves.toBe('accepted');
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(false);
  });

  it('open on the share of failures in the window', async () => {
    const breakers = new CircuitBreakers(settings({ consecutiveFailures: 100, failureRatio: 0.5, windowMs: 10_000, minimumCalls: 4 }));
    const succeed = () => breakers.execute('runway', 'gen4.5', async () => 'ok');
    await succeed();
    await fail(breakers);
    await succeed();
    await fail(breakers);
    // 2 of 4 is not more than half.
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
    await fail(breakers);
    // 3 of 5 is.
    expect(breakers.state('runway', 'gen4.5')).toBe('open');
  });

  it("do not count failures that are the request's fault", async () => {
    const breakers = new CircuitBreakers(settings());
    for (let i = 0; i < 5; i++) await fail(breakers, 'gen4.5', rejected());
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
  });

  it('count outcomes recorded after the call (an accepted job failing later)', async () => {
    const breakers = new CircuitBreakers(settings());
    const changes = recorder(breakers);
    await breakers.record('runway', 'gen4.5', 'failure');
    await breakers.record('runway', 'gen4.5', 'failure');
    await breakers.record('runway', 'gen4.5', 'success');
    await breakers.record('runway', 'gen4.5', 'failure');
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
    await breakers.record('runway', 'gen4.5', 'failure');
    await breakers.record('runway', 'gen4.5', 'failure');
    expect(breakers.state('runway', 'gen4.5')).toBe('open');
    // While open, outcomes are ignored ...
    await breakers.record('runway', 'gen4.5', 'success');
    expect(breakers.state('runway', 'gen4.5')).toBe('open');
    // ... until a probe is due: then an outcome is the probe.
    advance(1_000);
    await breakers.record('runway', 'gen4.5', 'success');
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
    expect(changes).toEqual([
      '*:closed->open',
      'gen4.5:closed->open',
      '*:open->half-open',
      'gen4.5:open->half-open',
      '*:half-open->closed',
      'gen4.5:half-open->closed',
    ]);
  });

  it('open the provider breaker on failures spread over its models', async () => {
    const breakers = new CircuitBreakers(settings());
    await fail(breakers, 'gen4.5');
    await fail(breakers, 'gen4_turbo');
    await fail(breakers, 'aleph2');
    expect(breakers.state('runway')).toBe('open');
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
    expect(breakers.isOpen('runway', 'gen4.5')).toBe(true);
    expect(breakers.isOpen('together', 'x')).toBe(false);
  });

  it('tell the reason a breaker opened', async () => {
    const seen: BreakerStateChange[] = [];
    const breakers = new CircuitBreakers(settings({ consecutiveFailures: 1 }), { onStateChange: (change) => seen.push(change) });
    await fail(breakers);
    expect(seen[0]).toEqual({
      provider: 'runway',
      model: 'gen4.5',
      state: 'open',
      previous: 'closed',
      at: START,
      reason: 'runway: HTTP 503',
    });
  });

  it('take new settings: closed breakers at once, open ones once they close', async () => {
    const breakers = new CircuitBreakers(settings());
    for (let i = 0; i < 3; i++) await fail(breakers, 'gen4.5');
    await fail(breakers, 'x', unavailable(), 'together');
    breakers.reconfigure(settings({ consecutiveFailures: 1, halfOpenAfterMs: 5_000 }));
    expect(breakers.state('runway', 'gen4.5')).toBe('open');
    expect(breakers.state('together', 'x')).toBe('closed');
    await fail(breakers, 'x', unavailable(), 'together');
    expect(breakers.state('together', 'x')).toBe('open');
    // The open one closes under its old settings, then takes the new ones.
    advance(1_000);
    await breakers.execute('runway', 'gen4.5', async () => 'ok');
    expect(breakers.state('runway', 'gen4.5')).toBe('closed');
    await fail(breakers, 'gen4.5');
    expect(breakers.state('runway', 'gen4.5')).toBe('open');
  });
});
