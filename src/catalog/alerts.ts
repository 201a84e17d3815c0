// Catalog alerts: every catalog event is POSTed as JSON to each configured
// webhook, signed so the receiver can tell it came from us and was not
// replayed long after, retried with exponential backoff while the receiver
// is down or answers 5xx/408/429, and every try logged in alert_deliveries.
//
// Signature: `x-aideon-signature: sha256=<hex>` where hex is
// HMAC-SHA256(secret, `${x-aideon-timestamp}.${raw body}`), the timestamp
// in unix seconds. Each try is signed afresh (new timestamp); the event id
// header stays the same, for the receiver to drop duplicates.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Logger } from '../logger.js';
import type { CatalogEvent, CatalogStore } from './catalog-store.js';

export const ALERT_HEADERS = {
  eventId: 'x-aideon-event-id',
  timestamp: 'x-aideon-timestamp',
  signature: 'x-aideon-signature',
} as const;

export interface AlertSenderOptions {
  store: CatalogStore;
  /** Webhook URLs; every event goes to each. */
  urls: readonly string[];
  /** The HMAC key. Never logged. */
  secret: string;
  logger: Logger;
  /** Tries per event and URL, the first included (default 5). */
  maxTries?: number;
  /** First backoff delay (default 1 s), doubled per retry up to `maxDelayMs` (default 60 s), with jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Per try (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

export interface AlertOutcome {
  url: string;
  delivered: boolean;
  tries: number;
}

/** A try that may succeed later: the receiver was unreachable, or answered 5xx, 408 or 429. */
class RetryableDeliveryError extends Error {}

/** A try that will fail the same way again (4xx other than 408/429). */
class FinalDeliveryError extends Error {}

export class AlertSender {
  private readonly store: CatalogStore;
  private readonly urls: readonly string[];
  private readonly secret: string;
  private readonly logger: Logger;
  private readonly maxTries: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => Date;

  constructor(options: AlertSenderOptions) {
    this.store = options.store;
    this.urls = options.urls;
    this.secret = options.secret;
    this.logger = options.logger;
    this.maxTries = Math.max(1, options.maxTries ?? 5);
    this.initialDelayMs = options.initialDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? (() => new Date());
  }

  /** Delivers one event to every webhook; resolves when each URL has succeeded or given up. Never rejects. */
  async send(event: CatalogEvent): Promise<AlertOutcome[]> {
    return Promise.all(this.urls.map((url) => this.sendTo(url, event)));
  }

  /**
   * Sends the alerts a crash lost: events of the last day never tried at a
   * URL, older than `graceMs` (younger ones may still be on their way).
   */
  async resendMissing(graceMs = 60_000): Promise<AlertOutcome[]> {
    const now = this.now().getTime();
    const outcomes: AlertOutcome[] = [];
    for (const url of this.urls) {
      const missing = await this.store.eventsNeverSent(url, new Date(now - 24 * 60 * 60 * 1000), new Date(now - graceMs));
      for (const event of missing) outcomes.push(await this.sendTo(url, event));
    }
    return outcomes;
  }

  private async sendTo(url: string, event: CatalogEvent): Promise<AlertOutcome> {
    const body = JSON.stringify(alertPayload(event));
    // cockatiel's maxAttempts counts retries, not tries.
    const policy = retry(
      handleWhen((error) => error instanceof RetryableDeliveryError),
      {
        maxAttempts: this.maxTries - 1,
        backoff: new ExponentialBackoff({ initialDelay: this.initialDelayMs, maxDelay: this.maxDelayMs }),
      },
    );
    let tries = 0;
    try {
      await policy.execute(async ({ attempt }) => {
        tries = attempt + 1;
        await this.tryOnce(url, event, body, tries);
      });
      return { url, delivered: true, tries };
    } catch (error) {
      this.logger.warn({ eventId: event.id, url, tries, err: (error as Error).message }, 'catalog alert not delivered');
      return { url, delivered: false, tries };
    }
  }

  private async tryOnce(url: string, event: CatalogEvent, body: string, attempt: number): Promise<void> {
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    let httpStatus: number | null = null;
    let failure: Error | null = null;
    try {
      const response = await this.fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [ALERT_HEADERS.eventId]: event.id,
          [ALERT_HEADERS.timestamp]: timestamp,
          [ALERT_HEADERS.signature]: signAlert(this.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      httpStatus = response.status;
      // Read (and drop) the answer so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) {
        const message = `the receiver answered HTTP ${response.status}`;
        failure =
          response.status >= 500 || response.status === 408 || response.status === 429
            ? new RetryableDeliveryError(message)
            : new FinalDeliveryError(message);
      }
    } catch (error) {
      failure = new RetryableDeliveryError(`could not reach the receiver: ${(error as Error).message}`);
    }
    await this.store.recordDelivery({
      eventId: event.id,
      url,
      attempt,
      status: failure ? 'FAILED' : 'DELIVERED',
      httpStatus,
      error: failure?.message ?? null,
      at: this.now(),
    });
    if (failure) {
      this.logger.info({ eventId: event.id, url, attempt, httpStatus, err: failure.message }, 'catalog alert try failed');
      throw failure;
    }
  }
}

/** The JSON body of an alert. */
export function alertPayload(event: CatalogEvent): Record<string, unknown> {
  return {
    id: event.id,
    provider: event.provider,
    modelId: event.modelId,
    kind: event.kind,
    modality: event.modality,
    details: event.details,
    at: event.at.toISOString(),
  };
}

/** `sha256=<hex HMAC-SHA256 of "${timestamp}.${body}">`. */
export function signAlert(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface VerifyAlertOptions {
  secret: string;
  /** The raw request body, exactly as received. */
  body: string;
  /** `x-aideon-timestamp`. */
  timestamp: string | undefined;
  /** `x-aideon-signature`. */
  signature: string | undefined;
  /** Reject alerts signed longer ago (or further ahead) than this; default 300 s. */
  toleranceSeconds?: number;
  now?: Date;
}

/** For receivers: true when the signature matches and the timestamp is recent. */
export function verifyAlertSignature(options: VerifyAlertOptions): boolean {
  const { timestamp, signature } = options;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signAlert(options.secret, timestamp, options.body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
