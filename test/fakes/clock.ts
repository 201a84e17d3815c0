// Time for the fakes. Job progress and URL expiry read a Clock, so a test can
// hand in a ManualClock and move time itself instead of sleeping.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  #now: number;
  readonly #listeners = new Set<() => void>();

  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward and lets every subscriber (job timelines) catch up at once. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('ManualClock cannot go backwards');
    this.#now += ms;
    for (const listener of this.#listeners) listener();
  }

  onAdvance(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
