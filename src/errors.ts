// Expected failures are data: each has a stable code and becomes a member of
// the JobResult union (or another result union) in the schema. Anything else
// thrown is a bug and surfaces as a GraphQL error.

export abstract class GatewayError extends Error {
  abstract readonly code: string;
}

export class ValidationError extends GatewayError {
  override readonly name = 'ValidationError' as const;
  readonly code = 'VALIDATION';
  constructor(
    message: string,
    /** Path of the offending input field, e.g. input.durationSeconds. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends GatewayError {
  override readonly name = 'NotFoundError' as const;
  readonly code = 'NOT_FOUND';
  constructor(message: string) {
    super(message);
  }
}

export class NoProviderError extends GatewayError {
  override readonly name = 'NoProviderError' as const;
  readonly code = 'NO_PROVIDER';
  constructor(
    message: string,
    /** Environment variables that would register a provider able to serve the request. */
    readonly enablingKeys: string[] = [],
  ) {
    super(message);
  }
}

export class ConflictError extends GatewayError {
  override readonly name = 'ConflictError' as const;
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
  }
}

export class BudgetExceededError extends GatewayError {
  override readonly name = 'BudgetExceededError' as const;
  readonly code = 'BUDGET_EXCEEDED';
  constructor(
    message: string,
    /** The lowest estimate among the providers that could serve the request. */
    readonly cheapestEstimateUsd: number,
  ) {
    super(message);
  }
}
