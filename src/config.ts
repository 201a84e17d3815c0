// The environment, parsed and validated once at start. A bad value stops
// start-up with one message that lists every problem.

import path from 'node:path';
import { z } from 'zod';

const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.url().optional())
  .optional();

const optionalSecret = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .trim()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    )
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The URL at which this gateway is reachable from outside (webhooks, absolute media URLs). */
  PUBLIC_URL: optionalUrl,
  /** Largest media file the gateway fetches or stores, in bytes. */
  MAX_MEDIA_BYTES: z.coerce.number().int().positive().default(512 * 1024 * 1024),
  /** How long a source video download may take, in milliseconds. */
  SOURCE_FETCH_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /** How many jobs one poller pass claims at most. */
  POLLER_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  /** How long a claimed job stays leased to this process without renewal, in milliseconds. */
  LEASE_MS: z.coerce.number().int().min(1000).default(15_000),
  /** Concurrent local ffmpeg renders. */
  LOCAL_MAX_RENDERS: z.coerce.number().int().min(1).max(64).default(2),
  /** How often each instance re-reads the routing policy and observed figures, in milliseconds. */
  ROUTING_REFRESH_MS: z.coerce.number().int().min(100).default(2000),
  /** How often the providers' model catalogs are read, in milliseconds (0 turns the watch off). */
  CATALOG_WATCH_INTERVAL_MS: z.coerce.number().int().min(0).default(5 * 60_000),
  /** What a new video model of a trusted provider becomes: a canary in routing, or nothing. */
  CATALOG_NEW_VIDEO_MODEL: z.enum(['CANARY', 'NONE']).default('CANARY'),
  /** The share of video traffic a canary takes (0..1). */
  CATALOG_CANARY_WEIGHT: z.coerce.number().min(0).max(1).default(0.05),
  /** Providers whose new models may become canaries, comma-separated. */
  CATALOG_TRUSTED_PROVIDERS: z
    .string()
    .default('together,runway,replicate')
    .transform((value) => value.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean)),
  /** Where catalog changes are POSTed, comma-separated URLs. */
  ALERT_WEBHOOK_URLS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((url) => url.trim()).filter(Boolean))
    .pipe(z.array(z.url())),
  /** Signs the alerts (HMAC-SHA256); required when ALERT_WEBHOOK_URLS is set. */
  ALERT_WEBHOOK_SECRET: optionalSecret,
  TOGETHER_API_KEY: optionalSecret,
  TOGETHER_BASE_URL: optionalUrl,
  RUNWAYML_API_SECRET: optionalSecret,
  RUNWAYML_BASE_URL: optionalUrl,
  REPLICATE_API_TOKEN: optionalSecret,
  REPLICATE_BASE_URL: optionalUrl,
  REPLICATE_WEBHOOK_SECRET: optionalSecret,
  /** Path of the JSON config file (models, prices); optional. */
  CONFIG_FILE: z.string().optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  /** DATA_DIR made absolute. */
  dataDir: string;
  databaseKind: 'pglite' | 'postgres';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const value = parsed.data;
  if (value.ALERT_WEBHOOK_URLS.length > 0 && !value.ALERT_WEBHOOK_SECRET) {
    throw new ConfigError(['ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URLS is set (alerts are signed)']);
  }
  return {
    ...value,
    dataDir: path.resolve(value.DATA_DIR),
    databaseKind: value.DATABASE_URL ? 'postgres' : 'pglite',
  };
}

/** Environment variable names whose values must never be logged or echoed. */
export const SECRET_KEYS = [
  'TOGETHER_API_KEY',
  'RUNWAYML_API_SECRET',
  'REPLICATE_API_TOKEN',
  'REPLICATE_WEBHOOK_SECRET',
  'ALERT_WEBHOOK_SECRET',
  'DATABASE_URL',
] as const;
