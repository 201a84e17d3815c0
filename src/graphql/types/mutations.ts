// Thin resolvers: parse the input, call one service, map the result.

import { NoProviderError, ValidationError } from '../../errors.js';
import { parseEditVideo, parseExtendVideo, parseGenerateVideo } from '../../jobs/video-requests.js';
import { builder } from '../builder.js';
import {
  AnalyzeImageInput,
  EditVideoInput,
  ExtendVideoInput,
  GenerateCodeInput,
  GenerateImageInput,
  GenerateSpeechInput,
  GenerateTextInput,
  GenerateVideoInput,
  TranscribeAudioInput,
} from './inputs.js';
import { errorResult } from './errors.js';
import { jobResult, JobResultUnion } from './job-result.js';

function idempotencyKey(value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  if (value.trim() === '' || value.length > 200) {
    throw new ValidationError('idempotencyKey must have 1 to 200 characters', 'input.idempotencyKey');
  }
  return value;
}

builder.mutationFields((t) => ({
  generateVideo: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: GenerateVideoInput, required: true }) },
    resolve: (_root, { input }, context) =>
      jobResult(() => context.videoJobs.create(parseGenerateVideo(input), idempotencyKey(input.idempotencyKey))),
  }),
  editVideo: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: EditVideoInput, required: true }) },
    resolve: (_root, { input }, context) =>
      jobResult(() => context.videoJobs.create(parseEditVideo(input), idempotencyKey(input.idempotencyKey))),
  }),
  extendVideo: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: ExtendVideoInput, required: true }) },
    resolve: (_root, { input }, context) =>
      jobResult(() => context.videoJobs.create(parseExtendVideo(input), idempotencyKey(input.idempotencyKey))),
  }),
  cancelJob: t.field({
    type: JobResultUnion,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, context) => jobResult(() => context.videoJobs.cancel(String(id))),
  }),
}));

/**
 * The short modalities are served by cloud providers only; with none
 * registered they answer NoProviderError naming the keys that would enable one.
 */
const cloudOnly = [
  ['generateText', GenerateTextInput, 'text generation'],
  ['generateCode', GenerateCodeInput, 'code generation'],
  ['generateImage', GenerateImageInput, 'image generation'],
  ['generateSpeech', GenerateSpeechInput, 'speech synthesis'],
  ['transcribeAudio', TranscribeAudioInput, 'transcription'],
  ['analyzeImage', AnalyzeImageInput, 'image analysis'],
] as const;

for (const [name, input, what] of cloudOnly) {
  builder.mutationField(name, (t) =>
    t.field({
      type: JobResultUnion,
      args: { input: t.arg({ type: input, required: true }) },
      resolve: () =>
        errorResult(new NoProviderError(`no registered provider serves ${what}: set TOGETHER_API_KEY to enable Together AI`, [
          'TOGETHER_API_KEY',
        ])),
    }),
  );
}
