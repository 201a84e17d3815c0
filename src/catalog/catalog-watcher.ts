// Watches the providers' model catalogs: reads each one, diffs it against
// the snapshots in the database, records the changes as catalog events and
// hands every event to `onEvent` (the GraphQL subscription, canary policy)
// and to the alert webhooks. On a schedule it checks only while it holds the
// `catalog_leases` lease, so of several instances one watches at a time; the
// lease outlives a few intervals, so a crashed holder is replaced within
// `leaseMs`, and is released on stop so another takes over at once.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { CatalogReader } from './catalog-readers.js';
import type { CatalogEvent, CatalogStore } from './catalog-store.js';

export type ProviderCheck =
  | {
      provider: string;
      ok: true;
      /** The provider's first read: models recorded, no events. */
      baseline: boolean;
      /** Models in the catalog as read. */
      models: number;
      events: CatalogEvent[];
    }
  /** The catalog could not be read (or recorded): nothing about it changed, no removal inferred. */
  | { provider: string; ok: false; error: string; events: [] };

export interface CatalogAlerts {
  /** Must not reject: it logs its own failures. */
  send(event: CatalogEvent): Promise<unknown>;
  /** Sends what a crash kept from being sent (run by the lease holder at each check). */
  resendMissing?(): Promise<unknown>;
}

export interface CatalogWatcherOptions {
  store: CatalogStore;
  /** By provider name; each throws when its catalog cannot be read. */
  readers: Readonly<Record<string, CatalogReader>>;
  logger: Logger;
  /** Times of snapshots and events (default: the system clock). Leases use database time. */
  now?: () => Date;
  /** Called once per recorded event, after it is committed; errors are logged, not thrown. */
  onEvent?: (event: CatalogEvent) => void | Promise<void>;
  alerts?: CatalogAlerts;
  /** This instance's name in the lease (default: a random id). */
  owner?: string;
  leaseName?: string;
  /** How long a taken lease lasts (default: three intervals, at least 30 s). */
  leaseMs?: number;
  /** A reader taking longer than this is abandoned and its provider reported failed (default 60 s). */
  readTimeoutMs?: number;
}

export const CATALOG_WATCH_LEASE = 'catalog-watch';

export class CatalogWatcher {
  readonly owner: string;
  private readonly options: CatalogWatcherOptions;
  private readonly now: () => Date;
  private readonly leaseName: string;
  private readonly pendingAlerts = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private currentTick: Promise<void> | undefined;
  private leaseHeld = false;

  constructor(options: CatalogWatcherOptions) {
    this.options = options;
    this.owner = options.owner ?? `catalog-${randomUUID()}`;
    this.now = options.now ?? (() => new Date());
    this.leaseName = options.leaseName ?? CATALOG_WATCH_LEASE;
  }

  /** Whether this instance held the lease at its last scheduled tick. */
  get holdsLease(): boolean {
    return this.leaseHeld;
  }

  /**
   * Reads every provider's catalog now and records the differences. A provider
   * whose catalog cannot be read is reported `ok: false` and left untouched.
   * Does not look at the lease: the schedule does.
   */
  async checkNow(): Promise<ProviderCheck[]> {
    const providers = Object.keys(this.options.readers);
    const checks = await Promise.all(providers.map((provider) => this.checkProvider(provider)));
    for (const check of checks) {
      for (const event of check.events) await this.publish(event);
    }
    return checks;
  }

  /** Checks every `intervalMs`, the first at once, while holding the lease. */
  start(intervalMs: number): void {
    if (this.running) return;
    this.running = true;
    const leaseMs = this.options.leaseMs ?? Math.max(3 * intervalMs, 30_000);
    const tick = async () => {
      try {
        this.leaseHeld = await this.options.store.acquireLease(this.leaseName, this.owner, leaseMs);
      } catch (error) {
        this.leaseHeld = false;
        this.options.logger.error({ err: error }, 'catalog watch: could not take the lease');
      }
      if (this.leaseHeld && this.running) {
        const checks = await this.checkNow();
        const failed = checks.filter((c) => !c.ok).map((c) => c.provider);
        if (failed.length) this.options.logger.warn({ failed }, 'catalog watch: some catalogs could not be read');
        await this.options.alerts?.resendMissing?.();
      }
    };
    const loop = () => {
      this.currentTick = tick()
        .catch((error) => this.options.logger.error({ err: error }, 'catalog watch tick failed'))
        .finally(() => {
          this.currentTick = undefined;
          if (this.running) this.timer = setTimeout(loop, intervalMs);
        });
    };
    loop();
  }

  /** Stops the schedule, waits for a check in progress and gives the lease up. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.currentTick;
    if (this.leaseHeld) {
      this.leaseHeld = false;
      await this.options.store
        .releaseLease(this.leaseName, this.owner)
        .catch((error) => this.options.logger.error({ err: error }, 'catalog watch: could not release the lease'));
    }
  }

  /** Resolves when every alert handed out so far has been delivered or given up (before closing the database). */
  async settled(): Promise<void> {
    while (this.pendingAlerts.size > 0) await Promise.allSettled([...this.pendingAlerts]);
  }

  private async checkProvider(provider: string): Promise<ProviderCheck> {
    const reader = this.options.readers[provider]!;
    let entries;
    try {
      entries = await withTimeout(reader, this.options.readTimeoutMs ?? 60_000);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.warn({ provider, err: message }, 'catalog watch: catalog unreadable, skipped');
      return { provider, ok: false, error: message, events: [] };
    }
    try {
      const { baseline, events } = await this.options.store.applyCatalog(provider, entries, this.now());
      if (baseline) this.options.logger.info({ provider, models: entries.length }, 'catalog watch: baseline recorded');
      return { provider, ok: true, baseline, models: entries.length, events };
    } catch (error) {
      this.options.logger.error({ provider, err: error }, 'catalog watch: could not record the catalog');
      return { provider, ok: false, error: error instanceof Error ? error.message : String(error), events: [] };
    }
  }

  private async publish(event: CatalogEvent): Promise<void> {
    this.options.logger.info(
      { provider: event.provider, modelId: event.modelId, kind: event.kind, modality: event.modality },
      'catalog changed',
    );
    if (this.options.onEvent) {
      try {
        await this.options.onEvent(event);
      } catch (error) {
        this.options.logger.error({ err: error, eventId: event.id }, 'catalog watch: onEvent failed');
      }
    }
    if (this.options.alerts) {
      const delivery = this.options.alerts.send(event).catch((error) => {
        this.options.logger.error({ err: error, eventId: event.id }, 'catalog watch: alert delivery failed');
      });
      this.pendingAlerts.add(delivery);
      void delivery.finally(() => this.pendingAlerts.delete(delivery));
    }
  }
}

async function withTimeout<T>(read: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`the catalog did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([read(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
