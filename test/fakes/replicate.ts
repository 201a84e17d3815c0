// A fake of Replicate's HTTP API for the `replicate` SDK: predictions by model
// or version (with `Prefer: wait`), polling with tqdm logs, cancel, the model
// and collection catalog, file uploads, RFC 7807 errors, and signed webhooks
// (plus hooks to send forged, replayed and stale ones).

import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  HttpError,
  isUploadedFile,
  objectBody,
  type FormattedError,
  type Route,
  type RouteContext,
} from './fake-server.js';
import type { TimelineJob } from './job-timeline.js';
import type { MediaKind } from './media.js';
import { ProviderFake, mediaHostFor, type ProviderFakeOptions } from './provider-fake.js';

export type ReplicateStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';

export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed';

const WEBHOOK_EVENTS: readonly WebhookEvent[] = ['start', 'output', 'logs', 'completed'];

/** One input of a model's OpenAPI `Input` schema. */
export interface ReplicateInputField {
  type: 'string' | 'integer' | 'number' | 'boolean';
  format?: 'uri';
  required?: boolean;
  enum?: ReadonlyArray<string | number>;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
}

/** A model in the fake's catalog (turned into the API's Model JSON on read). */
export interface ReplicateModelSpec {
  owner: string;
  name: string;
  description: string;
  /** The latest version id (64 hex characters). */
  version: string;
  input: Record<string, ReplicateInputField>;
  /** What a successful prediction outputs: one URL, or a list of image URLs. */
  output: 'video' | 'image' | 'images' | 'audio';
  official?: boolean;
  runCount?: number;
}

export interface ReplicateCollectionSpec {
  slug: string;
  name: string;
  description: string;
  /** `owner/name` of each model, in order. */
  models: string[];
}

function versionId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

export const DEFAULT_REPLICATE_MODELS: readonly ReplicateModelSpec[] = [
  {
    owner: 'minimax',
    name: 'video-01',
    description: 'Generate 6s videos with prompts or images.',
    version: versionId('minimax/video-01'),
    official: true,
    output: 'video',
    input: {
      prompt: { type: 'string', required: true, description: 'Text prompt for generation' },
      prompt_optimizer: { type: 'boolean', default: true },
      first_frame_image: { type: 'string', format: 'uri', description: 'First frame image for video generation' },
      subject_reference: { type: 'string', format: 'uri' },
    },
  },
  {
    owner: 'kwaivgi',
    name: 'kling-v2.1',
    description: 'Animate images into 5s and 10s videos in 720p or 1080p.',
    version: versionId('kwaivgi/kling-v2.1'),
    official: true,
    output: 'video',
    input: {
      prompt: { type: 'string', required: true },
      start_image: { type: 'string', format: 'uri', required: true },
      duration: { type: 'integer', enum: [5, 10], default: 5 },
      mode: { type: 'string', enum: ['standard', 'pro'], default: 'standard' },
      negative_prompt: { type: 'string', default: '' },
    },
  },
  {
    owner: 'wan-video',
    name: 'wan-2.2-i2v-fast',
    description: 'A very fast and cheap PrunaAI optimized version of Wan 2.2 A14B image-to-video.',
    version: versionId('wan-video/wan-2.2-i2v-fast'),
    official: true,
    output: 'video',
    input: {
      image: { type: 'string', format: 'uri', required: true },
      prompt: { type: 'string', required: true },
      num_frames: { type: 'integer', minimum: 81, maximum: 121, default: 81 },
      resolution: { type: 'string', enum: ['480p', '720p'], default: '480p' },
      seed: { type: 'integer' },
    },
  },
  {
    owner: 'stability-ai',
    name: 'stable-video-diffusion',
    description: 'SVD is a research-only image to video model.',
    version: '3f0457e4619daac51203dedb472816fd4af51f3149fa7a9e0b5ffcf1b8172438',
    output: 'video',
    input: {
      input_image: { type: 'string', format: 'uri', required: true },
      video_length: { type: 'string', enum: ['14_frames_with_svd', '25_frames_with_svd_xt'], default: '14_frames_with_svd' },
      sizing_strategy: { type: 'string', enum: ['maintain_aspect_ratio', 'crop_to_16_9', 'use_image_dimensions'], default: 'maintain_aspect_ratio' },
      frames_per_second: { type: 'integer', minimum: 5, maximum: 30, default: 6 },
      motion_bucket_id: { type: 'integer', minimum: 1, maximum: 255, default: 127 },
      cond_aug: { type: 'number', default: 0.02 },
      decoding_t: { type: 'integer', default: 14 },
      seed: { type: 'integer' },
    },
  },
  {
    owner: 'black-forest-labs',
    name: 'flux-schnell',
    description: 'The fastest image generation model tailored for local development and personal use.',
    version: versionId('black-forest-labs/flux-schnell'),
    official: true,
    output: 'images',
    input: {
      prompt: { type: 'string', required: true },
      num_outputs: { type: 'integer', minimum: 1, maximum: 4, default: 1 },
      aspect_ratio: { type: 'string', enum: ['1:1', '16:9', '9:16', '4:3', '3:4'], default: '1:1' },
      seed: { type: 'integer' },
    },
  },
];

export const DEFAULT_REPLICATE_COLLECTIONS: readonly ReplicateCollectionSpec[] = [
  {
    slug: 'text-to-video',
    name: 'Generate videos',
    description: 'Models that create and edit videos.',
    models: ['minimax/video-01', 'kwaivgi/kling-v2.1'],
  },
  {
    slug: 'image-to-video',
    name: 'Image to video',
    description: 'Models that animate a still image.',
    models: ['wan-video/wan-2.2-i2v-fast', 'kwaivgi/kling-v2.1', 'stability-ai/stable-video-diffusion', 'minimax/video-01'],
  },
];

export interface ReplicateFakeOptions extends ProviderFakeOptions {
  /** `whsec_<base64>`; a random one by default. */
  webhookSecret?: string;
  models?: ReplicateModelSpec[];
  collections?: ReplicateCollectionSpec[];
}

export interface WebhookDelivery {
  kind: 'genuine' | 'forged' | 'replay' | 'stale';
  url: string;
  event: WebhookEvent;
  predictionId: string;
  headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
  body: string;
  /** The receiver's answer, or the network error. */
  status?: number;
  error?: string;
}

interface PredictionData {
  model: string;
  version: string;
  input: Record<string, unknown>;
  output: 'video' | 'image' | 'images' | 'audio';
  webhook?: string;
  events: ReadonlySet<WebhookEvent>;
  startedAt?: number;
  completedAt?: number;
  result?: unknown;
  seed: number;
  lastLogs?: string;
  lastLogsWebhookAt?: number;
}

const TERMINAL: ReadonlySet<ReplicateStatus> = new Set(['succeeded', 'failed', 'canceled', 'aborted']);

/** Replicate sends `logs` and `output` webhooks at most this often. */
const WEBHOOK_THROTTLE_MS = 500;

export class ReplicateFake extends ProviderFake<ReplicateStatus, PredictionData> {
  readonly webhookSecret: string;
  /** The catalog; tests may edit these between reads. */
  models: ReplicateModelSpec[];
  collections: ReplicateCollectionSpec[];
  /** Every webhook sent, in order. */
  readonly webhookDeliveries: WebhookDelivery[] = [];
  readonly #pendingDeliveries = new Set<Promise<void>>();
  readonly #files = new Map<string, Record<string, unknown>>();

  constructor(options: ReplicateFakeOptions, media: Awaited<ReturnType<typeof mediaHostFor>>) {
    super(options, {
      apiKey: 'r8_test_token',
      ...media,
      jobs: {
        defaultScript: ['starting', 'processing', 'processing', 'processing', 'succeeded'],
        isTerminal: (status) => TERMINAL.has(status),
        isRunning: (status) => status === 'processing',
      },
    });
    this.webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString('base64')}`;
    this.models = structuredClone([...(options.models ?? DEFAULT_REPLICATE_MODELS)]);
    this.collections = structuredClone([...(options.collections ?? DEFAULT_REPLICATE_COLLECTIONS)]);
  }

  /** `http://127.0.0.1:PORT/v1`, for `new Replicate({ baseUrl })`. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  protected routes(): Route[] {
    return [
      { method: 'POST', pattern: '/v1/models/:owner/:name/predictions', handler: (c) => this.#createByModel(c) },
      { method: 'POST', pattern: '/v1/predictions', handler: (c) => this.#createByVersion(c) },
      { method: 'GET', pattern: '/v1/predictions', handler: () => this.#list() },
      { method: 'GET', pattern: '/v1/predictions/:id', handler: (c) => this.#get(c) },
      { method: 'POST', pattern: '/v1/predictions/:id/cancel', handler: (c) => this.#cancel(c) },
      { method: 'GET', pattern: '/v1/models/:owner/:name', handler: (c) => ({ json: this.#modelJson(this.#findModel(c)) }) },
      { method: 'GET', pattern: '/v1/models/:owner/:name/versions', handler: (c) => this.#versions(c) },
      { method: 'GET', pattern: '/v1/collections/:slug', handler: (c) => this.#collection(c) },
      { method: 'POST', pattern: '/v1/files', handler: (c) => this.#createFile(c) },
      { method: 'GET', pattern: '/v1/files/:id', handler: (c) => this.#getFile(c) },
      { method: 'GET', pattern: '/v1/webhooks/default/secret', handler: () => ({ json: { key: this.webhookSecret } }) },
    ];
  }

  protected formatError(error: HttpError): FormattedError {
    const title = error.details.code ?? problemTitle(error.status);
    return {
      contentType: 'application/problem+json',
      body: {
        type: `https://replicate.com/docs/reference/http#${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        title,
        status: error.status,
        detail: error.message,
        ...error.details.extra,
      },
    };
  }

  protected authorize({ record }: RouteContext): void {
    const match = /^(?:Bearer|Token)\s+(.+)$/i.exec(record.headers['authorization'] ?? '');
    if (match?.[1]?.trim() !== this.apiKey) {
      throw new HttpError(401, 'You did not pass a valid authentication token', { code: 'Unauthenticated' });
    }
  }

  protected onTransition(job: TimelineJob<ReplicateStatus, PredictionData>, from: ReplicateStatus | undefined): void {
    const status = this.jobs.status(job);
    const data = job.data;
    if (status === 'processing' && data.startedAt === undefined) data.startedAt = job.enteredAt;
    if (TERMINAL.has(status)) data.completedAt = job.enteredAt;
    if (status === 'succeeded') data.result = this.#mintOutput(job);

    if (from === undefined) this.#notify(job, 'start');
    if (status === 'processing') this.#logsChanged(job, true);
    if (status === 'succeeded') this.#notify(job, 'output');
    if (TERMINAL.has(status)) this.#notify(job, 'completed');
  }

  protected override onTick(job: TimelineJob<ReplicateStatus, PredictionData>): void {
    if (this.jobs.status(job) === 'processing') this.#logsChanged(job, false);
  }

  /** The prediction JSON the API would answer now. */
  prediction(id: string): Record<string, unknown> | undefined {
    const job = this.jobs.get(id);
    return job && this.#json(job);
  }

  /** Transitions build webhooks from the job as it is, without catching it up again. */
  #json(job: TimelineJob<ReplicateStatus, PredictionData>): Record<string, unknown> {
    const step = this.jobs.step(job);
    const data = job.data;
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return {
      id: job.id,
      model: data.model,
      version: data.version,
      input: data.input,
      logs: this.logs(job),
      output: step.status === 'succeeded' ? data.result : null,
      data_removed: false,
      error: step.status === 'failed' ? (step.error?.message ?? 'Prediction failed for an unknown reason.') : null,
      status: step.status,
      source: 'api',
      created_at: iso(job.createdAt),
      ...(data.startedAt !== undefined && { started_at: iso(data.startedAt) }),
      ...(data.completedAt !== undefined && { completed_at: iso(data.completedAt) }),
      ...(data.webhook !== undefined && { webhook: data.webhook, webhook_events_filter: [...data.events] }),
      urls: {
        get: `${this.baseUrl}/predictions/${job.id}`,
        cancel: `${this.baseUrl}/predictions/${job.id}/cancel`,
        web: `https://replicate.com/p/${job.id}`,
      },
      ...(data.completedAt !== undefined && {
        metrics: {
          ...(data.startedAt !== undefined && { predict_time: round3((data.completedAt - data.startedAt) / 1000) }),
          total_time: round3((data.completedAt - job.createdAt) / 1000),
        },
      }),
    };
  }

  /** The logs so far: a seed line, then tqdm progress lines as the prediction advances. */
  logs(job: TimelineJob<ReplicateStatus, PredictionData>): string {
    const data = job.data;
    if (data.startedAt === undefined) return '';
    const status = this.jobs.status(job);
    const lines = [`Using seed: ${data.seed}`];
    const percent = status === 'succeeded' ? 100 : Math.round((this.jobs.progress(job) ?? lastProgress(job)) * 100);
    const elapsed = Math.max(0, ((data.completedAt ?? this.clock.now()) - data.startedAt) / 1000);
    for (let p = 0; p < percent; p += 10) lines.push(tqdmLine(p, elapsed * (p / Math.max(percent, 1))));
    lines.push(tqdmLine(percent, elapsed));
    if (status === 'succeeded') lines.push('Finished.');
    if (status === 'failed') lines.push(`Error: ${this.jobs.step(job).error?.message ?? 'prediction failed'}`);
    return `${lines.join('\n')}\n`;
  }

  /** Resolves once every webhook sent so far has been answered (or failed). */
  async flushWebhooks(): Promise<void> {
    while (this.#pendingDeliveries.size > 0) await Promise.all([...this.#pendingDeliveries]);
  }

  /** Sends the prediction's current state as a correctly signed webhook (outside the normal flow). */
  sendWebhook(predictionId: string, options: { event?: WebhookEvent; url?: string } = {}): Promise<WebhookDelivery> {
    return this.#deliver(this.#webhookFor(this.#job(predictionId), options, 'genuine', this.webhookSecret));
  }

  /** A webhook signed with the wrong secret: receivers must reject it. */
  sendForgedWebhook(predictionId: string, options: { event?: WebhookEvent; url?: string } = {}): Promise<WebhookDelivery> {
    const wrongSecret = `whsec_${randomBytes(24).toString('base64')}`;
    return this.#deliver(this.#webhookFor(this.#job(predictionId), options, 'forged', wrongSecret));
  }

  /** A correctly signed webhook whose timestamp is `ageSeconds` old: receivers should reject it. */
  sendStaleWebhook(
    predictionId: string,
    options: { event?: WebhookEvent; url?: string; ageSeconds?: number } = {},
  ): Promise<WebhookDelivery> {
    const timestamp = Math.floor(this.clock.now() / 1000) - (options.ageSeconds ?? 600);
    return this.#deliver(this.#webhookFor(this.#job(predictionId), options, 'stale', this.webhookSecret, timestamp));
  }

  /** Sends an earlier delivery again, byte for byte (same id, timestamp and signature). */
  replayWebhook(delivery: WebhookDelivery): Promise<WebhookDelivery> {
    return this.#deliver({ ...delivery, kind: 'replay', status: undefined, error: undefined });
  }

  override async close(): Promise<void> {
    await this.flushWebhooks();
    await super.close();
  }

  #findModel({ params }: RouteContext): ReplicateModelSpec {
    const found = this.models.find((m) => m.owner === params['owner'] && m.name === params['name']);
    if (!found) throw notFound();
    return found;
  }

  #modelJson(model: ReplicateModelSpec): Record<string, unknown> {
    return {
      url: `https://replicate.com/${model.owner}/${model.name}`,
      owner: model.owner,
      name: model.name,
      description: model.description,
      visibility: 'public',
      is_official: model.official ?? false,
      github_url: null,
      paper_url: null,
      license_url: null,
      run_count: model.runCount ?? 1000,
      cover_image_url: null,
      default_example: null,
      latest_version: this.#versionJson(model),
    };
  }

  #versionJson(model: ReplicateModelSpec): Record<string, unknown> {
    const properties = Object.fromEntries(
      Object.entries(model.input).map(([name, field], order) => [
        name,
        {
          type: field.type,
          title: name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()),
          'x-order': order,
          ...(field.format && { format: field.format }),
          ...(field.enum && { enum: field.enum }),
          ...(field.minimum !== undefined && { minimum: field.minimum }),
          ...(field.maximum !== undefined && { maximum: field.maximum }),
          ...(field.default !== undefined && { default: field.default }),
          ...(field.description && { description: field.description }),
        },
      ]),
    );
    const required = Object.entries(model.input).filter(([, f]) => f.required).map(([name]) => name);
    const output =
      model.output === 'images'
        ? { type: 'array', items: { type: 'string', format: 'uri' }, title: 'Output' }
        : { type: 'string', format: 'uri', title: 'Output' };
    return {
      id: model.version,
      created_at: '2025-01-01T00:00:00.000000Z',
      cog_version: '0.14.0',
      openapi_schema: {
        openapi: '3.0.2',
        info: { title: 'Cog', version: '0.1.0' },
        components: { schemas: { Input: { type: 'object', title: 'Input', required, properties }, Output: output } },
      },
    };
  }

  #versions(context: RouteContext): { json: unknown } {
    return { json: { next: null, previous: null, results: [this.#versionJson(this.#findModel(context))] } };
  }

  #collection({ params }: RouteContext): { json: unknown } {
    const collection = this.collections.find((c) => c.slug === params['slug']);
    if (!collection) throw notFound();
    const models = collection.models.flatMap((id) => {
      const model = this.models.find((m) => `${m.owner}/${m.name}` === id);
      return model ? [this.#modelJson(model)] : [];
    });
    return {
      json: {
        name: collection.name,
        slug: collection.slug,
        description: collection.description,
        full_description: null,
        models,
      },
    };
  }

  async #createByModel(context: RouteContext): Promise<{ status: number; json: unknown }> {
    return this.#create(context, this.#findModel(context));
  }

  async #createByVersion(context: RouteContext): Promise<{ status: number; json: unknown }> {
    const version = objectBody(context.record)['version'];
    const model = typeof version === 'string' ? this.#modelForVersion(version) : undefined;
    if (!model) {
      throw new HttpError(422, "The specified version does not exist (or perhaps you don't have permission to use it?)", {
        code: 'Invalid version or not permitted',
      });
    }
    return this.#create(context, model);
  }

  #modelForVersion(version: string): ReplicateModelSpec | undefined {
    // `version` may be a bare id, `owner/name:id`, or (official models) `owner/name`.
    const [ref, id] = version.includes(':') ? version.split(':') : version.includes('/') ? [version, undefined] : [undefined, version];
    return this.models.find(
      (m) => (ref === undefined || `${m.owner}/${m.name}` === ref) && (id === undefined || m.version === id) && (id !== undefined || m.official),
    );
  }

  async #create(context: RouteContext, model: ReplicateModelSpec): Promise<{ status: number; json: unknown }> {
    const body = objectBody(context.record);
    const input = validateInput(model, body['input']);
    const webhook = body['webhook'];
    if (webhook !== undefined && (typeof webhook !== 'string' || !/^https?:\/\//.test(webhook))) {
      throw invalidInput([{ type: 'format', field: 'webhook', description: 'Does not match format "uri"' }]);
    }
    const filter = body['webhook_events_filter'] ?? WEBHOOK_EVENTS;
    if (!Array.isArray(filter) || filter.some((event) => !WEBHOOK_EVENTS.includes(event as WebhookEvent))) {
      throw invalidInput([
        { type: 'enum', field: 'webhook_events_filter', description: `must be a list of ${WEBHOOK_EVENTS.join(', ')}` },
      ]);
    }
    const waitSeconds = parsePreferWait(context.record.headers['prefer']);

    const job = this.jobs.create(newPredictionId(), {
      model: `${model.owner}/${model.name}`,
      version: model.version,
      input,
      output: model.output,
      webhook: webhook as string | undefined,
      events: new Set(filter as WebhookEvent[]),
      seed: randomBytes(2).readUInt16BE(),
    });
    if (waitSeconds !== undefined) {
      await this.jobs.waitFor(job.id, (j) => this.jobs.isTerminal(j), waitSeconds * 1000, context.aborted);
    }
    return { status: 201, json: this.prediction(job.id) };
  }

  #list(): { json: unknown } {
    const results = this.jobs
      .all()
      .reverse()
      .map((job) => this.prediction(job.id));
    return { json: { next: null, previous: null, results } };
  }

  #get({ params }: RouteContext): { json: unknown } {
    const prediction = this.prediction(params['id']!);
    if (!prediction) throw notFound();
    return { json: prediction };
  }

  #cancel({ params }: RouteContext): { json: unknown } {
    const id = params['id']!;
    if (!this.jobs.get(id)) throw notFound();
    this.jobs.interrupt(id, { status: 'canceled' });
    return { json: this.prediction(id) };
  }

  #createFile({ record }: RouteContext): { status: number; json: unknown } {
    const body = objectBody(record);
    const content = body['content'];
    if (!isUploadedFile(content)) {
      throw new HttpError(400, 'The request must be multipart/form-data with a "content" file part.');
    }
    const metadataPart = body['metadata'];
    const metadata = isUploadedFile(metadataPart) ? (JSON.parse(metadataPart.bytes.toString('utf8')) as unknown) : {};
    const id = randomBytes(16).toString('hex').slice(0, 26);
    const now = this.clock.now();
    const file = {
      id,
      name: content.filename,
      content_type: content.type || 'application/octet-stream',
      size: content.size,
      etag: createHash('md5').update(content.bytes).digest('hex'),
      checksums: {
        sha256: createHash('sha256').update(content.bytes).digest('hex'),
        md5: createHash('md5').update(content.bytes).digest('hex'),
      },
      metadata,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + 24 * 3600_000).toISOString(),
      urls: { get: `${this.baseUrl}/files/${id}` },
    };
    this.#files.set(id, file);
    return { status: 201, json: file };
  }

  #getFile({ params }: RouteContext): { json: unknown } {
    const file = this.#files.get(params['id']!);
    if (!file) throw notFound();
    return { json: file };
  }

  #mintOutput(job: TimelineJob<ReplicateStatus, PredictionData>): unknown {
    const kinds: Record<PredictionData['output'], MediaKind> = { video: 'mp4', image: 'png', images: 'png', audio: 'mp3' };
    const url = this.publishOutput(kinds[job.data.output], `${job.id}-output`);
    return job.data.output === 'images' ? [url] : url;
  }

  #logsChanged(job: TimelineJob<ReplicateStatus, PredictionData>, force: boolean): void {
    const data = job.data;
    const logs = this.logs(job);
    if (logs === data.lastLogs) return;
    const now = this.clock.now();
    if (!force && data.lastLogsWebhookAt !== undefined && now - data.lastLogsWebhookAt < WEBHOOK_THROTTLE_MS) return;
    data.lastLogs = logs;
    data.lastLogsWebhookAt = now;
    this.#notify(job, 'logs');
  }

  #notify(job: TimelineJob<ReplicateStatus, PredictionData>, event: WebhookEvent): void {
    if (!job.data.webhook || !job.data.events.has(event)) return;
    void this.#deliver(this.#webhookFor(job, { event }, 'genuine', this.webhookSecret));
  }

  #job(predictionId: string): TimelineJob<ReplicateStatus, PredictionData> {
    const job = this.jobs.get(predictionId);
    if (!job) throw new Error(`no prediction ${predictionId} in this fake`);
    return job;
  }

  #webhookFor(
    job: TimelineJob<ReplicateStatus, PredictionData>,
    options: { event?: WebhookEvent; url?: string },
    kind: WebhookDelivery['kind'],
    secret: string,
    timestamp = Math.floor(this.clock.now() / 1000),
  ): WebhookDelivery {
    const prediction = this.#json(job);
    const url = options.url ?? job.data.webhook;
    if (!url) throw new Error(`prediction ${job.id} has no webhook URL; pass options.url`);
    const id = `msg_${randomBytes(20).toString('base64url').slice(0, 27)}`;
    const body = JSON.stringify(prediction);
    return {
      kind,
      url,
      event: options.event ?? 'completed',
      predictionId: job.id,
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signWebhook(secret, id, String(timestamp), body)}`,
      },
      body,
    };
  }

  #deliver(delivery: WebhookDelivery): Promise<WebhookDelivery> {
    this.webhookDeliveries.push(delivery);
    const sending = fetch(delivery.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Replicate-Webhook/1.0', ...delivery.headers },
      body: delivery.body,
      signal: AbortSignal.timeout(5_000),
    })
      .then(async (response) => {
        delivery.status = response.status;
        await response.body?.cancel();
      })
      .catch((error: unknown) => {
        delivery.error = (error as Error).message;
      });
    const pending = sending.finally(() => this.#pendingDeliveries.delete(pending));
    this.#pendingDeliveries.add(pending);
    return pending.then(() => delivery);
  }
}

export async function startReplicateFake(options: ReplicateFakeOptions = {}): Promise<ReplicateFake> {
  return new ReplicateFake(options, await mediaHostFor(options)).listen();
}

/** `base64(HMAC-SHA256(base64decode(secret after "whsec_"), "${id}.${timestamp}.${body}"))`. */
export function signWebhook(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

interface InvalidField {
  type: string;
  field: string;
  description: string;
}

function invalidInput(fields: InvalidField[]): HttpError {
  return new HttpError(422, fields.map((f) => `- ${f.field}: ${f.description}\n`).join(''), {
    code: 'Input validation failed',
    extra: { invalid_fields: fields },
  });
}

function validateInput(model: ReplicateModelSpec, input: unknown): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidInput([{ type: 'required', field: '(root)', description: 'input is required' }]);
  }
  const values = input as Record<string, unknown>;
  const problems: InvalidField[] = [];
  for (const [name, field] of Object.entries(model.input)) {
    const value = values[name];
    if (value === undefined || value === null) {
      if (field.required) problems.push({ type: 'required', field: 'input', description: `${name} is required` });
      continue;
    }
    const typeOk =
      field.type === 'integer' ? Number.isInteger(value) : field.type === 'number' ? typeof value === 'number' : typeof value === field.type;
    if (!typeOk) {
      problems.push({ type: 'invalid_type', field: `input.${name}`, description: `Invalid type. Expected: ${field.type}, given: ${typeof value}` });
      continue;
    }
    if (field.enum && !field.enum.includes(value as string | number)) {
      problems.push({
        type: 'enum',
        field: `input.${name}`,
        description: `${name} must be one of the following: ${field.enum.map((e) => JSON.stringify(e)).join(', ')}`,
      });
    }
    if (field.minimum !== undefined && (value as number) < field.minimum) {
      problems.push({ type: 'number_gte', field: `input.${name}`, description: `Must be greater than or equal to ${field.minimum}` });
    }
    if (field.maximum !== undefined && (value as number) > field.maximum) {
      problems.push({ type: 'number_lte', field: `input.${name}`, description: `Must be less than or equal to ${field.maximum}` });
    }
    if (field.format === 'uri' && !/^(https?:\/\/|data:)/.test(value as string)) {
      problems.push({ type: 'format', field: `input.${name}`, description: 'Does not match format "uri"' });
    }
  }
  if (problems.length > 0) throw invalidInput(problems);
  return values;
}

function parsePreferWait(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const preference = header
    .split(',')
    .map((part) => part.trim())
    .find((part) => part === 'wait' || part.startsWith('wait='));
  if (!preference) return undefined;
  if (preference === 'wait') return 60;
  const seconds = Number(preference.slice('wait='.length));
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) {
    throw new HttpError(400, `Invalid Prefer header "${header}": wait must be an integer number of seconds from 1 to 60`);
  }
  return seconds;
}

function newPredictionId(): string {
  // Replicate ids are 26 characters of lower-case base32.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from(randomBytes(26), (byte) => alphabet[byte % 32]).join('');
}

function tqdmLine(percent: number, elapsedSeconds: number): string {
  const bar = '█'.repeat(Math.floor(percent / 10)).padEnd(10, ' ');
  const rate = elapsedSeconds > 0 ? percent / elapsedSeconds : 0;
  const remaining = rate > 0 ? (100 - percent) / rate : 0;
  return `${String(percent).padStart(3)}%|${bar}| ${percent}/100 [${clock(elapsedSeconds)}<${clock(remaining)}, ${rate.toFixed(2)}it/s]`;
}

function clock(seconds: number): string {
  const whole = Math.round(seconds);
  return `${String(Math.floor(whole / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

/** Progress at the moment a prediction stopped running (for failed or canceled logs). */
function lastProgress(job: TimelineJob<ReplicateStatus, PredictionData>): number {
  const running = job.steps.slice(0, job.index).filter((step) => step.status === 'processing').length;
  const total = job.steps.filter((step) => step.status === 'processing').length;
  return total === 0 ? 0 : Math.min(running / total, 0.99);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function notFound(): HttpError {
  return new HttpError(404, 'The requested resource could not be found.', { code: 'Not found' });
}

function problemTitle(status: number): string {
  switch (status) {
    case 400:
      return 'Bad request';
    case 401:
      return 'Unauthenticated';
    case 402:
      return 'Payment required';
    case 403:
      return 'Forbidden';
    case 404:
      return 'Not found';
    case 422:
      return 'Unprocessable entity';
    case 429:
      return 'Request was throttled';
    default:
      return status >= 500 ? 'Internal server error' : 'Error';
  }
}
