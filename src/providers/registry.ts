// The providers this process can call, by modality. A provider with no key is
// never registered, so everything here can be called.

import type { VideoProvider } from './types.js';

export class ProviderRegistry {
  private readonly videoProviders = new Map<string, VideoProvider>();

  registerVideo(provider: VideoProvider): this {
    if (this.videoProviders.has(provider.name)) throw new Error(`video provider ${provider.name} registered twice`);
    this.videoProviders.set(provider.name, provider);
    return this;
  }

  video(name: string): VideoProvider | undefined {
    return this.videoProviders.get(name);
  }

  /** In registration order, which is the default order of preference. */
  allVideo(): VideoProvider[] {
    return [...this.videoProviders.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.allVideo().map((provider) => provider.close?.()));
  }
}
