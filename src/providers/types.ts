// The provider interfaces, one per modality. An adapter translates our request
// into the provider's and its answers back into the common model; a provider's
// own vocabulary (statuses, field names, units) never leaves its adapter.

import type { AspectRatio, JobErrorInfo, JobStatus, VideoResolution } from '../domain.js';

/** Identifies the job and attempt a submission belongs to (used for file names, webhooks, logs). */
export interface AttemptContext {
  jobId: string;
  attempt: number;
  /** Aborted when the job is canceled or the process shuts down. */
  signal?: AbortSignal;
}

/** A media file produced by a provider, before the job service stores and measures it. */
export type ProducedMedia =
  /** Already written into our media store under this key (local provider). */
  | { kind: 'stored'; key: string }
  /** Held by the provider at a URL that will expire: the job service copies it into the store. */
  | { kind: 'remote'; url: string; mimeType?: string };

export interface ProviderOutput {
  text?: string;
  language?: string;
  media?: ProducedMedia[];
}

export interface SubmitResult {
  /** The provider's handle for the work; what poll and cancel take. */
  providerJobId: string;
  status: Extract<JobStatus, 'QUEUED' | 'RUNNING'>;
  model?: string;
  costEstimateUsd?: number;
}

export type PollResult =
  | {
      kind: 'status';
      status: JobStatus;
      /** 0..1, null while unknown. */
      progress: number | null;
      /** A note for people, e.g. "throttled by the provider". */
      message?: string;
      output?: ProviderOutput;
      error?: JobErrorInfo;
      costUsd?: number;
      /** The provider's hint for when to look again. */
      nextPollMs?: number;
    }
  /** The provider has no record of the handle (an in-process render lost in a crash). */
  | { kind: 'lost' };

/** A video the job service has already placed in the media store. */
export interface VideoSource {
  /** Media store key. */
  key: string;
  /** Absolute path of the stored file, for ffmpeg. */
  path: string;
  durationSeconds: number;
  width: number;
  height: number;
  hasAudio: boolean;
  /** A URL the provider can fetch the source from, when the gateway has a public URL. */
  publicUrl?: string;
}

export interface GenerateVideoRequest {
  prompt: string;
  durationSeconds: number;
  fps: number;
  resolution: VideoResolution;
  aspectRatio: AspectRatio;
  width: number;
  height: number;
  seed: number;
  imageUrl?: string;
  negativePrompt?: string;
  model?: string;
}

export interface EditVideoRequest {
  prompt: string;
  source: VideoSource;
  model?: string;
}

export interface ExtendVideoRequest {
  prompt?: string;
  extensionSeconds: number;
  source: VideoSource;
  model?: string;
}

/** Whether a provider can serve a request, and if not, why (shown to the user). */
export type Support = { ok: true } | { ok: false; reason: string };

export interface VideoProvider {
  readonly name: string;
  /**
   * True when the work runs inside this process (the local ffmpeg provider):
   * the poller then keeps the job's lease while it runs, so no other instance
   * polls a render it cannot see.
   */
  readonly runsInProcess: boolean;
  supportsGenerate(request: GenerateVideoRequest): Support;
  supportsEdit(request: EditVideoRequest): Support;
  supportsExtend(request: ExtendVideoRequest): Support;
  generate(context: AttemptContext, request: GenerateVideoRequest): Promise<SubmitResult>;
  edit(context: AttemptContext, request: EditVideoRequest): Promise<SubmitResult>;
  extend(context: AttemptContext, request: ExtendVideoRequest): Promise<SubmitResult>;
  poll(providerJobId: string): Promise<PollResult>;
  cancel(providerJobId: string): Promise<void>;
  /** Ends in-process work on shutdown (the jobs stay in the database and are taken up again). */
  close?(): Promise<void>;
}

/** Thrown by adapters for a failure of the provider call itself (not of the job). */
export class ProviderError extends Error {
  constructor(
    readonly info: JobErrorInfo,
    readonly provider: string,
  ) {
    super(`${provider}: ${info.message}`);
    this.name = 'ProviderError';
  }
}

// ---------------------------------------------------------------------------
// Short modalities: the work completes inside the call (seconds), so there is
// no handle to poll. Streaming text arrives through `onDelta`.

export interface UsageCost {
  model: string;
  /** USD for this call, when the provider reports it or prices are configured. */
  costUsd?: number;
}

export interface TextRequest {
  prompt: string;
  system?: string;
  maxTokens?: number;
  temperature?: number;
  model?: string;
}

export interface CodeRequest {
  prompt: string;
  language?: string;
  maxTokens?: number;
  model?: string;
}

export interface ImageRequest {
  prompt: string;
  width: number;
  height: number;
  count: number;
  seed?: number;
  model?: string;
}

export interface SpeechRequest {
  text: string;
  voice?: string;
  /** mp3 or wav */
  format: 'mp3' | 'wav';
  model?: string;
}

export interface TranscriptionRequest {
  /** A URL the provider can fetch, or a stored file's path. */
  audio: { kind: 'url'; url: string } | { kind: 'file'; path: string; mimeType: string };
  language?: string;
  model?: string;
}

export interface VisionRequest {
  imageUrl: string;
  prompt: string;
  model?: string;
}

/** Media a short call produced: a URL to copy, or bytes to store (speech). */
export type ShortMedia =
  | { kind: 'remote'; url: string; mimeType?: string }
  | { kind: 'bytes'; body: import('node:stream').Readable; mimeType: string };

export interface TextProvider {
  readonly name: string;
  generateText(context: AttemptContext, request: TextRequest, onDelta?: (delta: string) => void): Promise<UsageCost & { text: string }>;
}

export interface CodeProvider {
  readonly name: string;
  generateCode(
    context: AttemptContext,
    request: CodeRequest,
    onDelta?: (delta: string) => void,
  ): Promise<UsageCost & { text: string; language: string }>;
}

export interface ImageProvider {
  readonly name: string;
  generateImage(context: AttemptContext, request: ImageRequest): Promise<UsageCost & { media: ShortMedia[] }>;
}

export interface SpeechProvider {
  readonly name: string;
  speak(context: AttemptContext, request: SpeechRequest): Promise<UsageCost & { media: ShortMedia }>;
}

export interface TranscriptionProvider {
  readonly name: string;
  transcribe(context: AttemptContext, request: TranscriptionRequest): Promise<UsageCost & { text: string }>;
}

export interface VisionProvider {
  readonly name: string;
  analyzeImage(context: AttemptContext, request: VisionRequest): Promise<UsageCost & { text: string }>;
}
