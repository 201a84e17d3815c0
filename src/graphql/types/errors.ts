// Expected failures as schema types: each error class becomes an object type
// implementing the Error interface, and a member of the result unions.
// graphql-js treats any returned Error instance as a thrown one, so resolvers
// hand these types a plain copy of the error (`errorResult`).

import type { GatewayError } from '../../errors.js';
import { builder } from '../builder.js';

export interface ErrorResult {
  readonly kind: 'ValidationError' | 'NotFoundError' | 'NoProviderError' | 'ConflictError' | 'BudgetExceededError';
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  readonly enablingKeys?: string[];
  readonly cheapestEstimateUsd?: number;
}

export function errorResult(error: GatewayError & { name: ErrorResult['kind'] }): ErrorResult {
  return {
    kind: error.name,
    code: error.code,
    message: error.message,
    ...('field' in error ? { field: error.field as string | undefined } : {}),
    ...('enablingKeys' in error ? { enablingKeys: error.enablingKeys as string[] } : {}),
    ...('cheapestEstimateUsd' in error ? { cheapestEstimateUsd: error.cheapestEstimateUsd as number } : {}),
  };
}

const isError = (kind: ErrorResult['kind']) => (value: unknown) =>
  typeof value === 'object' && value !== null && (value as ErrorResult).kind === kind;

export const ErrorInterface = builder.interfaceRef<ErrorResult>('Error').implement({
  description: 'Every typed failure a mutation returns implements Error.',
  fields: (t) => ({
    code: t.exposeString('code', {
      description:
        'Stable machine-readable code: VALIDATION, NOT_FOUND, NO_PROVIDER, PROVIDER_ERROR, RATE_LIMITED, BUDGET_EXCEEDED, UNAUTHORIZED, FORBIDDEN, CONFLICT.',
    }),
    message: t.exposeString('message'),
  }),
});

export const ValidationErrorType = builder.objectRef<ErrorResult>('ValidationError').implement({
  interfaces: [ErrorInterface],
  isTypeOf: isError('ValidationError'),
  fields: (t) => ({
    field: t.string({
      nullable: true,
      description: 'path of the offending input field, e.g. input.durationSeconds',
      resolve: (error) => error.field ?? null,
    }),
  }),
});

export const NotFoundErrorType = builder.objectRef<ErrorResult>('NotFoundError').implement({
  interfaces: [ErrorInterface],
  isTypeOf: isError('NotFoundError'),
  fields: () => ({}),
});

export const NoProviderErrorType = builder.objectRef<ErrorResult>('NoProviderError').implement({
  interfaces: [ErrorInterface],
  isTypeOf: isError('NoProviderError'),
  fields: (t) => ({
    enablingKeys: t.stringList({
      description: 'environment variables that would register a provider able to serve the request',
      resolve: (error) => error.enablingKeys ?? [],
    }),
  }),
});

export const ConflictErrorType = builder.objectRef<ErrorResult>('ConflictError').implement({
  description:
    'The request conflicts with the state of the gateway: an idempotency key reused with other input, or a job that can no longer change.',
  interfaces: [ErrorInterface],
  isTypeOf: isError('ConflictError'),
  fields: () => ({}),
});

export const BudgetExceededErrorType = builder.objectRef<ErrorResult>('BudgetExceededError').implement({
  description: 'Every provider able to serve the request is estimated above routing.maxCostUsd.',
  interfaces: [ErrorInterface],
  isTypeOf: isError('BudgetExceededError'),
  fields: (t) => ({
    cheapestEstimateUsd: t.float({
      description: 'the lowest estimate among the providers that could serve the request',
      resolve: (error) => error.cheapestEstimateUsd ?? 0,
    }),
  }),
});
