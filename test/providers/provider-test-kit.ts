// What the provider adapter tests share: a media store in a temporary
// directory, a real source clip in it, a poll loop, and a loopback URL where
// nothing listens (connection refused).

import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { isTerminal, type JobStatus } from '../../src/domain.js';
import { FileMediaStore, mediaKey } from '../../src/media/store.js';
import { ProviderCallError } from '../../src/providers/provider-errors.js';
import type { AttemptContext, PollResult, VideoProvider, VideoSource } from '../../src/providers/types.js';
import { FAKE_VIDEO, fakeMediaFiles } from '../fakes/media.js';
import { ffprobe } from '../helpers/ffprobe.js';

export interface TempStore {
  store: FileMediaStore;
  root: string;
  cleanup(): Promise<void>;
}

export async function tempStore(): Promise<TempStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'aideon-providers-'));
  return { store: new FileMediaStore(root), root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function attempt(jobId = randomUUID(), n = 1): AttemptContext {
  return { jobId, attempt: n };
}

/** The fakes' 2 s clip with sound, placed in the store the way the job service places a source. */
export async function storedSource(store: FileMediaStore, jobId: string, publicUrl?: string): Promise<VideoSource> {
  const key = mediaKey(jobId, 'source.mp4');
  await mkdir(path.dirname(store.pathOf(key)), { recursive: true });
  await copyFile((await fakeMediaFiles()).mp4, store.pathOf(key));
  const probe = await ffprobe(store.pathOf(key));
  return {
    key,
    path: store.pathOf(key),
    durationSeconds: probe.durationSeconds,
    width: FAKE_VIDEO.width,
    height: FAKE_VIDEO.height,
    hasAudio: probe.hasAudio,
    ...(publicUrl ? { publicUrl } : {}),
  };
}

export type StatusResult = Extract<PollResult, { kind: 'status' }>;

/** Polls until a terminal status; returns every answer in order. */
export async function pollToEnd(provider: VideoProvider, handle: string, intervalMs = 25, timeoutMs = 15_000): Promise<StatusResult[]> {
  const answers: StatusResult[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await provider.poll(handle);
    if (result.kind !== 'status') throw new Error(`poll answered ${result.kind}`);
    answers.push(result);
    if (isTerminal(result.status)) return answers;
    if (Date.now() > deadline) throw new Error(`still ${result.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const ORDER: Record<JobStatus, number> = { QUEUED: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, CANCELED: 2 };

/** Statuses never go back, and known progress never falls. */
export function expectOrderly(answers: StatusResult[]): void {
  for (let i = 1; i < answers.length; i += 1) {
    expect(ORDER[answers[i]!.status]).toBeGreaterThanOrEqual(ORDER[answers[i - 1]!.status]);
  }
  const progress = answers.map((a) => a.progress).filter((p): p is number => p !== null);
  for (let i = 1; i < progress.length; i += 1) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
  for (const p of progress) {
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
  }
}

/** The ProviderCallError a call rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<ProviderCallError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderCallError);
  return error as ProviderCallError;
}

/** Asserts no trace of `secret` in the error: message, info, or anything enumerable. */
export function expectNoSecret(error: Error, secret: string): void {
  expect(error.message).not.toContain(secret);
  expect(JSON.stringify(error)).not.toContain(secret);
  expect(String(error.stack)).not.toContain(secret);
}

/** `http://127.0.0.1:PORT` of a port that was free a moment ago: connecting is refused. */
export async function refusedOrigin(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
