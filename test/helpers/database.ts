// A database for one test app: a fresh Postgres database on the local server
// (TEST_DATABASE=postgres) so runs and files never collide, or nothing (the
// app then opens PGlite in its own temporary data folder).

import { randomUUID } from 'node:crypto';
import postgres from 'postgres';

export const usePostgres = process.env.TEST_DATABASE === 'postgres';

const ADMIN_URLS = ['postgres://postgres@127.0.0.1:5432/postgres', 'postgres://root@127.0.0.1:5432/postgres'];

async function adminClient(): Promise<postgres.Sql> {
  let lastError: unknown;
  for (const url of ADMIN_URLS) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      return sql;
    } catch (error) {
      lastError = error;
      await sql.end();
    }
  }
  throw lastError;
}

export interface TestDatabase {
  url: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!usePostgres) return { url: undefined, drop: async () => {} };
  const admin = await adminClient();
  const name = `aideon_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await admin.unsafe(`create database ${name}`);
  const base = new URL(ADMIN_URLS[0]!);
  const user = (await admin`select current_user as user`)[0]!.user as string;
  await admin.end();
  base.username = user;
  base.pathname = `/${name}`;
  return {
    url: base.toString(),
    async drop() {
      const sql = await adminClient();
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}
