import { JOB_OPERATIONS, JOB_STATUSES, MODALITIES } from '../../domain.js';
import { builder } from '../builder.js';

export const ModalityEnum = builder.enumType('Modality', { values: MODALITIES });

export const JobOperationEnum = builder.enumType('JobOperation', {
  values: {
    GENERATE: { description: 'text, code, image, video' },
    EDIT: { description: 'video to video' },
    EXTEND: { description: 'video made longer' },
    SPEAK: { description: 'audio: text to speech' },
    TRANSCRIBE: { description: 'audio: speech to text' },
    ANALYZE: { description: 'vision: answer a prompt about an image' },
  } satisfies Record<(typeof JOB_OPERATIONS)[number], { description: string }>,
});

export const JobStatusEnum = builder.enumType('JobStatus', { values: JOB_STATUSES });

export const TierEnum = builder.enumType('Tier', { values: ['ECONOMY', 'STANDARD', 'PREMIUM'] as const });

export const RoutingStrategyEnum = builder.enumType('RoutingStrategy', {
  values: ['BALANCED', 'CHEAPEST', 'FASTEST', 'BEST_QUALITY'] as const,
});
