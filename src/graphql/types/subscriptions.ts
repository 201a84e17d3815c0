import { GraphQLError } from 'graphql';
import { isTerminal } from '../../domain.js';
import type { JobChangedEvent } from '../../jobs/job-events.js';
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
    let last = stored.updatedAt.getTime();
    for await (const event of changes) {
      if (event.job.updatedAt.getTime() < last) continue;
      last = event.job.updatedAt.getTime();
      yield event;
      if (isTerminal(event.job.status)) return;
    }
  } finally {
    await changes.return?.();
  }
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
