// All SQL about jobs and their attempts. Transitions are conditional UPDATEs
// (`WHERE id = $1 AND status = $2`): the caller learns it lost a race from a
// null result, never by overwriting another process's change.

import { and, asc, desc, eq, inArray, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobAttempts, jobs, webhookDeliveries, type JobAttemptRow, type JobRow, type NewJobRow } from '../db/schema.js';
import type { JobErrorInfo, JobOutputInfo, JobStatus, Modality } from '../domain.js';
import { assertTransition } from './state-machine.js';

export interface JobRecord extends JobRow {
  attempts: JobAttemptRow[];
}

export type InsertOutcome =
  | { kind: 'created'; job: JobRow }
  | { kind: 'existing'; job: JobRow }
  | { kind: 'conflict'; job: JobRow };

const inFlight: JobStatus[] = ['QUEUED', 'RUNNING'];

export class JobStore {
  constructor(private readonly db: Database) {}

  /**
   * Inserts a job, or with an idempotency key already used returns the job it
   * made (same input) or a conflict (other input). One statement, so two
   * concurrent requests with one key create one job.
   */
  async insert(row: NewJobRow): Promise<InsertOutcome> {
    if (!row.idempotencyKey) {
      const [job] = await this.db.insert(jobs).values(row).returning();
      return { kind: 'created', job: job! };
    }
    const [job] = await this.db
      .insert(jobs)
      .values(row)
      .onConflictDoNothing({ target: jobs.idempotencyKey })
      .returning();
    if (job) return { kind: 'created', job };
    const [existing] = await this.db.select().from(jobs).where(eq(jobs.idempotencyKey, row.idempotencyKey));
    if (!existing) throw new Error('idempotency key conflict but no job holds it');
    return existing.inputHash === row.inputHash ? { kind: 'existing', job: existing } : { kind: 'conflict', job: existing };
  }

  async get(id: string): Promise<JobRow | null> {
    const [job] = await this.db.select().from(jobs).where(eq(jobs.id, id));
    return job ?? null;
  }

  async getWithAttempts(id: string): Promise<JobRecord | null> {
    const job = await this.get(id);
    if (!job) return null;
    return { ...job, attempts: await this.attempts(id) };
  }

  async attempts(jobId: string): Promise<JobAttemptRow[]> {
    return this.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId)).orderBy(asc(jobAttempts.n));
  }

  async attemptsOf(jobIds: readonly string[]): Promise<Map<string, JobAttemptRow[]>> {
    const byJob = new Map<string, JobAttemptRow[]>(jobIds.map((id) => [id, []]));
    if (jobIds.length === 0) return byJob;
    const rows = await this.db
      .select()
      .from(jobAttempts)
      .where(inArray(jobAttempts.jobId, [...jobIds]))
      .orderBy(asc(jobAttempts.jobId), asc(jobAttempts.n));
    for (const row of rows) byJob.get(row.jobId)?.push(row);
    return byJob;
  }

  /** Newest first; ids are UUIDv7, so id order is creation order. */
  async list(options: { first: number; beforeId?: string; status?: JobStatus; modality?: Modality }): Promise<JobRow[]> {
    const conditions: SQL[] = [];
    if (options.beforeId) conditions.push(lt(jobs.id, options.beforeId));
    if (options.status) conditions.push(eq(jobs.status, options.status));
    if (options.modality) conditions.push(eq(jobs.modality, options.modality));
    return this.db
      .select()
      .from(jobs)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(jobs.id))
      .limit(options.first);
  }

  /**
   * Claims up to `limit` due in-flight jobs for `owner`. A job is due when its
   * next poll time has come and no live lease holds it (or this owner holds
   * it: an in-process render keeps its lease). The claim pushes next_poll_at
   * to the lease end, so a job being worked on is not due again until the
   * worker writes its real next poll time, or the lease runs out.
   */
  async claimDue(owner: string, leaseMs: number, limit: number): Promise<JobRow[]> {
    const leaseEnd = sql`now() + ${`${leaseMs} milliseconds`}::interval`;
    const due = this.db
      .select({ id: jobs.id })
      .from(jobs)
      .where(
        and(
          inArray(jobs.status, inFlight),
          lte(jobs.nextPollAt, sql`now()`),
          or(isNull(jobs.leaseUntil), lt(jobs.leaseUntil, sql`now()`), eq(jobs.leaseOwner, owner)),
        ),
      )
      .orderBy(asc(jobs.nextPollAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    return this.db
      .update(jobs)
      .set({ leaseOwner: owner, leaseUntil: leaseEnd, nextPollAt: leaseEnd })
      .where(inArray(jobs.id, due))
      .returning();
  }

  /**
   * Writes a change to a job in flight that keeps its status (progress, a
   * message, the next poll time), only while the job still has `status` and
   * this owner's lease. Null when either changed under us.
   */
  async update(
    id: string,
    expected: { status: JobStatus; leaseOwner?: string },
    patch: Partial<NewJobRow>,
  ): Promise<JobRow | null> {
    const conditions = [eq(jobs.id, id), eq(jobs.status, expected.status)];
    if (expected.leaseOwner) conditions.push(eq(jobs.leaseOwner, expected.leaseOwner));
    const [job] = await this.db
      .update(jobs)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(and(...conditions))
      .returning();
    return job ?? null;
  }

  /** One conditional UPDATE from `from` to `to`; null when the job was no longer in `from`. */
  async transition(
    id: string,
    from: JobStatus,
    to: JobStatus,
    patch: Partial<NewJobRow> = {},
    options: { newAttempt?: boolean } = {},
  ): Promise<JobRow | null> {
    assertTransition(from, to, options);
    const terminal = to === 'SUCCEEDED' || to === 'FAILED' || to === 'CANCELED';
    const [job] = await this.db
      .update(jobs)
      .set({
        ...patch,
        status: to,
        message: patch.message ?? null,
        updatedAt: sql`now()`,
        ...(terminal ? { completedAt: sql`now()`, nextPollAt: null, leaseOwner: null, leaseUntil: null } : {}),
      })
      .where(and(eq(jobs.id, id), eq(jobs.status, from)))
      .returning();
    return job ?? null;
  }

  /**
   * A provider said a job changed (a webhook): make it due now so the poller
   * reads it at once. Extend handles end in the provider's id after a colon.
   */
  async markDueByProviderJob(provider: string, providerJobId: string): Promise<number> {
    const due = await this.db
      .update(jobs)
      .set({ nextPollAt: sql`now()` })
      .where(
        and(
          eq(jobs.provider, provider),
          inArray(jobs.status, inFlight),
          or(eq(jobs.providerJobId, providerJobId), sql`${jobs.providerJobId} like ${`%:${providerJobId}`}`),
          or(isNull(jobs.leaseUntil), lt(jobs.leaseUntil, sql`now()`)),
        ),
      )
      .returning({ id: jobs.id });
    return due.length;
  }

  /**
   * Ends a job: closes its current attempt with the outcome, then moves the
   * job from `from` to the terminal `status`, its cost the sum of its
   * attempts'. Null when the job was no longer in `from` (canceled meanwhile).
   */
  async finishJob(
    job: JobRow,
    from: JobStatus,
    status: Extract<JobStatus, 'SUCCEEDED' | 'FAILED' | 'CANCELED'>,
    outcome: { output?: JobOutputInfo; error?: JobErrorInfo; costUsd?: number; model?: string; progress?: number },
  ): Promise<{ job: JobRow; attempts: JobAttemptRow[] } | null> {
    if (outcome.model) await this.updateAttempt(job.id, job.attemptCount, { model: outcome.model });
    await this.finishAttempt(job.id, job.attemptCount, {
      status,
      error: outcome.error ?? null,
      costUsd: outcome.costUsd ?? null,
    });
    const attempts = await this.attempts(job.id);
    const costs = attempts.map((a) => a.costUsd).filter((c): c is number => c !== null);
    const finished = await this.transition(job.id, from, status, {
      output: outcome.output ?? null,
      error: outcome.error ?? null,
      costUsd: costs.length ? costs.reduce((a, b) => a + b, 0) : null,
      ...(outcome.model ? { model: outcome.model } : {}),
      ...(outcome.progress !== undefined ? { progress: outcome.progress } : {}),
    });
    return finished ? { job: finished, attempts } : null;
  }

  /**
   * In-flight jobs the poller never schedules (short jobs run inside their
   * request) that have not changed for `olderThanMs`: their process is gone.
   */
  async unscheduledSince(olderThanMs: number): Promise<JobRow[]> {
    return this.db
      .select()
      .from(jobs)
      .where(
        and(
          inArray(jobs.status, inFlight),
          isNull(jobs.nextPollAt),
          lte(jobs.updatedAt, sql`now() - ${`${olderThanMs} milliseconds`}::interval`),
        ),
      );
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.db
      .update(jobs)
      .set({ leaseOwner: null, leaseUntil: null })
      .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner)));
  }

  /** On shutdown: hand every job this process holds back, due at once. */
  async releaseLeasesOf(owner: string): Promise<number> {
    const released = await this.db
      .update(jobs)
      .set({ leaseOwner: null, leaseUntil: null, nextPollAt: sql`now()` })
      .where(and(eq(jobs.leaseOwner, owner), inArray(jobs.status, inFlight)))
      .returning({ id: jobs.id });
    return released.length;
  }

  /**
   * With an exclusive database (PGlite behind its lock file) no other process
   * can hold a lease, so leases left by a crashed process are dropped at once
   * instead of waiting for them to expire.
   */
  async releaseAllLeases(): Promise<number> {
    const released = await this.db
      .update(jobs)
      .set({ leaseOwner: null, leaseUntil: null, nextPollAt: sql`now()` })
      .where(and(inArray(jobs.status, inFlight), sql`${jobs.leaseOwner} is not null`))
      .returning({ id: jobs.id });
    return released.length;
  }

  async insertAttempt(attempt: typeof jobAttempts.$inferInsert): Promise<JobAttemptRow> {
    const [row] = await this.db.insert(jobAttempts).values(attempt).returning();
    return row!;
  }

  async updateAttempt(
    jobId: string,
    n: number,
    patch: Partial<typeof jobAttempts.$inferInsert>,
  ): Promise<JobAttemptRow | null> {
    const [row] = await this.db
      .update(jobAttempts)
      .set(patch)
      .where(and(eq(jobAttempts.jobId, jobId), eq(jobAttempts.n, n)))
      .returning();
    return row ?? null;
  }

  /** Closes the attempt if it is still open (not yet in a terminal status). */
  async finishAttempt(
    jobId: string,
    n: number,
    patch: { status: JobStatus; error?: JobAttemptRow['error']; costUsd?: number | null },
  ): Promise<void> {
    await this.db
      .update(jobAttempts)
      .set({ ...patch, finishedAt: sql`now()` })
      .where(and(eq(jobAttempts.jobId, jobId), eq(jobAttempts.n, n), isNull(jobAttempts.finishedAt)));
  }
}

/** Records a webhook delivery; false when this delivery id was seen before (a replay). */
export async function recordWebhookDelivery(
  db: Database,
  delivery: { provider: string; deliveryId: string; providerJobId: string },
): Promise<boolean> {
  const inserted = await db
    .insert(webhookDeliveries)
    .values({ provider: delivery.provider, deliveryId: `${delivery.provider}:${delivery.deliveryId}`, providerJobId: delivery.providerJobId })
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.deliveryId });
  return inserted.length === 1;
}
