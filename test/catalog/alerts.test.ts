// Catalog alerts to a local receiver (node:http on loopback): signed, retried
// with backoff after a 500, every try in the delivery log, the secret never
// in the logs; and the watcher handing a detected change to the alerts.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_HEADERS, AlertSender, verifyAlertSignature } from '../../src/catalog/alerts.js';
import { createCatalogReaders } from '../../src/catalog/catalog-readers.js';
import { CatalogStore, type CatalogEntry, type CatalogEvent } from '../../src/catalog/catalog-store.js';
import { CatalogWatcher } from '../../src/catalog/catalog-watcher.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { defaultProviderConfig } from '../../src/provider-config.js';
import { startTogetherFake, type TogetherFake } from '../fakes/together.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const SECRET = 'alert-secret-do-not-log-3f9a';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

let testDatabase: TestDatabase;
let dataDir: string;
let handle: DatabaseHandle;
let store: CatalogStore;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
/** Statuses the receiver answers, in order; 200 once they run out. */
let answers: number[] = [];

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'aideon-alerts-'));
  handle = await openDatabase({ databaseUrl: testDatabase.url, dataDir });
  store = new CatalogStore(handle.db);
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers.shift() ?? 200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/catalog`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await handle?.close();
  await testDatabase?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
  answers = [];
});

let seq = 0;
/** A real recorded event (deliveries reference it): a provider's baseline, then one new model. */
async function recordedEvent(): Promise<CatalogEvent> {
  const provider = `test-provider-${++seq}`;
  const entry = (modelId: string): CatalogEntry => ({
    modelId,
    modality: 'VIDEO',
    providerType: 'video',
    version: null,
    pricing: { base: 1 },
    displayName: modelId,
  });
  await store.applyCatalog(provider, [entry('old')], new Date());
  const { events } = await store.applyCatalog(provider, [entry('old'), entry('new-video')], new Date());
  expect(events).toHaveLength(1);
  return events[0]!;
}

function capturingLogger(): { logger: ReturnType<typeof createLogger>; output: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: createLogger('debug', stream), output: () => text };
}

function sender(options: Partial<ConstructorParameters<typeof AlertSender>[0]> = {}): AlertSender {
  return new AlertSender({
    store,
    urls: [receiverUrl],
    secret: SECRET,
    logger: silentLogger(),
    initialDelayMs: 10,
    maxDelayMs: 40,
    timeoutMs: 2_000,
    ...options,
  });
}

describe('AlertSender', () => {
  it('POSTs the event as signed JSON, retries after a 500, and logs both tries', async () => {
    const event = await recordedEvent();
    answers = [500];
    const { logger, output } = capturingLogger();
    const outcomes = await sender({ logger }).send(event);
    expect(outcomes).toEqual([{ url: receiverUrl, delivered: true, tries: 2 }]);

    expect(received).toHaveLength(2);
    for (const request of received) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers[ALERT_HEADERS.eventId]).toBe(event.id);
      const timestamp = request.headers[ALERT_HEADERS.timestamp] as string;
      const signature = request.headers[ALERT_HEADERS.signature] as string;
      expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyAlertSignature({ secret: SECRET, body: request.body, timestamp, signature })).toBe(true);
      // Wrong secret, altered body, or a stale timestamp: refused.
      expect(verifyAlertSignature({ secret: 'other', body: request.body, timestamp, signature })).toBe(false);
      expect(verifyAlertSignature({ secret: SECRET, body: `${request.body} `, timestamp, signature })).toBe(false);
      expect(
        verifyAlertSignature({
          secret: SECRET,
          body: request.body,
          timestamp,
          signature,
          now: new Date(Number(timestamp) * 1000 + 3_600_000),
        }),
      ).toBe(false);
      expect(JSON.parse(request.body)).toEqual({
        id: event.id,
        provider: event.provider,
        modelId: 'new-video',
        kind: 'NEW_MODEL',
        modality: 'VIDEO',
        details: event.details,
        at: event.at.toISOString(),
      });
    }

    const deliveries = await store.deliveries(event.id);
    expect(deliveries.map((d) => [d.url, d.attempt, d.status, d.httpStatus])).toEqual([
      [receiverUrl, 1, 'FAILED', 500],
      [receiverUrl, 2, 'DELIVERED', 200],
    ]);
    expect(deliveries[0]!.error).toMatch(/500/);
    expect(output()).toContain('catalog alert try failed');
    expect(output()).not.toContain(SECRET);
  });

  it('sends the alerts a crash lost (events never tried), once, and leaves events already tried alone', async () => {
    const lost = await recordedEvent();
    const tried = await recordedEvent();
    answers = [400];
    await sender().send(tried); // tried once and refused: not the crash case
    received.length = 0;
    answers = [];
    const later = () => new Date(Date.now() + 120_000);
    const outcomes = await sender({ now: later }).resendMissing();
    const resentIds = received.map((request) => request.headers[ALERT_HEADERS.eventId]);
    expect(resentIds).toContain(lost.id);
    expect(resentIds).not.toContain(tried.id);
    expect(outcomes.every((o) => o.delivered)).toBe(true);
    expect((await store.deliveries(lost.id)).map((d) => d.status)).toEqual(['DELIVERED']);
    received.length = 0;
    await sender({ now: later }).resendMissing();
    expect(received.map((request) => request.headers[ALERT_HEADERS.eventId])).not.toContain(lost.id);
  });

  it('gives up after the bounded tries when the receiver stays down, and does not retry a 4xx', async () => {
    const event = await recordedEvent();
    answers = [503, 503, 503, 503];
    expect(await sender({ maxTries: 3 }).send(event)).toEqual([{ url: receiverUrl, delivered: false, tries: 3 }]);
    expect((await store.deliveries(event.id)).map((d) => [d.attempt, d.status, d.httpStatus])).toEqual([
      [1, 'FAILED', 503],
      [2, 'FAILED', 503],
      [3, 'FAILED', 503],
    ]);

    const rejected = await recordedEvent();
    answers = [400];
    expect(await sender({ maxTries: 3 }).send(rejected)).toEqual([{ url: receiverUrl, delivered: false, tries: 1 }]);
    expect((await store.deliveries(rejected.id)).map((d) => [d.attempt, d.status, d.httpStatus])).toEqual([[1, 'FAILED', 400]]);
  });

  it('records an unreachable receiver as failed tries without an HTTP status', async () => {
    const event = await recordedEvent();
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await sender({ urls: [url], maxTries: 2 }).send(event)).toEqual([{ url, delivered: false, tries: 2 }]);
    const deliveries = await store.deliveries(event.id);
    expect(deliveries.map((d) => [d.status, d.httpStatus])).toEqual([
      ['FAILED', null],
      ['FAILED', null],
    ]);
    expect(deliveries[0]!.error).toMatch(/could not reach/);
  });
});

describe('CatalogWatcher with alerts', () => {
  let together: TogetherFake;
  beforeAll(async () => {
    together = await startTogetherFake();
  });
  afterAll(async () => {
    await together?.close();
  });

  it('alerts the webhook of a new Together video model, signed, after the baseline only', async () => {
    const readers = createCatalogReaders({
      config: defaultProviderConfig,
      together: { apiKey: together.apiKey, baseURL: together.baseURL, timeoutMs: 5_000 },
    });
    const watcher = new CatalogWatcher({ store, readers, logger: silentLogger(), alerts: sender() });
    await watcher.checkNow();
    await watcher.settled();
    expect(received).toEqual([]);

    together.models.push({ ...together.models.find((m) => m.type === 'video')!, id: 'Lightricks/LTX-2-Pro' });
    const [check] = await watcher.checkNow();
    await watcher.settled();
    expect(check!.events.map((e) => [e.modelId, e.kind, e.modality])).toEqual([['Lightricks/LTX-2-Pro', 'NEW_MODEL', 'VIDEO']]);
    expect(received).toHaveLength(1);
    const request = received[0]!;
    expect(JSON.parse(request.body)).toMatchObject({ modelId: 'Lightricks/LTX-2-Pro', kind: 'NEW_MODEL', modality: 'VIDEO' });
    expect(
      verifyAlertSignature({
        secret: SECRET,
        body: request.body,
        timestamp: request.headers[ALERT_HEADERS.timestamp] as string,
        signature: request.headers[ALERT_HEADERS.signature] as string,
      }),
    ).toBe(true);
    expect((await store.deliveries(check!.events[0]!.id)).map((d) => d.status)).toEqual(['DELIVERED']);
  });
});
