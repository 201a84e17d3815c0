// Copies media from a URL into the media store: streamed, never buffered
// whole, with a size limit, a time limit and a content-type check. Used for
// users' source videos and for providers' expiring output URLs alike.

import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { MediaStore, StoredFile } from './store.js';

export type FetchFn = typeof fetch;

export interface FetchMediaOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Accepted content-type prefixes, e.g. ['video/']; application/octet-stream is accepted too. */
  accept: string[];
  fetch?: FetchFn;
  signal?: AbortSignal;
}

export class MediaFetchError extends Error {
  constructor(
    message: string,
    /** True when trying again later may succeed (a timeout, a 5xx). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'MediaFetchError';
  }
}

export interface FetchedMedia extends StoredFile {
  contentType: string;
}

export async function fetchMediaToStore(
  url: string,
  store: MediaStore,
  key: string,
  options: FetchMediaOptions,
): Promise<FetchedMedia> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { signal, redirect: 'follow' });
  } catch (error) {
    throw new MediaFetchError(`could not fetch ${describe(url)}: ${reason(error, timeout)}`, true);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new MediaFetchError(`fetching ${describe(url)} answered HTTP ${response.status}`, response.status >= 500);
  }
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const accepted =
    contentType === 'application/octet-stream' || options.accept.some((prefix) => contentType.startsWith(prefix));
  if (!accepted) {
    await response.body.cancel().catch(() => {});
    throw new MediaFetchError(
      `${describe(url)} has content type "${contentType || 'none'}"; expected ${options.accept.join(' or ')}`,
      false,
    );
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body.cancel().catch(() => {});
    throw new MediaFetchError(`${describe(url)} is ${declared} bytes; the limit is ${options.maxBytes}`, false);
  }
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>, { signal });
  try {
    const stored = await store.write(key, limitBytes(body, options.maxBytes, describe(url)));
    return { ...stored, contentType };
  } catch (error) {
    if (error instanceof MediaFetchError) throw error;
    throw new MediaFetchError(`could not fetch ${describe(url)}: ${reason(error, timeout)}`, true);
  }
}

/** `body`, failing with a MediaFetchError once more than `maxBytes` have passed. */
function limitBytes(body: Readable, maxBytes: number, what: string): Readable {
  let seen = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) {
        callback(new MediaFetchError(`${what} is larger than the limit of ${maxBytes} bytes`, false));
        return;
      }
      callback(null, chunk);
    },
  });
  body.once('error', (error) => limited.destroy(error));
  return body.pipe(limited);
}

export interface MediaLimits {
  maxBytes: number;
  timeoutMs: number;
  fetch?: FetchFn;
}

/**
 * The one way media enters the store from outside, under one size limit:
 * from a URL (a user's source, a provider's expiring output) or from a stream
 * a provider answered with (speech bytes).
 */
export class MediaIntake {
  constructor(
    readonly store: MediaStore,
    private readonly limits: MediaLimits,
  ) {}

  fromUrl(url: string, key: string, accept: string[], signal?: AbortSignal): Promise<FetchedMedia> {
    return fetchMediaToStore(url, this.store, key, { ...this.limits, accept, signal });
  }

  fromStream(body: Readable, key: string, what: string): Promise<StoredFile> {
    return this.store.write(key, limitBytes(body, this.limits.maxBytes, what));
  }
}

/** Host and path only: query strings of signed URLs carry credentials. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the URL';
  }
}

function reason(error: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
