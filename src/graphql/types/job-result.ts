import { ConflictError, NoProviderError, NotFoundError, ValidationError } from '../../errors.js';
import type { JobRecord } from '../../jobs/job-store.js';
import { builder } from '../builder.js';
import { ConflictErrorType, NoProviderErrorType, NotFoundErrorType, ValidationErrorType } from './errors.js';
import { JobPayloadType } from './job.js';

export const JobResultUnion = builder.unionType('JobResult', {
  description: 'Each generation mutation returns this union; more error members may be added.',
  types: [JobPayloadType, ValidationErrorType, NotFoundErrorType, NoProviderErrorType, ConflictErrorType],
});

type JobResultError = ValidationError | NotFoundError | NoProviderError | ConflictError;
export type JobResult = { job: JobRecord } | JobResultError;

const resultErrors = [ValidationError, NotFoundError, NoProviderError, ConflictError];

function isJobResultError(error: unknown): error is JobResultError {
  return resultErrors.some((type) => error instanceof type);
}

/**
 * Runs a mutation's service call and turns expected failures (the union's error members)
 * into union members; anything else is a bug and stays an error.
 */
export async function jobResult(run: () => Promise<JobRecord>): Promise<JobResult> {
  try {
    return { job: await run() };
  } catch (error) {
    if (isJobResultError(error)) return error;
    throw error;
  }
}
