// One loop per process: claim due in-flight jobs from the jobs table under a
// lease, advance each (submit or poll), write and publish what changed. A
// lease outlives a crash by at most its length, after which another process
// takes the job over.

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { JobRow } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { JobStore } from './job-store.js';

export interface JobAdvancer {
  advance(job: JobRow, owner: string): Promise<void>;
}

export interface PollerOptions {
  store: JobStore;
  advancer: JobAdvancer;
  logger: Logger;
  leaseMs: number;
  /** Jobs worked on at once by this process. */
  concurrency: number;
  /** How long the loop sleeps when nothing wakes it. */
  idleMs?: number;
  owner?: string;
  /** Housekeeping run from the same loop, each at most every `everyMs` (the first at start). */
  chores?: { name: string; everyMs: number; run: () => Promise<unknown> }[];
}

export class Poller {
  readonly owner: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly inFlight = new Map<string, Promise<void>>();
  private wakeUp: (() => void) | null = null;
  private wakeRequested = false;
  private readonly choresDueAt = new Map<string, number>();

  constructor(private readonly options: PollerOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Look for due work now instead of at the next tick (a job was created, a webhook arrived). */
  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  /** Stops claiming, waits for the jobs being advanced, then hands every lease back. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
    const released = await this.options.store.releaseLeasesOf(this.owner);
    this.options.logger.info({ released }, 'poller stopped');
  }

  /** One claim-and-dispatch pass; returns how many jobs it claimed. */
  async pass(): Promise<number> {
    const room = this.options.concurrency - this.inFlight.size;
    if (room <= 0) return 0;
    const claimed = await this.options.store.claimDue(this.owner, this.options.leaseMs, room);
    for (const job of claimed) {
      if (this.inFlight.has(job.id)) continue;
      const work = this.options.advancer
        .advance(job, this.owner)
        .catch((error: unknown) => {
          this.options.logger.error({ jobId: job.id, err: error }, 'advancing a job failed');
        })
        .finally(() => {
          this.inFlight.delete(job.id);
          this.wake();
        });
      this.inFlight.set(job.id, work);
    }
    return claimed.length;
  }

  private async runDueChores(): Promise<void> {
    const now = Date.now();
    for (const chore of this.options.chores ?? []) {
      if ((this.choresDueAt.get(chore.name) ?? 0) > now) continue;
      this.choresDueAt.set(chore.name, now + chore.everyMs);
      try {
        await chore.run();
      } catch (error) {
        this.options.logger.error({ err: error, chore: chore.name }, 'a poller chore failed');
      }
    }
  }

  private async run(): Promise<void> {
    const idleMs = this.options.idleMs ?? 250;
    while (this.running) {
      this.wakeRequested = false;
      await this.runDueChores();
      try {
        await this.pass();
      } catch (error) {
        this.options.logger.error({ err: error }, 'claiming due jobs failed');
      }
      if (!this.running) break;
      if (this.wakeRequested) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }
}
