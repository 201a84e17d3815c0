// The one SchemaBuilder, its scalars and the Context every resolver gets.

import SchemaBuilder from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import type { VideoJobService } from '../jobs/video-job-service.js';
import type { JobEventBus } from '../jobs/job-events.js';
import type { JobStore } from '../jobs/job-store.js';
import type { RatingService } from '../routing/ratings.js';
import type { RoutingService } from '../routing/routing-service.js';
import type { CatalogEventBus } from '../catalog/catalog-reactions.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { ShortJobService } from '../jobs/short-job-service.js';

export interface Context {
  jobs: JobStore;
  videoJobs: VideoJobService;
  shortJobs: ShortJobService;
  events: JobEventBus;
  /** Absolute base URL that media URLs are served under, e.g. http://127.0.0.1:4000 */
  routing: RoutingService;
  catalog: { store: CatalogStore; bus: CatalogEventBus };
  ratings: RatingService;
  publicBaseUrl: () => string;
  /** The caller, as an opaque hash (see http/client-key.ts). */
  clientKey: string;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}>({
  defaultFieldNullability: false,
});

builder.scalarType('DateTime', {
  description: 'An instant in time, as an ISO 8601 string in UTC.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return date;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO 8601 string');
    const date = new Date(ast.value);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
