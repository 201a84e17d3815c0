import { GraphQLError } from 'graphql';
import { isJobId } from '../../jobs/video-requests.js';
import { builder } from '../builder.js';
import { JobStatusEnum, ModalityEnum } from './enums.js';
import { JobConnectionType, JobType, NodeInterface, type JobConnectionShape } from './job.js';

const MAX_PAGE = 100;

export function encodeCursor(jobId: string): string {
  return Buffer.from(`job:${jobId}`).toString('base64url');
}

export function decodeCursor(cursor: string): string | null {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = decoded.startsWith('job:') ? decoded.slice(4) : '';
  return isJobId(id) ? id : null;
}

builder.queryFields((t) => ({
  node: t.field({
    type: NodeInterface,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, context) => {
      const jobId = String(id);
      return isJobId(jobId) ? context.jobs.getWithAttempts(jobId) : null;
    },
  }),
  job: t.field({
    type: JobType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, context) => {
      const jobId = String(id);
      return isJobId(jobId) ? context.jobs.getWithAttempts(jobId) : null;
    },
  }),
  jobs: t.field({
    type: JobConnectionType,
    description: 'Newest first.',
    args: {
      first: t.arg.int({ description: `default 20, at most ${MAX_PAGE}` }),
      after: t.arg.string(),
      status: t.arg({ type: JobStatusEnum }),
      modality: t.arg({ type: ModalityEnum }),
    },
    resolve: async (_root, args, context): Promise<JobConnectionShape> => {
      const first = args.first ?? 20;
      if (first < 0 || first > MAX_PAGE) {
        throw new GraphQLError(`first must be from 0 to ${MAX_PAGE}`, { extensions: { code: 'VALIDATION', field: 'first' } });
      }
      let beforeId: string | undefined;
      if (args.after != null) {
        const decoded = decodeCursor(args.after);
        if (!decoded) throw new GraphQLError('after is not a cursor of this API', { extensions: { code: 'VALIDATION', field: 'after' } });
        beforeId = decoded;
      }
      const rows = await context.jobs.list({
        first: first + 1,
        beforeId,
        status: args.status ?? undefined,
        modality: args.modality ?? undefined,
      });
      const page = rows.slice(0, first);
      const attempts = await context.jobs.attemptsOf(page.map((job) => job.id));
      const edges = page.map((job) => ({ cursor: encodeCursor(job.id), node: { ...job, attempts: attempts.get(job.id) ?? [] } }));
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > first,
          hasPreviousPage: beforeId !== undefined,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  }),
}));
