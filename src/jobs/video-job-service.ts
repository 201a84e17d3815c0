// The life of a video job: created (committed before any provider is
// called), submitted to a provider by the poller, polled until terminal, its
// output copied into the media store and measured. Every change is written
// first, then published.

import { uuidv7 } from 'uuidv7';
import type { JobAttemptRow, JobRow } from '../db/schema.js';
import { isTerminal, type JobErrorInfo, type JobOutputInfo, type JobStatus } from '../domain.js';
import { BudgetExceededError, ConflictError, NoProviderError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { probeMedia } from '../media/ffmpeg.js';
import { MediaFetchError, type MediaIntake } from '../media/fetch-media.js';
import { mediaKey, type MediaStore } from '../media/store.js';
import { ENABLING_KEYS, type ProviderRegistry } from '../providers/registry.js';
import {
  ProviderError,
  type EditVideoRequest,
  type ExtendVideoRequest,
  type GenerateVideoRequest,
  type PollResult,
  type ProducedMedia,
  type SubmitResult,
  type Support,
  type VideoProvider,
  type VideoSource,
} from '../providers/types.js';
import { LOCAL_MODEL, LOCAL_PROVIDER } from '../routing/capabilities.js';
import { acceptedJobFailure, deadlineOverrun, type FailureDecision } from '../routing/failures.js';
import { ruleFor } from '../routing/policy.js';
import { videoRouteRequest } from '../routing/request.js';
import { retryDelayMs, submitWithFallback } from '../routing/retry.js';
import type { CandidateRef, RouteResult } from '../routing/router.js';
import type { RoutingService } from '../routing/routing-service.js';
import type { JobEventBus } from './job-events.js';
import type { JobRecord, JobStore } from './job-store.js';
import { inputHash, isJobId, type VideoSourceRef, type VideoSpec } from './video-requests.js';

export interface VideoJobServiceOptions {
  store: JobStore;
  events: JobEventBus;
  providers: ProviderRegistry;
  media: MediaStore;
  logger: Logger;
  /** Where sources and provider outputs enter the media store. */
  intake: MediaIntake;
  routing: RoutingService;
  /** How long an attempt may stay in flight before it is failed as overdue. */
  attemptDeadlineMs?: number;
  /** The gateway's public URL, when it has one: providers fetch sources from it. */
  publicBaseUrl?: () => string | undefined;
  /** Called when a job becomes due, so the poller picks it up at once. */
  onJobDue?: () => void;
}

/** Poll interval: frequent at first, backing off toward a cap for long jobs. */
export function pollInterval(provider: VideoProvider | undefined, pollCount: number, hintMs?: number): number {
  if (provider?.runsInProcess) return 250;
  const backoff = Math.min(15_000, 1000 * 1.5 ** pollCount);
  return hintMs === undefined ? backoff : Math.min(15_000, Math.max(500, hintMs));
}

const VIDEO_ACCEPT = ['video/'];

export class VideoJobService {
  private readonly attemptDeadlineMs: number;

  constructor(private readonly options: VideoJobServiceOptions) {
    this.attemptDeadlineMs = options.attemptDeadlineMs ?? 2 * 60 * 60 * 1000;
  }

  private get store() {
    return this.options.store;
  }

  /**
   * Validates what can be known at once (the source job, whether any provider
   * can serve the request), then commits the job, QUEUED and due now.
   */
  async create(spec: VideoSpec, idempotencyKey?: string | null, clientKey?: string): Promise<JobRecord> {
    const source = spec.operation === 'GENERATE' ? undefined : await this.sourceForCheck(spec.source);
    const decision = this.route(spec, this.adapterRequest(spec, source), clientKey, []);
    if (decision.outcome !== 'ROUTED') throw this.refusal(decision);
    const experiment = decision.experiment?.applied ? decision.experiment : undefined;
    const outcome = await this.store.insert({
      id: uuidv7(),
      modality: 'VIDEO',
      operation: spec.operation,
      status: 'QUEUED',
      prompt: spec.prompt ?? null,
      input: spec as unknown as Record<string, unknown>,
      inputHash: inputHash(spec),
      idempotencyKey: idempotencyKey ?? null,
      clientKey: clientKey ?? null,
      experiment: experiment?.name ?? null,
      variant: experiment?.variant ?? null,
      nextPollAt: new Date(),
    });
    switch (outcome.kind) {
      case 'conflict':
        throw new ConflictError(
          `idempotencyKey "${idempotencyKey}" was used for another request (job ${outcome.job.id})`,
        );
      case 'existing':
        return this.record(outcome.job);
      case 'created': {
        const record = await this.publish(outcome.job);
        this.options.onJobDue?.();
        return record;
      }
    }
  }

  async cancel(id: string): Promise<JobRecord> {
    for (;;) {
      const job = isJobId(id) ? await this.store.get(id) : null;
      if (!job) throw new NotFoundError(`no job with id ${id}`);
      if (isTerminal(job.status)) throw new ConflictError(`job ${id} is already ${job.status} and cannot be canceled`);
      const canceled = await this.store.transition(job.id, job.status, 'CANCELED');
      if (!canceled) continue; // it changed under us: look again
      if (canceled.attemptCount > 0) await this.store.finishAttempt(job.id, canceled.attemptCount, { status: 'CANCELED' });
      if (job.provider && job.providerJobId) {
        const provider = this.options.providers.video(job.provider);
        await provider?.cancel(job.providerJobId).catch((error: unknown) => {
          this.options.logger.warn({ jobId: id, err: error }, 'provider cancel failed');
        });
      }
      return this.publish(canceled);
    }
  }

  /**
   * One step for a job the poller claimed: submit it if no provider holds it,
   * otherwise poll its provider and record what changed.
   */
  async advance(job: JobRow, owner: string): Promise<void> {
    const provider = job.provider ? this.options.providers.video(job.provider) : undefined;
    if (job.providerJobId && provider) {
      await this.pollOnce(job, provider, owner);
      return;
    }
    const last = job.attemptCount > 0 && !job.providerJobId ? (await this.store.attempts(job.id)).at(-1) : undefined;
    if (last && !last.finishedAt) {
      // A submission that never recorded the provider's answer (a crash in
      // between). In-process work is free to start again; a cloud provider may
      // have accepted it, and submitting again could pay twice. (A closed last
      // attempt is a fallback waiting for its next candidate.)
      const lastProvider = job.provider ? this.options.providers.video(job.provider) : undefined;
      if (!lastProvider?.runsInProcess) {
        await this.fail(job, {
          code: 'PROVIDER_ERROR',
          message: 'the submission to the provider was interrupted and its outcome is unknown; not resubmitted',
          retryable: false,
        });
        return;
      }
      await this.store.finishAttempt(job.id, job.attemptCount, {
        status: 'FAILED',
        error: { code: 'INTERNAL', message: 'interrupted by a restart', retryable: true },
      });
    }
    await this.submit(job, owner);
  }

  /**
   * Routes the job (leaving out the candidates its earlier attempts failed
   * on) and submits it to the ranked candidates until one accepts: every
   * try is a JobAttempt written before the provider is called.
   */
  private async submit(job: JobRow, owner: string): Promise<void> {
    const spec = job.input as unknown as VideoSpec;
    let adapter: AdapterRequest;
    try {
      adapter = this.adapterRequest(spec, spec.operation === 'GENERATE' ? undefined : await this.resolveSource(job, spec.source));
    } catch (error) {
      if (!(error instanceof MediaFetchError)) throw error;
      const code = error.retryable ? 'PROVIDER_UNAVAILABLE' : 'VALIDATION';
      await this.fail(job, { code, message: error.message, retryable: error.retryable });
      return;
    }
    const attempts = await this.store.attempts(job.id);
    const failed = attempts.filter(countsAgainstFallback);
    const rule = ruleFor(this.options.routing.policy, 'VIDEO', spec.operation);
    const decision = this.route(spec, adapter, job.clientKey ?? undefined, failed.map(candidateOf));
    if (decision.outcome !== 'ROUTED') {
      const refusal = this.refusal(decision);
      const lastError = failed.at(-1)?.error;
      await this.fail(job, lastError ?? { code: refusal.code === 'BUDGET_EXCEEDED' ? 'BUDGET_EXCEEDED' : 'NO_PROVIDER', message: refusal.message, retryable: false });
      return;
    }
    let n = job.attemptCount;
    let outcome;
    try {
      outcome = await submitWithFallback({
        candidates: decision.candidates,
        settings: { ...rule.fallback, maxAttempts: Math.max(1, rule.fallback.maxAttempts - failed.length) },
        allowFallback: spec.routing?.allowFallback !== false,
        random: this.options.routing.random,
        breakers: this.options.routing.breakers,
        submit: async (candidate) => this.submitTo(job, owner, adapter, candidate, ++n),
      });
    } catch (error) {
      if (error instanceof CanceledMeanwhile) return;
      throw error;
    }
    if (!outcome.ok) {
      const info = outcome.error instanceof ProviderError ? outcome.error.info : internalError(outcome.error);
      const current = await this.store.get(job.id);
      if (current && !isTerminal(current.status)) await this.fail(current, info);
      return;
    }
    const { provider, submitted } = outcome.value;
    const patch = {
      providerJobId: submitted.providerJobId,
      nextPollAt: new Date(Date.now() + pollInterval(provider, 0)),
      ...(provider.runsInProcess ? {} : { leaseOwner: null, leaseUntil: null }),
    };
    const updated =
      submitted.status === 'RUNNING'
        ? await this.store.transition(job.id, 'QUEUED', 'RUNNING', { ...patch, progress: 0 })
        : await this.store.update(job.id, { status: 'QUEUED', leaseOwner: owner }, patch);
    if (!updated) {
      // Canceled while the provider accepted: stop the work we just started.
      await provider.cancel(submitted.providerJobId).catch(() => {});
      await this.store.finishAttempt(job.id, n, { status: 'CANCELED' });
      return;
    }
    await this.publish(updated);
  }

  /** One try on one candidate: the attempt is written, then the provider called; a failure closes the attempt. */
  private async submitTo(
    job: JobRow,
    owner: string,
    adapter: AdapterRequest,
    candidate: CandidateRef,
    n: number,
  ): Promise<{ provider: VideoProvider; submitted: SubmitResult }> {
    const provider = this.options.providers.video(candidate.provider);
    if (!provider) throw new Error(`routed to ${candidate.provider}, which is not registered`);
    await this.store.insertAttempt({ jobId: job.id, n, provider: provider.name, model: candidate.model, status: 'QUEUED' });
    const claimed = await this.store.update(
      job.id,
      { status: 'QUEUED', leaseOwner: owner },
      { attemptCount: n, provider: provider.name, model: candidate.model, providerJobId: null, progress: null, pollCount: 0 },
    );
    if (!claimed) {
      await this.store.finishAttempt(job.id, n, { status: 'CANCELED' });
      throw new CanceledMeanwhile();
    }
    const context = { jobId: job.id, attempt: n };
    const model = adapterModel(candidate);
    try {
      let submitted: SubmitResult;
      switch (adapter.operation) {
        case 'GENERATE':
          submitted = await provider.generate(context, { ...adapter.request, model });
          break;
        case 'EDIT':
          submitted = await provider.edit(context, { ...adapter.request, model });
          break;
        case 'EXTEND':
          submitted = await provider.extend(context, { ...adapter.request, model });
          break;
      }
      await this.store.updateAttempt(job.id, n, {
        providerJobId: submitted.providerJobId,
        ...(submitted.model ? { model: submitted.model } : {}),
        status: submitted.status,
      });
      return { provider, submitted };
    } catch (error) {
      const info = error instanceof ProviderError ? error.info : internalError(error);
      await this.store.finishAttempt(job.id, n, { status: 'FAILED', error: info });
      throw error;
    }
  }

  private async pollOnce(job: JobRow, provider: VideoProvider, owner: string): Promise<void> {
    let result: PollResult;
    try {
      result = await provider.poll(job.providerJobId!);
    } catch (error) {
      // The provider could not be asked (network, 5xx): ask again later.
      this.options.logger.warn({ jobId: job.id, provider: provider.name, err: error }, 'poll failed');
      await this.store.update(
        job.id,
        { status: job.status, leaseOwner: owner },
        {
          pollCount: job.pollCount + 1,
          nextPollAt: new Date(Date.now() + pollInterval(provider, job.pollCount + 1)),
          ...(provider.runsInProcess ? {} : { leaseOwner: null, leaseUntil: null }),
        },
      );
      return;
    }
    if (result.kind === 'lost') {
      await this.restartLost(job, provider, owner);
      return;
    }
    if (!isTerminal(result.status) && (await this.attemptOverdue(job))) {
      await provider.cancel(job.providerJobId!).catch(() => {});
      const decision = deadlineOverrun(this.attemptDeadlineMs);
      await this.afterFailure(job, { code: 'PROVIDER_UNAVAILABLE', message: decision.message, retryable: true }, decision);
      return;
    }
    switch (result.status) {
      case 'QUEUED':
      case 'RUNNING':
        await this.recordProgress(job, provider, owner, result);
        return;
      case 'SUCCEEDED':
        await this.options.routing.breakers.record(provider.name, job.model ?? '', 'success');
        await this.succeed(job, provider, result.output?.media ?? [], result.costUsd);
        return;
      case 'FAILED': {
        const error = result.error ?? { code: 'PROVIDER_ERROR', message: 'the provider failed the job', retryable: false };
        await this.afterFailure(job, error, acceptedJobFailure(error), result.costUsd);
        return;
      }
      case 'CANCELED':
        await this.finish(job, 'CANCELED', { costUsd: result.costUsd });
        return;
    }
  }

  /**
   * A provider failed a job it had accepted (or overran its deadline): the
   * job goes to the next candidate when the failure allows it, the request
   * and the policy allow fallbacks, and attempts remain; otherwise it fails.
   */
  private async afterFailure(job: JobRow, error: JobErrorInfo, decision: FailureDecision, costUsd?: number): Promise<void> {
    if (job.provider && decision.providerFault) await this.options.routing.breakers.record(job.provider, job.model ?? '', 'failure');
    const spec = job.input as unknown as VideoSpec;
    const fallback = ruleFor(this.options.routing.policy, 'VIDEO', spec.operation).fallback;
    const attempts = await this.store.attempts(job.id);
    const resubmit =
      decision.moveOn &&
      fallback.enabled &&
      fallback.afterAcceptance &&
      spec.routing?.allowFallback !== false &&
      attempts.filter(countsAgainstFallback).length + 1 < fallback.maxAttempts;
    if (!resubmit) {
      await this.finish(job, 'FAILED', { error, costUsd });
      return;
    }
    await this.store.finishAttempt(job.id, job.attemptCount, { status: 'FAILED', error, costUsd: costUsd ?? null });
    const delayMs = retryDelayMs(1, fallback, this.options.routing.random, decision.retryAfterMs);
    const requeue = { providerJobId: null, progress: null, pollCount: 0, nextPollAt: new Date(Date.now() + delayMs) };
    const requeued =
      job.status === 'RUNNING'
        ? await this.store.transition(job.id, 'RUNNING', 'QUEUED', { ...requeue, message: `${job.provider} failed: resubmitting` }, { newAttempt: true })
        : await this.store.update(job.id, { status: 'QUEUED' }, requeue);
    if (requeued) await this.publish(requeued);
  }

  private async recordProgress(
    job: JobRow,
    provider: VideoProvider,
    owner: string,
    result: Extract<PollResult, { kind: 'status' }>,
  ): Promise<void> {
    const progress =
      result.progress === null ? job.progress : Math.max(job.progress ?? 0, Math.min(1, Math.max(0, result.progress)));
    const schedule = {
      pollCount: job.pollCount + 1,
      nextPollAt: new Date(Date.now() + pollInterval(provider, job.pollCount + 1, result.nextPollMs)),
      ...(provider.runsInProcess ? {} : { leaseOwner: null, leaseUntil: null }),
    };
    const changed = progress !== job.progress || (result.message ?? null) !== job.message;
    let updated: JobRow | null;
    if (job.status === 'QUEUED' && result.status === 'RUNNING') {
      updated = await this.store.transition(job.id, 'QUEUED', 'RUNNING', {
        ...schedule,
        progress: progress ?? 0,
        message: result.message ?? null,
      });
      if (updated) await this.store.updateAttempt(job.id, job.attemptCount, { status: 'RUNNING' });
    } else {
      updated = await this.store.update(
        job.id,
        { status: job.status, leaseOwner: owner },
        { ...schedule, progress, message: result.message ?? null },
      );
    }
    if (!updated) {
      await this.stopIfCanceled(job, provider);
      return;
    }
    if (changed || updated.status !== job.status) await this.publish(updated);
  }

  /** The job was canceled elsewhere (another instance) while this process worked on it. */
  private async stopIfCanceled(job: JobRow, provider: VideoProvider): Promise<void> {
    const current = await this.store.get(job.id);
    if (current?.status === 'CANCELED' && job.providerJobId) await provider.cancel(job.providerJobId).catch(() => {});
  }

  /** In-process work lost in a crash starts again from scratch as a new attempt. */
  private async restartLost(job: JobRow, provider: VideoProvider, owner: string): Promise<void> {
    if (!provider.runsInProcess) {
      await this.finish(job, 'FAILED', {
        error: { code: 'PROVIDER_ERROR', message: `${provider.name} has no record of the job`, retryable: true },
      });
      return;
    }
    await this.store.finishAttempt(job.id, job.attemptCount, {
      status: 'FAILED',
      error: { code: 'INTERNAL', message: 'interrupted by a restart; started again', retryable: true },
    });
    const requeued =
      job.status === 'RUNNING'
        ? await this.store.transition(job.id, 'RUNNING', 'QUEUED', { providerJobId: null, progress: null }, { newAttempt: true })
        : await this.store.update(job.id, { status: 'QUEUED', leaseOwner: owner }, { providerJobId: null, progress: null });
    if (!requeued) return;
    await this.publish(requeued);
    await this.submit(requeued, owner);
  }

  private async succeed(job: JobRow, provider: VideoProvider, media: ProducedMedia[], costUsd?: number): Promise<void> {
    let output: JobOutputInfo;
    try {
      output = await this.storeOutputs(job, media);
    } catch (error) {
      const retryable = error instanceof MediaFetchError ? error.retryable : false;
      await this.finish(job, 'FAILED', {
        error: { code: 'PROVIDER_ERROR', message: `could not store the output: ${(error as Error).message}`, retryable },
        costUsd,
      });
      return;
    }
    if (job.status === 'QUEUED') {
      const running = await this.store.transition(job.id, 'QUEUED', 'RUNNING', { progress: 0 });
      if (!running) return this.stopIfCanceled(job, provider);
      await this.publish(running);
      job = running;
    }
    await this.finish(job, 'SUCCEEDED', { output, costUsd, progress: 1 });
  }

  /** Copies remote outputs into the store and measures every file with ffprobe. */
  private async storeOutputs(job: JobRow, media: ProducedMedia[]): Promise<JobOutputInfo> {
    if (media.length === 0) throw new Error('the provider reported success without an output');
    const keys: string[] = [];
    for (const [index, item] of media.entries()) {
      if (item.kind === 'stored') {
        keys.push(item.key);
        continue;
      }
      const key = mediaKey(job.id, `output-${job.attemptCount}-${index}.mp4`);
      await this.options.intake.fromUrl(item.url, key, VIDEO_ACCEPT);
      keys.push(key);
    }
    const probe = await probeMedia(this.options.media.pathOf(keys[0]!));
    return {
      mediaKeys: keys,
      mimeType: probe.mimeType,
      durationSeconds: probe.durationSeconds,
      width: probe.width,
      height: probe.height,
      bytes: probe.bytes,
    };
  }

  private async finish(
    job: JobRow,
    status: Extract<JobStatus, 'SUCCEEDED' | 'FAILED' | 'CANCELED'>,
    outcome: { output?: JobOutputInfo; error?: JobErrorInfo; costUsd?: number; progress?: number },
  ): Promise<void> {
    const finished = await this.store.finishJob(job, job.status, status, outcome);
    if (finished) await this.publish(finished.job, finished.attempts);
  }


  private async fail(job: JobRow, error: JobErrorInfo): Promise<void> {
    if (job.attemptCount > 0) await this.store.finishAttempt(job.id, job.attemptCount, { status: 'FAILED', error });
    const failed = await this.store.transition(job.id, job.status, 'FAILED', { error });
    if (failed) await this.publish(failed);
  }

  /**
   * Whether the current attempt has run past its deadline. An attempt starts
   * after its job was created, so a job younger than the deadline needs no
   * read of its attempts: most polls cost no extra query.
   */
  private async attemptOverdue(job: JobRow): Promise<boolean> {
    if (job.attemptCount === 0 || Date.now() - job.createdAt.getTime() <= this.attemptDeadlineMs) return false;
    const attempts = await this.store.attempts(job.id);
    const started = attempts.find((a) => a.n === job.attemptCount)?.startedAt;
    return started !== undefined && Date.now() - started.getTime() > this.attemptDeadlineMs;
  }

  /** What each operation asks a provider, with the source (measured, or facts unknown for a URL not fetched yet). */
  private adapterRequest(spec: VideoSpec, source: VideoSource | undefined): AdapterRequest {
    switch (spec.operation) {
      case 'GENERATE': {
        const { operation: _operation, routing: _routing, ...request } = spec;
        return { operation: 'GENERATE', request };
      }
      case 'EDIT':
        return { operation: 'EDIT', request: { prompt: spec.prompt, source: source! } };
      case 'EXTEND':
        return {
          operation: 'EXTEND',
          request: { extensionSeconds: spec.extensionSeconds, source: source!, ...(spec.prompt ? { prompt: spec.prompt } : {}) },
        };
    }
  }

  /** Ranks the candidates; the adapters' own supports*() are the last word on each. */
  private route(spec: VideoSpec, adapter: AdapterRequest, clientKey: string | undefined, exclude: CandidateRef[]): RouteResult {
    const source = adapter.operation === 'GENERATE' ? undefined : adapter.request.source;
    const sourceFacts =
      source && Number.isFinite(source.durationSeconds)
        ? { durationSeconds: source.durationSeconds, width: source.width, height: source.height }
        : undefined;
    const wishes = spec.routing ?? {};
    const request = videoRouteRequest(spec, {
      ...(wishes.tier ? { tier: wishes.tier } : {}),
      ...(wishes.strategy ? { strategy: wishes.strategy } : {}),
      ...(wishes.maxCostUsd !== undefined ? { maxCostUsd: wishes.maxCostUsd } : {}),
      ...(clientKey ? { callerKey: clientKey } : {}),
      ...(sourceFacts ? { sourceFacts } : {}),
    });
    return this.options.routing.route(request, { exclude, supports: (candidate) => this.supports(adapter, candidate) });
  }

  private supports(adapter: AdapterRequest, candidate: CandidateRef): Support {
    const provider = this.options.providers.video(candidate.provider);
    if (!provider) return { ok: false, reason: 'not registered' };
    const model = adapterModel(candidate);
    switch (adapter.operation) {
      case 'GENERATE':
        return provider.supportsGenerate({ ...adapter.request, model });
      case 'EDIT':
        return provider.supportsEdit({ ...adapter.request, model });
      case 'EXTEND':
        return provider.supportsExtend({ ...adapter.request, model });
    }
  }

  /** The typed error for a request that cannot be routed, naming why each candidate was left out. */
  private refusal(decision: Exclude<RouteResult, { outcome: 'ROUTED' }>): NoProviderError | BudgetExceededError {
    if (decision.outcome === 'OVER_BUDGET') {
      const { cheapest } = decision;
      return new BudgetExceededError(
        `no provider can do this within ${decision.maxCostUsd} USD: the cheapest estimate is ${cheapest.estimatedCostUsd.toFixed(4)} USD (${cheapest.provider} ${cheapest.model})`,
        cheapest.estimatedCostUsd,
      );
    }
    const reasons = decision.filtered.map((f) => `${f.provider}${f.model && f.model !== LOCAL_MODEL ? ` ${f.model}` : ''}: ${f.reason}`);
    return new NoProviderError(noProviderMessage(reasons), missingVideoKeys(this.options.providers));
  }

  private async sourceJob(jobId: string): Promise<{ key: string; output: JobOutputInfo }> {
    const source = isJobId(jobId) ? await this.store.get(jobId) : null;
    const key = source?.output?.mediaKeys?.[0];
    if (!source || source.modality !== 'VIDEO' || source.status !== 'SUCCEEDED' || !key) {
      throw new NotFoundError(`source job ${jobId} is not a finished video job`);
    }
    return { key, output: source.output! };
  }

  /**
   * The source as far as it is known before the job exists: a source job's
   * stored file is measured; a URL's video is not fetched yet, so its size
   * and length are unknown (range checks happen again at submission).
   */
  private async sourceForCheck(ref: VideoSourceRef): Promise<VideoSource> {
    if (ref.kind === 'job') {
      const { key } = await this.sourceJob(ref.jobId);
      return this.measuredSource(key);
    }
    return { key: '', path: '', durationSeconds: Number.POSITIVE_INFINITY, width: 0, height: 0, hasAudio: true };
  }

  private async resolveSource(job: JobRow, ref: VideoSourceRef): Promise<VideoSource> {
    if (ref.kind === 'job') return this.measuredSource((await this.sourceJob(ref.jobId)).key);
    const key = mediaKey(job.id, 'source.mp4');
    if (!(await this.options.media.stat(key))) {
      await this.options.intake.fromUrl(ref.url, key, VIDEO_ACCEPT);
    }
    return this.measuredSource(key);
  }

  private async measuredSource(key: string): Promise<VideoSource> {
    const path = this.options.media.pathOf(key);
    const probe = await probeMedia(path).catch((error: unknown) => {
      throw new MediaFetchError(`the source is not a readable video: ${(error as Error).message}`, false);
    });
    if (!probe.width || !probe.height) throw new MediaFetchError('the source has no video stream', false);
    const base = this.options.publicBaseUrl?.();
    return {
      key,
      path,
      ...(base ? { publicUrl: `${base.replace(/\/$/, '')}/media/${key}` } : {}),
      durationSeconds: probe.durationSeconds,
      width: probe.width,
      height: probe.height,
      hasAudio: probe.hasAudio,
    };
  }

  async record(job: JobRow, attempts?: JobAttemptRow[]): Promise<JobRecord> {
    return { ...job, attempts: attempts ?? (await this.store.attempts(job.id)) };
  }

  private async publish(job: JobRow, attempts?: JobAttemptRow[]): Promise<JobRecord> {
    const record = await this.record(job, attempts);
    this.options.events.publish({ job: record, at: job.updatedAt });
    return record;
  }
}

type AdapterRequest =
  | { operation: 'GENERATE'; request: GenerateVideoRequest }
  | { operation: 'EDIT'; request: EditVideoRequest }
  | { operation: 'EXTEND'; request: ExtendVideoRequest };

/** Thrown inside a submission when the job was canceled meanwhile: nothing more to do. */
class CanceledMeanwhile extends Error {}

/** The model an adapter is asked for: the routed one, except the local provider's, which has none. */
function adapterModel(candidate: CandidateRef): string | undefined {
  return candidate.provider === LOCAL_PROVIDER ? undefined : candidate.model;
}

function candidateOf(attempt: JobAttemptRow): CandidateRef {
  return { provider: attempt.provider, model: attempt.model ?? '' };
}

/**
 * Attempts that used up a candidate: failed or overran, but not those a
 * restart interrupted (the local render starts again on the same provider).
 */
function countsAgainstFallback(attempt: JobAttemptRow): boolean {
  return attempt.status === 'FAILED' && attempt.error?.code !== 'INTERNAL';
}

/** The keys of video providers not registered now, which would add candidates. */
function missingVideoKeys(providers: ProviderRegistry): string[] {
  const names: Record<string, string> = { TOGETHER_API_KEY: 'together', RUNWAYML_API_SECRET: 'runway', REPLICATE_API_TOKEN: 'replicate' };
  return ENABLING_KEYS.video.filter((key) => !providers.video(names[key]!));
}

function noProviderMessage(reasons: string[]): string {
  if (reasons.length === 0) return 'no video provider is registered';
  return `no registered provider can serve this request (${reasons.join('; ')})`;
}

function internalError(error: unknown): JobErrorInfo {
  return { code: 'INTERNAL', message: (error as Error)?.message ?? String(error), retryable: false };
}
