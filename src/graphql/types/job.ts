import type { JobAttemptRow } from '../../db/schema.js';
import type { JobErrorInfo, JobOutputInfo } from '../../domain.js';
import type { JobChangedEvent } from '../../jobs/job-events.js';
import type { JobRecord } from '../../jobs/job-store.js';
import { builder } from '../builder.js';
import { JobOperationEnum, JobStatusEnum, ModalityEnum } from './enums.js';

export const NodeInterface = builder.interfaceRef<{ id: string }>('Node').implement({
  fields: (t) => ({ id: t.exposeID('id') }),
});

export const JobErrorType = builder.objectRef<JobErrorInfo>('JobError').implement({
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
    retryable: t.exposeBoolean('retryable'),
  }),
});

export const JobOutputType = builder.objectRef<JobOutputInfo>('JobOutput').implement({
  fields: (t) => ({
    text: t.exposeString('text', { nullable: true, description: 'TEXT, CODE, TRANSCRIBE, ANALYZE' }),
    url: t.string({
      nullable: true,
      description: 'IMAGE, SPEAK, VIDEO: served by this API, never an expiring provider URL',
      resolve: (output, _args, context) => {
        const key = output.mediaKeys?.[0];
        return key ? mediaUrl(context.publicBaseUrl(), key) : null;
      },
    }),
    urls: t.stringList({
      nullable: true,
      resolve: (output, _args, context) =>
        output.mediaKeys ? output.mediaKeys.map((key) => mediaUrl(context.publicBaseUrl(), key)) : null,
    }),
    mimeType: t.exposeString('mimeType', { nullable: true }),
    durationSeconds: t.exposeFloat('durationSeconds', {
      nullable: true,
      description: 'audio and video, measured from the stored file',
    }),
    width: t.exposeInt('width', { nullable: true }),
    height: t.exposeInt('height', { nullable: true }),
    bytes: t.exposeInt('bytes', { nullable: true }),
    language: t.exposeString('language', { nullable: true, description: 'CODE: the language of the code' }),
  }),
});

function mediaUrl(base: string, key: string): string {
  return `${base}/media/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export const JobAttemptType = builder.objectRef<JobAttemptRow>('JobAttempt').implement({
  fields: (t) => ({
    provider: t.exposeString('provider'),
    model: t.exposeString('model', { nullable: true }),
    status: t.field({ type: JobStatusEnum, resolve: (attempt) => attempt.status }),
    error: t.field({ type: JobErrorType, nullable: true, resolve: (attempt) => attempt.error }),
    costUsd: t.exposeFloat('costUsd', { nullable: true }),
    startedAt: t.field({ type: 'DateTime', resolve: (attempt) => attempt.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (attempt) => attempt.finishedAt }),
  }),
});

export const JobType = builder.objectRef<JobRecord>('Job').implement({
  interfaces: [NodeInterface],
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'modality' in value && 'attempts' in value,
  fields: (t) => ({
    modality: t.field({ type: ModalityEnum, resolve: (job) => job.modality }),
    operation: t.field({ type: JobOperationEnum, resolve: (job) => job.operation }),
    status: t.field({ type: JobStatusEnum, resolve: (job) => job.status }),
    progress: t.exposeFloat('progress', { nullable: true, description: '0..1; null while unknown' }),
    message: t.exposeString('message', {
      nullable: true,
      description: 'a note from the provider about the job now, e.g. that it is throttled',
    }),
    provider: t.exposeString('provider', {
      nullable: true,
      description: 'the provider serving the job now, or the one that finished it',
    }),
    model: t.exposeString('model', { nullable: true }),
    experiment: t.exposeString('experiment', {
      nullable: true,
      description: 'the routing experiment whose variant chose the provider, if one did',
    }),
    variant: t.exposeString('variant', { nullable: true, description: 'the variant of `experiment` this job was routed by' }),
    prompt: t.exposeString('prompt', { nullable: true }),
    output: t.field({ type: JobOutputType, nullable: true, resolve: (job) => job.output }),
    error: t.field({ type: JobErrorType, nullable: true, resolve: (job) => job.error }),
    attempts: t.field({
      type: [JobAttemptType],
      description: 'in order; every fallback adds one',
      resolve: (job) => job.attempts,
    }),
    costUsd: t.exposeFloat('costUsd', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (job) => job.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (job) => job.updatedAt }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (job) => job.completedAt }),
  }),
});

export const JobPayloadType = builder.objectRef<{ job: JobRecord }>('JobPayload').implement({
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'job' in value && !('at' in value),
  fields: (t) => ({ job: t.field({ type: JobType, resolve: (payload) => payload.job }) }),
});

export const JobProgressEventType = builder.objectRef<JobChangedEvent>('JobProgressEvent').implement({
  fields: (t) => ({
    job: t.field({ type: JobType, description: 'the whole job as it stands after this change', resolve: (e) => e.job }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

export interface JobConnectionShape {
  edges: { cursor: string; node: JobRecord }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export const JobEdgeType = builder.objectRef<JobConnectionShape['edges'][number]>('JobEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: JobType, resolve: (edge) => edge.node }),
  }),
});

export const PageInfoType = builder.objectRef<JobConnectionShape['pageInfo']>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage'),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

export const JobConnectionType = builder.objectRef<JobConnectionShape>('JobConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [JobEdgeType], resolve: (c) => c.edges }),
    pageInfo: t.field({ type: PageInfoType, resolve: (c) => c.pageInfo }),
  }),
});
