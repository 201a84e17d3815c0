// One logger for the process. Secrets are redacted by path and never passed
// as values; error serialisation keeps provider messages but not headers.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          '*.apiKey',
          '*.authorization',
          '*.Authorization',
          'headers.authorization',
          '*.headers.authorization',
          '*.token',
          '*.secret',
          '*.password',
          '*.DATABASE_URL',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
