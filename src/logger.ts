import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'blog-poster'): Logger {
  return pino({
    name,
    level,
    // Keys that may carry credentials never reach a log line.
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.password', '*.secret', 'authorization'],
      censor: '[redacted]',
    },
  });
}
