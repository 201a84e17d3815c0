import { describe, expect, it } from 'vitest';
import { InProcessJobEventBus, type JobChangedEvent } from '../../src/jobs/job-events.js';

const event = (id: string, n: number) => ({ job: { id, progress: n }, at: new Date() }) as unknown as JobChangedEvent;

describe('the in-process job event bus', () => {
  it('delivers events published after subscribe() even before the first next(), per job only', async () => {
    const bus = new InProcessJobEventBus();
    const events = bus.subscribe('a');
    bus.publish(event('a', 1));
    bus.publish(event('b', 9));
    bus.publish(event('a', 2));
    expect((await events.next()).value.job.progress).toBe(1);
    expect((await events.next()).value.job.progress).toBe(2);
    await events.return!();
    bus.publish(event('a', 3));
    expect((await events.next()).done).toBe(true);
  });
});
