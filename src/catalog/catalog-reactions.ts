// What the gateway does when a provider's catalog changes: the change is
// published (catalogChanged), a new video model of a trusted provider may
// join routing as a canary, and a removed model leaves routing (and every
// policy rule that named it) instead of failing requests.

import { EventEmitter } from 'node:events';
import { eventStream } from '../event-stream.js';
import type { Logger } from '../logger.js';
import type { RoutingService } from '../routing/routing-service.js';
import type { CatalogEvent, CatalogStore } from './catalog-store.js';

export interface CatalogReactionSettings {
  newVideoModel: 'CANARY' | 'NONE';
  canaryWeight: number;
  trustedProviders: readonly string[];
}

/** Catalog events for subscribers, in process (like the job events). */
export class CatalogEventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: CatalogEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(): AsyncIterableIterator<CatalogEvent> {
    return eventStream<CatalogEvent>(this.emitter, 'event');
  }
}

/** The catalog as routing sees it: live models, and the removed ones that must not be routed to. */
export async function catalogForRouting(store: CatalogStore) {
  const models = await store.models({ includeRemoved: true });
  return {
    live: models.filter((m) => !m.removedAt).map((m) => ({ provider: m.provider, model: m.modelId, modality: m.modality })),
    removed: models.filter((m) => m.removedAt).map((m) => ({ provider: m.provider, model: m.modelId })),
  };
}

export function catalogReactions(dependencies: {
  store: CatalogStore;
  routing: RoutingService;
  bus: CatalogEventBus;
  settings: CatalogReactionSettings;
  logger: Logger;
}): (event: CatalogEvent) => Promise<void> {
  const { store, routing, bus, settings, logger } = dependencies;
  return async (event) => {
    bus.publish(event);
    const candidate = { provider: event.provider, model: event.modelId };
    switch (event.kind) {
      case 'NEW_MODEL': {
        routing.setCatalog(await catalogForRouting(store));
        const trusted = settings.trustedProviders.includes(event.provider);
        if (event.modality !== 'VIDEO' || !trusted || settings.newVideoModel !== 'CANARY') return;
        const revision = await routing.addCanary(candidate, settings.canaryWeight, `new in the ${event.provider} catalog`);
        if (revision) logger.info({ ...candidate, version: revision.version }, 'a new video model joined routing as a canary');
        return;
      }
      case 'REMOVED_MODEL': {
        routing.setCatalog(await catalogForRouting(store));
        const { namedIn } = await routing.forgetModel(candidate);
        if (namedIn.length > 0) logger.warn({ ...candidate, namedIn }, 'a removed model was named by the routing policy: taken out');
        return;
      }
      case 'NEW_VERSION':
      case 'PRICE_CHANGED':
        return;
    }
  };
}
