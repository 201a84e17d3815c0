// One reader per provider: each turns the provider's catalog into
// CatalogEntry rows in our terms. A catalog that cannot be read THROWS (a
// ProviderCallError through guardedCall): an outage must never look like an
// empty catalog, or the watcher would report every model removed. A catalog
// that really is empty is an empty list.

import type Replicate from 'replicate';
import type Together from 'together-ai';
import type { Modality } from '../domain.js';
import {
  RUNWAY_IMAGE_TO_VIDEO_MODELS,
  RUNWAY_TEXT_TO_VIDEO_MODELS,
  RUNWAY_VIDEO_TO_VIDEO_MODELS,
  type ProviderConfig,
} from '../provider-config.js';
import { ProviderCallError, guardedCall } from '../providers/provider-errors.js';
import { createReplicateClient } from '../providers/replicate.js';
import { createTogetherClient } from '../providers/together.js';
import { RUNWAY_CREDITS_PER_SECOND } from '../routing/capabilities.js';
import type { CatalogEntry } from './catalog-store.js';

export type CatalogReader = (signal?: AbortSignal) => Promise<CatalogEntry[]>;

/**
 * Together's `type`, compared as a string: the API returns types (video,
 * audio, transcribe) the SDK's enum does not list.
 */
export function togetherModality(type: string | undefined): Modality | null {
  switch (type?.toLowerCase()) {
    case 'chat':
    case 'language':
      return 'TEXT';
    case 'code':
      return 'CODE';
    case 'image':
      return 'IMAGE';
    case 'audio':
    case 'tts':
    case 'transcribe':
      return 'AUDIO';
    case 'video':
      return 'VIDEO';
    default:
      return null;
  }
}

/** Together's `GET /models`: a bare array of every model with its type and pricing. */
export async function readTogetherCatalog(
  client: Together,
  options: { secrets?: readonly string[]; signal?: AbortSignal } = {},
): Promise<CatalogEntry[]> {
  const models = await guardedCall('together', options.secrets ?? [], () =>
    client.models.list(undefined, { signal: options.signal }),
  );
  if (!Array.isArray(models)) throw new ProviderCallError(
    { code: 'PROVIDER_ERROR', message: 'Together answered GET /models with something other than a list', retryable: true },
    'together',
  );
  return models.map((model) => {
    const type = String(model.type ?? '') || null;
    return {
      modelId: model.id,
      modality: togetherModality(type ?? undefined),
      providerType: type,
      version: null,
      pricing: model.pricing ? { ...model.pricing } : null,
      displayName: model.display_name ?? null,
    };
  });
}

/** The collection of Replicate's text-to-video models, read besides the configured ones. */
export const REPLICATE_VIDEO_COLLECTION = 'text-to-video';

/**
 * Replicate: each configured video model with its latest version, plus the
 * models of the `text-to-video` collection. A configured model answering 404
 * is gone (absent from the result, so the watcher records its removal); a
 * missing collection is skipped; any other failure throws.
 */
export async function readReplicateCatalog(
  client: Replicate,
  config: ProviderConfig['replicate'],
  options: { secrets?: readonly string[]; signal?: AbortSignal; collection?: string | null } = {},
): Promise<CatalogEntry[]> {
  const secrets = options.secrets ?? [];
  const call = <T>(run: () => Promise<T>) => guardedCall('replicate', secrets, run);
  const entries = new Map<string, CatalogEntry>();

  for (const configured of config.models) {
    const [owner, name] = configured.model.split('/') as [string, string];
    const model = await notFoundAsNull(call(() => client.models.get(owner, name, { signal: options.signal })));
    if (!model) continue;
    entries.set(configured.model, {
      modelId: configured.model,
      modality: 'VIDEO',
      providerType: configured.operations.join(','),
      version: model.latest_version?.id ?? null,
      pricing: null,
      displayName: model.name,
    });
  }

  const slug = options.collection === undefined ? REPLICATE_VIDEO_COLLECTION : options.collection;
  if (slug) {
    const collection = await notFoundAsNull(call(() => client.collections.get(slug, { signal: options.signal })));
    for (const model of collection?.models ?? []) {
      const modelId = `${model.owner}/${model.name}`;
      if (entries.has(modelId)) continue;
      entries.set(modelId, {
        modelId,
        modality: 'VIDEO',
        providerType: slug,
        version: model.latest_version?.id ?? null,
        pricing: null,
        displayName: model.name,
      });
    }
  }
  return [...entries.values()];
}

async function notFoundAsNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ProviderCallError && error.httpStatus === 404) return null;
    throw error;
  }
}

/**
 * Runway has no catalog endpoint: its catalog is the models our adapter knows
 * (the request rules it can build), with their credit prices. It changes with
 * a release of this gateway, never at run time.
 */
export function readRunwayCatalog(config: ProviderConfig['runway']): CatalogEntry[] {
  const endpoints = new Map<string, string[]>();
  const add = (models: readonly string[], endpoint: string) => {
    for (const model of models) endpoints.set(model, [...(endpoints.get(model) ?? []), endpoint]);
  };
  add(RUNWAY_TEXT_TO_VIDEO_MODELS, 'text_to_video');
  add(RUNWAY_IMAGE_TO_VIDEO_MODELS, 'image_to_video');
  add(RUNWAY_VIDEO_TO_VIDEO_MODELS, 'video_to_video');
  return [...endpoints].map(([model, kinds]) => ({
    modelId: model,
    modality: 'VIDEO',
    providerType: kinds.join(','),
    version: null,
    pricing: {
      creditsPerSecond: RUNWAY_CREDITS_PER_SECOND[model as keyof typeof RUNWAY_CREDITS_PER_SECOND],
      usdPerCredit: config.usdPerCredit,
    },
    displayName: model,
  }));
}

export interface CatalogReadersOptions {
  config: ProviderConfig;
  /** Each provider given (Runway: `true` when it is configured) gets a reader. */
  together?: { apiKey: string; baseURL?: string; timeoutMs?: number };
  replicate?: { apiKey: string; baseUrl?: string; timeoutMs?: number; collection?: string | null };
  runway?: boolean;
}

/** The readers for the providers configured, with SDK clients built as the adapters build theirs. */
export function createCatalogReaders(options: CatalogReadersOptions): Record<string, CatalogReader> {
  const readers: Record<string, CatalogReader> = {};
  const { together, replicate } = options;
  if (together) {
    const client = createTogetherClient({ ...together, timeoutMs: together.timeoutMs ?? 30_000 });
    readers['together'] = (signal) => readTogetherCatalog(client, { secrets: [together.apiKey], signal });
  }
  if (replicate) {
    const client = createReplicateClient({ ...replicate, timeoutMs: replicate.timeoutMs ?? 30_000 });
    readers['replicate'] = (signal) =>
      readReplicateCatalog(client, options.config.replicate, {
        secrets: [replicate.apiKey],
        signal,
        collection: replicate.collection,
      });
  }
  if (options.runway) readers['runway'] = async () => readRunwayCatalog(options.config.runway);
  return readers;
}
