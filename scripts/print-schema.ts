// Prints the schema from the Pothos builder into schema/schema.graphql.
import { writeFile } from 'node:fs/promises';
import { printedSchema } from '../src/graphql/schema.js';

const target = new URL('../schema/schema.graphql', import.meta.url);
await writeFile(target, printedSchema());
process.stdout.write(`wrote ${target.pathname}\n`);
