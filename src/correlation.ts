import { AsyncLocalStorage } from 'node:async_hooks';

// The correlation id of the work in progress (an HTTP request, or a stage job of the submission
// that request created), kept in AsyncLocalStorage so code far from the request or job (a provider,
// an outbound HTTP call, a log line from the root logger) can carry it without threading it through.

const storage = new AsyncLocalStorage<string>();

/** Runs fn with `correlationId` as the current correlation id for everything it awaits. */
export function withCorrelationId<T>(correlationId: string, fn: () => T): T {
  return storage.run(correlationId, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}

/**
 * Headers for an outbound request, so the receiving side's logs can be joined with ours: spread
 * them into every fetch/undici/SDK call made on behalf of a submission.
 * Empty outside a request or job (and for an explicit empty id).
 */
export function correlationHeaders(correlationId = currentCorrelationId()): Record<string, string> {
  return correlationId ? { 'X-Request-Id': correlationId } : {};
}
