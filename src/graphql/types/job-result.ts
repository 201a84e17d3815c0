import { BudgetExceededError, ConflictError, NoProviderError, NotFoundError, ValidationError } from '../../errors.js';
import type { JobRecord } from '../../jobs/job-store.js';
import { builder } from '../builder.js';
import {
  BudgetExceededErrorType,
  ConflictErrorType,
  errorResult,
  NoProviderErrorType,
  NotFoundErrorType,
  ValidationErrorType,
  type ErrorResult,
} from './errors.js';
import { JobPayloadType } from './job.js';

export const JobResultUnion = builder.unionType('JobResult', {
  description: 'Each generation mutation returns this union; more error members may be added.',
  types: [JobPayloadType, ValidationErrorType, NotFoundErrorType, NoProviderErrorType, ConflictErrorType, BudgetExceededErrorType],
});

export type JobResult = { job: JobRecord } | ErrorResult;

const resultErrors = [ValidationError, NotFoundError, NoProviderError, ConflictError, BudgetExceededError];

/**
 * Runs a mutation's service call and turns expected failures (the union's
 * error members) into results; anything else is a bug and stays an error.
 */
export async function jobResult(run: () => Promise<JobRecord>): Promise<JobResult> {
  try {
    return { job: await run() };
  } catch (error) {
    const known = resultErrors.find((type) => error instanceof type);
    if (known) return errorResult(error as InstanceType<typeof known>);
    throw error;
  }
}
