// Submitting, queueing, canceling, failing and forgetting renders.

import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileMediaStore } from '../../src/media/store.js';
import { LocalVideoProvider } from '../../src/providers/local/local-video-provider.js';
import { ProviderError, type GenerateVideoRequest } from '../../src/providers/types.js';
import { ManualClock } from '../fakes/clock.js';
import { ffmpegProcessesWith, pollUntilDone, processExists, tempStore, waitForFfmpegProcess } from './helpers.js';

let dir: string;
let store: FileMediaStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, store, cleanup } = await tempStore());
});
afterAll(() => cleanup());

const quick: GenerateVideoRequest = {
  prompt: 'a quick one',
  durationSeconds: 0.5,
  fps: 24,
  resolution: '480p',
  aspectRatio: '16:9',
  width: 320,
  height: 180,
  seed: 1,
};
/** A render that takes far longer than any test waits for it. */
const slow: GenerateVideoRequest = { ...quick, prompt: 'a long one', durationSeconds: 60, width: 1280, height: 720 };

/** The files left in a job's directory (none once a render is canceled or failed). */
async function filesOf(jobId: string): Promise<string[]> {
  return readdir(path.join(dir, jobId)).catch(() => []);
}

describe('LocalVideoProvider lifecycle', () => {
  it('cancel kills ffmpeg, reports CANCELED and leaves no file behind', async () => {
    const provider = new LocalVideoProvider({ store });
    const submitted = await provider.generate({ jobId: 'cancel-running', attempt: 1 }, slow);
    expect(submitted).toEqual({ providerJobId: 'cancel-running.1', status: 'RUNNING' });
    const pid = await waitForFfmpegProcess('cancel-running/output.mp4');
    expect(await provider.poll(submitted.providerJobId)).toMatchObject({ kind: 'status', status: 'RUNNING' });

    await provider.cancel(submitted.providerJobId);

    expect(processExists(pid)).toBe(false);
    expect(await ffmpegProcessesWith('cancel-running/')).toEqual([]);
    expect(await provider.poll(submitted.providerJobId)).toMatchObject({ kind: 'status', status: 'CANCELED' });
    expect(await filesOf('cancel-running')).toEqual([]);
    // Canceling again, or canceling what was never there, is harmless.
    await provider.cancel(submitted.providerJobId);
    await provider.cancel('nobody.1');
  });

  it('aborting the attempt’s signal cancels the render', async () => {
    const provider = new LocalVideoProvider({ store });
    const controller = new AbortController();
    const submitted = await provider.generate({ jobId: 'signal-abort', attempt: 1, signal: controller.signal }, slow);
    const pid = await waitForFfmpegProcess('signal-abort/output.mp4');
    controller.abort();
    const { final } = await pollUntilDone(provider, submitted.providerJobId);
    expect(final).toMatchObject({ kind: 'status', status: 'CANCELED' });
    expect(processExists(pid)).toBe(false);
    expect(await filesOf('signal-abort')).toEqual([]);
  });

  it('queues renders beyond its concurrency and runs them when a slot frees up', async () => {
    const provider = new LocalVideoProvider({ store, maxConcurrentRenders: 1 });
    const first = await provider.generate({ jobId: 'queue-first', attempt: 1 }, slow);
    const second = await provider.generate({ jobId: 'queue-second', attempt: 1 }, quick);
    const third = await provider.generate({ jobId: 'queue-third', attempt: 1 }, quick);
    expect([first.status, second.status, third.status]).toEqual(['RUNNING', 'QUEUED', 'QUEUED']);
    expect(await provider.poll(second.providerJobId)).toMatchObject({ kind: 'status', status: 'QUEUED', progress: 0 });

    // A queued render canceled never starts.
    await provider.cancel(third.providerJobId);
    expect(await provider.poll(third.providerJobId)).toMatchObject({ status: 'CANCELED' });

    await provider.cancel(first.providerJobId);
    const { final } = await pollUntilDone(provider, second.providerJobId);
    expect(final).toMatchObject({ kind: 'status', status: 'SUCCEEDED' });
    expect(await filesOf('queue-third')).toEqual([]);
    // The slot is free again.
    expect((await provider.generate({ jobId: 'queue-fourth', attempt: 1 }, quick)).status).toBe('RUNNING');
    await provider.close();
  });

  it('close kills every render and refuses new work', async () => {
    const provider = new LocalVideoProvider({ store, maxConcurrentRenders: 2 });
    const ids = ['close-a', 'close-b', 'close-c'];
    const submitted = await Promise.all(ids.map((jobId) => provider.generate({ jobId, attempt: 1 }, slow)));
    const pids = await Promise.all(ids.slice(0, 2).map((jobId) => waitForFfmpegProcess(`${jobId}/output.mp4`)));

    await provider.close();

    for (const pid of pids) expect(processExists(pid)).toBe(false);
    for (const { providerJobId } of submitted) expect(await provider.poll(providerJobId)).toMatchObject({ status: 'CANCELED' });
    await expect(provider.generate({ jobId: 'close-late', attempt: 1 }, quick)).rejects.toMatchObject({
      info: { code: 'PROVIDER_UNAVAILABLE' },
    });
  });

  it('says lost for a handle it does not know (a render from before a restart)', async () => {
    const provider = new LocalVideoProvider({ store });
    expect(await provider.poll('job-from-before.1')).toEqual({ kind: 'lost' });
  });

  it('gives each attempt its own handle', async () => {
    const provider = new LocalVideoProvider({ store });
    const one = await provider.generate({ jobId: 'attempts', attempt: 1 }, quick);
    await pollUntilDone(provider, one.providerJobId);
    const two = await provider.generate({ jobId: 'attempts', attempt: 2 }, quick);
    expect(two.providerJobId).not.toBe(one.providerJobId);
    expect((await pollUntilDone(provider, two.providerJobId)).final).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('fails with PROVIDER_ERROR when ffmpeg cannot read the source, and cleans up', async () => {
    const provider = new LocalVideoProvider({ store });
    const sourcePath = path.join(dir, 'broken.mp4');
    await writeFile(sourcePath, 'not a video at all');
    const source = { key: 'broken/source.mp4', path: sourcePath, durationSeconds: 3, width: 320, height: 180, hasAudio: false };
    const submitted = await provider.edit({ jobId: 'broken', attempt: 1 }, { prompt: 'reverse', source });
    const { final } = await pollUntilDone(provider, submitted.providerJobId);
    expect(final).toMatchObject({ kind: 'status', status: 'FAILED', error: { code: 'PROVIDER_ERROR', retryable: false } });
    const message = final.kind === 'status' ? (final.error?.message ?? '') : '';
    expect(message).toMatch(/edit failed: ffprobe could not read the file/);
    // It names the file but not the server's directories.
    expect(message).toContain('broken.mp4');
    expect(message).not.toContain(dir);
    expect(await filesOf('broken')).toEqual([]);
  });

  it('refuses unsupported requests at submission with a VALIDATION error', async () => {
    const provider = new LocalVideoProvider({ store });
    const source = { key: 'x/source.mp4', path: '/nonexistent.mp4', durationSeconds: 3, width: 320, height: 180, hasAudio: false };
    const edit = provider.edit({ jobId: 'refused', attempt: 1 }, { prompt: 'turn the cat into a dog', source });
    await expect(edit).rejects.toBeInstanceOf(ProviderError);
    await expect(edit).rejects.toMatchObject({ info: { code: 'VALIDATION', retryable: false } });
    const extend = provider.extend({ jobId: 'refused', attempt: 1 }, { extensionSeconds: 0, source });
    await expect(extend).rejects.toMatchObject({ info: { code: 'VALIDATION' } });
    expect(await provider.poll('refused.1')).toEqual({ kind: 'lost' });
  });

  it('forgets a finished render some minutes after a poll saw it finished', async () => {
    const clock = new ManualClock();
    const provider = new LocalVideoProvider({ store, now: () => clock.now(), finishedRetentionMs: 5 * 60_000 });
    const submitted = await provider.generate({ jobId: 'forget', attempt: 1 }, quick);
    await pollUntilDone(provider, submitted.providerJobId);

    clock.advance(4 * 60_000);
    expect(await provider.poll(submitted.providerJobId)).toMatchObject({ status: 'SUCCEEDED' });
    clock.advance(2 * 60_000);
    expect(await provider.poll(submitted.providerJobId)).toEqual({ kind: 'lost' });
  });

  it('forgets a finished render nobody polls, much later', async () => {
    const clock = new ManualClock();
    const provider = new LocalVideoProvider({ store, now: () => clock.now(), unpolledRetentionMs: 60 * 60_000 });
    const canceled = await provider.generate({ jobId: 'unpolled', attempt: 1 }, slow);
    await provider.cancel(canceled.providerJobId);

    clock.advance(59 * 60_000);
    expect(await provider.poll(canceled.providerJobId)).toMatchObject({ status: 'CANCELED' });
    const other = await provider.generate({ jobId: 'unpolled-other', attempt: 1 }, slow);
    await provider.cancel(other.providerJobId);
    clock.advance(2 * 60 * 60_000);
    // The first was polled, the second never: both are gone by now.
    expect(await provider.poll(canceled.providerJobId)).toEqual({ kind: 'lost' });
    expect(await provider.poll(other.providerJobId)).toEqual({ kind: 'lost' });
  });
});
