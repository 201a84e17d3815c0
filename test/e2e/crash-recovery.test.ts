// The gateway as a real child process: killed with SIGKILL mid-render it
// loses nothing (the job is taken up again and finishes after a restart);
// SIGTERM shuts it down cleanly; a second process on one PGlite data folder
// fails fast with a clear message.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, usePostgres, type TestDatabase } from '../helpers/database.js';
import { ffprobe } from '../helpers/ffprobe.js';
import { freePort } from '../helpers/net.js';
import { PROGRESS_SUBSCRIPTION } from '../helpers/gateway.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Child {
  process: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: string[];
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output.push(line);
      if (line.includes('Aideon Gateway ready')) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code}: ${output.join('\n')}`)));
  });
  return { process: child, url, exited, output };
}

async function graphql(url: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

let dataDir: string;
let database: TestDatabase;
let env: Record<string, string>;
const children: Child[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'aideon-crash-'));
  database = await createTestDatabase();
  env = {
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    // A short lease, so that on a shared Postgres the dead process's job is taken over quickly.
    LEASE_MS: '3000',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
  };
});

afterAll(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a gateway process', () => {
  it('killed with SIGKILL mid-render takes the job up again after a restart and finishes it', async () => {
    const first = await startChild(env);
    children.push(first);
    const created = await graphql(
      `${first.url}`,
      `mutation { generateVideo(input: { prompt: "survive a crash", durationSeconds: 6, resolution: "720p", fps: 30 }) {
        ... on JobPayload { job { id status } } } }`,
    );
    const jobId = created.generateVideo.job.id as string;
    const progress = async () =>
      (await graphql(first.url, `query ($id: ID!) { job(id: $id) { status progress } }`, { id: jobId })).job;
    await expect.poll(async () => (await progress()).progress ?? 0, { timeout: 30_000, interval: 100 }).toBeGreaterThan(0.05);
    const before = await progress();
    expect(before.status).toBe('RUNNING');
    expect(before.progress).toBeLessThan(1);

    first.process.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = await startChild(env);
    children.push(second);
    const client = createClient({ url: second.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const events: any[] = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: PROGRESS_SUBSCRIPTION, variables: { jobId } },
        { next: (value) => events.push((value.data as any).jobProgress.job), error: reject, complete: resolve },
      );
    });
    await client.dispose();
    // The subscriber that reconnects gets the current state first.
    expect(['QUEUED', 'RUNNING']).toContain(events[0].status);
    const final = events.at(-1);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.attempts.map((a: any) => a.status)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(final.attempts[0].error.message).toMatch(/restart/);
    const file = path.join(dataDir, 'downloaded.mp4');
    const response = await fetch(final.output.url);
    await import('node:fs/promises').then((fs) => response.arrayBuffer().then((b) => fs.writeFile(file, Buffer.from(b))));
    const probe = await ffprobe(file);
    expect(Math.abs(probe.durationSeconds - 6)).toBeLessThanOrEqual(0.1);
    expect(probe).toMatchObject({ width: 1280, height: 720, codec: 'h264', pixelFormat: 'yuv420p' });

    if (!usePostgres) {
      // PGlite has no lock of its own: a second process on the folder must refuse to start.
      const intruder = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: String(await freePort()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      intruder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => intruder.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain(`is in use by process ${second.process.pid}`);
    }

    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output.join('\n')).toContain('poller stopped');
  });

  it('refuses to start on a bad configuration, listing every problem', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PORT');
    expect(stderr).toContain('LOG_LEVEL');
    expect(stderr).toContain('DATABASE_URL');
  });
});
