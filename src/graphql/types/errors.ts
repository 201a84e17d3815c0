// Expected failures as schema types: each error class becomes an object type
// implementing the Error interface, and a member of the result unions.

import { ConflictError, GatewayError, NoProviderError, NotFoundError, ValidationError } from '../../errors.js';
import { builder } from '../builder.js';

export const ErrorInterface = builder.interfaceRef<GatewayError>('Error').implement({
  description: 'Every typed failure a mutation returns implements Error.',
  fields: (t) => ({
    code: t.exposeString('code', {
      description:
        'Stable machine-readable code: VALIDATION, NOT_FOUND, NO_PROVIDER, PROVIDER_ERROR, RATE_LIMITED, BUDGET_EXCEEDED, UNAUTHORIZED, FORBIDDEN, CONFLICT.',
    }),
    message: t.exposeString('message'),
  }),
});

export const ValidationErrorType = builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({
    field: t.exposeString('field', {
      nullable: true,
      description: 'path of the offending input field, e.g. input.durationSeconds',
    }),
  }),
});

export const NotFoundErrorType = builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: () => ({}),
});

export const NoProviderErrorType = builder.objectType(NoProviderError, {
  name: 'NoProviderError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NoProviderError,
  fields: (t) => ({
    enablingKeys: t.exposeStringList('enablingKeys', {
      description: 'environment variables that would register a provider able to serve the request',
    }),
  }),
});

export const ConflictErrorType = builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The request conflicts with the state of the gateway: an idempotency key reused with other input, or a job that can no longer change.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});
