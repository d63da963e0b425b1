import { pino, type DestinationStream, type Logger } from 'pino';
import { currentCorrelationId } from './correlation.ts';

export type { Logger };

/**
 * JSON logs, one line per event. Every line written while a request or stage job is in progress
 * carries its `correlationId` (the submission's X-Request-Id), whichever logger wrote it.
 */
export function createLogger(level: string, name = 'blog-poster', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    mixin: () => {
      const correlationId = currentCorrelationId();
      return correlationId ? { correlationId } : {};
    },
    // Keys that may carry credentials never reach a log line.
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.apiKey',
        '*.password',
        '*.secret',
        'authorization',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
