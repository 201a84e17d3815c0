// The local video provider: ffmpeg in this process draws scenes from prompts,
// does simple edits and extends clips. Submissions return at once; renders run
// in the background, at most `maxConcurrentRenders` at a time, and their state
// lives in memory only. After a restart every handle is unknown (`lost`) and
// the job service starts the render again from scratch.

import { rm } from 'node:fs/promises';
import { assertUnreachable, isTerminal, type JobStatus } from '../../domain.js';
import type { Logger } from '../../logger.js';
import { isFfmpegAbortError, runFfmpeg } from '../../media/ffmpeg.js';
import { mediaKey, type MediaStore } from '../../media/store.js';
import {
  ProviderError,
  type AttemptContext,
  type EditVideoRequest,
  type ExtendVideoRequest,
  type GenerateVideoRequest,
  type PollResult,
  type SubmitResult,
  type Support,
  type VideoProvider,
} from '../types.js';
import { parseEditPrompt } from './edit-parser.js';
import { editFfmpegArgs } from './edit.js';
import { checkExtension, extendFfmpegArgs, extendModeFromPrompt } from './extend.js';
import { probeRenderSource } from './render-source.js';
import { sceneFfmpegArgs } from './scene.js';

export interface LocalVideoProviderOptions {
  store: MediaStore;
  /** ffmpeg uses several cores per render; more renders than this wait their turn (QUEUED). */
  maxConcurrentRenders?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How long a finished render stays pollable once a poll has seen it finished. */
  finishedRetentionMs?: number;
  /** How long a finished render nobody polls stays in memory. */
  unpolledRetentionMs?: number;
  /** Milliseconds since the epoch; a fake clock in tests. */
  now?: () => number;
}

const PROVIDER_NAME = 'local';
const DEFAULT_MAX_CONCURRENT_RENDERS = 2;
const DEFAULT_FINISHED_RETENTION_MS = 5 * 60_000;
const DEFAULT_UNPOLLED_RETENTION_MS = 60 * 60_000;

/** What a render runs: built once the render has a slot and a temporary output path. */
type RenderPlan = (outputPath: string, signal: AbortSignal) => Promise<{ args: string[]; outputDurationSeconds: number }>;

interface Render {
  id: string;
  outputKey: string;
  status: JobStatus;
  progress: number;
  errorMessage?: string;
  controller: AbortController;
  /** Settles once the render has ended and cleaned up (ffmpeg exited, temp file gone). */
  settled: Promise<void>;
  finishedAt?: number;
  forgetAt?: number;
}

export class LocalVideoProvider implements VideoProvider {
  readonly name = PROVIDER_NAME;
  readonly runsInProcess = true;

  private readonly store: MediaStore;
  private readonly maxConcurrentRenders: number;
  private readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  private readonly finishedRetentionMs: number;
  private readonly unpolledRetentionMs: number;
  private readonly now: () => number;
  private readonly renders = new Map<string, Render>();
  private readonly waiting: Array<{ render: Render; start: (acquired: boolean) => void }> = [];
  private runningCount = 0;
  private closed = false;

  constructor(options: LocalVideoProviderOptions) {
    this.store = options.store;
    this.maxConcurrentRenders = Math.max(1, options.maxConcurrentRenders ?? DEFAULT_MAX_CONCURRENT_RENDERS);
    this.logger = options.logger;
    this.finishedRetentionMs = options.finishedRetentionMs ?? DEFAULT_FINISHED_RETENTION_MS;
    this.unpolledRetentionMs = options.unpolledRetentionMs ?? DEFAULT_UNPOLLED_RETENTION_MS;
    this.now = options.now ?? Date.now;
  }

  supportsGenerate(request: GenerateVideoRequest): Support {
    if (request.imageUrl) {
      return { ok: false, reason: 'image-to-video needs a cloud provider: the local provider draws its scenes from the prompt alone' };
    }
    if (!(request.durationSeconds > 0) || !(request.fps >= 1)) {
      return { ok: false, reason: `cannot render ${request.durationSeconds}s at ${request.fps} fps` };
    }
    if (request.width < 2 || request.height < 2 || request.width % 2 !== 0 || request.height % 2 !== 0) {
      return { ok: false, reason: `a ${request.width}x${request.height} frame needs even sides for H.264 (yuv420p)` };
    }
    return { ok: true };
  }

  supportsEdit(request: EditVideoRequest): Support {
    const parsed = parseEditPrompt(request.prompt, request.source);
    return parsed.ok ? { ok: true } : parsed;
  }

  supportsExtend(request: ExtendVideoRequest): Support {
    return checkExtension(request.extensionSeconds, extendModeFromPrompt(request.prompt), request.source);
  }

  async generate(context: AttemptContext, request: GenerateVideoRequest): Promise<SubmitResult> {
    const support = this.supportsGenerate(request);
    if (!support.ok) throw unsupported(support.reason);
    return this.submit(context, 'generate', async (outputPath) => ({
      args: sceneFfmpegArgs(request, outputPath),
      outputDurationSeconds: request.durationSeconds,
    }));
  }

  async edit(context: AttemptContext, request: EditVideoRequest): Promise<SubmitResult> {
    const parsed = parseEditPrompt(request.prompt, request.source);
    if (!parsed.ok) throw unsupported(parsed.reason);
    return this.submit(context, 'edit', async (outputPath, signal) => {
      const source = await probeRenderSource(request.source.path, signal);
      return editFfmpegArgs(parsed.operations, source, outputPath);
    });
  }

  async extend(context: AttemptContext, request: ExtendVideoRequest): Promise<SubmitResult> {
    const support = this.supportsExtend(request);
    if (!support.ok) throw unsupported(support.reason);
    const mode = extendModeFromPrompt(request.prompt);
    return this.submit(context, 'extend', async (outputPath, signal) => {
      const source = await probeRenderSource(request.source.path, signal);
      return extendFfmpegArgs(mode, request.extensionSeconds, source, outputPath);
    });
  }

  async poll(providerJobId: string): Promise<PollResult> {
    this.forgetExpired();
    const render = this.renders.get(providerJobId);
    if (!render) return { kind: 'lost' };
    if (isTerminal(render.status)) render.forgetAt ??= this.now() + this.finishedRetentionMs;

    switch (render.status) {
      case 'QUEUED':
        return {
          kind: 'status',
          status: 'QUEUED',
          progress: 0,
          message: `waiting for one of ${this.maxConcurrentRenders} local render slots`,
        };
      case 'RUNNING':
        return { kind: 'status', status: 'RUNNING', progress: render.progress };
      case 'SUCCEEDED':
        return {
          kind: 'status',
          status: 'SUCCEEDED',
          progress: 1,
          output: { media: [{ kind: 'stored', key: render.outputKey }] },
          costUsd: 0,
        };
      case 'FAILED':
        return {
          kind: 'status',
          status: 'FAILED',
          progress: render.progress,
          error: { code: 'PROVIDER_ERROR', message: render.errorMessage ?? 'the local render failed', retryable: false },
        };
      case 'CANCELED':
        return { kind: 'status', status: 'CANCELED', progress: render.progress };
      default:
        return assertUnreachable(render.status);
    }
  }

  /** Stops the render (killing ffmpeg) and resolves once it has exited and its temporary file is gone. */
  async cancel(providerJobId: string): Promise<void> {
    const render = this.renders.get(providerJobId);
    if (!render || isTerminal(render.status)) return;
    render.controller.abort();
    const queued = this.waiting.findIndex((waiter) => waiter.render === render);
    if (queued >= 0) this.waiting.splice(queued, 1)[0]?.start(false);
    await render.settled;
  }

  /** Kills every render; their jobs are taken up again by the next process. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.renders.keys()].map((id) => this.cancel(id)));
  }

  private submit(context: AttemptContext, operation: string, plan: RenderPlan): SubmitResult {
    if (this.closed) {
      throw new ProviderError({ code: 'PROVIDER_UNAVAILABLE', message: 'the local provider is shutting down', retryable: true }, PROVIDER_NAME);
    }
    this.forgetExpired();
    const id = `${context.jobId}.${context.attempt}`;
    const existing = this.renders.get(id);
    // The same attempt submitted twice is the same render.
    if (existing?.status === 'QUEUED' || existing?.status === 'RUNNING') return { providerJobId: id, status: existing.status };

    const hasSlot = this.runningCount < this.maxConcurrentRenders;
    if (hasSlot) this.runningCount += 1;
    const render: Render = {
      id,
      outputKey: mediaKey(context.jobId, 'output.mp4'),
      status: hasSlot ? 'RUNNING' : 'QUEUED',
      progress: 0,
      controller: new AbortController(),
      settled: Promise.resolve(),
    };
    this.renders.set(id, render);

    const onContextAbort = () => void this.cancel(id);
    context.signal?.addEventListener('abort', onContextAbort, { once: true });
    if (context.signal?.aborted) render.controller.abort();
    render.settled = this.run(render, hasSlot, operation, plan).finally(() =>
      context.signal?.removeEventListener('abort', onContextAbort),
    );
    return { providerJobId: id, status: hasSlot ? 'RUNNING' : 'QUEUED' };
  }

  private async run(render: Render, hasSlot: boolean, operation: string, plan: RenderPlan): Promise<void> {
    const signal = render.controller.signal;
    let acquired = hasSlot;
    let tempPath: string | null = null;
    let outcome: { status: 'SUCCEEDED' } | { status: 'CANCELED' } | { status: 'FAILED'; message: string };
    const startedAt = this.now();
    try {
      if (!acquired) acquired = await new Promise<boolean>((start) => this.waiting.push({ render, start }));
      if (!acquired || signal.aborted) throw new RenderCanceled();
      render.status = 'RUNNING';
      this.logger?.info({ providerJobId: render.id, operation }, 'local render started');

      tempPath = await this.store.tempPathFor(render.outputKey);
      const { args, outputDurationSeconds } = await plan(tempPath, signal);
      await runFfmpeg(args, {
        expectedDurationSeconds: outputDurationSeconds,
        signal,
        onProgress: (progress) => {
          render.progress = Math.max(render.progress, progress);
        },
      });
      if (signal.aborted) throw new RenderCanceled();
      await this.store.commit(tempPath, render.outputKey);
      tempPath = null;
      outcome = { status: 'SUCCEEDED' };
    } catch (error) {
      if (signal.aborted || error instanceof RenderCanceled || isFfmpegAbortError(error)) {
        outcome = { status: 'CANCELED' };
      } else {
        outcome = { status: 'FAILED', message: `${operation} failed: ${(error as Error).message}` };
        this.logger?.warn({ providerJobId: render.id, operation, err: error }, 'local render failed');
      }
    }

    // Clean up before the state says finished: a poll that sees CANCELED or
    // FAILED never finds a half-written file left behind.
    if (tempPath) await rm(tempPath, { force: true }).catch(() => {});
    if (acquired) this.releaseSlot();
    render.status = outcome.status;
    if (outcome.status === 'FAILED') render.errorMessage = withoutDirectories(outcome.message);
    if (outcome.status === 'SUCCEEDED') render.progress = 1;
    render.finishedAt = this.now();

    this.logger?.info(
      { providerJobId: render.id, operation, status: outcome.status, elapsedMs: render.finishedAt - startedAt },
      'local render finished',
    );
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next.start(true);
    else this.runningCount -= 1;
  }

  /** Finished renders are dropped a while after a poll saw them finished, or much later if nobody polls. */
  private forgetExpired(): void {
    const now = this.now();
    for (const [id, render] of this.renders) {
      if (render.finishedAt === undefined) continue;
      const expired = (render.forgetAt !== undefined && render.forgetAt <= now) || render.finishedAt + this.unpolledRetentionMs <= now;
      if (expired) this.renders.delete(id);
    }
  }
}

/** A job's error is shown to its owner: file names stay, the server's directories do not. */
function withoutDirectories(message: string): string {
  return message.replace(/(?:\/[^\s/:'"]+)+\/([^\s/:'"]+)/g, '$1');
}

function unsupported(reason: string): ProviderError {
  return new ProviderError({ code: 'VALIDATION', message: reason, retryable: false }, PROVIDER_NAME);
}

/** The render was canceled before ffmpeg started. */
class RenderCanceled extends Error {
  constructor() {
    super('canceled');
    this.name = 'RenderCanceled';
  }
}
