import { errorMessage, PermanentError } from '../errors.ts';
import { FetchError, type SafeFetcher } from '../fetch/safe-fetch.ts';

// Classifying a destination's HTTP answers: what retrying can fix and what it cannot.

/** A transient failure of a destination (5xx, 429, timeout, connection refused): retried, counted by the breaker. */
export class DestinationUnavailableError extends Error {
  override readonly name = 'DestinationUnavailableError';
  readonly status: number | null;
  constructor(message: string, status: number | null = null) {
    super(message);
    this.status = status;
  }
}

/** Statuses worth retrying: timeouts, conflicts of the moment, rate limits and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/**
 * One request to a destination through the SSRF guard (`SafeFetcher.send`: the address is checked
 * and pinned, redirects are not followed, the answer is capped). A refused address or URL is a
 * PermanentError with the reason; network errors, unresolved names and timeouts are
 * DestinationUnavailableError, as before.
 */
export async function sendToDestination(
  fetcher: SafeFetcher,
  what: string,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array },
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetcher.send(url, { ...init, timeoutMs });
  } catch (err) {
    throw destinationError(what, err);
  }
}

/** A fetcher error as the publishers classify it: refusals and what a retry repeats are permanent. */
export function destinationError(what: string, err: unknown): Error {
  if (err instanceof FetchError) {
    if (err.kind === 'refused') {
      const hint = /address/.test(err.message)
        ? ' (a destination must have a public address; FETCH_ALLOW_PRIVATE_HOSTS lists exceptions)'
        : '';
      return new PermanentError(`${what}: ${err.message}${hint}`);
    }
    if (err.permanent && err.kind !== 'dns') return new PermanentError(`${what}: ${err.message}`);
    return new DestinationUnavailableError(`${what}: ${err.message}`, err.status ?? null);
  }
  return new DestinationUnavailableError(`${what}: ${errorMessage(err)}`);
}
