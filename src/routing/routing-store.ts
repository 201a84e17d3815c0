// All SQL about routing: ratings, the outcomes that observed figures are
// computed from, and routing policy revisions.

import { and, desc, eq, gte, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import {
  jobAttempts,
  jobRatings,
  jobs,
  routingPolicyRevisions,
  type JobRatingRow,
  type RoutingPolicyRevisionRow,
} from '../db/schema.js';
import type { JobErrorCode, JobOperation, JobStatus, Modality } from '../domain.js';

/** One finished attempt, as the routing statistics see it. */
export interface AttemptOutcome {
  provider: string;
  model: string | null;
  modality: Modality;
  operation: JobOperation;
  status: JobStatus;
  /** From the attempt's start to its end: time to complete, for async jobs too. */
  latencyMs: number;
  costUsd: number | null;
  /** The job's rating, given to the attempt that produced its output. */
  rating: number | null;
  finishedAt: Date;
  /** The failure's code: a request's own fault does not count against the provider. */
  errorCode: JobErrorCode | null;
  /** The experiment and variant that routed the job, if any. */
  experiment: string | null;
  variant: string | null;
}

export class RoutingStore {
  constructor(private readonly db: Database) {}

  /** Records (or replaces) the rating of a job. */
  async rate(jobId: string, score: number, comment: string | null): Promise<JobRatingRow> {
    const [row] = await this.db
      .insert(jobRatings)
      .values({ jobId, score, comment })
      .onConflictDoUpdate({ target: jobRatings.jobId, set: { score, comment, ratedAt: sql`now()` } })
      .returning();
    return row!;
  }

  async ratingsOf(jobIds: readonly string[]): Promise<Map<string, JobRatingRow>> {
    if (jobIds.length === 0) return new Map();
    const rows = await this.db.select().from(jobRatings).where(inArray(jobRatings.jobId, [...jobIds]));
    return new Map(rows.map((row) => [row.jobId, row]));
  }

  /** Finished attempts since `since`, newest first, at most `limit`. */
  async outcomesSince(since: Date, limit = 20_000): Promise<AttemptOutcome[]> {
    const rows = await this.db
      .select({
        provider: jobAttempts.provider,
        model: jobAttempts.model,
        modality: jobs.modality,
        operation: jobs.operation,
        status: jobAttempts.status,
        startedAt: jobAttempts.startedAt,
        finishedAt: jobAttempts.finishedAt,
        costUsd: jobAttempts.costUsd,
        jobStatus: jobs.status,
        rating: jobRatings.score,
        error: jobAttempts.error,
        experiment: jobs.experiment,
        variant: jobs.variant,
      })
      .from(jobAttempts)
      .innerJoin(jobs, eq(jobs.id, jobAttempts.jobId))
      .leftJoin(jobRatings, eq(jobRatings.jobId, jobAttempts.jobId))
      .where(and(isNotNull(jobAttempts.finishedAt), gte(jobAttempts.finishedAt, since)))
      .orderBy(desc(jobAttempts.finishedAt))
      .limit(limit);
    return rows.map((row) => ({
      provider: row.provider,
      model: row.model,
      modality: row.modality,
      operation: row.operation,
      status: row.status,
      latencyMs: row.finishedAt!.getTime() - row.startedAt.getTime(),
      costUsd: row.costUsd,
      rating: row.status === 'SUCCEEDED' ? (row.rating ?? null) : null,
      finishedAt: row.finishedAt!,
      errorCode: row.error?.code ?? null,
      experiment: row.experiment,
      variant: row.variant,
    }));
  }

  async latestPolicy(): Promise<RoutingPolicyRevisionRow | null> {
    const [row] = await this.db.select().from(routingPolicyRevisions).orderBy(desc(routingPolicyRevisions.version)).limit(1);
    return row ?? null;
  }

  async latestVersion(): Promise<number> {
    const [row] = await this.db
      .select({ version: sql<number>`coalesce(max(${routingPolicyRevisions.version}), 0)` })
      .from(routingPolicyRevisions);
    return Number(row?.version ?? 0);
  }

  async policyHistory(limit: number): Promise<RoutingPolicyRevisionRow[]> {
    return this.db.select().from(routingPolicyRevisions).orderBy(desc(routingPolicyRevisions.version)).limit(limit);
  }

  /**
   * Adds a revision on top of `basedOn`. Null when another instance wrote
   * that version first (the caller re-reads and decides again).
   */
  async addPolicy(
    basedOn: number,
    revision: { policy: Record<string, unknown>; author: string; reason: string },
  ): Promise<RoutingPolicyRevisionRow | null> {
    const [row] = await this.db
      .insert(routingPolicyRevisions)
      .values({ version: basedOn + 1, ...revision })
      .onConflictDoNothing()
      .returning();
    return row ?? null;
  }
}
