// The short modalities: each mutation runs its job to the end and returns it
// finished (SUCCEEDED, or FAILED with the provider's error). Text and code
// stream their partial text to jobProgress subscribers meanwhile.

import {
  parseAnalyzeImage,
  parseGenerateCode,
  parseGenerateImage,
  parseGenerateSpeech,
  parseGenerateText,
  parseTranscribeAudio,
  type ShortSpec,
} from '../../jobs/short-requests.js';
import { parseIdempotencyKey } from '../../jobs/video-requests.js';
import { builder, type Context } from '../builder.js';
import {
  AnalyzeImageInput,
  GenerateCodeInput,
  GenerateImageInput,
  GenerateSpeechInput,
  GenerateTextInput,
  TranscribeAudioInput,
} from './inputs.js';
import { jobResult, JobResultUnion } from './job-result.js';

function run(context: Context, parse: () => ShortSpec, idempotencyKey: string | null | undefined) {
  return jobResult(async () => context.shortJobs.run(parse(), parseIdempotencyKey(idempotencyKey), context.clientKey));
}

builder.mutationFields((t) => ({
  generateText: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: GenerateTextInput, required: true }) },
    resolve: (_root, { input }, context) => run(context, () => parseGenerateText(input), input.idempotencyKey),
  }),
  generateCode: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: GenerateCodeInput, required: true }) },
    resolve: (_root, { input }, context) => run(context, () => parseGenerateCode(input), input.idempotencyKey),
  }),
  generateImage: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: GenerateImageInput, required: true }) },
    resolve: (_root, { input }, context) => run(context, () => parseGenerateImage(input), input.idempotencyKey),
  }),
  generateSpeech: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: GenerateSpeechInput, required: true }) },
    resolve: (_root, { input }, context) => run(context, () => parseGenerateSpeech(input), input.idempotencyKey),
  }),
  transcribeAudio: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: TranscribeAudioInput, required: true }) },
    resolve: (_root, { input }, context) => run(context, () => parseTranscribeAudio(input), input.idempotencyKey),
  }),
  analyzeImage: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: AnalyzeImageInput, required: true }) },
    resolve: (_root, { input }, context) => run(context, () => parseAnalyzeImage(input), input.idempotencyKey),
  }),
}));
