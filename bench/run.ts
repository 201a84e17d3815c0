// Benchmarks that print figures and compare each against a baseline measured
// in the same run (not timed assertions in tests):
//   1. the local provider's 5 s 720p render vs the same ffmpeg command run directly;
//   2. generateVideo mutation latency on PGlite vs a trivial query on the same server;
//   3. start-up to ready on a fresh data folder vs starting Node with the same loader.
// Run: npm run bench

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { frameSize } from '../src/domain.js';
import { silentLogger } from '../src/logger.js';
import { ffmpegArgv, ffmpegPath } from '../src/media/ffmpeg.js';
import { FileMediaStore } from '../src/media/store.js';
import { LocalVideoProvider } from '../src/providers/local/local-video-provider.js';
import { sceneFfmpegArgs } from '../src/providers/local/scene.js';
import type { GenerateVideoRequest } from '../src/providers/types.js';

const ROOT = new URL('../', import.meta.url).pathname;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

function runProcess(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

async function renderBench(dir: string): Promise<void> {
  const request: GenerateVideoRequest = {
    prompt: 'A benchmark scene: the quick brown fox jumps over the lazy dog',
    durationSeconds: 5,
    fps: 24,
    resolution: '720p',
    aspectRatio: '16:9',
    ...frameSize('720p', '16:9'),
    seed: 42,
  };
  const store = new FileMediaStore(path.join(dir, 'media'));
  const provider = new LocalVideoProvider({ store, maxConcurrentRenders: 1 });
  const runs = 3;
  const direct: number[] = [];
  const viaProvider: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await runProcess(ffmpegPath, ffmpegArgv(sceneFfmpegArgs(request, path.join(dir, `direct-${i}.mp4`))));
    direct.push(performance.now() - start);

    const began = performance.now();
    const { providerJobId } = await provider.generate({ jobId: `bench${i}`, attempt: 1 }, request);
    for (;;) {
      const result = await provider.poll(providerJobId);
      if (result.kind === 'status' && result.status === 'SUCCEEDED') break;
      if (result.kind === 'lost' || (result.kind === 'status' && (result.status === 'FAILED' || result.status === 'CANCELED'))) {
        throw new Error(`render failed: ${JSON.stringify(result)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    viaProvider.push(performance.now() - began);
  }
  await provider.close();
  const baseline = quantile(direct, 0.5);
  const ours = quantile(viaProvider, 0.5);
  console.log(`render 5 s 720p (median of ${runs}): ffmpeg directly ${ms(baseline)}, local provider ${ms(ours)}, ratio ${(ours / baseline).toFixed(2)}x (target <= 1.3x)`);
}

async function mutationBench(dir: string): Promise<void> {
  const config = loadConfig({ PORT: '0', DATA_DIR: path.join(dir, 'mutation-data'), LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { logger: silentLogger(), startPoller: false });
  await app.start();
  const url = `${app.url()}/graphql`;
  const post = async (query: string, variables?: unknown) => {
    const start = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return performance.now() - start;
  };
  const mutation = `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { ... on JobPayload { job { id status } } } }`;
  const n = 300;
  for (let i = 0; i < 20; i++) {
    await post('{ __typename }');
    await post(mutation, { input: { prompt: `warm-up ${i}` } });
  }
  const trivial: number[] = [];
  const generate: number[] = [];
  for (let i = 0; i < n; i++) {
    trivial.push(await post('{ __typename }'));
    generate.push(await post(mutation, { input: { prompt: `bench ${i}`, durationSeconds: 5 } }));
  }
  await app.stop();
  console.log(
    `generateVideo on PGlite (${n} sequential): p50 ${ms(quantile(generate, 0.5))}, p95 ${ms(quantile(generate, 0.95))} ` +
      `(target p50 < 20 ms); baseline { __typename } p50 ${ms(quantile(trivial, 0.5))}`,
  );
}

function timeToLine(args: string[], env: Record<string, string>, marker: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    if (marker === null) {
      child.once('exit', () => resolve(performance.now() - start));
      return;
    }
    let elapsed: number | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (elapsed === undefined && line.includes(marker)) {
        elapsed = performance.now() - start;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) =>
      elapsed === undefined ? reject(new Error(`exited ${code} before "${marker}"`)) : resolve(elapsed),
    );
  });
}

async function startupBench(dir: string): Promise<void> {
  const runs = 3;
  const baseline: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    baseline.push(await timeToLine(['--import', 'tsx', '-e', '0'], {}, null));
    ready.push(
      await timeToLine(['--import', 'tsx', 'src/main.ts'], { PORT: '0', DATA_DIR: path.join(dir, `fresh-${i}`) }, 'Aideon Gateway ready'),
    );
  }
  console.log(
    `start-up to ready on a fresh data folder (median of ${runs}): ${ms(quantile(ready, 0.5))} (target < 3000 ms); ` +
      `baseline node --import tsx with no code ${ms(quantile(baseline, 0.5))}`,
  );
}

const dir = await mkdtemp(path.join(tmpdir(), 'aideon-bench-'));
try {
  await renderBench(dir);
  await mutationBench(dir);
  await startupBench(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
