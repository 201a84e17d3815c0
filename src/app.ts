// Builds the whole gateway from its configuration: database, media store,
// providers, job service, poller, GraphQL over HTTP (with GraphiQL and SSE)
// and graphql-ws on the same path. `start()` listens, `stop()` shuts down
// gracefully: stop taking work, hand leases back, close sockets and the database.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { ExecutionArgs } from 'graphql';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import type { Context } from './graphql/builder.js';
import { buildSchema } from './graphql/schema.js';
import { clientKeyOf } from './http/client-key.js';
import { serveMedia } from './http/media-route.js';
import { handleReplicateWebhook } from './http/replicate-webhook.js';
import { InProcessJobEventBus, type JobEventBus } from './jobs/job-events.js';
import { JobStore } from './jobs/job-store.js';
import { Poller } from './jobs/poller.js';
import { ShortJobService } from './jobs/short-job-service.js';
import { VideoJobService } from './jobs/video-job-service.js';
import { createLogger, type Logger } from './logger.js';
import { MediaIntake, type FetchFn } from './media/fetch-media.js';
import { FileMediaStore, type MediaStore } from './media/store.js';
import { loadProviderConfig } from './provider-config.js';
import type { ProviderRegistry } from './providers/registry.js';
import { createProviderRegistry } from './providers/setup.js';
import { AlertSender } from './catalog/alerts.js';
import { CatalogEventBus, catalogForRouting, catalogReactions } from './catalog/catalog-reactions.js';
import { createCatalogReaders } from './catalog/catalog-readers.js';
import { CatalogStore } from './catalog/catalog-store.js';
import { CatalogWatcher } from './catalog/catalog-watcher.js';
import { defaultCapabilities } from './routing/capabilities.js';
import { RatingService } from './routing/ratings.js';
import { RoutingService } from './routing/routing-service.js';
import { RoutingStore } from './routing/routing-store.js';

/** A short job not updated for this long has lost its process (provider calls time out within minutes). */
const ABANDONED_AFTER_MS = 15 * 60_000;

export interface AppOverrides {
  logger?: Logger;
  events?: JobEventBus;
  fetch?: FetchFn;
  /** Stable poller identity (tests). */
  pollerOwner?: string;
  /** Skip starting the poller (tests that drive it by hand). */
  startPoller?: boolean;
}

export interface App {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly jobs: JobStore;
  readonly videoJobs: VideoJobService;
  readonly shortJobs: ShortJobService;
  readonly poller: Poller;
  readonly media: MediaStore;
  readonly providers: ProviderRegistry;
  readonly routing: RoutingService;
  readonly catalog: { watcher: CatalogWatcher; store: CatalogStore; bus: CatalogEventBus };
  readonly logger: Logger;
  /** http://host:port once started. */
  url(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.LOG_LEVEL);
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir });
  const jobs = new JobStore(database.db);
  if (database.exclusive) {
    // No other process can hold a lease on this database: whatever a crashed
    // process held is free now, not after its lease runs out.
    const released = await jobs.releaseAllLeases();
    if (released > 0) logger.info({ released }, 'took over jobs left by an earlier process');
  }
  const events = overrides.events ?? new InProcessJobEventBus();
  const media = new FileMediaStore(path.join(config.dataDir, 'media'));
  const providerConfig = loadProviderConfig(config.CONFIG_FILE);
  const providers = createProviderRegistry(config, { store: media, logger, providerConfig });
  const catalogStore = new CatalogStore(database.db);
  const routing = new RoutingService({
    catalog: () => catalogForRouting(catalogStore),
    store: new RoutingStore(database.db),
    providers,
    capabilities: defaultCapabilities(providerConfig),
    configuredPolicy: providerConfig.routing,
    logger,
    refreshMs: config.ROUTING_REFRESH_MS,
  });
  await routing.start();
  const catalogBus = new CatalogEventBus();
  const catalogWatcher = new CatalogWatcher({
    store: catalogStore,
    readers: createCatalogReaders({
      config: providerConfig,
      ...(config.TOGETHER_API_KEY ? { together: { apiKey: config.TOGETHER_API_KEY, baseURL: config.TOGETHER_BASE_URL } } : {}),
      ...(config.REPLICATE_API_TOKEN ? { replicate: { apiKey: config.REPLICATE_API_TOKEN, baseUrl: config.REPLICATE_BASE_URL } } : {}),
      runway: Boolean(config.RUNWAYML_API_SECRET),
    }),
    logger,
    onEvent: catalogReactions({
      store: catalogStore,
      routing,
      bus: catalogBus,
      logger,
      settings: {
        newVideoModel: config.CATALOG_NEW_VIDEO_MODEL,
        canaryWeight: config.CATALOG_CANARY_WEIGHT,
        trustedProviders: config.CATALOG_TRUSTED_PROVIDERS,
      },
    }),
    ...(config.ALERT_WEBHOOK_URLS.length > 0
      ? { alerts: new AlertSender({ store: catalogStore, urls: config.ALERT_WEBHOOK_URLS, secret: config.ALERT_WEBHOOK_SECRET!, logger }) }
      : {}),
  });
  const ratings = new RatingService({ jobs, store: new RoutingStore(database.db) });

  const intake = new MediaIntake(media, {
    maxBytes: config.MAX_MEDIA_BYTES,
    timeoutMs: config.SOURCE_FETCH_TIMEOUT_MS,
    fetch: overrides.fetch,
  });
  let poller: Poller | undefined;
  const videoJobs = new VideoJobService({
    store: jobs,
    events,
    providers,
    media,
    logger,
    intake,
    routing,
    publicBaseUrl: () => config.PUBLIC_URL,
    onJobDue: () => poller?.wake(),
  });
  const shortJobs = new ShortJobService({
    store: jobs,
    events,
    providers,
    media,
    logger,
    intake,
    routing,
  });
  if (database.exclusive) {
    // As with leases: with PGlite, a short job in flight now was left by a dead process.
    const failed = await shortJobs.failAbandoned(0);
    if (failed > 0) logger.info({ failed }, 'failed short jobs left by an earlier process');
  }
  poller = new Poller({
    store: jobs,
    advancer: videoJobs,
    logger,
    leaseMs: config.LEASE_MS,
    concurrency: config.POLLER_BATCH_SIZE,
    owner: overrides.pollerOwner,
    chores: [
      {
        name: 'fail abandoned short jobs',
        everyMs: 60_000,
        // Another instance on a shared Postgres may be working on a job: only
        // jobs silent far longer than any provider call count as abandoned.
        run: () => shortJobs.failAbandoned(ABANDONED_AFTER_MS),
      },
    ],
  });

  let listeningUrl = '';
  const publicBaseUrl = () => (config.PUBLIC_URL ?? listeningUrl).replace(/\/$/, '');
  const baseContext: Omit<Context, 'clientKey'> = { jobs, videoJobs, shortJobs, events, routing, ratings, catalog: { store: catalogStore, bus: catalogBus }, publicBaseUrl };

  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
    schema: buildSchema(),
    context: ({ req }) => ({ ...baseContext, clientKey: clientKeyOf(req) }),
    graphiql: { subscriptionsProtocol: 'WS' },
    logging: {
      debug: (...args) => logger.debug(args.length > 1 ? { args } : {}, String(args[0])),
      info: (...args) => logger.info(args.length > 1 ? { args } : {}, String(args[0])),
      warn: (...args) => logger.warn(args.length > 1 ? { args } : {}, String(args[0])),
      error: (...args) => logger.error(args.length > 1 ? { args } : {}, String(args[0])),
    },
  });

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/media/')) {
      serveMedia(req, res, media);
      return;
    }
    if (url === '/webhooks/replicate' && config.REPLICATE_WEBHOOK_SECRET) {
      handleReplicateWebhook(req, res, {
        secret: config.REPLICATE_WEBHOOK_SECRET,
        db: database.db,
        jobs,
        logger,
        onJobDue: () => poller.wake(),
      }).catch((error: unknown) => {
        logger.error({ err: error }, 'handling a Replicate webhook failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    void yoga.handle(req, res, { req, res });
  });

  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const wsCleanup = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoots).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoots).subscribe(args),
      onSubscribe: async (wsContext, _id, params) => {
        const enveloped = yoga.getEnveloped({
          ...wsContext,
          req: wsContext.extra.request,
          socket: wsContext.extra.socket,
          params,
        });
        const document = enveloped.parse(params.query);
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        return args;
      },
    },
    wsServer,
  );

  let started = false;
  return {
    config,
    database,
    jobs,
    videoJobs,
    shortJobs,
    poller,
    media,
    providers,
    routing,
    catalog: { watcher: catalogWatcher, store: catalogStore, bus: catalogBus },
    logger,
    url: () => listeningUrl,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      listeningUrl = `http://${host}:${address.port}`;
      started = true;
      if (overrides.startPoller !== false) poller.start();
      if (config.CATALOG_WATCH_INTERVAL_MS > 0) catalogWatcher.start(config.CATALOG_WATCH_INTERVAL_MS);
    },
    async stop() {
      routing.stop();
      await catalogWatcher.stop();
      await catalogWatcher.settled();
      await poller.stop();
      await providers.close();
      if (started) {
        await wsCleanup.dispose();
        wsServer.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await database.close();
    },
  };
}

type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>;

interface EnvelopedRoots {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}
