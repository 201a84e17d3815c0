// What the router is asked: the work (a normalised video spec, or a short
// modality with a usage estimate) and the caller's routing wishes (pin, tier,
// strategy, budget). Built by the job services from their validated specs.

import { assertUnreachable, type AspectRatio, type JobOperation, type Modality, type VideoResolution } from '../domain.js';
import type { RoutingPin, VideoSpec } from '../jobs/video-requests.js';

export const STRATEGIES = ['BALANCED', 'CHEAPEST', 'FASTEST', 'BEST_QUALITY'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const TIERS = ['PREMIUM', 'STANDARD', 'ECONOMY'] as const;
export type Tier = (typeof TIERS)[number];

export const COMPLEXITIES = ['SIMPLE', 'STANDARD', 'COMPLEX'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

/** What is known of a source video before submission (measured from a source job; unknown for a URL not fetched yet). */
export interface SourceFacts {
  durationSeconds: number;
  width: number;
  height: number;
}

export type VideoWork =
  | {
      operation: 'GENERATE';
      prompt: string;
      durationSeconds: number;
      fps: number;
      resolution: VideoResolution;
      aspectRatio: AspectRatio;
      imageUrl?: string;
    }
  | { operation: 'EDIT'; prompt: string; sourceFacts?: SourceFacts }
  | { operation: 'EXTEND'; prompt?: string; extensionSeconds: number; sourceFacts?: SourceFacts };

/** Sizes a short call is priced by; what is missing is estimated from the defaults in capabilities.ts. */
export interface UsageEstimate {
  inputTokens?: number;
  outputTokens?: number;
  /** Speech: characters of text to speak. */
  characters?: number;
  /** Transcription: seconds of audio. */
  audioSeconds?: number;
  /** Images: how many, and their size. */
  images?: number;
  width?: number;
  height?: number;
}

export type ShortModality = Exclude<Modality, 'VIDEO'>;

export type RouteWork =
  | { modality: 'VIDEO'; operation: VideoWork['operation']; video: VideoWork }
  | { modality: ShortModality; operation: JobOperation; usage?: UsageEstimate };

export interface RouteWishes {
  pin?: RoutingPin;
  tier?: Tier;
  /** Overrides the tier's and the policy's strategy. */
  strategy?: Strategy;
  /** Candidates whose estimate is above this are refused. */
  maxCostUsd?: number;
  /** Identifies the caller for sticky experiment variants (a hash of the API key or user id). */
  callerKey?: string;
}

export type RouteRequest = RouteWork & RouteWishes;

/** A route request for a validated video spec. */
export function videoRouteRequest(spec: VideoSpec, options: Omit<RouteWishes, 'pin'> & { sourceFacts?: SourceFacts } = {}): RouteRequest {
  const { sourceFacts, ...wishes } = options;
  const video: VideoWork = videoWork(spec, sourceFacts);
  return { modality: 'VIDEO', operation: spec.operation, video, ...(spec.routing ? { pin: spec.routing } : {}), ...wishes };
}

function videoWork(spec: VideoSpec, sourceFacts: SourceFacts | undefined): VideoWork {
  switch (spec.operation) {
    case 'GENERATE':
      return {
        operation: 'GENERATE',
        prompt: spec.prompt,
        durationSeconds: spec.durationSeconds,
        fps: spec.fps,
        resolution: spec.resolution,
        aspectRatio: spec.aspectRatio,
        ...(spec.imageUrl ? { imageUrl: spec.imageUrl } : {}),
      };
    case 'EDIT':
      return { operation: 'EDIT', prompt: spec.prompt, ...(sourceFacts ? { sourceFacts } : {}) };
    case 'EXTEND':
      return {
        operation: 'EXTEND',
        extensionSeconds: spec.extensionSeconds,
        ...(spec.prompt ? { prompt: spec.prompt } : {}),
        ...(sourceFacts ? { sourceFacts } : {}),
      };
    default:
      return assertUnreachable(spec);
  }
}
