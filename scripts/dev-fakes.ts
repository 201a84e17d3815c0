// Starts the three provider fakes (test/fakes) on loopback and the gateway
// wired to them, so every modality can be tried without keys:
//   npm run dev:fakes   then open http://127.0.0.1:4000/graphql
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startReplicateFake } from '../test/fakes/replicate.js';
import { startRunwayFake } from '../test/fakes/runway.js';
import { startTogetherFake } from '../test/fakes/together.js';

const together = await startTogetherFake({ apiKey: 'fake-together-key' });
const runway = await startRunwayFake({ apiKey: 'fake-runway-key', acceptHttpInputs: true });
const replicate = await startReplicateFake({ apiKey: 'fake-replicate-key' });
const port = process.env.PORT ?? '4000';
const config = loadConfig({
  ...process.env,
  PORT: port,
  DATA_DIR: process.env.DATA_DIR ?? './data-fakes',
  PUBLIC_URL: process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
  TOGETHER_API_KEY: 'fake-together-key',
  TOGETHER_BASE_URL: together.baseURL,
  RUNWAYML_API_SECRET: 'fake-runway-key',
  RUNWAYML_BASE_URL: runway.baseURL,
  REPLICATE_API_TOKEN: 'fake-replicate-key',
  REPLICATE_BASE_URL: replicate.baseUrl,
  REPLICATE_WEBHOOK_SECRET: replicate.webhookSecret,
});
const logger = createLogger(config.LOG_LEVEL);
const app = await buildApp(config, { logger });
await app.start();
logger.info(
  { url: `${app.url()}/graphql`, together: together.baseURL, runway: runway.baseURL, replicate: replicate.baseUrl },
  'Aideon Gateway ready, wired to the provider fakes',
);

const stop = async () => {
  await app.stop();
  await Promise.all([together.close(), runway.close(), replicate.close()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
