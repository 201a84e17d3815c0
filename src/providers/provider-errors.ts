// The one translation from a failed provider call, or a job the provider
// failed, into our JobErrorInfo, for all three cloud adapters: each SDK's
// error is read here for its facts (HTTP status, the provider's own message,
// Retry-After), and which code that is, and whether trying again can help,
// is decided here alone. Adapters run their calls through guardedCall.

import * as Runway from '@runwayml/sdk';
import * as Together from 'together-ai';
import type { JobErrorInfo } from '../domain.js';
import { FfmpegAbortError, FfmpegError } from '../media/ffmpeg.js';
import { MediaFetchError } from '../media/fetch-media.js';
import { ProviderError, type PollResult } from './types.js';

/** A ProviderError with what the routing layer needs to schedule another try. */
export class ProviderCallError extends ProviderError {
  constructor(
    info: JobErrorInfo,
    provider: string,
    /** The provider's HTTP status, when it answered. */
    readonly httpStatus?: number,
    /** From Retry-After / retry-after-ms on a 429 (or 503). */
    readonly retryAfterMs?: number,
  ) {
    super(info, provider);
    this.name = 'ProviderCallError';
  }
}

/** Media that cannot be sent to the provider (too large for a data URI, no usable URL): a request problem. */
export class MediaInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaInputError';
  }
}

/** What an adapter could read from a failed call. */
export type CallFailure =
  | { kind: 'http'; status: number; message: string; retryAfterMs?: number }
  | { kind: 'connection'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'aborted' };

/** Our classification of an HTTP answer, a connection failure or a timeout. */
export function callFailureInfo(provider: string, failure: CallFailure): JobErrorInfo {
  switch (failure.kind) {
    case 'aborted':
      return { code: 'CANCELED', message: `the call to ${provider} was aborted`, retryable: false };
    case 'timeout':
      return { code: 'PROVIDER_UNAVAILABLE', message: `${provider} did not answer in time (${failure.message})`, retryable: true };
    case 'connection':
      return { code: 'PROVIDER_UNAVAILABLE', message: `could not reach ${provider} (${failure.message})`, retryable: true };
    case 'http':
      return httpFailureInfo(failure.status, failure.message);
  }
}

function httpFailureInfo(status: number, message: string): JobErrorInfo {
  if (status === 401 || status === 403) return { code: 'PROVIDER_AUTH', message, retryable: false };
  if (status === 429) return { code: 'RATE_LIMITED', message, retryable: true };
  // 408 request timeout and 409 lock timeout: the provider asks for another try.
  if (status === 408 || status === 409 || status >= 500) return { code: 'PROVIDER_UNAVAILABLE', message, retryable: true };
  // 402: the account cannot pay; nothing a retry changes.
  if (status === 402) return { code: 'PROVIDER_ERROR', message, retryable: false };
  // 400, 404, 413, 422 ...: the request itself is wrong.
  if (status >= 400) return { code: 'VALIDATION', message, retryable: false };
  return { code: 'PROVIDER_ERROR', message: `unexpected HTTP ${status}: ${message}`, retryable: false };
}

export function providerCallError(provider: string, failure: CallFailure, secrets: readonly string[] = []): ProviderCallError {
  const info = callFailureInfo(provider, failure);
  return new ProviderCallError(
    { ...info, message: redact(info.message, secrets) },
    provider,
    failure.kind === 'http' ? failure.status : undefined,
    failure.kind === 'http' ? failure.retryAfterMs : undefined,
  );
}

/**
 * A job the provider ran and failed. `code` is the provider's failure code
 * (Runway `failureCode`, Together `error.code`); `safety` is set when the
 * adapter recognised a content-safety rejection another way.
 */
export function jobFailureInfo(failure: { code?: string | null; message: string; safety?: boolean }): JobErrorInfo {
  const code = failure.code ?? '';
  const segments = code.toUpperCase().split(/[._-]/);
  const message = code ? `${failure.message} (${code})` : failure.message;
  // Runway SAFETY.INPUT.TEXT, INPUT_PREPROCESSING.SAFETY.TEXT, SAFETY.OUTPUT.VIDEO ...:
  // the same input is refused again, so it must not be retried.
  if (failure.safety || segments.includes('SAFETY') || /content_policy|moderation|nsfw/i.test(code)) {
    return { code: 'CONTENT_REJECTED', message, retryable: false };
  }
  // Runway INTERNAL.*, INPUT_PREPROCESSING.INTERNAL: the provider's own fault, worth another try.
  if (segments.includes('INTERNAL')) return { code: 'PROVIDER_UNAVAILABLE', message, retryable: true };
  // Runway ASSET.INVALID: the input cannot be used.
  if (segments[0] === 'ASSET') return { code: 'VALIDATION', message, retryable: false };
  return { code: 'PROVIDER_ERROR', message, retryable: false };
}

export type ProviderName = 'together' | 'runway' | 'replicate';

/** Runs a provider call (or our media work for one): whatever it throws leaves as a ProviderError. */
export async function guardedCall<T>(provider: ProviderName, secrets: readonly string[], run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toProviderError(provider, error, secrets);
  }
}

/** A request the adapter will not send (the job service normally asks supports*() first). */
export function refusedRequest(provider: ProviderName, reason: string): ProviderCallError {
  return new ProviderCallError({ code: 'VALIDATION', message: reason, retryable: false }, provider);
}

/** The poll answer for a job that ended FAILED at the provider (or that we cannot use). */
export function failedJob(error: JobErrorInfo, costUsd?: number): PollResult {
  return { kind: 'status', status: 'FAILED', progress: null, error, costUsd };
}

/**
 * Any error thrown while calling a provider, turned into a ProviderError:
 * SDK errors (each SDK's shape is read below), failures of fetch itself, and
 * our own media work around the call (downloading an output, ffmpeg).
 * `secrets` (the API key) are removed from every message.
 */
export function toProviderError(provider: ProviderName, error: unknown, secrets: readonly string[]): ProviderError {
  if (error instanceof ProviderError) return error;
  const described = describeSdkError(provider, error) ?? describeFetchError(error);
  if (described) return providerCallError(provider, described, secrets);
  if (error instanceof MediaFetchError) {
    return new ProviderCallError(
      {
        code: error.retryable ? 'PROVIDER_UNAVAILABLE' : 'PROVIDER_ERROR',
        message: redact(error.message, secrets),
        retryable: error.retryable,
      },
      provider,
    );
  }
  if (error instanceof MediaInputError) {
    return new ProviderCallError({ code: 'VALIDATION', message: error.message, retryable: false }, provider);
  }
  if (error instanceof FfmpegAbortError) return providerCallError(provider, { kind: 'aborted' });
  if (error instanceof FfmpegError) {
    return new ProviderCallError({ code: 'INTERNAL', message: error.message, retryable: false }, provider);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderCallError({ code: 'PROVIDER_ERROR', message: redact(message, secrets), retryable: false }, provider);
}

function describeSdkError(provider: ProviderName, error: unknown): CallFailure | undefined {
  switch (provider) {
    case 'together':
      return describeStainlessError(error, Together);
    case 'runway':
      return describeStainlessError(error, Runway);
    case 'replicate':
      return describeReplicateError(error);
  }
}

interface StainlessErrors {
  APIError: abstract new (...args: never[]) => {
    status: number | undefined;
    headers: Headers | undefined;
    error: unknown;
    message: string;
  };
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
}

/**
 * together-ai and @runwayml/sdk are both Stainless-generated: `status`,
 * `headers`, and the whole JSON error body in `error`. The message inside the
 * body is where each provider puts it: Together `{"error":{"message"}}`,
 * Runway `{"error":"..."}`.
 */
function describeStainlessError(error: unknown, sdk: StainlessErrors): CallFailure | undefined {
  if (error instanceof sdk.APIUserAbortError) return { kind: 'aborted' };
  if (error instanceof sdk.APIConnectionTimeoutError) return { kind: 'timeout', message: 'request timed out' };
  if (error instanceof sdk.APIConnectionError) {
    const cause = (error.cause as { cause?: { code?: string }; message?: string } | undefined) ?? undefined;
    return { kind: 'connection', message: cause?.cause?.code ?? cause?.message ?? error.message };
  }
  if (error instanceof sdk.APIError && typeof error.status === 'number') {
    return {
      kind: 'http',
      status: error.status,
      message: messageFromBody(error.error) ?? error.message,
      retryAfterMs: retryAfterMs(error.headers),
    };
  }
  return undefined;
}

/**
 * replicate's ApiError carries the Response (its body already read) and a
 * message `Request to <url> failed with status <n> <text>: <body>.`; the body
 * is RFC 7807 `{type, title, status, detail}`.
 */
function describeReplicateError(error: unknown): CallFailure | undefined {
  if (!(error instanceof Error) || error.name !== 'ApiError') return undefined;
  const response = (error as Error & { response?: unknown }).response;
  if (!(response instanceof Response)) return undefined;
  const body = /failed with status \d+[^:]*: ([\s\S]*)\.$/.exec(error.message)?.[1];
  let message = body?.trim() || `HTTP ${response.status}`;
  if (body) {
    try {
      message = messageFromBody(JSON.parse(body)) ?? message;
    } catch {
      // Not JSON (a proxy's HTML page): keep the text.
    }
  }
  return { kind: 'http', status: response.status, message, retryAfterMs: retryAfterMs(response.headers) };
}

function messageFromBody(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() || undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const inner = record['error'];
  if (typeof inner === 'string' && inner.trim()) return inner;
  if (typeof inner === 'object' && inner !== null) {
    const message = (inner as Record<string, unknown>)['message'];
    if (typeof message === 'string' && message.trim()) return message;
  }
  for (const field of ['detail', 'message', 'title']) {
    const value = record[field];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return undefined;
}

/** Failures of `fetch` itself (undici): no connection, a timeout, an abort. */
export function describeFetchError(error: unknown): CallFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'TimeoutError') return { kind: 'timeout', message: 'request timed out' };
  if (error.name === 'AbortError') return { kind: 'aborted' };
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = error.cause as { code?: string; message?: string; name?: string } | undefined;
    if (cause?.name === 'ConnectTimeoutError' || cause?.code === 'UND_ERR_CONNECT_TIMEOUT') {
      return { kind: 'timeout', message: 'connect timed out' };
    }
    return { kind: 'connection', message: cause?.code ?? cause?.message ?? error.message };
  }
  return undefined;
}

/** Milliseconds from `retry-after-ms`, or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const milliseconds = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return Math.round(milliseconds);
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Removes secrets from text that came from elsewhere (a provider's message may echo a header). */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}
