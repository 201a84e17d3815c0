// How a fake's asynchronous jobs move through their statuses. A job follows a
// script (a list of steps in the provider's own vocabulary), spending
// `durationMs` (default `stepMs`) in each step by the injected clock, until a
// terminal step. Reads catch the job up lazily, so with a ManualClock the
// outcome is deterministic; a background tick (or ManualClock.advance) also
// catches up jobs nobody reads, which is what drives webhooks.

import { ManualClock, type Clock } from './clock.js';

export interface JobStep<S extends string> {
  status: S;
  /** Time spent in this step before the next one; Infinity waits for `advance`. */
  durationMs?: number;
  /** Explicit progress (0..1) while in this step; otherwise it is interpolated over the running steps. */
  progress?: number;
  /** For failure steps: the provider's message and code. */
  error?: { message: string; code?: string };
}

export type JobScript<S extends string> = ReadonlyArray<S | JobStep<S>>;

export interface TimelineJob<S extends string, D> {
  readonly id: string;
  readonly createdAt: number;
  /** Provider-specific state: the request, outputs, webhook settings. */
  data: D;
  readonly steps: JobStep<S>[];
  index: number;
  enteredAt: number;
  readonly history: Array<{ status: S; at: number }>;
}

export interface JobTimelineConfig<S extends string, D> {
  clock: Clock;
  stepMs: number;
  defaultScript: JobScript<S>;
  isTerminal(status: S): boolean;
  /** Statuses during which progress rises. */
  isRunning(status: S): boolean;
  /** Called on creation (from undefined) and on every status change. */
  onTransition?(job: TimelineJob<S, D>, from: S | undefined): void;
  /** Called on every tick for each unfinished job (progress that moves within a status). */
  onTick?(job: TimelineJob<S, D>): void;
  /** Background catch-up period with the system clock. */
  tickMs?: number;
}

export class JobTimeline<S extends string, D> {
  stepMs: number;
  readonly #config: JobTimelineConfig<S, D>;
  readonly #jobs = new Map<string, TimelineJob<S, D>>();
  readonly #scripted: JobScript<S>[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #stopTicking: () => void;

  constructor(config: JobTimelineConfig<S, D>) {
    this.#config = config;
    this.stepMs = config.stepMs;
    this.#checkScript(config.defaultScript);
    if (config.clock instanceof ManualClock) {
      this.#stopTicking = config.clock.onAdvance(() => this.tick());
    } else {
      const timer = setInterval(() => this.tick(), config.tickMs ?? 20);
      timer.unref();
      this.#stopTicking = () => clearInterval(timer);
    }
  }

  /** The next created job follows this script instead of the default (queued, first in first out). */
  scriptNext(script: JobScript<S>): void {
    this.#checkScript(script);
    this.#scripted.push(script);
  }

  /** Creates a job that follows the next scripted (or the default) script, after any `prefix` steps. */
  create(id: string, data: D, prefix: ReadonlyArray<JobStep<S>> = []): TimelineJob<S, D> {
    const script = this.#scripted.shift() ?? this.#config.defaultScript;
    const now = this.#config.clock.now();
    const steps = [...prefix, ...script].map((step) => (typeof step === 'string' ? { status: step } : { ...step }));
    const job: TimelineJob<S, D> = {
      id,
      createdAt: now,
      data,
      steps,
      index: 0,
      enteredAt: now,
      history: [{ status: steps[0]!.status, at: now }],
    };
    this.#jobs.set(id, job);
    this.#config.onTransition?.(job, undefined);
    this.#sync(job);
    return job;
  }

  /** The job caught up to now, or undefined when unknown or deleted. */
  get(id: string): TimelineJob<S, D> | undefined {
    const job = this.#jobs.get(id);
    if (job) this.#sync(job);
    return job;
  }

  all(): TimelineJob<S, D>[] {
    return [...this.#jobs.values()].map((job) => (this.#sync(job), job));
  }

  delete(id: string): boolean {
    return this.#jobs.delete(id);
  }

  step(job: TimelineJob<S, D>): JobStep<S> {
    return job.steps[job.index]!;
  }

  status(job: TimelineJob<S, D>): S {
    return this.step(job).status;
  }

  isTerminal(job: TimelineJob<S, D>): boolean {
    return this.#config.isTerminal(this.status(job));
  }

  /** Progress 0..0.99 (two decimals) while in a running status, else null. */
  progress(job: TimelineJob<S, D>): number | null {
    const step = this.step(job);
    if (!this.#config.isRunning(step.status)) return null;
    if (step.progress !== undefined) return step.progress;
    let first = job.index;
    while (first > 0 && this.#config.isRunning(job.steps[first - 1]!.status)) first -= 1;
    let last = job.index;
    while (last + 1 < job.steps.length && this.#config.isRunning(job.steps[last + 1]!.status)) last += 1;
    const duration = this.#duration(step);
    const within = Number.isFinite(duration) && duration > 0 ? (this.#config.clock.now() - job.enteredAt) / duration : 0;
    const fraction = (job.index - first + Math.min(Math.max(within, 0), 1)) / (last - first + 1);
    return Math.min(Math.floor(fraction * 100 + 1e-9) / 100, 0.99);
  }

  /** Moves the job `count` steps on now, whatever their durations. */
  advance(id: string, count = 1): TimelineJob<S, D> {
    const job = this.#require(id);
    this.#sync(job);
    for (let i = 0; i < count && !this.isTerminal(job); i += 1) {
      this.#enter(job, job.index + 1, this.#config.clock.now());
    }
    return job;
  }

  /** Ends the job now in a step of the caller's choosing (cancel, abort). */
  interrupt(id: string, step: JobStep<S>): TimelineJob<S, D> {
    const job = this.#require(id);
    this.#sync(job);
    if (this.isTerminal(job)) return job;
    job.steps.splice(job.index + 1, job.steps.length, step);
    this.#enter(job, job.index + 1, this.#config.clock.now());
    return job;
  }

  /** Catches up every job (fires transitions for jobs nobody is reading). */
  tick(): void {
    for (const job of this.#jobs.values()) {
      this.#sync(job);
      if (!this.isTerminal(job)) this.#config.onTick?.(job);
    }
  }

  /**
   * Resolves with the job once `done(job)` holds, or when `timeoutMs` of wall
   * time pass or `abort` settles, whichever is first.
   */
  async waitFor(
    id: string,
    done: (job: TimelineJob<S, D>) => boolean,
    timeoutMs: number,
    abort?: Promise<void>,
  ): Promise<TimelineJob<S, D> | undefined> {
    // Waiters run inside transitions, so they read the job without catching it up again.
    const check = () => {
      const job = this.#jobs.get(id);
      return !job || done(job);
    };
    this.get(id);
    if (!check()) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        };
        const waiter = () => {
          if (check()) finish();
        };
        const timer = setTimeout(finish, timeoutMs);
        this.#waiters.add(waiter);
        void abort?.then(finish);
      });
    }
    return this.get(id);
  }

  close(): void {
    this.#stopTicking();
    for (const waiter of [...this.#waiters]) waiter();
  }

  #require(id: string): TimelineJob<S, D> {
    const job = this.#jobs.get(id);
    if (!job) throw new Error(`no job ${id} in this fake`);
    return job;
  }

  #duration(step: JobStep<S>): number {
    return step.durationMs ?? this.stepMs;
  }

  #sync(job: TimelineJob<S, D>): void {
    const now = this.#config.clock.now();
    while (!this.isTerminal(job)) {
      const duration = this.#duration(this.step(job));
      if (now - job.enteredAt < duration) break;
      this.#enter(job, job.index + 1, job.enteredAt + duration);
    }
  }

  #enter(job: TimelineJob<S, D>, index: number, at: number): void {
    const from = this.status(job);
    job.index = index;
    job.enteredAt = at;
    job.history.push({ status: this.status(job), at });
    this.#config.onTransition?.(job, from);
    for (const waiter of [...this.#waiters]) waiter();
  }

  #checkScript(script: JobScript<S>): void {
    const statuses = script.map((step) => (typeof step === 'string' ? step : step.status));
    if (statuses.length === 0) throw new Error('a job script needs at least one step');
    statuses.forEach((status, i) => {
      const last = i === statuses.length - 1;
      if (this.#config.isTerminal(status) !== last) {
        throw new Error(`job script ${JSON.stringify(statuses)} must end, and only end, in a terminal status`);
      }
    });
  }
}
