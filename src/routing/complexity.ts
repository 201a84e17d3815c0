// How hard a video request is: SIMPLE when the local provider can do exactly
// what was asked (a title scene or plain text to video within the simple
// limits, an edit the local parser understands, an extension by freeze, loop
// or boomerang), COMPLEX for long or high-resolution work, a first-frame image
// or a generative edit, STANDARD otherwise. Thresholds come from the policy.
// The same reading tells which kind of edit or extension the request needs,
// which the capability filter checks.

import { VIDEO_RESOLUTIONS, assertUnreachable, type VideoResolution } from '../domain.js';
import { parseEditPrompt } from '../providers/local/edit-parser.js';
import { extendModeFromPrompt } from '../providers/local/extend.js';
import type { ComplexityThresholds } from './policy.js';
import type { Complexity, RouteRequest, VideoWork } from './request.js';

/** simple: the local editor's operations (a generative model can do them too); generative: only a model can. */
export type EditKind = 'simple' | 'generative';

/**
 * freeze, loop, boomerang: asked for by name (only the local provider does
 * them faithfully); continue: a prompt describing what happens next (a
 * generative continuation); any: no prompt, either will do.
 */
export type ExtendKind = 'freeze' | 'loop' | 'boomerang' | 'continue' | 'any';

export interface Classification {
  complexity: Complexity;
  /** Why, for explainRoute. */
  reasons: string[];
  edit?: EditKind;
  extend?: ExtendKind;
}

const FREEZE_WORDS = /\b(?:freeze|frozen|hold(?:s|ing)?|still|pause[sd]?|zoom(?:s|ing)?)\b/i;

const SHORT_WORK: Classification = { complexity: 'STANDARD', reasons: ['short modalities have one complexity'] };

export function classify(request: RouteRequest, thresholds: ComplexityThresholds): Classification {
  return request.modality === 'VIDEO' ? classifyVideo(request.video, thresholds) : SHORT_WORK;
}

export function classifyVideo(work: VideoWork, thresholds: ComplexityThresholds): Classification {
  switch (work.operation) {
    case 'GENERATE':
      return classifyGenerate(work, thresholds);
    case 'EDIT': {
      const parsed = parseEditPrompt(work.prompt);
      if (parsed.ok) {
        const kinds = parsed.operations.map((operation) => operation.kind).join(', ');
        return { complexity: 'SIMPLE', reasons: [`an edit the local editor understands (${kinds})`], edit: 'simple' };
      }
      return { complexity: 'COMPLEX', reasons: [`a generative edit: ${parsed.reason}`], edit: 'generative' };
    }
    case 'EXTEND': {
      const kind = extendKind(work.prompt);
      if (kind !== 'continue') {
        return {
          complexity: 'SIMPLE',
          reasons: [kind === 'any' ? 'an extension with no prompt' : `an extension by ${kind}`],
          extend: kind,
        };
      }
      const reasons = ['a generative continuation'];
      if (work.extensionSeconds > thresholds.longSeconds) reasons.push(`longer than ${thresholds.longSeconds} s`);
      const sourceSide = work.sourceFacts ? Math.min(work.sourceFacts.width, work.sourceFacts.height) : 0;
      if (sourceSide >= shortSide(thresholds.complexMinResolution)) reasons.push(`a source of ${thresholds.complexMinResolution} or more`);
      return { complexity: reasons.length > 1 ? 'COMPLEX' : 'STANDARD', reasons, extend: 'continue' };
    }
    default:
      return assertUnreachable(work);
  }
}

function classifyGenerate(work: Extract<VideoWork, { operation: 'GENERATE' }>, thresholds: ComplexityThresholds): Classification {
  const complex: string[] = [];
  if (work.durationSeconds > thresholds.longSeconds) complex.push(`longer than ${thresholds.longSeconds} s`);
  if (atLeast(work.resolution, thresholds.complexMinResolution)) {
    complex.push(`${work.resolution} is ${thresholds.complexMinResolution} or more`);
  }
  if (work.imageUrl && thresholds.imageConditioned === 'COMPLEX') complex.push('conditioned on a first-frame image');
  if (complex.length > 0) return { complexity: 'COMPLEX', reasons: complex };

  const standard: string[] = [];
  if (work.imageUrl) standard.push('conditioned on a first-frame image');
  if (work.durationSeconds > thresholds.simpleMaxSeconds) standard.push(`longer than ${thresholds.simpleMaxSeconds} s`);
  if (!atLeast(thresholds.simpleMaxResolution, work.resolution)) standard.push(`above ${thresholds.simpleMaxResolution}`);
  if (standard.length > 0) return { complexity: 'STANDARD', reasons: standard };
  return {
    complexity: 'SIMPLE',
    reasons: [`text to video within ${thresholds.simpleMaxSeconds} s and ${thresholds.simpleMaxResolution}`],
  };
}

export function extendKind(prompt: string | undefined): ExtendKind {
  const text = prompt?.trim() ?? '';
  if (text === '') return 'any';
  const mode = extendModeFromPrompt(text);
  if (mode !== 'freeze') return mode;
  // extendModeFromPrompt falls back to freeze for any text: only a prompt
  // that asks for it is one; anything else describes a continuation.
  return FREEZE_WORDS.test(text) ? 'freeze' : 'continue';
}

function shortSide(resolution: VideoResolution): number {
  return Number.parseInt(resolution, 10);
}

/** Whether `resolution` is at least `floor`. */
function atLeast(resolution: VideoResolution, floor: VideoResolution): boolean {
  return VIDEO_RESOLUTIONS.indexOf(resolution) >= VIDEO_RESOLUTIONS.indexOf(floor);
}
