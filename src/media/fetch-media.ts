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
  let seen = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > options.maxBytes) {
        callback(new MediaFetchError(`${describe(url)} is larger than the limit of ${options.maxBytes} bytes`, false));
        return;
      }
      callback(null, chunk);
    },
  });
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>, { signal });
  try {
    const stored = await store.write(key, body.pipe(limit));
    return { ...stored, contentType };
  } catch (error) {
    if (error instanceof MediaFetchError) throw error;
    throw new MediaFetchError(`could not fetch ${describe(url)}: ${reason(error, timeout)}`, true);
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
