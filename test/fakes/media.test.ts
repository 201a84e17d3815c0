import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { FAKE_VIDEO, MediaHost, fakeMediaFiles } from './media.js';

const run = promisify(execFile);

async function probe(file: string): Promise<{ streams: Array<Record<string, unknown>>; format: Record<string, unknown> }> {
  const ffprobe = (await import('@ffprobe-installer/ffprobe')).default.path;
  const { stdout } = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]);
  return JSON.parse(stdout) as { streams: Array<Record<string, unknown>>; format: Record<string, unknown> };
}

describe('fake media', () => {
  it('makes real media once per process', async () => {
    const files = await fakeMediaFiles();
    expect(await fakeMediaFiles()).toBe(files);

    const mp4 = await probe(files.mp4);
    const video = mp4.streams.find((s) => s['codec_type'] === 'video')!;
    const audio = mp4.streams.find((s) => s['codec_type'] === 'audio')!;
    expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: FAKE_VIDEO.width, height: FAKE_VIDEO.height });
    expect(audio).toMatchObject({ codec_name: 'aac' });
    expect(Number(mp4.format['duration'])).toBeCloseTo(FAKE_VIDEO.seconds, 0);

    expect((await probe(files.png)).streams[0]).toMatchObject({ codec_name: 'png' });
    expect((await probe(files.mp3)).streams[0]).toMatchObject({ codec_name: 'mp3' });
    expect((await probe(files.wav)).streams[0]).toMatchObject({ codec_name: 'pcm_s16le' });
    expect((await probe(files.webm)).streams.map((s) => s['codec_name'])).toEqual(['vp8', 'vorbis']);
  });
});

describe('MediaHost', () => {
  const clock = new ManualClock();
  let host: MediaHost;

  beforeAll(async () => {
    host = await MediaHost.start({ clock, ttlMs: 60_000 });
  });
  afterAll(() => host.close());

  it('serves a published file with its type and length', async () => {
    const url = host.publish('mp4');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const size = (await stat(host.files.mp4)).size;
    expect(response.headers.get('content-length')).toBe(String(size));
    expect((await response.arrayBuffer()).byteLength).toBe(size);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(size));

    const partial = await fetch(url, { headers: { range: 'bytes=0-9' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 0-9/${size}`);
    expect((await partial.arrayBuffer()).byteLength).toBe(10);
  });

  it('answers 403 once a URL is past its TTL, and for a tampered signature', async () => {
    const url = host.publish('png', { ttlMs: 1_000 });
    expect((await fetch(url)).status).toBe(200);
    clock.advance(1_000);
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('<Code>AccessDenied</Code>');

    const other = host.publish('png');
    expect((await fetch(other.replace(/X-Signature=\w+/, 'X-Signature=forged'))).status).toBe(403);
    expect((await fetch(other.replace(/X-Expires=\d+/, 'X-Expires=9999999999'))).status).toBe(403);
  });

  it('expires a URL on demand and answers 404 for an unknown key', async () => {
    const url = host.publish('mp3');
    expect(host.isLive(url)).toBe(true);
    host.expire(url);
    expect(host.isLive(url)).toBe(false);
    expect((await fetch(url)).status).toBe(403);
    const unknown = url.replace(/outputs\/[^/]+\//, 'outputs/00000000-0000-0000-0000-000000000000/');
    expect((await fetch(unknown)).status).toBe(404);
  });
});
