// Job change events behind a small interface: in process for one instance
// now, a shared bus (Redis) for several later. Topics are per job; a payload
// carries the whole job as it stands, so subscribers read nothing back.

import { EventEmitter, on } from 'node:events';
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
    // events.on listens from this call on and buffers until read.
    const source = on(this.emitter, `job:${jobId}`);
    const events: AsyncIterableIterator<JobChangedEvent> = {
      async next() {
        const result = await source.next();
        return result.done ? { done: true, value: undefined } : { done: false, value: result.value[0] as JobChangedEvent };
      },
      async return() {
        await source.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return events;
      },
    };
    return events;
  }
}
