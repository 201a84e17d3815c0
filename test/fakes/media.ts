// Real, small media for the fakes' outputs, made once per process with the
// bundled ffmpeg, and a host that serves them at URLs that expire the way a
// provider's signed storage URLs do (403 once past their TTL).

import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { systemClock, type Clock } from './clock.js';
import { FakeHttpServer, HttpError, type RecordedRequest, type RouteContext } from './fake-server.js';

const run = promisify(execFile);

export type MediaKind = 'mp4' | 'webm' | 'png' | 'mp3' | 'wav';

export const MEDIA_CONTENT_TYPES: Record<MediaKind, string> = {
  mp4: 'video/mp4',
  webm: 'video/webm',
  png: 'image/png',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

export interface FakeMediaFiles extends Record<MediaKind, string> {
  /** The directory holding them, under the system temp dir. */
  dir: string;
}

/** Frame size and length of the generated clips. */
export const FAKE_VIDEO = { width: 320, height: 180, fps: 24, seconds: 2 } as const;

let generated: Promise<FakeMediaFiles> | undefined;

export async function ffmpegPath(): Promise<string> {
  return (await import('@ffmpeg-installer/ffmpeg')).default.path;
}

/**
 * Generates the media once per process; later calls share the same files.
 * The files live in a directory named after a hash of how they are made, so
 * processes (test workers, later runs) reuse them instead of encoding again.
 */
export function fakeMediaFiles(): Promise<FakeMediaFiles> {
  generated ??= generateMedia().catch((error: unknown) => {
    generated = undefined;
    throw error;
  });
  return generated;
}

const FILE_NAMES: Record<MediaKind, string> = {
  mp4: 'clip.mp4',
  webm: 'clip.webm',
  png: 'frame.png',
  mp3: 'tone.mp3',
  wav: 'tone.wav',
};

function ffmpegJobs(ffmpeg: string, dir: string): string[][] {
  const fontFile = createRequire(import.meta.url)
    .resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf')
    // drawtext's option parser treats ':' and '\' specially.
    .replace(/\\/g, '/')
    .replace(/:/g, '\\:');
  const { width, height, fps, seconds } = FAKE_VIDEO;
  const video = `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`;
  const label = `drawtext=fontfile=${fontFile}:text='aideon fake':fontsize=20:fontcolor=white:x=10:y=10`;
  const tone = (duration: number) => `sine=frequency=440:sample_rate=44100:duration=${duration}`;
  const out = (kind: MediaKind) => path.join(dir, FILE_NAMES[kind]);
  const common = [ffmpeg, '-hide_banner', '-loglevel', 'error', '-y'];
  return [
    [
      ...common,
      ...['-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', tone(seconds)],
      ...['-vf', label, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-c:a', 'aac', '-b:a', '64k', '-shortest', '-movflags', '+faststart', out('mp4')],
    ],
    [
      ...common,
      ...['-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', tone(seconds)],
      ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k'],
      ...['-c:a', 'libvorbis', '-shortest', out('webm')],
    ],
    [...common, '-f', 'lavfi', '-i', video, '-vf', label, '-frames:v', '1', out('png')],
    [...common, '-f', 'lavfi', '-i', tone(1), '-c:a', 'libmp3lame', '-b:a', '64k', out('mp3')],
    [...common, '-f', 'lavfi', '-i', tone(1), '-c:a', 'pcm_s16le', out('wav')],
  ];
}

async function generateMedia(): Promise<FakeMediaFiles> {
  const ffmpeg = await ffmpegPath();
  const recipe = createHash('sha256')
    .update(JSON.stringify(ffmpegJobs(ffmpeg, '')))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(tmpdir(), `aideon-fake-media-${recipe}`);
  const files = { dir, ...mapKinds((kind) => path.join(dir, FILE_NAMES[kind])) };
  if (await allExist(Object.values(FILE_NAMES).map((name) => path.join(dir, name)))) return files;

  // Encode into a private directory, then rename it into place in one step,
  // so a concurrent process never sees half-written files.
  const scratch = await mkdtemp(path.join(tmpdir(), 'aideon-fake-media-tmp-'));
  try {
    await Promise.all(ffmpegJobs(ffmpeg, scratch).map(([command, ...args]) => run(command!, args)));
    await rename(scratch, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process got there first: its files are as good as ours.
      if (error.code !== 'EEXIST' && error.code !== 'ENOTEMPTY') throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return files;
}

function mapKinds(value: (kind: MediaKind) => string): Record<MediaKind, string> {
  const kinds = Object.keys(FILE_NAMES) as MediaKind[];
  return Object.fromEntries(kinds.map((kind) => [kind, value(kind)])) as Record<MediaKind, string>;
}

async function allExist(paths: string[]): Promise<boolean> {
  const sizes = await Promise.all(paths.map((p) => stat(p).then((s) => s.size).catch(() => 0)));
  return sizes.every((size) => size > 0);
}

export interface MediaHostOptions {
  clock?: Clock;
  /** How long a published URL stays valid (default 10 minutes). */
  ttlMs?: number;
}

interface PublishedObject {
  kind: MediaKind;
  file: string;
  expiresAt: number;
}

/**
 * A signed-URL store on its own loopback port. URLs look like
 * `/outputs/<token>/<name>.<ext>?X-Expires=<unix s>&X-Signature=<hex>`:
 * unknown tokens answer 404, expired or tampered URLs 403, like S3 or GCS.
 */
export class MediaHost {
  /** TTL for URLs published from now on. */
  ttlMs: number;
  readonly #clock: Clock;
  readonly #files: FakeMediaFiles;
  readonly #server: FakeHttpServer;
  readonly #objects = new Map<string, PublishedObject>();
  readonly #key = randomBytes(32);

  static async start(options: MediaHostOptions = {}): Promise<MediaHost> {
    const host = new MediaHost(await fakeMediaFiles(), options);
    await host.#server.listen();
    return host;
  }

  private constructor(files: FakeMediaFiles, options: MediaHostOptions) {
    this.#files = files;
    this.#clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    const serve = (context: RouteContext) => this.#serve(context);
    this.#server = new FakeHttpServer({
      routes: [
        { method: 'GET', pattern: '/outputs/:token/:name', handler: serve },
        { method: 'HEAD', pattern: '/outputs/:token/:name', handler: serve },
      ],
      formatError: (error) => ({
        contentType: 'application/xml',
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${error.details.code ?? 'Error'}</Code><Message>${error.message}</Message></Error>`,
      }),
    });
  }

  get origin(): string {
    return this.#server.origin;
  }

  /** Every download attempt, for asserting what was fetched. */
  get requests(): RecordedRequest[] {
    return this.#server.requests;
  }

  get files(): FakeMediaFiles {
    return this.#files;
  }

  /** A fresh URL for one of the generated files, valid for `ttlMs` from now on the host's clock. */
  publish(kind: MediaKind, options: { ttlMs?: number; name?: string } = {}): string {
    const token = randomUUID();
    const expiresAt = this.#clock.now() + (options.ttlMs ?? this.ttlMs);
    this.#objects.set(token, { kind, file: this.#files[kind], expiresAt });
    const name = `${options.name ?? 'output'}.${kind}`;
    const expires = Math.ceil(expiresAt / 1000);
    const signature = this.#sign(token, expires);
    return `${this.origin}/outputs/${token}/${encodeURIComponent(name)}?X-Expires=${expires}&X-Signature=${signature}`;
  }

  /** Makes a published URL answer 403 from now on. */
  expire(url: string): void {
    const object = this.#objects.get(tokenOf(url));
    if (!object) throw new Error(`not a URL of this media host: ${url}`);
    object.expiresAt = this.#clock.now() - 1;
  }

  expireAll(): void {
    for (const object of this.#objects.values()) object.expiresAt = this.#clock.now() - 1;
  }

  isLive(url: string): boolean {
    const object = this.#objects.get(tokenOf(url));
    return object !== undefined && this.#clock.now() < object.expiresAt;
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  #sign(token: string, expires: number): string {
    return createHmac('sha256', this.#key).update(`${token}.${expires}`).digest('hex');
  }

  async #serve({ params, record, res, req }: RouteContext): Promise<'handled'> {
    const object = this.#objects.get(params['token'] ?? '');
    if (!object) throw new HttpError(404, 'The specified key does not exist.', { code: 'NoSuchKey' });
    const expires = Number(record.query['X-Expires']);
    const given = Buffer.from(record.query['X-Signature'] ?? '', 'utf8');
    const wanted = Buffer.from(this.#sign(params['token']!, expires), 'utf8');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new HttpError(403, 'The request signature we calculated does not match the signature you provided.', {
        code: 'SignatureDoesNotMatch',
      });
    }
    if (this.#clock.now() >= object.expiresAt) {
      throw new HttpError(403, 'Request has expired', { code: 'AccessDenied' });
    }

    const size = (await stat(object.file)).size;
    const range = parseRange(record.headers['range'], size);
    const headers: Record<string, string> = {
      'content-type': MEDIA_CONTENT_TYPES[object.kind],
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=0',
    };
    if (range === 'unsatisfiable') {
      throw new HttpError(416, 'The requested range is not satisfiable', {
        code: 'InvalidRange',
        headers: { 'content-range': `bytes */${size}` },
      });
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    headers['content-length'] = String(end - start + 1);
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
    } else {
      createReadStream(object.file, { start, end }).pipe(res);
    }
    return 'handled';
  }
}

function tokenOf(url: string): string {
  return new URL(url).pathname.split('/')[2] ?? '';
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!match) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  const start = from === '' ? Math.max(size - Number(to), 0) : Number(from);
  const end = from === '' || to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}
