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
import { ConflictError, NoProviderError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { probeMedia } from '../media/ffmpeg.js';
import { MediaFetchError, type MediaIntake } from '../media/fetch-media.js';
import { mediaKey, type MediaStore } from '../media/store.js';
import { ENABLING_KEYS, type ProviderRegistry, type ShortKind, type ShortProviders } from '../providers/registry.js';
import { ProviderError, type AttemptContext, type ShortMedia, type TranscriptionRequest } from '../providers/types.js';
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
interface PreparedCall {
  provider: string;
  /** The pinned model, if any; the provider reports the one it used. */
  model?: string;
  /** Which kind of media the result holds, for the content-type check and file names. */
  mediaKind?: 'image' | 'audio';
  call: (context: AttemptContext, onDelta?: (delta: string) => void) => Promise<ShortResult>;
  streams: boolean;
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
  async run(spec: ShortSpec, idempotencyKey?: string): Promise<JobRecord> {
    const prepared = await this.prepare(spec);
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

  private async execute(job: JobRow, prepared: PreparedCall): Promise<JobRecord> {
    const n = job.attemptCount + 1;
    await this.store.insertAttempt({ jobId: job.id, n, provider: prepared.provider, model: prepared.model ?? null, status: 'RUNNING' });
    const running = await this.store.transition(job.id, 'QUEUED', 'RUNNING', {
      attemptCount: n,
      provider: prepared.provider,
      model: prepared.model ?? null,
      progress: null,
    });
    if (!running) {
      await this.store.finishAttempt(job.id, n, { status: 'CANCELED' });
      return this.current(job.id);
    }
    const attempts = await this.store.attempts(job.id);
    await this.publish(running, attempts);

    const partial = prepared.streams
      ? new PartialText(this.partialTextIntervalMs, (text) => this.writePartialText(running, attempts, text))
      : undefined;
    const cancellation = this.abortWhenCanceled(job.id);
    let result: ShortResult;
    try {
      result = await prepared.call(
        { jobId: job.id, attempt: n, signal: cancellation.signal },
        partial && ((delta) => partial.append(delta)),
      );
    } catch (error) {
      await partial?.close();
      if (cancellation.signal.aborted) return this.current(job.id); // canceled: cancelJob wrote the outcome
      return this.finish(running, 'FAILED', { error: this.failureInfo(job.id, error) });
    } finally {
      cancellation.stop();
    }
    // Any partial write still in flight lands before the final state.
    await partial?.close();
    let output: JobOutputInfo;
    try {
      output = await this.storeOutput(running, prepared, result);
    } catch (error) {
      const retryable = error instanceof MediaFetchError ? error.retryable : false;
      return this.finish(running, 'FAILED', {
        error: { code: 'PROVIDER_ERROR', message: `could not store the output: ${(error as Error).message}`, retryable },
        costUsd: result.costUsd,
        model: result.model,
      });
    }
    return this.finish(running, 'SUCCEEDED', { output, costUsd: result.costUsd, model: result.model, progress: 1 });
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
    const finished = await this.store.finishJob(job, 'RUNNING', status, outcome);
    if (!finished) return this.current(job.id); // canceled while the provider worked
    return this.publish(finished.job, finished.attempts);
  }

  private failureInfo(jobId: string, error: unknown): JobErrorInfo {
    if (error instanceof ProviderError) return error.info;
    this.options.logger.error({ jobId, err: error }, 'short job failed unexpectedly');
    return { code: 'INTERNAL', message: 'the gateway failed while calling the provider', retryable: false };
  }

  /** Chooses the provider and builds the call; NoProviderError when none serves the kind. */
  private async prepare(spec: ShortSpec): Promise<PreparedCall> {
    switch (spec.kind) {
      case 'text': {
        const provider = this.pick('text', spec.provider);
        return {
          provider: provider.name,
          model: spec.request.model,
          streams: true,
          call: (context, onDelta) => provider.generateText(context, spec.request, onDelta),
        };
      }
      case 'code': {
        const provider = this.pick('code', spec.provider);
        return {
          provider: provider.name,
          model: spec.request.model,
          streams: true,
          call: (context, onDelta) => provider.generateCode(context, spec.request, onDelta),
        };
      }
      case 'image': {
        const provider = this.pick('image', spec.provider);
        return {
          provider: provider.name,
          model: spec.request.model,
          mediaKind: 'image',
          streams: false,
          call: (context) => provider.generateImage(context, spec.request),
        };
      }
      case 'speech': {
        const provider = this.pick('speech', spec.provider);
        return {
          provider: provider.name,
          model: spec.request.model,
          mediaKind: 'audio',
          streams: false,
          call: async (context) => {
            const { media, ...usage } = await provider.speak(context, spec.request);
            return { ...usage, media: [media] };
          },
        };
      }
      case 'transcription': {
        const { source, ...rest } = spec.request;
        const audio = await this.audioInput(source);
        const provider = this.pick('transcription', spec.provider);
        const request: TranscriptionRequest = { ...rest, audio };
        return {
          provider: provider.name,
          model: spec.request.model,
          streams: false,
          call: (context) => provider.transcribe(context, request),
        };
      }
      case 'vision': {
        const provider = this.pick('vision', spec.provider);
        return {
          provider: provider.name,
          model: spec.request.model,
          streams: false,
          call: (context) => provider.analyzeImage(context, spec.request),
        };
      }
    }
  }

  private pick<K extends ShortKind>(kind: K, name?: string): ShortProviders[K] {
    const [provider] = this.options.providers.short(kind, name);
    if (provider) return provider;
    const keys = ENABLING_KEYS[kind];
    const message = name
      ? `no registered provider named "${name}" serves ${WHAT[kind]}`
      : `no registered provider serves ${WHAT[kind]}: set ${keys.join(' or ')} to enable one`;
    throw new NoProviderError(message, keys);
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
