// Starts a real gateway on a free port for a test and talks to it the way a
// user would: GraphQL over HTTP, subscriptions through the real graphql-ws client.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { buildApp, type App, type AppOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestGateway {
  app: App;
  url: string;
  dataDir: string;
  databaseUrl: string | undefined;
  graphql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  ws(): Client;
  subscribe<T = any>(query: string, variables: Record<string, unknown>): Promise<T[]>;
  close(): Promise<void>;
}

export async function startGateway(
  options: { env?: Record<string, string>; overrides?: AppOverrides; database?: TestDatabase; dataDir?: string } = {},
): Promise<TestGateway> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'aideon-test-')));
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  const app = await buildApp(config, { logger: silentLogger(), ...options.overrides });
  await app.start();
  const url = app.url();
  const clients: Client[] = [];

  const gateway: TestGateway = {
    app,
    url,
    dataDir,
    databaseUrl: database.url,
    async graphql(query, variables) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
      return body.data;
    },
    ws() {
      const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
      return client;
    },
    async subscribe(query, variables) {
      const client = gateway.ws();
      const events: any[] = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query, variables },
          {
            next: (value) => {
              if (value.errors) reject(new Error(JSON.stringify(value.errors)));
              else events.push(value.data);
            },
            error: reject,
            complete: resolve,
          },
        );
      });
      return events;
    },
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await app.stop();
      if (!options.database) await database.drop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return gateway;
}

export const JOB_FIELDS = `
  id modality operation status progress provider model prompt message costUsd createdAt updatedAt completedAt
  output { url urls mimeType durationSeconds width height bytes text }
  error { code message retryable }
  attempts { provider model status costUsd startedAt finishedAt error { code message retryable } }
`;

export const RESULT_FIELDS = `
  __typename
  ... on JobPayload { job { ${JOB_FIELDS} } }
  ... on Error { code message }
  ... on ValidationError { field }
`;

export const PROGRESS_SUBSCRIPTION = `subscription ($jobId: ID!) { jobProgress(jobId: $jobId) { at job { ${JOB_FIELDS} } } }`;
