import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. `authorization` headers and anything named token are redacted, so a token
 * never reaches a log line even when a request object is logged.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'traefik-canary-provider' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.token',
          'token',
          '*.adminToken',
          '*.providerToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
