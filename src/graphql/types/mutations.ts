// Thin resolvers: parse the input, call one service, map the result.

import { parseEditVideo, parseExtendVideo, parseGenerateVideo, parseIdempotencyKey } from '../../jobs/video-requests.js';
import { builder } from '../builder.js';
import { EditVideoInput, ExtendVideoInput, GenerateVideoInput } from './inputs.js';
import { jobResult, JobResultUnion } from './job-result.js';


builder.mutationFields((t) => ({
  generateVideo: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: GenerateVideoInput, required: true }) },
    resolve: (_root, { input }, context) =>
      jobResult(() => context.videoJobs.create(parseGenerateVideo(input), parseIdempotencyKey(input.idempotencyKey), context.clientKey)),
  }),
  editVideo: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: EditVideoInput, required: true }) },
    resolve: (_root, { input }, context) =>
      jobResult(() => context.videoJobs.create(parseEditVideo(input), parseIdempotencyKey(input.idempotencyKey), context.clientKey)),
  }),
  extendVideo: t.field({
    type: JobResultUnion,
    args: { input: t.arg({ type: ExtendVideoInput, required: true }) },
    resolve: (_root, { input }, context) =>
      jobResult(() => context.videoJobs.create(parseExtendVideo(input), parseIdempotencyKey(input.idempotencyKey), context.clientKey)),
  }),
  cancelJob: t.field({
    type: JobResultUnion,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, context) => jobResult(() => context.videoJobs.cancel(String(id))),
  }),
}));
