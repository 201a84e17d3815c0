// Bad input answers typed errors (and the server keeps serving), idempotency
// keys, and reading jobs back: job, node, and the jobs connection.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_FIELDS, startGateway, type TestGateway } from '../helpers/gateway.js';

const GENERATE = `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { ${RESULT_FIELDS} } }`;
const EDIT = `mutation ($input: EditVideoInput!) { editVideo(input: $input) { ${RESULT_FIELDS} } }`;
const EXTEND = `mutation ($input: ExtendVideoInput!) { extendVideo(input: $input) { ${RESULT_FIELDS} } }`;
const SOME_JOB = '0190f0e0-0000-7000-8000-000000000001';

let gateway: TestGateway;

beforeAll(async () => {
  // The poller is not started: these jobs stay QUEUED, nothing renders.
  gateway = await startGateway({ overrides: { startPoller: false } });
});

afterAll(async () => {
  await gateway?.close();
});

describe('bad input answers a typed error naming the field', () => {
  const cases: [string, string, Record<string, unknown>, string, string][] = [
    ['empty prompt', GENERATE, { prompt: '   ' }, 'ValidationError', 'input.prompt'],
    ['prompt over 4,000 characters', GENERATE, { prompt: 'x'.repeat(4001) }, 'ValidationError', 'input.prompt'],
    ['durationSeconds 0', GENERATE, { prompt: 'p', durationSeconds: 0 }, 'ValidationError', 'input.durationSeconds'],
    ['durationSeconds negative', GENERATE, { prompt: 'p', durationSeconds: -1 }, 'ValidationError', 'input.durationSeconds'],
    ['durationSeconds over 60', GENERATE, { prompt: 'p', durationSeconds: 60.5 }, 'ValidationError', 'input.durationSeconds'],
    ['fps 0', GENERATE, { prompt: 'p', fps: 0 }, 'ValidationError', 'input.fps'],
    ['fps 61', GENERATE, { prompt: 'p', fps: 61 }, 'ValidationError', 'input.fps'],
    ['unknown resolution', GENERATE, { prompt: 'p', resolution: '4k' }, 'ValidationError', 'input.resolution'],
    ['unknown aspect ratio', GENERATE, { prompt: 'p', aspectRatio: '21:9' }, 'ValidationError', 'input.aspectRatio'],
    ['edit with both sources', EDIT, { prompt: 'reverse', sourceJobId: SOME_JOB, sourceVideoUrl: 'https://example.com/a.mp4' }, 'ValidationError', 'input.sourceJobId'],
    ['edit with neither source', EDIT, { prompt: 'reverse' }, 'ValidationError', 'input'],
    ['edit from a non-https URL', EDIT, { prompt: 'reverse', sourceVideoUrl: 'http://example.com/a.mp4' }, 'ValidationError', 'input.sourceVideoUrl'],
    ['edit from something not a URL', EDIT, { prompt: 'reverse', sourceVideoUrl: 'not a url' }, 'ValidationError', 'input.sourceVideoUrl'],
    ['edit with an empty prompt', EDIT, { prompt: '', sourceVideoUrl: 'https://example.com/a.mp4' }, 'ValidationError', 'input.prompt'],
    ['extend with both sources', EXTEND, { extensionSeconds: 2, sourceJobId: SOME_JOB, sourceVideoUrl: 'https://example.com/a.mp4' }, 'ValidationError', 'input.sourceJobId'],
    ['extend with neither source', EXTEND, { extensionSeconds: 2 }, 'ValidationError', 'input'],
    ['extend from a non-https URL', EXTEND, { extensionSeconds: 2, sourceVideoUrl: 'ftp://example.com/a.mp4' }, 'ValidationError', 'input.sourceVideoUrl'],
    ['extend by 0 seconds', EXTEND, { extensionSeconds: 0, sourceVideoUrl: 'https://example.com/a.mp4' }, 'ValidationError', 'input.extensionSeconds'],
    ['extend by over 60 seconds', EXTEND, { extensionSeconds: 61, sourceVideoUrl: 'https://example.com/a.mp4' }, 'ValidationError', 'input.extensionSeconds'],
    ['empty idempotency key', GENERATE, { prompt: 'p', idempotencyKey: '' }, 'ValidationError', 'input.idempotencyKey'],
  ];

  it.each(cases)('%s', async (_name, mutation, input, typename, field) => {
    const data = await gateway.graphql(mutation, { input });
    const result = Object.values(data)[0] as any;
    expect(result).toMatchObject({ __typename: typename, code: 'VALIDATION', field });
    expect(result.message.length).toBeGreaterThan(0);
  });

  it('NotFoundError for an unknown source job, a malformed id, and a source that is not a finished video', async () => {
    const unknown = await gateway.graphql(EDIT, { input: { prompt: 'reverse', sourceJobId: SOME_JOB } });
    expect(unknown.editVideo).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const malformed = await gateway.graphql(EXTEND, { input: { extensionSeconds: 1, sourceJobId: 'nope' } });
    expect(malformed.extendVideo).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const queued = await gateway.graphql(GENERATE, { input: { prompt: 'still queued' } });
    const notFinished = await gateway.graphql(EDIT, { input: { prompt: 'reverse', sourceJobId: queued.generateVideo.job.id } });
    expect(notFinished.editVideo).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect(notFinished.editVideo.message).toContain('not a finished video job');
  });

  it('NoProviderError for a generative edit, image-to-video and the cloud-only modalities', async () => {
    const generative = await gateway.graphql(EDIT, {
      input: { prompt: 'turn the cat into a dog', sourceVideoUrl: 'https://example.com/cat.mp4' },
    });
    expect(generative.editVideo).toMatchObject({ __typename: 'NoProviderError', code: 'NO_PROVIDER' });
    expect(generative.editVideo.message).toMatch(/generative/);
    const imageToVideo = await gateway.graphql(GENERATE, {
      input: { prompt: 'animate this', imageUrl: 'https://example.com/a.png' },
    });
    expect(imageToVideo.generateVideo).toMatchObject({ __typename: 'NoProviderError', code: 'NO_PROVIDER' });
    const text = await gateway.graphql(
      `mutation { generateText(input: { prompt: "hi" }) { __typename ... on NoProviderError { code message enablingKeys } } }`,
    );
    expect(text.generateText).toMatchObject({ __typename: 'NoProviderError', code: 'NO_PROVIDER', enablingKeys: ['TOGETHER_API_KEY'] });
  });

  it('nothing invalid was stored, and the server still serves', async () => {
    const data = await gateway.graphql(`{ jobs(first: 100) { edges { node { prompt } } } }`);
    expect(data.jobs.edges.map((e: any) => e.node.prompt)).toEqual(['still queued']);
  });
});

describe('idempotencyKey', () => {
  it('returns the existing job for the same input and CONFLICT for another', async () => {
    const input = { prompt: 'idempotent', durationSeconds: 3, idempotencyKey: 'key-1' };
    const first = await gateway.graphql(GENERATE, { input });
    const second = await gateway.graphql(GENERATE, { input });
    expect(second.generateVideo.job.id).toBe(first.generateVideo.job.id);
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => gateway.graphql(GENERATE, { input: { ...input, idempotencyKey: 'key-2' } })),
    );
    expect(new Set(concurrent.map((c) => c.generateVideo.job.id)).size).toBe(1);
    const other = await gateway.graphql(GENERATE, { input: { ...input, durationSeconds: 4 } });
    expect(other.generateVideo).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });
});

describe('reading jobs', () => {
  it('job, node, and a newest-first connection with opaque cursors and filters', async () => {
    const ids: string[] = [];
    for (const prompt of ['list one', 'list two', 'list three']) {
      const data = await gateway.graphql(GENERATE, { input: { prompt } });
      ids.push(data.generateVideo.job.id);
    }
    const job = await gateway.graphql(`query ($id: ID!) { job(id: $id) { id prompt status } }`, { id: ids[0] });
    expect(job.job).toEqual({ id: ids[0], prompt: 'list one', status: 'QUEUED' });
    const node = await gateway.graphql(`query ($id: ID!) { node(id: $id) { __typename id ... on Job { prompt } } }`, { id: ids[1] });
    expect(node.node).toEqual({ __typename: 'Job', id: ids[1], prompt: 'list two' });
    expect((await gateway.graphql(`{ job(id: "${SOME_JOB}") { id } }`)).job).toBeNull();
    expect((await gateway.graphql(`{ node(id: "garbage") { id } }`)).node).toBeNull();

    const page = `query ($after: String) { jobs(first: 2, after: $after, status: QUEUED, modality: VIDEO) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const first = await gateway.graphql(page);
    expect(first.jobs.edges.map((e: any) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(first.jobs.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.jobs.edges[0].cursor).not.toContain(ids[2]);
    const second = await gateway.graphql(page, { after: first.jobs.pageInfo.endCursor });
    expect(second.jobs.edges[0].node.id).toBe(ids[0]);
    const none = await gateway.graphql(`{ jobs(first: 5, status: SUCCEEDED) { edges { node { id } } pageInfo { hasNextPage } } }`);
    expect(none.jobs).toEqual({ edges: [], pageInfo: { hasNextPage: false } });
    const other = await gateway.graphql(`{ jobs(first: 5, modality: TEXT) { edges { node { id } } } }`);
    expect(other.jobs.edges).toEqual([]);
  });

  it('refuses a cursor it did not make', async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ jobs(after: "bm9wZQ") { edges { cursor } } }` }),
    });
    const body = (await response.json()) as any;
    expect(body.errors[0].extensions).toMatchObject({ code: 'VALIDATION', field: 'after' });
  });
});
