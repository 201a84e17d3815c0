// The providers this process can call, by modality. A provider with no key is
// never registered, so everything here can be called.

import type {
  CodeProvider,
  ImageProvider,
  SpeechProvider,
  TextProvider,
  TranscriptionProvider,
  VideoProvider,
  VisionProvider,
} from './types.js';

export interface ShortProviders {
  text: TextProvider;
  code: CodeProvider;
  image: ImageProvider;
  speech: SpeechProvider;
  transcription: TranscriptionProvider;
  vision: VisionProvider;
}

export type ShortKind = keyof ShortProviders;

/** Which environment variables would register a provider for each kind of work. */
export const ENABLING_KEYS: Record<ShortKind | 'video', string[]> = {
  text: ['TOGETHER_API_KEY'],
  code: ['TOGETHER_API_KEY'],
  image: ['TOGETHER_API_KEY'],
  speech: ['TOGETHER_API_KEY'],
  transcription: ['TOGETHER_API_KEY'],
  vision: ['TOGETHER_API_KEY'],
  video: ['TOGETHER_API_KEY', 'RUNWAYML_API_SECRET', 'REPLICATE_API_TOKEN'],
};

export class ProviderRegistry {
  private readonly videoProviders = new Map<string, VideoProvider>();
  private readonly shortProviders: { [K in ShortKind]: Map<string, ShortProviders[K]> } = {
    text: new Map(),
    code: new Map(),
    image: new Map(),
    speech: new Map(),
    transcription: new Map(),
    vision: new Map(),
  };

  registerVideo(provider: VideoProvider): this {
    if (this.videoProviders.has(provider.name)) throw new Error(`video provider ${provider.name} registered twice`);
    this.videoProviders.set(provider.name, provider);
    return this;
  }

  registerShort<K extends ShortKind>(kind: K, provider: ShortProviders[K]): this {
    const providers = this.shortProviders[kind] as Map<string, ShortProviders[K]>;
    if (providers.has(provider.name)) throw new Error(`${kind} provider ${provider.name} registered twice`);
    providers.set(provider.name, provider);
    return this;
  }

  video(name: string): VideoProvider | undefined {
    return this.videoProviders.get(name);
  }

  /** In registration order, which is the default order of preference. */
  allVideo(): VideoProvider[] {
    return [...this.videoProviders.values()];
  }

  /** Providers of a short modality in registration order; `name` picks one. */
  short<K extends ShortKind>(kind: K, name?: string): ShortProviders[K][] {
    const providers = this.shortProviders[kind] as Map<string, ShortProviders[K]>;
    if (name === undefined) return [...providers.values()];
    const provider = providers.get(name);
    return provider ? [provider] : [];
  }

  /** Every registered provider's name, whatever it serves. */
  names(): string[] {
    const names = new Set(this.videoProviders.keys());
    for (const providers of Object.values(this.shortProviders)) for (const name of providers.keys()) names.add(name);
    return [...names];
  }

  async close(): Promise<void> {
    await Promise.all(this.allVideo().map((provider) => provider.close?.()));
  }
}
