// Job change events behind a small interface: in process for one instance
// now, a shared bus (Redis) for several later. Topics are per job; a payload
// carries the whole job as it stands, so subscribers read nothing back.

import { createPubSub } from 'graphql-yoga';
import type { JobRecord } from './job-store.js';

export interface JobChangedEvent {
  job: JobRecord;
  at: Date;
}

export interface JobEventBus {
  publish(event: JobChangedEvent): void;
  /** Every event published for the job from now on; `return()` on the iterator unsubscribes. */
  subscribe(jobId: string): AsyncIterableIterator<JobChangedEvent>;
}

export class InProcessJobEventBus implements JobEventBus {
  private readonly pubsub = createPubSub<{ job: [jobId: string, event: JobChangedEvent] }>();

  publish(event: JobChangedEvent): void {
    this.pubsub.publish('job', event.job.id, event);
  }

  subscribe(jobId: string): AsyncIterableIterator<JobChangedEvent> {
    return this.pubsub.subscribe('job', jobId) as AsyncIterableIterator<JobChangedEvent>;
  }
}
