// The one output format of the local provider: H.264 in yuv420p (what every
// browser and phone plays), AAC audio, MP4 with the index up front so that
// playback can start before the download ends.

/**
 * x264's output depends on its thread count; a fixed count keeps a render
 * identical across machines with different core counts (same prompt and
 * seed, same frames).
 */
const X264_THREADS = 2;

export function h264Mp4OutputArgs(options: { audio: boolean } = { audio: false }): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '20',
    '-pix_fmt',
    'yuv420p',
    '-threads',
    String(X264_THREADS),
    ...(options.audio ? ['-c:a', 'aac', '-b:a', '128k'] : ['-an']),
    '-map_metadata',
    '-1',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
  ];
}
