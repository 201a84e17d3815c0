// The HTTP plumbing every fake shares: a node:http server on a free loopback
// port, a tiny router, body parsing (JSON and multipart), a log of every
// request, and scripted interventions (fail, drop, delay) that tests queue up
// before driving an SDK. Each provider supplies only its routes, its auth check
// and the shape of its error bodies.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/tasks/123`. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** JSON value, multipart fields (see MultipartBody), text, or undefined when empty. */
  body: unknown;
  rawBody: Buffer;
  /** Wall-clock arrival time (ms). */
  receivedAt: number;
  /** The status answered, once the answer has been sent. */
  status?: number;
}

/** A file part of a multipart body. */
export interface UploadedFile {
  filename: string;
  type: string;
  size: number;
  bytes: Buffer;
}

/** Multipart bodies are recorded as field name to value (or values, when repeated). */
export type MultipartBody = Record<string, string | UploadedFile | Array<string | UploadedFile>>;

export function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).bytes);
}

export interface RequestMatch {
  method?: string;
  /** Exact path, or a pattern tested against the path. */
  path?: string | RegExp;
}

export function matchesRequest(match: RequestMatch | undefined, method: string, path: string): boolean {
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : match.path.test(path);
}

/** An answer the next matching request gets instead of the real one. */
export interface ScriptedFailure {
  status: number;
  /** The provider's message; a default per status otherwise. */
  message?: string;
  /** The provider's error code (Together `code`, Runway `failureCode`-like, Replicate `type`). */
  code?: string;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** Sent as `retry-after-ms` (the Stainless SDKs prefer it over Retry-After). */
  retryAfterMs?: number;
  headers?: Record<string, string>;
  /** Replaces the provider-shaped error body entirely. */
  body?: unknown;
  /** How many matching requests fail this way (default 1). */
  times?: number;
  match?: RequestMatch;
}

/** Thrown by route handlers; the provider's formatter turns it into its error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: {
      code?: string;
      param?: string;
      headers?: Record<string, string>;
      /** Extra provider-specific fields merged into the error body. */
      extra?: Record<string, unknown>;
      /** Replaces the formatted body. */
      body?: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface FormattedError {
  contentType: string;
  body: unknown;
}

export type ErrorFormatter = (error: HttpError) => FormattedError;

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: Record<string, string>;
  record: RecordedRequest;
  /** Resolves when the client goes away or the fake closes, so long waits can end early. */
  aborted: Promise<void>;
}

export interface Reply {
  status?: number;
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

/** A handler either returns its reply or writes to `res` itself (streams) and returns 'handled'. */
export type RouteHandler = (context: RouteContext) => Reply | 'handled' | Promise<Reply | 'handled'>;

export interface Route {
  method: string;
  /** Segments starting with `:` are parameters, e.g. `/v1/tasks/:id`. */
  pattern: string;
  handler: RouteHandler;
}

export interface FakeServerConfig {
  routes: Route[];
  formatError: ErrorFormatter;
  /** Throws an HttpError when the request may not proceed (auth, version headers). */
  authorize?: (context: RouteContext) => void;
  latencyMs?: number;
}

type Intervention =
  | { kind: 'fail'; failure: ScriptedFailure; remaining: number }
  | { kind: 'drop'; match?: RequestMatch; remaining: number }
  | { kind: 'delay'; ms: number; match?: RequestMatch; remaining: number };

export function defaultStatusMessage(status: number): string {
  return http.STATUS_CODES[status] ?? `HTTP ${status}`;
}

export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  /** Added to every answer (slow provider). */
  latencyMs: number;
  readonly #config: FakeServerConfig;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #interventions: Intervention[] = [];
  readonly #closing: Promise<void>;
  #signalClosing!: () => void;
  #origin: string | undefined;

  constructor(config: FakeServerConfig) {
    this.#config = config;
    this.latencyMs = config.latencyMs ?? 0;
    this.#closing = new Promise((resolve) => (this.#signalClosing = resolve));
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.#server.address() as AddressInfo;
    this.#origin = `http://127.0.0.1:${port}`;
    return this;
  }

  /** `http://127.0.0.1:PORT` */
  get origin(): string {
    if (!this.#origin) throw new Error('fake server is not listening yet');
    return this.#origin;
  }

  /** The next matching request (or `times` of them) gets this error instead of its answer. */
  failNext(failure: ScriptedFailure): void {
    this.#interventions.push({ kind: 'fail', failure, remaining: failure.times ?? 1 });
  }

  /** The next matching request has its connection destroyed without an answer. */
  dropNext(match?: RequestMatch, times = 1): void {
    this.#interventions.push({ kind: 'drop', match, remaining: times });
  }

  /** The next matching request is answered `ms` later than usual. */
  delayNext(ms: number, match?: RequestMatch, times = 1): void {
    this.#interventions.push({ kind: 'delay', ms, match, remaining: times });
  }

  /** Forgets scripted interventions that have not fired yet. */
  clearScript(): void {
    this.#interventions.length = 0;
  }

  requestsMatching(match: RequestMatch): RecordedRequest[] {
    return this.requests.filter((r) => matchesRequest(match, r.method, r.path));
  }

  lastRequest(match?: RequestMatch): RecordedRequest | undefined {
    return this.requests.filter((r) => matchesRequest(match, r.method, r.path)).at(-1);
  }

  async close(): Promise<void> {
    this.#signalClosing();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #take(kind: Intervention['kind'], method: string, path: string): Intervention | undefined {
    const index = this.#interventions.findIndex((entry) => {
      if (entry.kind === 'delay' && kind !== 'delay') return false;
      if (entry.kind !== 'delay' && kind === 'delay') return false;
      const match = entry.kind === 'fail' ? entry.failure.match : entry.match;
      return matchesRequest(match, method, path);
    });
    if (index < 0) return undefined;
    const entry = this.#interventions[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#interventions.splice(index, 1);
    return entry;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: flattenHeaders(req.headers),
      body: undefined,
      rawBody: Buffer.alloc(0),
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));

    const aborted = Promise.race([
      this.#closing,
      new Promise<void>((resolve) => res.on('close', () => resolve())),
    ]);
    const context: RouteContext = { req, res, params: {}, record, aborted };

    try {
      record.rawBody = await readBody(req);
      record.body = await parseBody(record.rawBody, record.headers['content-type']);
    } catch (error) {
      this.#sendError(res, new HttpError(400, `Could not parse request body: ${(error as Error).message}`));
      return;
    }

    const delay = this.#take('delay', method, url.pathname);
    const pause = this.latencyMs + (delay?.kind === 'delay' ? delay.ms : 0);
    if (pause > 0) await Promise.race([sleep(pause), aborted]);
    if (res.destroyed) return;

    const scripted = this.#take('fail', method, url.pathname);
    if (scripted?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (scripted?.kind === 'fail') {
      this.#sendError(res, scriptedError(scripted.failure));
      return;
    }

    try {
      const found = this.#route(method, url.pathname);
      if (!found) throw new HttpError(404, 'Not found');
      context.params = found.params;
      this.#config.authorize?.(context);
      const reply = await found.route.handler(context);
      if (reply !== 'handled') this.#send(res, reply);
    } catch (error) {
      if (error instanceof HttpError) {
        this.#sendError(res, error);
      } else {
        // A bug in the fake itself: answer 500 and keep the message for the test log.
        console.error('fake server handler failed', error);
        this.#sendError(res, new HttpError(500, `fake server bug: ${(error as Error).message}`));
      }
    }
  }

  #route(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    const segments = path.split('/').filter(Boolean);
    for (const route of this.#config.routes) {
      if (route.method !== method) continue;
      const parts = route.pattern.split('/').filter(Boolean);
      if (parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const ok = parts.every((part, i) => {
        const segment = segments[i]!;
        if (part.startsWith(':')) {
          params[part.slice(1)] = decodeURIComponent(segment);
          return true;
        }
        return part === segment;
      });
      if (ok) return { route, params };
    }
    return undefined;
  }

  #send(res: http.ServerResponse, reply: Reply): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { ...reply.headers };
    let payload: Buffer | undefined;
    if (reply.json !== undefined) {
      payload = Buffer.from(JSON.stringify(reply.json));
      headers['content-type'] ??= 'application/json';
    } else if (reply.body !== undefined) {
      payload = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
    }
    if (payload) headers['content-length'] = String(payload.length);
    res.writeHead(reply.status ?? 200, headers);
    res.end(payload);
  }

  #sendError(res: http.ServerResponse, error: HttpError): void {
    const formatted =
      error.details.body !== undefined
        ? { contentType: 'application/json', body: error.details.body }
        : this.#config.formatError(error);
    const payload = typeof formatted.body === 'string' ? formatted.body : JSON.stringify(formatted.body);
    this.#send(res, {
      status: error.status,
      body: payload,
      headers: { 'content-type': formatted.contentType, ...error.details.headers },
    });
  }
}

function scriptedError(failure: ScriptedFailure): HttpError {
  const headers: Record<string, string> = { ...failure.headers };
  if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
  if (failure.retryAfterMs !== undefined) headers['retry-after-ms'] = String(failure.retryAfterMs);
  return new HttpError(failure.status, failure.message ?? defaultStatusMessage(failure.status), {
    code: failure.code,
    headers,
    body: failure.body,
  });
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<unknown> {
  if (raw.length === 0) return undefined;
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    return JSON.parse(raw.toString('utf8')) as unknown;
  }
  if (mediaType === 'multipart/form-data') {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType! } }).formData();
    const fields: MultipartBody = {};
    for (const [name, value] of form) {
      const entry: string | UploadedFile =
        typeof value === 'string'
          ? value
          : { filename: value.name, type: value.type, size: value.size, bytes: Buffer.from(await value.arrayBuffer()) };
      const existing = fields[name];
      if (existing === undefined) fields[name] = entry;
      else if (Array.isArray(existing)) existing.push(entry);
      else fields[name] = [existing, entry];
    }
    return fields;
  }
  if (mediaType.startsWith('text/') || mediaType === 'application/x-www-form-urlencoded') {
    return raw.toString('utf8');
  }
  return raw;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The bearer token of a request, or undefined. */
export function bearerToken(headers: Record<string, string>): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(headers['authorization'] ?? '');
  return match?.[1]?.trim();
}

/** Reads an object body or answers 400 the provider's way. */
export function objectBody(record: RecordedRequest): Record<string, unknown> {
  const body = record.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new HttpError(400, 'Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
