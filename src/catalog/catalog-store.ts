// All SQL about the provider model catalog: snapshots, the events recorded
// when a snapshot changes, the alert delivery log and the watcher's lease.
// A provider's diff is applied in one transaction under a per-provider
// advisory lock, so two checks of the same provider (two instances, or a
// manual check beside the scheduled one) never record one change twice.

import { and, asc, eq, gte, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Database } from '../db/client.js';
import {
  alertDeliveries,
  catalogEvents,
  catalogLeases,
  modelSnapshots,
  type AlertDeliveryRow,
  type AlertDeliveryStatus,
  type CatalogEventKind,
  type ModelSnapshotRow,
} from '../db/schema.js';
import type { Modality } from '../domain.js';

/** One model as a provider's catalog describes it, in our terms. */
export interface CatalogEntry {
  modelId: string;
  modality: Modality | null;
  providerType: string | null;
  version: string | null;
  pricing: Record<string, unknown> | null;
  displayName: string | null;
}

/** The facts of a snapshot that events carry before and after a change. */
export type ModelFacts = Omit<CatalogEntry, 'modelId'>;

// A type, not an interface: it must fit the jsonb column's Record<string, unknown>.
export type CatalogEventDetails = {
  before?: Partial<ModelFacts>;
  after?: Partial<ModelFacts>;
  /** NEW_MODEL of a model that had been removed before. */
  reappeared?: boolean;
};

/** What `onEvent`, the alert webhooks and the event queries see. */
export interface CatalogEvent {
  id: string;
  provider: string;
  modelId: string;
  kind: CatalogEventKind;
  modality: Modality | null;
  details: CatalogEventDetails;
  at: Date;
}

export interface ApplyCatalogResult {
  /** True when the provider had no snapshot at all: models were recorded, no events. */
  baseline: boolean;
  events: CatalogEvent[];
}

export interface ModelQuery {
  provider?: string;
  modality?: Modality;
  /** Include models gone from their catalog (removed_at set); default false. */
  includeRemoved?: boolean;
}

/** Keyed per provider inside pg_advisory_xact_lock's (int, int) space. */
const CATALOG_LOCK_CLASS = 7_310_411;

export class CatalogStore {
  constructor(private readonly db: Database) {}

  /**
   * Compares a provider's catalog, as just read, with its snapshots and
   * records the differences: new and reappearing models, new versions, price
   * changes, and models gone from the catalog. The very first read of a
   * provider is a baseline: its models are recorded without events.
   */
  async applyCatalog(provider: string, entries: readonly CatalogEntry[], now: Date): Promise<ApplyCatalogResult> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${CATALOG_LOCK_CLASS}, hashtext(${provider}))`);
      const rows = await tx.select().from(modelSnapshots).where(eq(modelSnapshots.provider, provider));
      const known = new Map(rows.map((row) => [row.modelId, row]));
      const baseline = rows.length === 0;
      const events: CatalogEvent[] = [];
      const event = (entry: { modelId: string; modality: Modality | null }, kind: CatalogEventKind, details: CatalogEventDetails) =>
        events.push({ id: uuidv7(), provider, modelId: entry.modelId, kind, modality: entry.modality, details, at: now });

      const seen = new Set<string>();
      for (const entry of entries) {
        if (seen.has(entry.modelId)) continue;
        seen.add(entry.modelId);
        const facts = factsOf(entry);
        const row = known.get(entry.modelId);
        if (!row) {
          await tx.insert(modelSnapshots).values({ provider, ...entry, firstSeenAt: now, lastSeenAt: now });
          if (!baseline) event(entry, 'NEW_MODEL', { after: facts });
          continue;
        }
        if (row.removedAt) {
          event(entry, 'NEW_MODEL', { before: factsOf(row), after: facts, reappeared: true });
        } else {
          if (entry.version !== null && entry.version !== row.version) {
            event(entry, 'NEW_VERSION', { before: { version: row.version }, after: { version: entry.version } });
          }
          if (entry.pricing !== null && !sameJson(entry.pricing, row.pricing)) {
            event(entry, 'PRICE_CHANGED', { before: { pricing: row.pricing }, after: { pricing: entry.pricing } });
          }
        }
        await tx
          .update(modelSnapshots)
          .set({
            modality: entry.modality,
            providerType: entry.providerType,
            // A reader that cannot tell a version or price this time keeps the last known one.
            version: entry.version ?? row.version,
            pricing: entry.pricing ?? row.pricing,
            displayName: entry.displayName ?? row.displayName,
            lastSeenAt: now,
            removedAt: null,
          })
          .where(and(eq(modelSnapshots.provider, provider), eq(modelSnapshots.modelId, entry.modelId)));
      }

      for (const row of rows) {
        if (seen.has(row.modelId) || row.removedAt) continue;
        await tx
          .update(modelSnapshots)
          .set({ removedAt: now })
          .where(and(eq(modelSnapshots.provider, provider), eq(modelSnapshots.modelId, row.modelId)));
        event(row, 'REMOVED_MODEL', { before: factsOf(row) });
      }

      if (events.length > 0) await tx.insert(catalogEvents).values(events);
      return { baseline, events };
    });
  }

  /** Snapshots, by provider then model id. */
  async models(query: ModelQuery = {}): Promise<ModelSnapshotRow[]> {
    const conditions: SQL[] = [];
    if (query.provider) conditions.push(eq(modelSnapshots.provider, query.provider));
    if (query.modality) conditions.push(eq(modelSnapshots.modality, query.modality));
    if (!query.includeRemoved) conditions.push(isNull(modelSnapshots.removedAt));
    return this.db
      .select()
      .from(modelSnapshots)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(asc(modelSnapshots.provider), asc(modelSnapshots.modelId));
  }

  /** Events at or after `since`, oldest first. */
  async events(since: Date, options: { provider?: string; limit?: number } = {}): Promise<CatalogEvent[]> {
    const conditions: SQL[] = [gte(catalogEvents.at, since)];
    if (options.provider) conditions.push(eq(catalogEvents.provider, options.provider));
    const rows = await this.db
      .select()
      .from(catalogEvents)
      .where(and(...conditions))
      .orderBy(asc(catalogEvents.at), asc(catalogEvents.id))
      .limit(options.limit ?? 1000);
    return rows.map((row) => ({ ...row, details: row.details as CatalogEventDetails }));
  }

  async recordDelivery(delivery: {
    eventId: string;
    url: string;
    attempt: number;
    status: AlertDeliveryStatus;
    httpStatus?: number | null;
    error?: string | null;
    at: Date;
  }): Promise<AlertDeliveryRow> {
    const [row] = await this.db
      .insert(alertDeliveries)
      .values({ id: uuidv7(), httpStatus: null, error: null, ...delivery })
      .returning();
    return row!;
  }

  /** Every try for one event, in order. */
  /**
   * Events from `since` to `before` never tried at `url`: their process died
   * between recording them and sending the alert. (Events whose tries all
   * failed were retried already and are left as they are.)
   */
  async eventsNeverSent(url: string, since: Date, before: Date): Promise<CatalogEvent[]> {
    const rows = await this.db
      .select()
      .from(catalogEvents)
      .where(
        and(
          gte(catalogEvents.at, since),
          lt(catalogEvents.at, before),
          sql`not exists (select 1 from ${alertDeliveries} where ${alertDeliveries.eventId} = ${catalogEvents.id} and ${alertDeliveries.url} = ${url})`,
        ),
      )
      .orderBy(asc(catalogEvents.at), asc(catalogEvents.id))
      .limit(100);
    return rows.map((row) => ({ ...row, details: row.details as CatalogEventDetails }));
  }

  async deliveries(eventId: string): Promise<AlertDeliveryRow[]> {
    return this.db
      .select()
      .from(alertDeliveries)
      .where(eq(alertDeliveries.eventId, eventId))
      .orderBy(asc(alertDeliveries.url), asc(alertDeliveries.attempt), asc(alertDeliveries.id));
  }

  /**
   * Takes or renews the lease `name` for `owner` until `leaseMs` from now
   * (database time). True when `owner` holds it afterwards: it was free,
   * expired, or already this owner's.
   */
  async acquireLease(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const until = sql`now() + ${`${leaseMs} milliseconds`}::interval`;
    const rows = await this.db
      .insert(catalogLeases)
      .values({ name, owner, leaseUntil: until })
      .onConflictDoUpdate({
        target: catalogLeases.name,
        set: { owner, leaseUntil: until },
        setWhere: or(eq(catalogLeases.owner, owner), lt(catalogLeases.leaseUntil, sql`now()`)),
      })
      .returning({ owner: catalogLeases.owner });
    return rows.length === 1;
  }

  /** Gives the lease up if `owner` holds it, so another instance can take over at once. */
  async releaseLease(name: string, owner: string): Promise<void> {
    await this.db.delete(catalogLeases).where(and(eq(catalogLeases.name, name), eq(catalogLeases.owner, owner)));
  }

  async leaseHolder(name: string): Promise<{ owner: string; leaseUntil: Date } | null> {
    const [row] = await this.db
      .select({ owner: catalogLeases.owner, leaseUntil: catalogLeases.leaseUntil })
      .from(catalogLeases)
      .where(and(eq(catalogLeases.name, name), gte(catalogLeases.leaseUntil, sql`now()`)));
    return row ?? null;
  }
}

function factsOf(entry: ModelFacts): ModelFacts {
  return {
    modality: entry.modality,
    providerType: entry.providerType,
    version: entry.version,
    pricing: entry.pricing,
    displayName: entry.displayName,
  };
}

/** JSON equality that ignores key order (jsonb does not keep it). */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
