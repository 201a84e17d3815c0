// Registers the providers this configuration enables: the local one always,
// each cloud provider only when its key is set.

import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../media/store.js';
import type { ProviderConfig } from '../provider-config.js';
import { LocalVideoProvider } from './local/local-video-provider.js';
import { ProviderRegistry } from './registry.js';
import { ReplicateProvider } from './replicate.js';
import { RunwayProvider } from './runway.js';
import { TogetherProvider } from './together.js';

export function createProviderRegistry(
  config: Config,
  dependencies: { store: MediaStore; logger: Logger; providerConfig: ProviderConfig },
): ProviderRegistry {
  const { store, logger, providerConfig } = dependencies;
  const registry = new ProviderRegistry();
  // Cloud providers first: a configured key means generative video is wanted;
  // the local provider serves what they cannot (simple edits) and fresh machines.
  if (config.TOGETHER_API_KEY) {
    const together = new TogetherProvider({
      apiKey: config.TOGETHER_API_KEY,
      baseURL: config.TOGETHER_BASE_URL,
      config: providerConfig,
      store,
      logger,
    });
    registry
      .registerVideo(together)
      .registerShort('text', together)
      .registerShort('code', together)
      .registerShort('image', together)
      .registerShort('speech', together)
      .registerShort('transcription', together)
      .registerShort('vision', together);
  }
  if (config.RUNWAYML_API_SECRET) {
    registry.registerVideo(
      new RunwayProvider({
        apiKey: config.RUNWAYML_API_SECRET,
        baseURL: config.RUNWAYML_BASE_URL,
        config: providerConfig,
        store,
        logger,
      }),
    );
  }
  if (config.REPLICATE_API_TOKEN) {
    registry.registerVideo(
      new ReplicateProvider({
        apiKey: config.REPLICATE_API_TOKEN,
        baseUrl: config.REPLICATE_BASE_URL,
        config: providerConfig,
        store,
        logger,
        webhookUrl:
          config.PUBLIC_URL && config.REPLICATE_WEBHOOK_SECRET
            ? `${config.PUBLIC_URL.replace(/\/$/, '')}/webhooks/replicate` : undefined,
      }),
    );
  }
  registry.registerVideo(new LocalVideoProvider({ store, maxConcurrentRenders: config.LOCAL_MAX_RENDERS, logger }));
  return registry;
}
