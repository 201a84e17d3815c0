// The six short modalities end to end: GraphQL over HTTP and graphql-ws, the
// real together-ai SDK against the Together fake. The mutation returns the
// finished job; text and code stream their partial text to jobProgress.

import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/media/ffmpeg.js';
import { DEFAULT_TOGETHER_MODELS, defaultChatReply, startTogetherFake, type TogetherFake } from '../fakes/together.js';
import { PROGRESS_SUBSCRIPTION, RESULT_FIELDS, startGateway, type TestGateway } from '../helpers/gateway.js';

const API_KEY = 'test-key';
const RESULT = `${RESULT_FIELDS} ... on JobPayload { job { operation output { language } } } ... on NoProviderError { enablingKeys }`;
const mutation = (name: string, input: string) =>
  `mutation ($input: ${input}!) { ${name}(input: $input) { ${RESULT} } }`;
const TEXT = mutation('generateText', 'GenerateTextInput');
const CODE = mutation('generateCode', 'GenerateCodeInput');
const IMAGE = mutation('generateImage', 'GenerateImageInput');
const SPEECH = mutation('generateSpeech', 'GenerateSpeechInput');
const TRANSCRIBE = mutation('transcribeAudio', 'TranscribeAudioInput');
const VISION = mutation('analyzeImage', 'AnalyzeImageInput');

const STREAMED_REPLY = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
const CODE_REPLY = "```python\ndef hello():\n    print('hello')\n```";
/** Delay between SSE events on the way from the fake to the gateway. */
const SSE_EVENT_GAP_MS = 30;

let fake: TogetherFake;
let proxy: http.Server;
let gateway: TestGateway;

/**
 * Sits between the gateway and the fake and lets SSE events through one at a
 * time, like a model producing tokens (the fake writes its whole stream at once).
 */
async function startSlowStreamProxy(target: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!String(answer.headers['content-type']).startsWith('text/event-stream')) {
        answer.pipe(res);
        return;
      }
      let buffered = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => (buffered += chunk));
      answer.on('end', async () => {
        for (const event of buffered.split(/(?<=\n\n)/)) {
          res.write(event);
          await new Promise((resolve) => setTimeout(resolve, SSE_EVENT_GAP_MS));
        }
        res.end();
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  fake = await startTogetherFake({
    apiKey: API_KEY,
    // The adapter's default code model, which the fake's catalog lacks.
    models: [...DEFAULT_TOGETHER_MODELS, { ...DEFAULT_TOGETHER_MODELS[0]!, id: 'Qwen/Qwen2.5-Coder-32B-Instruct' }],
    chatReply: (body) => {
      const messages = body['messages'] as Array<{ role: string; content: unknown }>;
      if (messages.some((m) => m.role === 'system' && String(m.content).includes('programmer'))) return CODE_REPLY;
      if (JSON.stringify(messages).includes('stream please')) return STREAMED_REPLY;
      return defaultChatReply(body);
    },
  });
  proxy = await startSlowStreamProxy(new URL(fake.baseURL).origin);
  const { port } = proxy.address() as AddressInfo;
  gateway = await startGateway({ env: { TOGETHER_API_KEY: API_KEY, TOGETHER_BASE_URL: `http://127.0.0.1:${port}/v1` } });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await fake?.close();
});

async function run(query: string, input: Record<string, unknown>) {
  const data = await gateway.graphql(query, { input });
  return Object.values(data)[0] as any;
}

async function succeeded(query: string, input: Record<string, unknown>) {
  const result = await run(query, input);
  expect(result.__typename, JSON.stringify(result)).toBe('JobPayload');
  expect(result.job.status, JSON.stringify(result.job.error)).toBe('SUCCEEDED');
  expect(result.job.attempts).toHaveLength(1);
  expect(result.job.attempts[0]).toMatchObject({ provider: 'together', status: 'SUCCEEDED' });
  expect(result.job.attempts[0].model).toBeTruthy();
  expect(result.job.attempts[0].finishedAt).toBeTruthy();
  expect(result.job.provider).toBe('together');
  expect(result.job.model).toBe(result.job.attempts[0].model);
  return result.job;
}

/** Downloads a served output and measures it. */
async function served(url: string, contentType: string) {
  expect(url.startsWith(gateway.url)).toBe(true);
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain(contentType);
  const file = path.join(gateway.dataDir, `download-${randomUUID()}${path.extname(new URL(url).pathname)}`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return probeMedia(file);
}

describe('each short mutation returns its finished job', () => {
  it('generateText: the whole text, the attempt, and a cost from the usage', async () => {
    const job = await succeeded(TEXT, { prompt: 'Say hello', system: 'Be brief', maxTokens: 64, temperature: 0.2 });
    expect(job).toMatchObject({ modality: 'TEXT', operation: 'GENERATE', prompt: 'Say hello', progress: 1 });
    expect(job.output.text).toBe('Fake reply to: Say hello');
    expect(job.costUsd).toBeGreaterThan(0);
    expect(job.attempts[0].costUsd).toBe(job.costUsd);
    const sent = fake.lastRequest({ path: '/v1/chat/completions' })!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ stream: true, max_tokens: 64, temperature: 0.2 });
  });

  it('generateCode: the code without its fence, and its language', async () => {
    const job = await succeeded(CODE, { prompt: 'a hello function', language: 'python' });
    expect(job).toMatchObject({ modality: 'CODE', operation: 'GENERATE' });
    expect(job.output).toMatchObject({ text: "def hello():\n    print('hello')", language: 'python' });
    expect(job.costUsd).toBeGreaterThan(0);
  });

  it('generateImage: every image stored, served and measured', async () => {
    const job = await succeeded(IMAGE, { prompt: 'a red square', width: 512, height: 512, count: 2, seed: 3 });
    expect(job).toMatchObject({ modality: 'IMAGE', operation: 'GENERATE' });
    expect(job.output.urls).toHaveLength(2);
    expect(job.output.url).toBe(job.output.urls[0]);
    expect(job.output.mimeType).toBe('image/png');
    const probe = await served(job.output.url, 'image/png');
    expect(job.output).toMatchObject({ width: probe.width, height: probe.height, bytes: probe.bytes });
    expect(probe.width).toBeGreaterThan(0);
    await served(job.output.urls[1], 'image/png');
    expect(fake.lastRequest({ path: '/v1/images/generations' })!.body).toMatchObject({ n: 2, width: 512, height: 512, seed: 3 });
  });

  it('generateImage: the output is still served after the provider URL expired', async () => {
    const before = fake.media.requests.length;
    const job = await succeeded(IMAGE, { prompt: 'a blue square' });
    const download = fake.media.requests.slice(before).find((r) => r.method === 'GET')!;
    const providerUrl = `${fake.media.origin}${download.path}?${new URLSearchParams(download.query)}`;
    fake.expireOutput(providerUrl);
    expect((await fetch(providerUrl)).status).toBe(403);
    await served(job.output.url, 'image/png');
  });

  let speechJob: any;

  it('generateSpeech: the audio stored, served and measured', async () => {
    speechJob = await succeeded(SPEECH, { text: 'Hello there', format: 'mp3' });
    expect(speechJob).toMatchObject({ modality: 'AUDIO', operation: 'SPEAK', prompt: 'Hello there' });
    expect(speechJob.output.mimeType).toBe('audio/mpeg');
    const probe = await served(speechJob.output.url, 'audio/mpeg');
    expect(speechJob.output.durationSeconds).toBeCloseTo(probe.durationSeconds, 3);
    expect(speechJob.output.durationSeconds).toBeGreaterThan(0);
    expect(speechJob.output.bytes).toBe(probe.bytes);
  });

  it('transcribeAudio from a finished speech job uploads its stored file', async () => {
    const job = await succeeded(TRANSCRIBE, { sourceJobId: speechJob.id, language: 'en' });
    expect(job).toMatchObject({ modality: 'AUDIO', operation: 'TRANSCRIBE' });
    expect(job.output.text).toBe(fake.transcript);
    const sent = fake.lastRequest({ path: '/v1/audio/transcriptions' })!.body as Record<string, any>;
    expect(sent['file'].size).toBe(speechJob.output.bytes);
    expect(sent['language']).toBe('en');
  });

  it('transcribeAudio from an https URL hands the URL to the provider', async () => {
    const tls = new URL('../fixtures/tls/', import.meta.url);
    const wav = await readFile(fake.media.files.wav);
    const server: HttpsServer = createHttpsServer(
      { key: await readFile(new URL('key.pem', tls)), cert: await readFile(new URL('cert.pem', tls)) },
      (_req, res) => res.writeHead(200, { 'content-type': 'audio/wav', connection: 'close' }).end(wav),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/speech.wav`;
      const job = await succeeded(TRANSCRIBE, { audioUrl: url });
      expect(job.output.text).toBe(fake.transcript);
      expect((fake.lastRequest({ path: '/v1/audio/transcriptions' })!.body as Record<string, unknown>)['file']).toBe(url);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('analyzeImage: the answer about the image', async () => {
    const job = await succeeded(VISION, { imageUrl: 'https://example.com/cat.png', prompt: 'What is this?' });
    expect(job).toMatchObject({ modality: 'VISION', operation: 'ANALYZE' });
    expect(job.output.text).toBe('Fake reply to: What is this? (looked at 1 image)');
    expect(job.costUsd).toBeGreaterThan(0);
  });
});

describe('streaming', () => {
  it('jobProgress carries the partial text as it grows, then the whole text', async () => {
    const prompt = `stream please ${randomUUID()}`;
    const started = Date.now();
    const finished = run(TEXT, { prompt });
    // The mutation answers only when the job is done: find the job by its prompt meanwhile.
    let id: string | undefined;
    while (!id) {
      const data = await gateway.graphql(`{ jobs(first: 5, modality: TEXT) { edges { node { id prompt } } } }`);
      id = data.jobs.edges.find((edge: any) => edge.node.prompt === prompt)?.node.id;
      if (!id) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const events = (await gateway.subscribe(PROGRESS_SUBSCRIPTION, { jobId: id })).map((e) => e.jobProgress.job);
    const result = await finished;
    const elapsed = Date.now() - started;

    expect(result.job).toMatchObject({ id, status: 'SUCCEEDED', output: { text: STREAMED_REPLY } });
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', output: { text: STREAMED_REPLY } });
    const partials = events.filter((job) => job.status === 'RUNNING' && job.output?.text).map((job) => job.output.text as string);
    expect(partials.length).toBeGreaterThanOrEqual(3);
    for (const [i, text] of partials.entries()) {
      expect(STREAMED_REPLY.startsWith(text)).toBe(true);
      if (i > 0) expect(text.length).toBeGreaterThan(partials[i - 1]!.length);
    }
    expect(partials.at(-1)!.length).toBeLessThan(STREAMED_REPLY.length + 1);
    // Throttled: at most one partial per ~100 ms, not one per token (31 events here).
    expect(partials.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    // What a reader sees afterwards is the whole text.
    const read = await gateway.graphql(`query ($id: ID!) { job(id: $id) { status output { text } } }`, { id });
    expect(read.job).toEqual({ status: 'SUCCEEDED', output: { text: STREAMED_REPLY } });
  });
});

describe('cancelJob on a running short job', () => {
  it('aborts the streaming provider call: the mutation answers CANCELED before the stream would have ended', async () => {
    const prompt = `stream please ${randomUUID()}`;
    const started = Date.now();
    const finished = run(TEXT, { prompt });
    let id: string | undefined;
    while (!id) {
      const data = await gateway.graphql(`{ jobs(first: 5, modality: TEXT) { edges { node { id prompt status } } } }`);
      id = data.jobs.edges.find((edge: any) => edge.node.prompt === prompt && edge.node.status === 'RUNNING')?.node.id;
      if (!id) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const canceled = await gateway.graphql(`mutation ($id: ID!) { cancelJob(id: $id) { __typename ... on JobPayload { job { status } } } }`, { id });
    expect(canceled.cancelJob).toEqual({ __typename: 'JobPayload', job: { status: 'CANCELED' } });
    const result = await finished;
    expect(result.job.status).toBe('CANCELED');
    expect(result.job.attempts).toMatchObject([{ status: 'CANCELED' }]);
    // The whole stream takes about 31 events x 30 ms; the aborted call ends well before.
    const streamMs = STREAMED_REPLY.split(' ').length * SSE_EVENT_GAP_MS;
    expect(Date.now() - started).toBeLessThan(streamMs);
    const read = await gateway.graphql(`query ($id: ID!) { job(id: $id) { status } }`, { id });
    expect(read.job.status).toBe('CANCELED');
  });
});

describe('provider failures end the job FAILED with the provider error', () => {
  it('a 401 is PROVIDER_AUTH with the provider message and never the key', async () => {
    fake.failNext({ status: 401, message: `Invalid API key provided: ${API_KEY}`, code: 'invalid_api_key' });
    const result = await run(TEXT, { prompt: 'hello' });
    expect(result.__typename).toBe('JobPayload');
    expect(result.job.status).toBe('FAILED');
    expect(result.job.error).toMatchObject({ code: 'PROVIDER_AUTH', retryable: false });
    expect(result.job.error.message).toContain('Invalid API key provided');
    expect(JSON.stringify(result)).not.toContain(API_KEY);
    expect(result.job.attempts[0]).toMatchObject({ provider: 'together', status: 'FAILED', error: { code: 'PROVIDER_AUTH' } });
    expect(result.job.costUsd).toBeNull();
    const read = await gateway.graphql(`query ($id: ID!) { job(id: $id) { status error { code } } }`, { id: result.job.id });
    expect(read.job).toEqual({ status: 'FAILED', error: { code: 'PROVIDER_AUTH' } });
  });

  it('a 429 is RATE_LIMITED and retryable', async () => {
    fake.failNext({ status: 429, message: 'Rate limit exceeded', retryAfter: 1 });
    // Without fallbacks the first answer is final (with them, routing waits and asks again: below).
    const result = await run(IMAGE, { prompt: 'too many', routing: { allowFallback: false } });
    expect(result.job.status).toBe('FAILED');
    expect(result.job.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(result.job.output).toBeNull();
  });
});

describe('retries at submission', () => {
  it('a 429 with Retry-After is asked again after the wait, as a second attempt, and succeeds', async () => {
    fake.failNext({ status: 429, message: 'Rate limit exceeded', retryAfter: 1 });
    const started = Date.now();
    const result = await run(IMAGE, { prompt: 'patience' });
    expect(result.job.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(result.job.attempts).toMatchObject([
      { provider: 'together', status: 'FAILED', error: { code: 'RATE_LIMITED', retryable: true } },
      { provider: 'together', status: 'SUCCEEDED' },
    ]);
  });
});

describe('requests refused before any provider call', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['text with an empty prompt', TEXT, { prompt: '  ' }, 'input.prompt'],
    ['text at temperature 3', TEXT, { prompt: 'p', temperature: 3 }, 'input.temperature'],
    ['text with maxTokens 0', TEXT, { prompt: 'p', maxTokens: 0 }, 'input.maxTokens'],
    ['code in a language that is not a name', CODE, { prompt: 'p', language: '; rm -rf' }, 'input.language'],
    ['image 10 pixels wide', IMAGE, { prompt: 'p', width: 10 }, 'input.width'],
    ['image height not a multiple of 8', IMAGE, { prompt: 'p', height: 1001 }, 'input.height'],
    ['five images', IMAGE, { prompt: 'p', count: 5 }, 'input.count'],
    ['speech as ogg', SPEECH, { text: 'hi', format: 'ogg' }, 'input.format'],
    ['speech of nothing', SPEECH, { text: '' }, 'input.text'],
    ['transcription from http', TRANSCRIBE, { audioUrl: 'http://example.com/a.mp3' }, 'input.audioUrl'],
    ['transcription from both', TRANSCRIBE, { audioUrl: 'https://example.com/a.mp3', sourceJobId: randomUUID() }, 'input.sourceJobId'],
    ['transcription from neither', TRANSCRIBE, {}, 'input'],
    ['vision of a non-URL', VISION, { imageUrl: 'cat.png', prompt: 'what?' }, 'input.imageUrl'],
    ['empty idempotency key', TEXT, { prompt: 'p', idempotencyKey: '' }, 'input.idempotencyKey'],
  ];

  it.each(cases)('%s', async (_name, query, input, field) => {
    const before = fake.requestsMatching({}).length;
    const result = await run(query, input);
    expect(result).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field });
    expect(fake.requestsMatching({}).length).toBe(before);
  });

  it('NotFoundError for a transcription source that is not a finished audio job', async () => {
    const text = await succeeded(TEXT, { prompt: 'not audio' });
    for (const sourceJobId of [text.id, randomUUID(), 'nope']) {
      const result = await run(TRANSCRIBE, { sourceJobId });
      expect(result).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
  });

  it('NoProviderError for a pinned provider that is not registered', async () => {
    const result = await run(TEXT, { prompt: 'p', routing: { provider: 'runway' } });
    expect(result).toMatchObject({ __typename: 'NoProviderError', code: 'NO_PROVIDER', enablingKeys: ['TOGETHER_API_KEY'] });
  });

  it('NoProviderError naming TOGETHER_API_KEY for every short mutation when no key is set', async () => {
    const bare = await startGateway();
    try {
      const inputs: [string, Record<string, unknown>][] = [
        [TEXT, { prompt: 'p' }],
        [CODE, { prompt: 'p' }],
        [IMAGE, { prompt: 'p' }],
        [SPEECH, { text: 'p' }],
        [TRANSCRIBE, { audioUrl: 'https://example.com/a.mp3' }],
        [VISION, { imageUrl: 'https://example.com/a.png', prompt: 'p' }],
      ];
      for (const [query, input] of inputs) {
        const result = Object.values(await bare.graphql(query, { input }))[0] as any;
        expect(result).toMatchObject({ __typename: 'NoProviderError', code: 'NO_PROVIDER', enablingKeys: ['TOGETHER_API_KEY'] });
        expect(result.message).toContain('TOGETHER_API_KEY');
      }
      const listed = await bare.graphql(`{ jobs(first: 10) { edges { node { id } } } }`);
      expect(listed.jobs.edges).toHaveLength(0);
    } finally {
      await bare.close();
    }
  });
});

describe('idempotency', () => {
  it('the same key and input return the same job without calling the provider again; other input is a conflict', async () => {
    const key = `short-${randomUUID()}`;
    const chats = () => fake.requestsMatching({ path: '/v1/chat/completions' }).length;
    const first = await succeeded(TEXT, { prompt: 'once only', idempotencyKey: key });
    const calls = chats();
    const again = await run(TEXT, { prompt: 'once only', idempotencyKey: key });
    expect(again.job).toMatchObject({ id: first.id, status: 'SUCCEEDED', output: { text: first.output.text } });
    expect(chats()).toBe(calls);
    const other = await run(TEXT, { prompt: 'something else', idempotencyKey: key });
    expect(other).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });
});
