import { GraphQLError } from 'graphql';
import { isTerminal } from '../../domain.js';
import type { JobChangedEvent } from '../../jobs/job-events.js';
import type { JobRecord } from '../../jobs/job-store.js';
import { isJobId } from '../../jobs/video-requests.js';
import { builder, type Context } from '../builder.js';
import { JobProgressEventType } from './job.js';

/**
 * The job as it stands, then every change, then done after the first
 * terminal status. The topic is subscribed to before the stored job is read,
 * so no change can fall between the two; events older than what was already
 * sent are dropped.
 */
async function* jobProgress(jobId: string, context: Context): AsyncGenerator<JobChangedEvent> {
  const changes = context.events.subscribe(jobId);
  try {
    const stored = isJobId(jobId) ? await context.jobs.getWithAttempts(jobId) : null;
    if (!stored) throw new GraphQLError(`no job with id ${jobId}`, { extensions: { code: 'NOT_FOUND' } });
    yield { job: stored, at: stored.updatedAt };
    if (isTerminal(stored.status)) return;
    let last = { at: stored.updatedAt.getTime(), state: stateOf(stored) };
    for await (const event of changes) {
      const at = event.job.updatedAt.getTime();
      const state = stateOf(event.job);
      // Older than what was sent, or the very state already sent (the event
      // of the change the stored read already saw): not a change.
      if (at < last.at || (at === last.at && state === last.state)) continue;
      last = { at, state };
      yield event;
      if (isTerminal(event.job.status)) return;
    }
  } finally {
    await changes.return?.();
  }
}

/** What a subscriber sees of a job, to tell a change from a repeat. */
function stateOf(job: JobRecord): string {
  return JSON.stringify([job.status, job.progress, job.message, job.output, job.error, job.attempts.length, job.provider]);
}

builder.subscriptionFields((t) => ({
  jobProgress: t.field({
    type: JobProgressEventType,
    description: 'Yields the job as it stands at once, then after every change; completes after the first terminal status.',
    args: { jobId: t.arg.id({ required: true }) },
    subscribe: (_root, { jobId }, context) => jobProgress(String(jobId), context),
    resolve: (event) => event,
  }),
}));
