import { describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '../../src/domain.js';
import { IllegalTransitionError, assertTransition } from '../../src/jobs/state-machine.js';

const legal: [JobStatus, JobStatus][] = [
  ['QUEUED', 'RUNNING'],
  ['QUEUED', 'FAILED'],
  ['QUEUED', 'CANCELED'],
  ['RUNNING', 'SUCCEEDED'],
  ['RUNNING', 'FAILED'],
  ['RUNNING', 'CANCELED'],
];

describe('the job state machine', () => {
  it.each(legal)('allows %s -> %s', (from, to) => {
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it('refuses every other transition, and never changes a terminal status', () => {
    for (const from of JOB_STATUSES) {
      for (const to of JOB_STATUSES) {
        if (legal.some(([a, b]) => a === from && b === to)) continue;
        expect(() => assertTransition(from, to), `${from} -> ${to}`).toThrow(IllegalTransitionError);
      }
    }
  });

  it('lets RUNNING go back to QUEUED only when a new attempt starts', () => {
    expect(() => assertTransition('RUNNING', 'QUEUED')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('RUNNING', 'QUEUED', { newAttempt: true })).not.toThrow();
    expect(() => assertTransition('SUCCEEDED', 'QUEUED', { newAttempt: true })).toThrow(IllegalTransitionError);
  });
});
