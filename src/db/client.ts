// Opens the database: an embedded PGlite under the data folder when no
// DATABASE_URL is set, a real Postgres when it is. Both run the same drizzle
// migrations at start-up.

import { existsSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { MIGRATIONS_FOLDER, readPgliteTemplate } from './pglite-template.js';

export { MIGRATIONS_FOLDER };
import { schema } from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /**
   * True when no other process can be using this database (PGlite behind its
   * lock file): leases left by a dead process may then be dropped at once.
   */
  exclusive: boolean;
  close(): Promise<void>;
}


/** Serialises concurrent start-ups migrating the same Postgres. */
const MIGRATION_LOCK_ID = 7_310_411_002;

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data folder ${dataDir} is in use by process ${pid}. PGlite allows one process per data folder: ` +
        'stop that process, choose another DATA_DIR, or set DATABASE_URL to share a Postgres.',
    );
    this.name = 'DataDirLockedError';
  }
}

export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openPglite(options.dataDir);
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const migrator = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migratePostgres(drizzlePostgres({ client: migrator }), { migrationsFolder: MIGRATIONS_FOLDER });
    await migrator`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
  } finally {
    await migrator.end();
  }
  const client = postgres(url, { max: 10, onnotice: () => {} });
  const db = drizzlePostgres({ client, schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    exclusive: false,
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  await mkdir(dataDir, { recursive: true });
  const releaseLock = await lockDataDir(dataDir);
  try {
    const clusterDir = path.join(dataDir, 'pglite');
    const template = existsSync(clusterDir) ? undefined : await readPgliteTemplate();
    const client = new PGlite(clusterDir, template ? { loadDataDir: template } : {});
    await client.waitReady;
    const pglite = drizzlePglite({ client, schema });
    await migratePglite(pglite, { migrationsFolder: MIGRATIONS_FOLDER });
    return {
      db: pglite as unknown as Database,
      kind: 'pglite',
      exclusive: true,
      close: async () => {
        await client.close();
        await releaseLock();
      },
    };
  } catch (error) {
    await releaseLock();
    throw error;
  }
}

/**
 * PGlite has no lock of its own and two writers on one folder lose data, so a
 * lock file holds the owner's pid. A lock whose process is gone (a crash, a
 * SIGKILL) is stale and taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, 'pglite.lock');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await unlink(lockPath).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) throw new DataDirLockedError(dataDir, owner);
      await unlink(lockPath).catch(() => {});
    }
  }
  throw new Error(`could not take the lock ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Database time, so that every instance agrees on lease expiry whatever its own clock says. */
export const dbNow = sql`now()`;
