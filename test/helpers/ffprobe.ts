// Measures a media file with the ffprobe shipped through npm, independently
// of the gateway's own probing code.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

const run = promisify(execFile);

export interface Probe {
  durationSeconds: number;
  width: number;
  height: number;
  codec: string;
  pixelFormat: string;
  hasAudio: boolean;
  frameRate: number;
}

export async function ffprobe(file: string): Promise<Probe> {
  const { stdout } = await run(ffprobeInstaller.path, [
    '-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file,
  ]);
  const info = JSON.parse(stdout) as {
    streams: { codec_type: string; codec_name: string; width?: number; height?: number; pix_fmt?: string; r_frame_rate?: string }[];
    format: { duration: string };
  };
  const video = info.streams.find((s) => s.codec_type === 'video');
  if (!video) throw new Error(`${file} has no video stream`);
  const [num, den] = (video.r_frame_rate ?? '0/1').split('/').map(Number) as [number, number];
  return {
    durationSeconds: Number(info.format.duration),
    width: video.width!,
    height: video.height!,
    codec: video.codec_name,
    pixelFormat: video.pix_fmt!,
    hasAudio: info.streams.some((s) => s.codec_type === 'audio'),
    frameRate: num / den,
  };
}
