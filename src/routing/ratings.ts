// Ratings of finished jobs (rateJob): a score of 1 to 5 and an optional
// comment, one per job, a new one replacing the old. The routing figures read
// ratings from the database at their next refresh (BEST_QUALITY, BALANCED's
// quality part, providerComparison), so nothing is pushed to the router here.

import type { JobRatingRow } from '../db/schema.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import { isJobId } from '../jobs/video-requests.js';
import type { RoutingStore } from './routing-store.js';

export const MIN_SCORE = 1;
export const MAX_SCORE = 5;
export const MAX_COMMENT_CHARS = 2000;

export type JobRating = Pick<JobRatingRow, 'score' | 'comment' | 'ratedAt'>;

/** Looks up one job's rating; lookups made in the same tick share one query. */
export type RatingLoader = (jobId: string) => Promise<JobRating | null>;

export class RatingService {
  constructor(private readonly deps: { jobs: JobStore; store: RoutingStore }) {}

  /** Records the rating and returns the job it rates. */
  async rate(jobId: string, score: number, comment: string | null | undefined): Promise<JobRecord> {
    if (!Number.isInteger(score) || score < MIN_SCORE || score > MAX_SCORE) {
      throw new ValidationError(`score must be a whole number from ${MIN_SCORE} to ${MAX_SCORE}`, 'score');
    }
    const text = comment?.trim() ? comment.trim() : null;
    if (text !== null && text.length > MAX_COMMENT_CHARS) {
      throw new ValidationError(`comment is ${text.length} characters; at most ${MAX_COMMENT_CHARS} are allowed`, 'comment');
    }
    const job = isJobId(jobId) ? await this.deps.jobs.getWithAttempts(jobId) : null;
    if (!job) throw new NotFoundError(`no job with id ${jobId}`);
    // Only a job that produced an output can be judged; a failure is already counted as one.
    if (job.status !== 'SUCCEEDED') throw new ConflictError(`job ${jobId} is ${job.status}; only a SUCCEEDED job can be rated`);
    await this.deps.store.rate(jobId, score, text);
    return job;
  }

  /**
   * A loader for one request: the ratings of every job resolved in the same
   * tick (a page of `jobs`) come from one query, and each job is read once.
   */
  loader(): RatingLoader {
    const cache = new Map<string, Promise<JobRating | null>>();
    let pending: { ids: string[]; done: Promise<Map<string, JobRatingRow>> } | undefined;
    return (jobId) => {
      const cached = cache.get(jobId);
      if (cached) return cached;
      if (!pending) {
        const batch: { ids: string[]; done?: Promise<Map<string, JobRatingRow>> } = { ids: [] };
        // Resolved after the current tick's resolvers have all asked.
        batch.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          pending = undefined;
          return this.deps.store.ratingsOf(batch.ids);
        });
        pending = batch as { ids: string[]; done: Promise<Map<string, JobRatingRow>> };
      }
      pending.ids.push(jobId);
      const result = pending.done.then((rows) => {
        const row = rows.get(jobId);
        return row ? { score: row.score, comment: row.comment, ratedAt: row.ratedAt } : null;
      });
      cache.set(jobId, result);
      return result;
    };
  }
}
