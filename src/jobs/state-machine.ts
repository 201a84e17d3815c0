// The job state machine. Terminal states never change again; RUNNING goes back
// to QUEUED only when a new attempt starts (a retry, a fallback, a restarted
// local render). Every transition is one conditional UPDATE in the job store,
// so two processes racing on one job cannot both win.

import { assertUnreachable, type JobStatus } from '../domain.js';

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`illegal job transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function allowedTransitions(from: JobStatus, options: { newAttempt?: boolean } = {}): readonly JobStatus[] {
  switch (from) {
    case 'QUEUED':
      return ['RUNNING', 'FAILED', 'CANCELED'];
    case 'RUNNING':
      return options.newAttempt ? ['QUEUED', 'SUCCEEDED', 'FAILED', 'CANCELED'] : ['SUCCEEDED', 'FAILED', 'CANCELED'];
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELED':
      return [];
    default:
      return assertUnreachable(from);
  }
}

export function assertTransition(from: JobStatus, to: JobStatus, options: { newAttempt?: boolean } = {}): void {
  if (!allowedTransitions(from, options).includes(to)) throw new IllegalTransitionError(from, to);
}
