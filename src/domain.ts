// The common job model. Everything past a provider adapter speaks only this.

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const MODALITIES = ['TEXT', 'CODE', 'IMAGE', 'AUDIO', 'VISION', 'VIDEO'] as const;
export type Modality = (typeof MODALITIES)[number];

export const JOB_OPERATIONS = ['GENERATE', 'EDIT', 'EXTEND', 'SPEAK', 'TRANSCRIBE', 'ANALYZE'] as const;
export type JobOperation = (typeof JOB_OPERATIONS)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Stable codes carried by JobError (a failed job) and by typed GraphQL errors. */
export type JobErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'NO_PROVIDER'
  | 'PROVIDER_ERROR'
  | 'PROVIDER_AUTH'
  | 'PROVIDER_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'CONTENT_REJECTED'
  | 'BUDGET_EXCEEDED'
  | 'CONFLICT'
  | 'CANCELED'
  | 'INTERNAL';

export interface JobErrorInfo {
  code: JobErrorCode;
  message: string;
  retryable: boolean;
}

/** What a finished job produced, as clients see it (JobOutput in the schema). */
export interface JobOutputInfo {
  text?: string;
  url?: string;
  urls?: string[];
  mimeType?: string;
  durationSeconds?: number;
  width?: number;
  height?: number;
  bytes?: number;
  /** Store keys of the media files behind url/urls; never shown to clients. */
  mediaKeys?: string[];
  /** Extra fields a modality returns (code language, ...). */
  language?: string;
}

export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

export const VIDEO_RESOLUTIONS = ['480p', '720p', '1080p'] as const;
export type VideoResolution = (typeof VIDEO_RESOLUTIONS)[number];

export const ASPECT_RATIOS = ['16:9', '9:16', '1:1', '4:3'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

/**
 * Frame size for a resolution and aspect ratio: the resolution names the short
 * side (720p is 1280x720 landscape, 720x1280 portrait), both sides even for yuv420p.
 */
export function frameSize(resolution: VideoResolution, aspectRatio: AspectRatio): { width: number; height: number } {
  const shortSide = Number.parseInt(resolution, 10);
  const [w, h] = aspectRatio.split(':').map(Number) as [number, number];
  const even = (n: number) => Math.round(n / 2) * 2;
  if (w >= h) return { width: even((shortSide * w) / h), height: shortSide };
  return { width: shortSide, height: even((shortSide * h) / w) };
}
