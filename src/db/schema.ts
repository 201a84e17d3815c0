// The tables. The jobs table is the one source of truth for work in flight:
// the poller claims from it with leases, and there is no second queue.

import { sql } from 'drizzle-orm';
import {
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import type { JobErrorInfo, JobOperation, JobOutputInfo, JobStatus, Modality } from '../domain.js';

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const jobs = pgTable(
  'jobs',
  {
    id: uuid('id').primaryKey(),
    modality: text('modality').$type<Modality>().notNull(),
    operation: text('operation').$type<JobOperation>().notNull(),
    status: text('status').$type<JobStatus>().notNull(),
    progress: doublePrecision('progress'),
    prompt: text('prompt'),
    /** The normalised request, as the job service validated it. */
    input: jsonb('input').$type<Record<string, unknown>>().notNull(),
    output: jsonb('output').$type<JobOutputInfo>(),
    error: jsonb('error').$type<JobErrorInfo>(),
    /** A note from the provider for people (e.g. throttled); cleared on the next change. */
    message: text('message'),
    provider: text('provider'),
    model: text('model'),
    providerJobId: text('provider_job_id'),
    idempotencyKey: text('idempotency_key').unique(),
    inputHash: text('input_hash').notNull(),
    costUsd: doublePrecision('cost_usd'),
    attemptCount: integer('attempt_count').notNull().default(0),
    /** Polls of the current attempt, for the back-off of the poll interval. */
    pollCount: integer('poll_count').notNull().default(0),
    nextPollAt: timestamptz('next_poll_at'),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamptz('lease_until'),
    createdAt: timestamptz('created_at').notNull().default(sql`now()`),
    updatedAt: timestamptz('updated_at').notNull().default(sql`now()`),
    completedAt: timestamptz('completed_at'),
    /** Who asked (a hash of the caller's identity), for sticky experiment variants. */
    clientKey: text('client_key'),
    /** The routing experiment and variant that chose the provider, if any. */
    experiment: text('experiment'),
    variant: text('variant'),
  },
  (table) => [
    index('jobs_due_idx').on(table.status, table.nextPollAt),
    index('jobs_created_idx').on(table.createdAt),
  ],
);

export const jobAttempts = pgTable(
  'job_attempts',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    n: integer('n').notNull(),
    provider: text('provider').notNull(),
    model: text('model'),
    /** Null until the provider accepted the work. */
    providerJobId: text('provider_job_id'),
    status: text('status').$type<JobStatus>().notNull(),
    error: jsonb('error').$type<JobErrorInfo>(),
    costUsd: doublePrecision('cost_usd'),
    startedAt: timestamptz('started_at').notNull().default(sql`now()`),
    finishedAt: timestamptz('finished_at'),
  },
  (table) => [primaryKey({ columns: [table.jobId, table.n] })],
);

export type JobRow = typeof jobs.$inferSelect;
export type NewJobRow = typeof jobs.$inferInsert;
export type JobAttemptRow = typeof jobAttempts.$inferSelect;
export type JobRatingRow = typeof jobRatings.$inferSelect;
export type RoutingPolicyRevisionRow = typeof routingPolicyRevisions.$inferSelect;



/** A user's rating of a finished job (one per job; a new rating replaces it). */
export const jobRatings = pgTable('job_ratings', {
  jobId: uuid('job_id')
    .primaryKey()
    .references(() => jobs.id, { onDelete: 'cascade' }),
  score: integer('score').notNull(),
  comment: text('comment'),
  ratedAt: timestamptz('rated_at').notNull().default(sql`now()`),
});

/**
 * Routing policy revisions: every change (the config seed, an admin update,
 * a bandit shift) is a new row; the highest version is in force.
 */
export const routingPolicyRevisions = pgTable('routing_policy_revisions', {
  version: integer('version').primaryKey(),
  policy: jsonb('policy').$type<Record<string, unknown>>().notNull(),
  author: text('author').notNull(),
  reason: text('reason').notNull(),
  createdAt: timestamptz('created_at').notNull().default(sql`now()`),
});

/** Provider webhook deliveries already handled, so a replayed delivery is ignored. */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  provider: text('provider').notNull(),
  deliveryId: text('delivery_id').primaryKey(),
  providerJobId: text('provider_job_id'),
  receivedAt: timestamptz('received_at').notNull().default(sql`now()`),
});

/**
 * What the catalog watcher last read of each provider model. A row is never
 * deleted: a model gone from the catalog keeps its row with `removed_at` set,
 * so a later reappearance and the history of first sight survive.
 */
export const modelSnapshots = pgTable(
  'model_snapshots',
  {
    provider: text('provider').notNull(),
    modelId: text('model_id').notNull(),
    /** Null when the provider's type maps to none of ours. */
    modality: text('modality').$type<Modality>(),
    /** The provider's own word for the model's kind (Together `type`, a Replicate collection, a Runway endpoint). */
    providerType: text('provider_type'),
    /** Replicate's latest version id; null elsewhere. */
    version: text('version'),
    pricing: jsonb('pricing').$type<Record<string, unknown>>(),
    displayName: text('display_name'),
    firstSeenAt: timestamptz('first_seen_at').notNull(),
    lastSeenAt: timestamptz('last_seen_at').notNull(),
    removedAt: timestamptz('removed_at'),
  },
  (table) => [primaryKey({ columns: [table.provider, table.modelId] })],
);

export const CATALOG_EVENT_KINDS = ['NEW_MODEL', 'REMOVED_MODEL', 'NEW_VERSION', 'PRICE_CHANGED'] as const;
export type CatalogEventKind = (typeof CATALOG_EVENT_KINDS)[number];

/** Every change the catalog watcher noticed; ids are UUIDv7, so id order is the order recorded. */
export const catalogEvents = pgTable(
  'catalog_events',
  {
    id: uuid('id').primaryKey(),
    provider: text('provider').notNull(),
    modelId: text('model_id').notNull(),
    kind: text('kind').$type<CatalogEventKind>().notNull(),
    modality: text('modality').$type<Modality>(),
    /** `{ before?, after? }`: the snapshot facts on either side of the change. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    at: timestamptz('at').notNull(),
  },
  (table) => [index('catalog_events_at_idx').on(table.at), index('catalog_events_provider_idx').on(table.provider, table.at)],
);

export const ALERT_DELIVERY_STATUSES = ['DELIVERED', 'FAILED'] as const;
export type AlertDeliveryStatus = (typeof ALERT_DELIVERY_STATUSES)[number];

/** One row per try of POSTing a catalog event to an alert webhook. */
export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    id: uuid('id').primaryKey(),
    eventId: uuid('event_id')
      .notNull()
      .references(() => catalogEvents.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** 1-based, per event and URL. */
    attempt: integer('attempt').notNull(),
    status: text('status').$type<AlertDeliveryStatus>().notNull(),
    httpStatus: integer('http_status'),
    error: text('error'),
    at: timestamptz('at').notNull().default(sql`now()`),
  },
  (table) => [index('alert_deliveries_event_idx').on(table.eventId)],
);

/** Named leases, so that of several instances only one runs a singleton task (the catalog watch). */
export const catalogLeases = pgTable('catalog_leases', {
  name: text('name').primaryKey(),
  owner: text('owner').notNull(),
  leaseUntil: timestamptz('lease_until').notNull(),
});

export type ModelSnapshotRow = typeof modelSnapshots.$inferSelect;
export type CatalogEventRow = typeof catalogEvents.$inferSelect;
export type AlertDeliveryRow = typeof alertDeliveries.$inferSelect;

export const schema = {
  jobs,
  jobAttempts,
  jobRatings,
  routingPolicyRevisions,
  webhookDeliveries,
  modelSnapshots,
  catalogEvents,
  alertDeliveries,
  catalogLeases,
};
