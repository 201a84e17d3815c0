// The printed schema is current, and the public contract is a subset of it:
// every type, field, argument, enum value, union member and interface there
// exists here with the same type.

import { readFile } from 'node:fs/promises';
import {
  buildSchema as buildSdl,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema, printedSchema } from '../src/graphql/schema.js';

const read = (name: string) => readFile(new URL(`../schema/${name}`, import.meta.url), 'utf8');

export function contractProblems(contract: GraphQLSchema, schema: GraphQLSchema): string[] {
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(contract.getTypeMap())) {
    if (name.startsWith('__')) continue;
    const actual = schema.getType(name) as GraphQLNamedType | undefined;
    if (!actual) {
      problems.push(`missing type ${name}`);
      continue;
    }
    if (actual.constructor !== expected.constructor) {
      problems.push(`${name} is a ${actual.constructor.name}, the contract says ${expected.constructor.name}`);
      continue;
    }
    if (isEnumType(expected) && isEnumType(actual)) {
      for (const value of expected.getValues()) {
        if (!actual.getValue(value.name)) problems.push(`enum ${name} lacks ${value.name}`);
      }
    }
    if (isUnionType(expected) && isUnionType(actual)) {
      const members = new Set(actual.getTypes().map((t) => t.name));
      for (const member of expected.getTypes()) {
        if (!members.has(member.name)) problems.push(`union ${name} lacks ${member.name}`);
      }
    }
    if ((isObjectType(expected) || isInterfaceType(expected)) && (isObjectType(actual) || isInterfaceType(actual))) {
      const interfaces = new Set(actual.getInterfaces().map((i) => i.name));
      for (const iface of expected.getInterfaces()) {
        if (!interfaces.has(iface.name)) problems.push(`${name} does not implement ${iface.name}`);
      }
      const fields = actual.getFields();
      for (const field of Object.values(expected.getFields())) {
        const mine = fields[field.name];
        if (!mine) {
          problems.push(`${name}.${field.name} is missing`);
          continue;
        }
        if (String(mine.type) !== String(field.type)) {
          problems.push(`${name}.${field.name} is ${mine.type}, the contract says ${field.type}`);
        }
        for (const arg of field.args) {
          const myArg = mine.args.find((a) => a.name === arg.name);
          if (!myArg) problems.push(`${name}.${field.name}(${arg.name}) is missing`);
          else if (String(myArg.type) !== String(arg.type)) {
            problems.push(`${name}.${field.name}(${arg.name}) is ${myArg.type}, the contract says ${arg.type}`);
          }
        }
        for (const myArg of mine.args) {
          if (!field.args.some((a) => a.name === myArg.name) && String(myArg.type).endsWith('!')) {
            problems.push(`${name}.${field.name}(${myArg.name}) is an added required argument`);
          }
        }
      }
    }
    if (isInputObjectType(expected) && isInputObjectType(actual)) {
      const fields = actual.getFields();
      for (const field of Object.values(expected.getFields())) {
        const mine = fields[field.name];
        if (!mine) problems.push(`input ${name}.${field.name} is missing`);
        else if (String(mine.type) !== String(field.type)) {
          problems.push(`input ${name}.${field.name} is ${mine.type}, the contract says ${field.type}`);
        }
      }
      for (const mine of Object.values(fields)) {
        if (!expected.getFields()[mine.name] && String(mine.type).endsWith('!')) {
          problems.push(`input ${name}.${mine.name} is an added required field`);
        }
      }
    }
  }
  return problems;
}

describe('schema', () => {
  it('schema/schema.graphql is the schema the builder prints (run npm run schema:print)', async () => {
    expect(await read('schema.graphql')).toBe(printedSchema());
  });

  it('contains all of the public contract with the same types', async () => {
    const contract = buildSdl(await read('contract.graphql'));
    expect(contractProblems(contract, buildSchema())).toEqual([]);
  });

  it('the subset check notices a missing field, a retyped argument and a missing union member', () => {
    const contract = buildSdl(`
      type Query { a(x: Int): String! b: Int }
      union U = A | B
      type A { id: ID! } type B { id: ID! }
      type Mutation { m: U }
    `);
    const schema = buildSdl(`
      type Query { a(x: String): String! }
      union U = A
      type A { id: ID! } type B { id: ID! }
      type Mutation { m: U }
    `);
    expect(contractProblems(contract, schema)).toEqual([
      'Query.a(x) is String, the contract says Int',
      'Query.b is missing',
      'missing type Int',
      'union U lacks B',
    ]);
  });
});
