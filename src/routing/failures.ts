// Which failures move a request to the next candidate, which stop it, and
// which count against a provider's health (circuit breakers, success rate).
// The one place that decides it, for submissions and for jobs a provider
// accepted and then failed.
//
// At submission:
//   PROVIDER_UNAVAILABLE (connection, timeout, 408/409, 5xx)  next candidate, provider's fault
//   RATE_LIMITED (429)                                        next candidate, provider's fault, Retry-After kept
//   PROVIDER_AUTH (401/403)                                   next candidate (another provider has its own key), provider's fault
//   PROVIDER_ERROR from HTTP 402 (the account cannot pay)     next candidate, provider's fault
//   an open circuit (cockatiel BrokenCircuitError)            next candidate, no call was made
//   CONTENT_REJECTED                                          stop: the same input is refused elsewhere too
//   VALIDATION (400, 404, 413, 422, a refused request)        stop: the request is wrong (our capability and
//                                                             supports*() checks passed, so another provider
//                                                             is unlikely to take it, and a wrong guess costs)
//   CANCELED, INTERNAL, other PROVIDER_ERROR                  stop
//   anything that is not a ProviderError                      a bug: rethrown
// After acceptance: the job's error says whether it is retryable; content
// rejections never move, whatever they say; a deadline overrun moves.

import { isBrokenCircuitError } from 'cockatiel';
import { assertUnreachable, type JobErrorCode, type JobErrorInfo } from '../domain.js';
import type { ProviderCallError } from '../providers/provider-errors.js';
import { ProviderError } from '../providers/types.js';

export interface FailureDecision {
  code: JobErrorCode | 'CIRCUIT_OPEN';
  /** Try the next candidate (at submission) or resubmit to one (after acceptance). */
  moveOn: boolean;
  /** Counts against the provider's breaker and observed success rate. */
  providerFault: boolean;
  /** The provider certainly did not take the work (429, 503, open circuit): it may be asked again in the same request. */
  repeatable: boolean;
  /** The provider's own wait before asking again. */
  retryAfterMs?: number;
  message: string;
}

/** Codes that are the provider's fault, not the request's: they count against its health. */
export function isProviderFault(code: JobErrorCode): boolean {
  switch (code) {
    case 'PROVIDER_UNAVAILABLE':
    case 'RATE_LIMITED':
    case 'PROVIDER_AUTH':
    case 'PROVIDER_ERROR':
      return true;
    case 'VALIDATION':
    case 'NOT_FOUND':
    case 'NO_PROVIDER':
    case 'CONTENT_REJECTED':
    case 'BUDGET_EXCEEDED':
    case 'CONFLICT':
    case 'CANCELED':
    case 'INTERNAL':
      return false;
    default:
      return assertUnreachable(code);
  }
}

/** What to do after a submission threw `error`. Returns null for an error that is a bug (not a ProviderError): rethrow it. */
export function submissionFailure(error: unknown): FailureDecision | null {
  if (isBrokenCircuitError(error)) {
    return { code: 'CIRCUIT_OPEN', moveOn: true, providerFault: false, repeatable: true, message: 'the circuit is open' };
  }
  if (!(error instanceof ProviderError)) return null;
  const { code, message } = error.info;
  // Read as data: importing ProviderCallError would load every provider SDK.
  const call = error as Partial<Pick<ProviderCallError, 'httpStatus' | 'retryAfterMs'>>;
  const status = call.httpStatus;
  const retryAfterMs = call.retryAfterMs;
  const decision = (moveOn: boolean, repeatable = false): FailureDecision => ({
    code,
    moveOn,
    providerFault: isProviderFault(code),
    repeatable,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    message,
  });
  switch (code) {
    case 'PROVIDER_UNAVAILABLE':
      // 503 says the work was not taken; a timeout or a 502/504 may have started (and billed) it.
      return decision(true, status === 503);
    case 'RATE_LIMITED':
      return decision(true, true);
    case 'PROVIDER_AUTH':
      return decision(true);
    case 'PROVIDER_ERROR':
      return decision(status === 402);
    case 'VALIDATION':
    case 'CONTENT_REJECTED':
    case 'CANCELED':
    case 'INTERNAL':
    case 'NOT_FOUND':
    case 'NO_PROVIDER':
    case 'BUDGET_EXCEEDED':
    case 'CONFLICT':
      return decision(false);
    default:
      return assertUnreachable(code);
  }
}

/** What to do when an accepted job ended FAILED with `error`. */
export function acceptedJobFailure(error: JobErrorInfo): FailureDecision {
  return {
    code: error.code,
    moveOn: error.retryable && error.code !== 'CONTENT_REJECTED',
    providerFault: isProviderFault(error.code),
    repeatable: false,
    message: error.message,
  };
}

/** An accepted job that ran past its attempt deadline: resubmitted elsewhere, and the provider's fault. */
export function deadlineOverrun(deadlineMs: number): FailureDecision {
  return {
    code: 'PROVIDER_UNAVAILABLE',
    moveOn: true,
    providerFault: true,
    repeatable: false,
    message: `the provider did not finish within ${Math.round(deadlineMs / 1000)} s`,
  };
}
