// The providers' model catalogs as the gateway has seen them: snapshots
// (providerModels), the changes (catalogEvents, catalogChanged) and the alert
// deliveries of each change.

import type { AlertDeliveryRow, ModelSnapshotRow } from '../../db/schema.js';
import type { CatalogEvent } from '../../catalog/catalog-store.js';
import { builder } from '../builder.js';
import { ModalityEnum } from './enums.js';

const CatalogEventKindEnum = builder.enumType('CatalogEventKind', {
  values: ['NEW_MODEL', 'REMOVED_MODEL', 'NEW_VERSION', 'PRICE_CHANGED'] as const,
});

const CatalogModelType = builder.objectRef<ModelSnapshotRow>('CatalogModel').implement({
  description: "A model as last read from its provider's catalog.",
  fields: (t) => ({
    provider: t.exposeString('provider'),
    model: t.exposeString('modelId'),
    modality: t.field({ type: ModalityEnum, nullable: true, resolve: (m) => m.modality }),
    providerType: t.exposeString('providerType', { nullable: true, description: "the provider's own word for the model's kind" }),
    version: t.exposeString('version', { nullable: true }),
    pricing: t.field({ type: 'JSON', nullable: true, resolve: (m) => m.pricing }),
    displayName: t.exposeString('displayName', { nullable: true }),
    firstSeenAt: t.field({ type: 'DateTime', resolve: (m) => m.firstSeenAt }),
    lastSeenAt: t.field({ type: 'DateTime', resolve: (m) => m.lastSeenAt }),
    removedAt: t.field({ type: 'DateTime', nullable: true, resolve: (m) => m.removedAt }),
  }),
});

const AlertDeliveryType = builder.objectRef<AlertDeliveryRow>('AlertDelivery').implement({
  fields: (t) => ({
    url: t.exposeString('url'),
    attempt: t.exposeInt('attempt'),
    status: t.exposeString('status', { description: 'DELIVERED or FAILED' }),
    httpStatus: t.exposeInt('httpStatus', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (d) => d.at }),
  }),
});

const CatalogEventType = builder.objectRef<CatalogEvent>('CatalogEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    provider: t.exposeString('provider'),
    model: t.exposeString('modelId'),
    kind: t.field({ type: CatalogEventKindEnum, resolve: (e) => e.kind }),
    modality: t.field({ type: ModalityEnum, nullable: true, resolve: (e) => e.modality }),
    details: t.field({ type: 'JSON', description: 'before and after', resolve: (e) => e.details }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    deliveries: t.field({
      type: [AlertDeliveryType],
      description: 'every try to POST this change to the alert webhooks',
      resolve: (e, _args, context) => context.catalog.store.deliveries(e.id),
    }),
  }),
});

builder.queryFields((t) => ({
  providerModels: t.field({
    type: [CatalogModelType],
    args: {
      provider: t.arg.string(),
      modality: t.arg({ type: ModalityEnum }),
      includeRemoved: t.arg.boolean({ defaultValue: false }),
    },
    resolve: (_root, args, context) =>
      context.catalog.store.models({
        ...(args.provider ? { provider: args.provider.trim().toLowerCase() } : {}),
        ...(args.modality ? { modality: args.modality } : {}),
        includeRemoved: args.includeRemoved ?? false,
      }),
  }),
  catalogEvents: t.field({
    type: [CatalogEventType],
    description: 'Oldest first.',
    args: { since: t.arg({ type: 'DateTime', required: true }), provider: t.arg.string() },
    resolve: (_root, args, context) =>
      context.catalog.store.events(args.since, args.provider ? { provider: args.provider.trim().toLowerCase() } : {}),
  }),
}));

builder.subscriptionField('catalogChanged', (t) =>
  t.field({
    type: CatalogEventType,
    description: "Every change noticed in a provider's catalog from now on.",
    subscribe: (_root, _args, context) => context.catalog.bus.subscribe(),
    resolve: (event) => event,
  }),
);
