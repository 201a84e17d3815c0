// Requests and capabilities for the routing tests. The synthetic text
// providers differ on one figure each, so every strategy has a different
// winner: alpha is the cheapest, beta the fastest, gamma the best rated.

import type { AspectRatio, VideoResolution } from '../../src/domain.js';
import type { Capability } from '../../src/routing/capabilities.js';
import { parseRoutingPolicy, type RouteRuleInput, type RoutingPolicy } from '../../src/routing/policy.js';
import type { RouteRequest, RouteWishes } from '../../src/routing/request.js';

export const textCapabilities: Capability[] = [
  {
    provider: 'alpha',
    model: 'a-1',
    modality: 'TEXT',
    operations: ['GENERATE'],
    price: { kind: 'per-job', usdPerJob: 0.01 },
    expected: { latencyMs: 10_000, successRate: 0.9, rating: 3 },
  },
  {
    provider: 'beta',
    model: 'b-1',
    modality: 'TEXT',
    operations: ['GENERATE'],
    price: { kind: 'per-job', usdPerJob: 0.05 },
    expected: { latencyMs: 1_000, successRate: 0.95, rating: 3.5 },
  },
  {
    provider: 'gamma',
    model: 'g-1',
    modality: 'TEXT',
    operations: ['GENERATE'],
    price: { kind: 'per-job', usdPerJob: 0.2 },
    expected: { latencyMs: 5_000, successRate: 0.99, rating: 4.8 },
  },
];

export function textRequest(wishes: RouteWishes = {}): RouteRequest {
  return { modality: 'TEXT', operation: 'GENERATE', ...wishes };
}

export function generateRequest(
  video: {
    durationSeconds?: number;
    resolution?: VideoResolution;
    aspectRatio?: AspectRatio;
    fps?: number;
    imageUrl?: string;
    prompt?: string;
  } = {},
  wishes: RouteWishes = {},
): RouteRequest {
  return {
    modality: 'VIDEO',
    operation: 'GENERATE',
    video: {
      operation: 'GENERATE',
      prompt: video.prompt ?? 'A lighthouse at dusk, waves rolling in',
      durationSeconds: video.durationSeconds ?? 5,
      fps: video.fps ?? 24,
      resolution: video.resolution ?? '720p',
      aspectRatio: video.aspectRatio ?? '16:9',
      ...(video.imageUrl ? { imageUrl: video.imageUrl } : {}),
    },
    ...wishes,
  };
}

export function editRequest(prompt: string, wishes: RouteWishes = {}): RouteRequest {
  return {
    modality: 'VIDEO',
    operation: 'EDIT',
    video: { operation: 'EDIT', prompt, sourceFacts: { durationSeconds: 5, width: 1280, height: 720 } },
    ...wishes,
  };
}

export function extendRequest(prompt: string | undefined, extensionSeconds: number, wishes: RouteWishes = {}): RouteRequest {
  return {
    modality: 'VIDEO',
    operation: 'EXTEND',
    video: {
      operation: 'EXTEND',
      extensionSeconds,
      ...(prompt ? { prompt } : {}),
      sourceFacts: { durationSeconds: 5, width: 1280, height: 720 },
    },
    ...wishes,
  };
}

/** A policy with these rules and defaults for everything else. */
export function policyWith(...policies: RouteRuleInput[]): RoutingPolicy {
  return parseRoutingPolicy({ version: 1, updatedAt: '2025-01-01T00:00:00.000Z', updatedBy: 'test', policies });
}
