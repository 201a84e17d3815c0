// The life of a short job (text, code, image, speech, transcription, vision):
// the work finishes inside the provider call, so the mutation runs it to the
// end and returns the finished job. As for video, the job row is committed
// before the provider is called, every change is written first, then
// published, and media is copied into our store and measured.
//
// Streaming (text, code): the partial text is written to the job's output and
// published at most once per `partialTextIntervalMs` (never once per delta),
// so `job(id)`, a late `jobProgress` subscriber and a live one all see the
// same growing text; the finished job holds the whole text.

import { uuidv7 } from 'uuidv7';
import type { JobAttemptRow, JobRow } from '../db/schema.js';
import type { JobErrorInfo, JobOutputInfo, JobStatus } from '../domain.js';
import { BudgetExceededError, ConflictError, NoProviderError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { probeMedia } from '../media/ffmpeg.js';
import { MediaFetchError, type MediaIntake } from '../media/fetch-media.js';
import { mediaKey, type MediaStore } from '../media/store.js';
import { ENABLING_KEYS, type ProviderRegistry, type ShortKind } from '../providers/registry.js';
import { ProviderError, type AttemptContext, type ShortMedia, type TranscriptionRequest } from '../providers/types.js';
import { ruleFor } from '../routing/policy.js';
import type { ShortModality } from '../routing/request.js';
import { submitWithFallback } from '../routing/retry.js';
import type { CandidateRef } from '../routing/router.js';
import type { RoutingService } from '../routing/routing-service.js';
import type { JobEventBus } from './job-events.js';
import type { JobRecord, JobStore } from './job-store.js';
import { SHORT_JOB_KIND, specPrompt, type AudioSourceRef, type ShortSpec } from './short-requests.js';
import { inputHash, isJobId } from './video-requests.js';

export interface ShortJobServiceOptions {
  store: JobStore;
  events: JobEventBus;
  providers: ProviderRegistry;
  media: MediaStore;
  logger: Logger;
  /** Where provider outputs enter the media store, under its size and time limits. */
  intake: MediaIntake;
  routing: RoutingService;
  /** Least time between two writes (and publications) of a streaming job's partial text. */
  partialTextIntervalMs?: number;
}

interface ShortResult {
  model: string;
  costUsd?: number;
  text?: string;
  language?: string;
  media?: ShortMedia[];
}

/** The chosen provider and the call to make, ready before the job row exists. */
/** One routed candidate, ready to call. */
interface CandidateCall extends CandidateRef {
  call: (context: AttemptContext, onDelta?: (delta: string) => void) => Promise<ShortResult>;
}

interface PreparedCall {
  /** Ranked by the router, best first; tried in order until one answers. */
  candidates: CandidateCall[];
  /** Which kind of media the result holds, for the content-type check and file names. */
  mediaKind?: 'image' | 'audio';
  streams: boolean;
  allowFallback: boolean;
}

const WHAT: Record<ShortKind, string> = {
  text: 'text generation',
  code: 'code generation',
  image: 'image generation',
  speech: 'speech synthesis',
  transcription: 'transcription',
  vision: 'image analysis',
};

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
};

const MIME_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
};

const DEFAULT_EXTENSION = { image: 'png', audio: 'mp3' } as const;

/** Thrown inside a try when the job was canceled meanwhile: nothing more to do. */
class CanceledMeanwhile extends Error {}

export class ShortJobService {
  private readonly partialTextIntervalMs: number;
  /** Jobs this process is running now: never abandoned, whatever their age. */
  private readonly running = new Set<string>();

  constructor(private readonly options: ShortJobServiceOptions) {
    this.partialTextIntervalMs = options.partialTextIntervalMs ?? 100;
  }

  private get store() {
    return this.options.store;
  }

  /**
   * Validates what needs the store (a transcription's source job), picks the
   * provider, commits the job, runs it and returns it finished (SUCCEEDED or
   * FAILED). A reused idempotency key returns the job it made, as it stands.
   */
  async run(spec: ShortSpec, idempotencyKey?: string, clientKey?: string): Promise<JobRecord> {
    const { prepared, experiment } = await this.prepare(spec, clientKey);
    const { modality, operation } = SHORT_JOB_KIND[spec.kind];
    const outcome = await this.store.insert({
      id: uuidv7(),
      modality,
      operation,
      status: 'QUEUED',
      prompt: specPrompt(spec),
      input: spec as unknown as Record<string, unknown>,
      inputHash: inputHash(spec),
      idempotencyKey: idempotencyKey ?? null,
      clientKey: clientKey ?? null,
      experiment: experiment?.name ?? null,
      variant: experiment?.variant ?? null,
      // Never due: the poller has nothing to do for a job that runs inside its request.
      nextPollAt: null,
    });
    switch (outcome.kind) {
      case 'conflict':
        throw new ConflictError(`idempotencyKey "${idempotencyKey}" was used for another request (job ${outcome.job.id})`);
      case 'existing':
        return this.record(outcome.job);
      case 'created':
        await this.publish(outcome.job);
        this.running.add(outcome.job.id);
        try {
          return await this.execute(outcome.job, prepared);
        } finally {
          this.running.delete(outcome.job.id);
        }
    }
  }

  /**
   * Fails short jobs whose process died while the provider worked on them
   * (they are never polled, so nothing else would end them). Not resubmitted:
   * the provider may have done, and billed, the work.
   */
  async failAbandoned(olderThanMs: number): Promise<number> {
    let failed = 0;
    for (const job of await this.store.unscheduledSince(olderThanMs)) {
      if (this.running.has(job.id)) continue;
      const finished = await this.store.finishJob(job, job.status, 'FAILED', {
        error: {
          code: 'INTERNAL',
          message: 'the gateway stopped while the provider was working on the job; it was not resubmitted',
          retryable: true,
        },
      });
      if (!finished) continue;
      await this.publish(finished.job, finished.attempts);
      failed++;
    }
    return failed;
  }

  /**
   * Tries the ranked candidates until one answers (each try a JobAttempt,
   * the breakers told of each outcome), then stores the output.
   */
  private async execute(job: JobRow, prepared: PreparedCall): Promise<JobRecord> {
    const { modality, operation } = job;
    const fallback = ruleFor(this.options.routing.policy, modality, operation).fallback;
    let running: JobRow | null = null;
    const cancellation = this.abortWhenCanceled(job.id);
    let outcome;
    try {
      outcome = await submitWithFallback({
        candidates: prepared.candidates,
        settings: fallback,
        allowFallback: prepared.allowFallback,
        random: this.options.routing.random,
        breakers: this.options.routing.breakers,
        signal: cancellation.signal,
        submit: async (candidate, attempt) => {
          const n = job.attemptCount + attempt;
          const started = await this.startAttempt(job, running, candidate, n);
          if (!started) throw new CanceledMeanwhile();
          running = started.job;
          const partial = prepared.streams
            ? new PartialText(this.partialTextIntervalMs, (text) => this.writePartialText(started.job, started.attempts, text))
            : undefined;
          try {
            const result = await candidate.call(
              { jobId: job.id, attempt: n, signal: cancellation.signal },
              partial && ((delta) => partial.append(delta)),
            );
            // Any partial write still in flight lands before the final state.
            await partial?.close();
            return result;
          } catch (error) {
            await partial?.close();
            if (!cancellation.signal.aborted) {
              await this.store.finishAttempt(job.id, n, { status: 'FAILED', error: this.failureInfo(job.id, error) });
            }
            throw error;
          }
        },
      });
    } catch (error) {
      if (error instanceof CanceledMeanwhile) return this.current(job.id);
      throw error;
    } finally {
      cancellation.stop();
    }
    if (cancellation.signal.aborted) return this.current(job.id); // canceled: cancelJob wrote the outcome
    const current: JobRow = running ?? job;
    if (!outcome.ok) return this.finish(current, 'FAILED', { error: this.failureInfo(job.id, outcome.error) });
    const result = outcome.value;
    let output: JobOutputInfo;
    try {
      output = await this.storeOutput(current, prepared, result);
    } catch (error) {
      const retryable = error instanceof MediaFetchError ? error.retryable : false;
      return this.finish(current, 'FAILED', {
        error: { code: 'PROVIDER_ERROR', message: `could not store the output: ${(error as Error).message}`, retryable },
        costUsd: result.costUsd,
        model: result.model,
      });
    }
    return this.finish(current, 'SUCCEEDED', { output, costUsd: result.costUsd, model: result.model, progress: 1 });
  }

  /** Writes attempt `n` and puts the job on it (RUNNING); null when the job was canceled meanwhile. */
  private async startAttempt(
    job: JobRow,
    running: JobRow | null,
    candidate: CandidateRef,
    n: number,
  ): Promise<{ job: JobRow; attempts: JobAttemptRow[] } | null> {
    await this.store.insertAttempt({ jobId: job.id, n, provider: candidate.provider, model: candidate.model, status: 'RUNNING' });
    const patch = { attemptCount: n, provider: candidate.provider, model: candidate.model, progress: null, output: null };
    const started = running
      ? await this.store.update(job.id, { status: 'RUNNING' }, patch)
      : await this.store.transition(job.id, 'QUEUED', 'RUNNING', patch);
    if (!started) {
      await this.store.finishAttempt(job.id, n, { status: 'CANCELED' });
      return null;
    }
    const attempts = await this.store.attempts(job.id);
    await this.publish(started, attempts);
    return { job: started, attempts };
  }

  /**
   * Aborts the provider call when the job is canceled (cancelJob publishes
   * CANCELED on the job's topic), so a canceled job stops costing at once.
   */
  private abortWhenCanceled(jobId: string): { signal: AbortSignal; stop: () => void } {
    const controller = new AbortController();
    const changes = this.options.events.subscribe(jobId);
    void (async () => {
      for await (const event of changes) {
        if (event.job.status === 'CANCELED') {
          controller.abort(new Error('the job was canceled'));
          return;
        }
      }
    })();
    return { signal: controller.signal, stop: () => void changes.return?.() };
  }

  /** False when the job left RUNNING (canceled), so the stream stops writing. */
  private async writePartialText(job: JobRow, attempts: JobAttemptRow[], text: string): Promise<boolean> {
    try {
      const updated = await this.store.update(job.id, { status: 'RUNNING' }, { output: { text } });
      if (!updated) return false;
      await this.publish(updated, attempts);
    } catch (error) {
      // Nothing is lost: the next write, or the final state, carries the whole text so far.
      this.options.logger.warn({ jobId: job.id, err: error }, 'could not write the partial text');
    }
    return true;
  }

  private async finish(
    job: JobRow,
    status: Extract<JobStatus, 'SUCCEEDED' | 'FAILED'>,
    outcome: { output?: JobOutputInfo; error?: JobErrorInfo; costUsd?: number; model?: string; progress?: number },
  ): Promise<JobRecord> {
    const finished = await this.store.finishJob(job, job.status, status, outcome);
    if (!finished) return this.current(job.id); // canceled while the provider worked
    return this.publish(finished.job, finished.attempts);
  }

  private failureInfo(jobId: string, error: unknown): JobErrorInfo {
    if (error instanceof ProviderError) return error.info;
    this.options.logger.error({ jobId, err: error }, 'short job failed unexpectedly');
    return { code: 'INTERNAL', message: 'the gateway failed while calling the provider', retryable: false };
  }

  /**
   * Routes the request and builds a call for each ranked candidate;
   * NoProviderError when none can serve it, BudgetExceededError when every
   * estimate is above the caller's limit.
   */
  private async prepare(
    spec: ShortSpec,
    clientKey: string | undefined,
  ): Promise<{ prepared: PreparedCall; experiment?: { name: string; variant: string } }> {
    const { modality, operation } = SHORT_JOB_KIND[spec.kind];
    if (this.options.providers.short(spec.kind).length === 0 || (spec.provider && this.options.providers.short(spec.kind, spec.provider).length === 0)) {
      const keys = ENABLING_KEYS[spec.kind];
      const message = spec.provider
        ? `no registered provider named "${spec.provider}" serves ${WHAT[spec.kind]}`
        : `no registered provider serves ${WHAT[spec.kind]}: set ${keys.join(' or ')} to enable one`;
      throw new NoProviderError(message, keys);
    }
    const wishes = spec.wishes ?? {};
    const decision = this.options.routing.route({
      modality: modality as ShortModality,
      operation,
      ...(spec.provider ? { pin: { provider: spec.provider, ...(spec.request.model ? { model: spec.request.model } : {}) } } : {}),
      ...(wishes.tier ? { tier: wishes.tier } : {}),
      ...(wishes.strategy ? { strategy: wishes.strategy } : {}),
      ...(wishes.maxCostUsd !== undefined ? { maxCostUsd: wishes.maxCostUsd } : {}),
      ...(clientKey ? { callerKey: clientKey } : {}),
    });
    if (decision.outcome === 'OVER_BUDGET') {
      const { cheapest } = decision;
      throw new BudgetExceededError(
        `no provider can do this within ${decision.maxCostUsd} USD: the cheapest estimate is ${cheapest.estimatedCostUsd.toFixed(6)} USD (${cheapest.provider} ${cheapest.model})`,
        cheapest.estimatedCostUsd,
      );
    }
    if (decision.outcome === 'NO_CANDIDATE') {
      const reasons = decision.filtered.map((f) => `${f.provider} ${f.model}: ${f.reason}`).join('; ');
      throw new NoProviderError(`no registered provider can serve this ${WHAT[spec.kind]} request (${reasons})`, ENABLING_KEYS[spec.kind]);
    }
    const audio = spec.kind === 'transcription' ? await this.audioInput(spec.request.source) : undefined;
    const candidates = decision.candidates.map((candidate) => ({
      provider: candidate.provider,
      model: candidate.model,
      call: this.callFor(spec, candidate, audio),
    }));
    return {
      prepared: {
        candidates,
        streams: spec.kind === 'text' || spec.kind === 'code',
        ...(spec.kind === 'image' ? { mediaKind: 'image' as const } : spec.kind === 'speech' ? { mediaKind: 'audio' as const } : {}),
        allowFallback: wishes.allowFallback !== false,
      },
      ...(decision.experiment?.applied ? { experiment: decision.experiment } : {}),
    };
  }

  /** The adapter call for one candidate: its provider, with the routed model. */
  private callFor(spec: ShortSpec, candidate: CandidateRef, audio: TranscriptionRequest['audio'] | undefined): CandidateCall['call'] {
    const model = candidate.model;
    switch (spec.kind) {
      case 'text': {
        const [provider] = this.options.providers.short('text', candidate.provider);
        return (context, onDelta) => provider!.generateText(context, { ...spec.request, model }, onDelta);
      }
      case 'code': {
        const [provider] = this.options.providers.short('code', candidate.provider);
        return (context, onDelta) => provider!.generateCode(context, { ...spec.request, model }, onDelta);
      }
      case 'image': {
        const [provider] = this.options.providers.short('image', candidate.provider);
        return (context) => provider!.generateImage(context, { ...spec.request, model });
      }
      case 'speech': {
        const [provider] = this.options.providers.short('speech', candidate.provider);
        return async (context) => {
          const { media, ...usage } = await provider!.speak(context, { ...spec.request, model });
          return { ...usage, media: [media] };
        };
      }
      case 'transcription': {
        const [provider] = this.options.providers.short('transcription', candidate.provider);
        const { source: _source, ...rest } = spec.request;
        return (context) => provider!.transcribe(context, { ...rest, audio: audio!, model });
      }
      case 'vision': {
        const [provider] = this.options.providers.short('vision', candidate.provider);
        return (context) => provider!.analyzeImage(context, { ...spec.request, model });
      }
    }
  }

  /** A URL goes to the provider as is; a source job's stored audio file is uploaded. */
  private async audioInput(source: AudioSourceRef): Promise<TranscriptionRequest['audio']> {
    if (source.kind === 'url') return source;
    const job = isJobId(source.jobId) ? await this.store.get(source.jobId) : null;
    const key = job?.output?.mediaKeys?.[0];
    if (!job || job.modality !== 'AUDIO' || job.status !== 'SUCCEEDED' || !key) {
      throw new NotFoundError(`source job ${source.jobId} is not a finished audio job`);
    }
    return { kind: 'file', path: this.options.media.pathOf(key), mimeType: job.output?.mimeType ?? 'audio/mpeg' };
  }

  /** Text as it came; media copied into the store (URLs expire) and measured with ffprobe. */
  private async storeOutput(job: JobRow, prepared: PreparedCall, result: ShortResult): Promise<JobOutputInfo> {
    const mediaKind = prepared.mediaKind;
    if (!mediaKind) {
      return {
        text: result.text ?? '',
        ...(result.language ? { language: result.language } : {}),
      };
    }
    const media = result.media ?? [];
    if (media.length === 0) throw new Error('the provider reported success without an output');
    const keys: string[] = [];
    for (const [index, item] of media.entries()) {
      const key = mediaKey(job.id, `output-${index + 1}.${extensionOf(item, mediaKind)}`);
      if (item.kind === 'remote') {
        await this.options.intake.fromUrl(item.url, key, [`${mediaKind}/`]);
      } else {
        await this.options.intake.fromStream(item.body, key, `the ${mediaKind} the provider returned`);
      }
      keys.push(key);
    }
    const first = keys[0]!;
    const probe = await probeMedia(this.options.media.pathOf(first));
    // The served content type follows the file name, so the output says the same.
    const mimeType = MIME_TYPES[first.slice(first.lastIndexOf('.') + 1)] ?? probe.mimeType;
    if (mediaKind === 'audio') {
      if (!probe.hasAudio) throw new Error('the provider returned a file without audio');
      return { mediaKeys: keys, mimeType, durationSeconds: probe.durationSeconds, bytes: probe.bytes };
    }
    if (!probe.width || !probe.height) throw new Error('the provider returned a file that is not an image');
    return { mediaKeys: keys, mimeType, width: probe.width, height: probe.height, bytes: probe.bytes };
  }

  private async current(id: string): Promise<JobRecord> {
    const job = await this.store.getWithAttempts(id);
    if (!job) throw new Error(`job ${id} vanished`);
    return job;
  }

  private async record(job: JobRow, attempts?: JobAttemptRow[]): Promise<JobRecord> {
    return { ...job, attempts: attempts ?? (await this.store.attempts(job.id)) };
  }

  private async publish(job: JobRow, attempts?: JobAttemptRow[]): Promise<JobRecord> {
    const record = await this.record(job, attempts);
    this.options.events.publish({ job: record, at: job.updatedAt });
    return record;
  }
}

/** The file extension for a produced file: its declared type, else its URL's, else the kind's default. */
function extensionOf(item: ShortMedia, kind: 'image' | 'audio'): string {
  const declared = item.mimeType ? EXTENSIONS[item.mimeType.toLowerCase()] : undefined;
  if (declared?.length && MIME_TYPES[declared]?.startsWith(`${kind}/`)) return declared;
  if (item.kind === 'remote') {
    let pathname = '';
    try {
      pathname = new URL(item.url).pathname;
    } catch {
      // an unparsable URL fails when fetched
    }
    const ext = pathname.slice(pathname.lastIndexOf('.') + 1).toLowerCase().replace('jpeg', 'jpg');
    if (MIME_TYPES[ext]?.startsWith(`${kind}/`)) return ext;
  }
  return DEFAULT_EXTENSION[kind];
}

/**
 * Streamed text accumulated in memory and handed to `write` at most once per
 * interval, one write at a time, so a fast stream costs a few UPDATEs, not one
 * per token. `write` answering false (the job left RUNNING) stops it.
 */
class PartialText {
  private text = '';
  private written = '';
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly write: (text: string) => Promise<boolean>,
  ) {}

  append(delta: string): void {
    this.text += delta;
    this.schedule();
  }

  /** Stops writing and waits for a write in progress (the final state is written by the caller). */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.writing || this.text === this.written) return;
    const wait = Math.max(0, this.lastWriteAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const snapshot = this.text;
    this.lastWriteAt = Date.now();
    this.writing = this.write(snapshot)
      .then((ok) => {
        this.written = snapshot;
        if (!ok) this.stopped = true;
      })
      .finally(() => {
        this.writing = undefined;
        this.schedule();
      });
  }
}
