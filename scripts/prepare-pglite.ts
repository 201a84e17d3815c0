// Run at `npm install`: makes the migrated-cluster template that lets the first
// start on a fresh data folder skip PGlite's initdb. Never fails the install:
// without the template the gateway still starts, only slower.
import { PGLITE_TEMPLATE_PATH, writePgliteTemplate } from '../src/db/pglite-template.js';
import { existsSync } from 'node:fs';

try {
  if (!existsSync(PGLITE_TEMPLATE_PATH)) process.stdout.write(`wrote ${await writePgliteTemplate()}\n`);
} catch (error) {
  process.stderr.write(`warning: could not prepare the PGlite template (${(error as Error).message}); first start will be slower\n`);
}
