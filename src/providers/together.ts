// Together AI through its official SDK (together-ai): chat (text, code,
// vision), images, speech, transcription, and video jobs. Together's
// vocabulary (its statuses, `seconds` as a string, `media.*`) stops here.

import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import Together, { toFile } from 'together-ai';
import type { ChatCompletionUsage } from 'together-ai/resources/chat/completions';
import type { VideoCreateParams, VideoJob } from 'together-ai/resources/videos';
import type { JobStatus } from '../domain.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../media/store.js';
import type { ChatPrice, ProviderConfig } from '../provider-config.js';
import {
  CONTINUATION_PROMPT,
  DEFAULT_DOWNLOAD_LIMITS,
  checkSourceInput,
  extendHandle,
  succeededVideo,
  parseHandle,
  sourceInput,
  type DownloadLimits,
  type MediaInputRules,
} from './clip-join.js';
import { ProviderCallError, failedJob, guardedCall, jobFailureInfo } from './provider-errors.js';
import type {
  AttemptContext,
  CodeProvider,
  CodeRequest,
  EditVideoRequest,
  ExtendVideoRequest,
  GenerateVideoRequest,
  ImageProvider,
  ImageRequest,
  PollResult,
  ShortMedia,
  SpeechProvider,
  SpeechRequest,
  SubmitResult,
  Support,
  TextProvider,
  TextRequest,
  TranscriptionProvider,
  TranscriptionRequest,
  UsageCost,
  VideoProvider,
  VisionProvider,
  VisionRequest,
} from './types.js';

export interface TogetherProviderOptions {
  apiKey: string;
  /** Default https://api.together.ai/v1; once set, video calls go to `${baseURL}/videos` too. */
  baseURL?: string;
  config: ProviderConfig;
  store: MediaStore;
  logger?: Logger;
  /** Per HTTP request (a streamed chat counts until its headers arrive). */
  timeoutMs?: number;
  /** Limits for downloading a continuation to join (extend). */
  download?: Partial<DownloadLimits>;
}

// Together's SDK types and OpenAPI spec describe video media (source_video,
// frame_videos) only as URLs, so a source without a public URL is refused.
const VIDEO_INPUT_RULES: MediaInputRules = { provider: 'Together', httpsOnly: false };

/** Together's longest clip is a minute; the API answers 400 for lengths a model lacks. */
const MAX_VIDEO_SECONDS = 60;

const CODE_SYSTEM_PROMPT = [
  'You are an expert programmer.',
  'Answer with the complete code only, in a single fenced code block whose opening fence names the language',
  '(for example ```python). No explanations before or after the block.',
].join(' ');

/** The one way to build the SDK client (the adapter and the catalog reader share it). */
export function createTogetherClient(options: { apiKey: string; baseURL?: string; timeoutMs?: number }): Together {
  return new Together({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    // No retries in the SDK. Its default (2, with backoff) would multiply
    // with the routing layer's cockatiel retries and fallbacks, and a
    // retried POST /videos after a timeout may start (and bill) a second
    // job. Failed polls are asked again by the job poller on its schedule.
    maxRetries: 0,
    timeout: options.timeoutMs ?? 120_000,
    // The SDK logs to the console otherwise; our own logger records failures.
    logLevel: 'off',
  });
}

export class TogetherProvider
  implements VideoProvider, TextProvider, CodeProvider, ImageProvider, SpeechProvider, TranscriptionProvider, VisionProvider
{
  readonly name = 'together';
  readonly runsInProcess = false;
  private readonly client: Together;
  private readonly config: ProviderConfig['together'];
  private readonly store: MediaStore;
  private readonly logger: Logger | undefined;
  private readonly secrets: readonly string[];
  private readonly download: DownloadLimits;

  constructor(options: TogetherProviderOptions) {
    this.client = createTogetherClient(options);
    this.config = options.config.together;
    this.store = options.store;
    this.logger = options.logger;
    this.secrets = [options.apiKey];
    this.download = { ...DEFAULT_DOWNLOAD_LIMITS, ...options.download };
  }

  // -------------------------------------------------------------------------
  // Video

  supportsGenerate(request: GenerateVideoRequest): Support {
    return checkSeconds(request.durationSeconds);
  }

  supportsEdit(request: EditVideoRequest): Support {
    return checkSourceInput(request.source, VIDEO_INPUT_RULES);
  }

  supportsExtend(request: ExtendVideoRequest): Support {
    const seconds = checkSeconds(request.extensionSeconds);
    if (!seconds.ok) return seconds;
    // The starting clip goes in `media.frame_videos`, which takes a URL only.
    return checkSourceInput(request.source, VIDEO_INPUT_RULES);
  }

  async generate(context: AttemptContext, request: GenerateVideoRequest): Promise<SubmitResult> {
    const body: VideoCreateParams = {
      model: request.model ?? this.config.models.video.generate,
      prompt: request.prompt,
      width: request.width,
      height: request.height,
      seconds: togetherSeconds(request.durationSeconds),
      fps: request.fps,
      seed: request.seed,
      ...(request.negativePrompt ? { negative_prompt: request.negativePrompt } : {}),
      ...(request.imageUrl ? { media: { frame_images: [{ input_image: request.imageUrl, frame: 'first' as const }] } } : {}),
    };
    const job = await this.createVideo(context, body);
    return this.submitted(job, job.id);
  }

  async edit(context: AttemptContext, request: EditVideoRequest): Promise<SubmitResult> {
    const video = await this.call(() => sourceInput(request.source, VIDEO_INPUT_RULES));
    const job = await this.createVideo(context, {
      model: request.model ?? this.config.models.video.edit,
      prompt: request.prompt,
      media: { source_video: video },
    });
    return this.submitted(job, job.id);
  }

  async extend(context: AttemptContext, request: ExtendVideoRequest): Promise<SubmitResult> {
    const { source } = request;
    const video = await this.call(() => sourceInput(source, VIDEO_INPUT_RULES));
    const job = await this.createVideo(context, {
      model: request.model ?? this.config.models.video.extend,
      prompt: request.prompt ?? CONTINUATION_PROMPT,
      width: source.width,
      height: source.height,
      seconds: togetherSeconds(request.extensionSeconds),
      // The starting clip; the answer is the continuation, joined after the source on completion.
      media: { frame_videos: [{ video }] },
    });
    return this.submitted(job, extendHandle(job.id, { jobId: context.jobId, attempt: context.attempt, sourceKey: source.key }));
  }

  async poll(handle: string): Promise<PollResult> {
    const { taskId, extend } = parseHandle(handle);
    let job: VideoJob;
    try {
      job = await this.call(() => this.client.videos.retrieve(taskId));
    } catch (error) {
      if (error instanceof ProviderCallError && error.httpStatus === 404) return { kind: 'lost' };
      throw error;
    }
    const status = videoStatus(job.status);
    const costUsd = job.outputs?.cost;
    switch (status) {
      case 'QUEUED':
      case 'RUNNING':
        // Together reports no progress.
        return { kind: 'status', status, progress: null };
      case 'SUCCEEDED':
        return succeededVideo({
          provider: 'together',
          secrets: this.secrets,
          store: this.store,
          download: this.download,
          url: job.outputs?.video_url,
          extend,
          costUsd,
        });
      case 'FAILED':
        return failedJob(
          jobFailureInfo({ code: job.error?.code, message: job.error?.message ?? 'Together failed the video job' }),
          costUsd,
        );
      case 'CANCELED':
        return { kind: 'status', status, progress: null, costUsd };
      case undefined:
        return failedJob(
          { code: 'PROVIDER_ERROR', message: `Together answered an unknown video status "${String(job.status)}"`, retryable: false },
          costUsd,
        );
    }
  }

  /**
   * Together has no endpoint to cancel a video job: the job runs to its end
   * at Together. The job service has already marked our job CANCELED, so its
   * result is never polled or stored.
   */
  async cancel(_handle: string): Promise<void> {}

  private async createVideo(context: AttemptContext, body: VideoCreateParams): Promise<VideoJob> {
    const job = await this.call(() => this.client.videos.create(body, { signal: context.signal }));
    this.logger?.debug({ jobId: context.jobId, provider: this.name, providerJobId: job.id, model: body.model }, 'video job submitted');
    return job;
  }

  private submitted(job: VideoJob, handle: string): SubmitResult {
    return { providerJobId: handle, status: videoStatus(job.status) === 'RUNNING' ? 'RUNNING' : 'QUEUED', model: job.model };
  }

  // -------------------------------------------------------------------------
  // Short modalities

  async generateText(
    context: AttemptContext,
    request: TextRequest,
    onDelta?: (delta: string) => void,
  ): Promise<UsageCost & { text: string }> {
    const model = request.model ?? this.config.models.text;
    const messages = [
      ...(request.system ? [{ role: 'system' as const, content: request.system }] : []),
      { role: 'user' as const, content: request.prompt },
    ];
    const { text, usage } = await this.streamChat(
      context,
      { model, messages, max_tokens: request.maxTokens, temperature: request.temperature },
      onDelta,
    );
    return { model, text, costUsd: this.chatCost(model, usage) };
  }

  async generateCode(
    context: AttemptContext,
    request: CodeRequest,
    onDelta?: (delta: string) => void,
  ): Promise<UsageCost & { text: string; language: string }> {
    const model = request.model ?? this.config.models.code;
    const system = request.language ? `${CODE_SYSTEM_PROMPT} Write it in ${request.language}.` : CODE_SYSTEM_PROMPT;
    const { text, usage } = await this.streamChat(
      context,
      {
        model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: request.prompt },
        ],
        max_tokens: request.maxTokens,
      },
      onDelta,
    );
    const code = extractCode(text, request.language);
    return { model, text: code.code, language: code.language, costUsd: this.chatCost(model, usage) };
  }

  async analyzeImage(context: AttemptContext, request: VisionRequest): Promise<UsageCost & { text: string }> {
    const model = request.model ?? this.config.models.vision;
    const completion = await this.call(() =>
      this.client.chat.completions.create(
        {
          model,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: request.prompt },
                { type: 'image_url', image_url: { url: request.imageUrl } },
              ],
            },
          ],
        },
        { signal: context.signal },
      ),
    );
    const text = completion.choices[0]?.message?.content ?? '';
    return { model, text: typeof text === 'string' ? text : '', costUsd: this.chatCost(model, completion.usage ?? undefined) };
  }

  async generateImage(context: AttemptContext, request: ImageRequest): Promise<UsageCost & { media: ShortMedia[] }> {
    const model = request.model ?? this.config.models.image;
    const result = await this.call(() =>
      this.client.images.generate(
        {
          model,
          prompt: request.prompt,
          width: request.width,
          height: request.height,
          n: request.count,
          ...(request.seed !== undefined ? { seed: request.seed } : {}),
        },
        { signal: context.signal },
      ),
    );
    // URLs unless the model answers inline base64 (some do whatever was asked).
    const media = (result.data as Array<{ url?: string; b64_json?: string }>).map((item): ShortMedia => {
      if (item.url) return { kind: 'remote', url: item.url };
      const bytes = Buffer.from(item.b64_json ?? '', 'base64');
      return { kind: 'bytes', body: Readable.from([bytes]), mimeType: imageMimeType(bytes) };
    });
    return { model, media };
  }

  async speak(context: AttemptContext, request: SpeechRequest): Promise<UsageCost & { media: ShortMedia }> {
    const model = request.model ?? this.config.models.speech;
    // Together answers wav unless asked: ask for the format the request wants.
    const response = await this.call(() =>
      this.client.audio.speech.create(
        {
          model,
          input: request.text,
          voice: request.voice ?? this.config.speechVoice,
          response_format: request.format,
          stream: false,
        },
        { signal: context.signal },
      ),
    );
    if (!response.body) {
      const message = 'Together returned speech without a body';
      throw new ProviderCallError({ code: 'PROVIDER_ERROR', message, retryable: true }, this.name);
    }
    const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
    return { model, media: { kind: 'bytes', body, mimeType: request.format === 'mp3' ? 'audio/mpeg' : 'audio/wav' } };
  }

  async transcribe(context: AttemptContext, request: TranscriptionRequest): Promise<UsageCost & { text: string }> {
    const model = request.model ?? this.config.models.transcription;
    const { audio } = request;
    const result = await this.call(async () => {
      // Together downloads a URL itself; a stored file is uploaded.
      const file =
        audio.kind === 'url'
          ? audio.url
          : await toFile(createReadStream(audio.path), path.basename(audio.path), { type: audio.mimeType });
      return this.client.audio.transcriptions.create(
        {
          file,
          model: model as 'openai/whisper-large-v3',
          response_format: 'json',
          ...(request.language ? { language: request.language } : {}),
        },
        { signal: context.signal },
      );
    });
    return { model, text: result.text };
  }

  private async streamChat(
    context: AttemptContext,
    body: Omit<Together.Chat.Completions.CompletionCreateParamsStreaming, 'stream'>,
    onDelta?: (delta: string) => void,
  ): Promise<{ text: string; usage?: ChatCompletionUsage }> {
    return this.call(async () => {
      const stream = await this.client.chat.completions.create({ ...body, stream: true }, { signal: context.signal });
      let text = '';
      let usage: ChatCompletionUsage | undefined;
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) {
          text += delta;
          onDelta?.(delta);
        }
        // Together puts the usage on the last chunk.
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage };
    });
  }

  private chatCost(model: string, usage: ChatCompletionUsage | undefined): number | undefined {
    if (!usage) return undefined;
    const price: ChatPrice = this.config.chatPrices.byModel[model] ?? this.config.chatPrices.default;
    return (usage.prompt_tokens * price.inputPerMillionUsd + usage.completion_tokens * price.outputPerMillionUsd) / 1e6;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return guardedCall('together', this.secrets, run);
  }
}

/** Together's status strings; `queued` and `cancelled` come from its guides, not its SDK. */
function videoStatus(status: string): JobStatus | undefined {
  switch (status) {
    case 'queued':
      return 'QUEUED';
    case 'in_progress':
      return 'RUNNING';
    case 'completed':
      return 'SUCCEEDED';
    case 'failed':
      return 'FAILED';
    case 'cancelled':
      return 'CANCELED';
    default:
      return undefined;
  }
}


/** Together takes whole seconds, as a string. */
function togetherSeconds(seconds: number): string {
  return String(Math.max(1, Math.round(seconds)));
}

function checkSeconds(seconds: number): Support {
  const whole = Math.round(seconds);
  if (!(whole >= 1 && whole <= MAX_VIDEO_SECONDS)) {
    return { ok: false, reason: `Together makes clips of 1 to ${MAX_VIDEO_SECONDS} whole seconds, not ${seconds}` };
  }
  return { ok: true };
}

/** The code of a chat answer: the first fenced block (closed or cut off), else the whole answer. */
export function extractCode(answer: string, requestedLanguage?: string): { code: string; language: string } {
  const block = /```[ \t]*([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:\n?```|$)/.exec(answer);
  const fallbackLanguage = requestedLanguage?.toLowerCase() ?? 'text';
  if (!block) return { code: answer.trim(), language: fallbackLanguage };
  const tag = block[1]?.toLowerCase();
  return { code: (block[2] ?? '').replace(/\s+$/, ''), language: tag || fallbackLanguage };
}

function imageMimeType(bytes: Buffer): string {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return 'application/octet-stream';
}
