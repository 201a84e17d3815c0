// A fresh PGlite data folder costs an initdb inside WASM (about 4 s here).
// Loading the same cluster from a tarball takes about 1 s, so the first start
// on a fresh machine loads a template made once, at `npm install`, by the
// pinned PGlite itself, with the migrations of that time applied (start-up
// still applies any newer ones). Without a template PGlite runs initdb.

import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
// The package exports no ./package.json: find it beside its entry point.
const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const pgliteVersion = (
  JSON.parse(readFileSync(path.join(pgliteEntry.slice(0, pgliteEntry.lastIndexOf('/dist/')), 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

export const PGLITE_TEMPLATE_PATH = path.join(
  projectRoot,
  'node_modules',
  '.cache',
  'aideon-gateway',
  `pglite-${pgliteVersion}-migrated-cluster.tar.gz`,
);

export async function readPgliteTemplate(): Promise<Blob | undefined> {
  try {
    return new Blob([await readFile(PGLITE_TEMPLATE_PATH)]);
  } catch {
    return undefined;
  }
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

/** An empty cluster with the migrations known at install time applied (start-up applies any newer ones). */
export async function writePgliteTemplate(): Promise<string> {
  const pglite = new PGlite();
  await pglite.waitReady;
  await migrate(drizzle({ client: pglite }), { migrationsFolder: MIGRATIONS_FOLDER });
  const dump = await pglite.dumpDataDir('gzip');
  await pglite.close();
  await mkdir(path.dirname(PGLITE_TEMPLATE_PATH), { recursive: true });
  const temp = `${PGLITE_TEMPLATE_PATH}.${process.pid}.tmp`;
  await writeFile(temp, Buffer.from(await dump.arrayBuffer()));
  await rename(temp, PGLITE_TEMPLATE_PATH);
  return PGLITE_TEMPLATE_PATH;
}
