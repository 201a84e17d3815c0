// Imports every type module, then builds the schema.

import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './types/enums.js';
import './types/errors.js';
import './types/job.js';
import './types/job-result.js';
import './types/inputs.js';
import './types/mutations.js';
import './types/short-mutations.js';
import './types/queries.js';
import './types/subscriptions.js';
import './types/routing.js';
import './types/catalog.js';

let schema: GraphQLSchema | undefined;

export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema();
  return schema;
}

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
