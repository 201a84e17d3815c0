// Job change events behind a small interface: in process for one instance
// now, a shared bus (Redis) for several later. Topics are per job; a payload
// carries the whole job as it stands, so subscribers read nothing back.

import { EventEmitter } from 'node:events';
import { eventStream } from '../event-stream.js';
import type { JobRecord } from './job-store.js';

export interface JobChangedEvent {
  job: JobRecord;
  at: Date;
}

export interface JobEventBus {
  publish(event: JobChangedEvent): void;
  /**
   * Every event published for the job from the moment of this call (not of
   * the first `next()`), so a subscriber can subscribe, then read the stored
   * state, and miss nothing in between. `return()` unsubscribes.
   */
  subscribe(jobId: string): AsyncIterableIterator<JobChangedEvent>;
}

export class InProcessJobEventBus implements JobEventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: JobChangedEvent): void {
    this.emitter.emit(`job:${event.job.id}`, event);
  }

  subscribe(jobId: string): AsyncIterableIterator<JobChangedEvent> {
    return eventStream<JobChangedEvent>(this.emitter, `job:${jobId}`);
  }
}
