import CircuitBreaker from 'opossum';
import { PermanentError } from '../errors.ts';
import { circuitBreakerState } from '../metrics.ts';
import type { DestinationKind } from './destinations.ts';

// One circuit breaker per destination and process. While a site is down its breaker is open and
// publish jobs for it wait (a delayed job, no attempt spent) instead of failing their retries.

export type DestinationBreakerOptions = {
  errorThresholdPercentage: number;
  volumeThreshold: number;
  resetTimeoutMs: number;
};

type Entry = {
  breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  kind: DestinationKind;
  openedAt: number;
  resetTimeoutMs: number;
};

const breakers = new Map<string, Entry>();
/** Breakers kept: past this many destinations, the longest-known closed one is forgotten (it starts closed again). */
const MAX_BREAKERS = 1_000;

const stateValue = (b: CircuitBreaker<[() => Promise<unknown>], unknown>) => (b.opened ? 2 : b.halfOpen ? 1 : 0);

/** The gauge is labelled by kind (bounded), showing the worst breaker of that kind. */
function updateGauge(kind: DestinationKind): void {
  let worst = 0;
  for (const e of breakers.values()) if (e.kind === kind) worst = Math.max(worst, stateValue(e.breaker));
  circuitBreakerState.set({ breaker: `destination:${kind}` }, worst);
}

function entryFor(key: string, kind: DestinationKind, opts: DestinationBreakerOptions): Entry {
  const existing = breakers.get(key);
  if (existing) return existing;
  const breaker = new CircuitBreaker(async (call: () => Promise<unknown>) => call(), {
    // Each call has its own timeout; a second one here would race it.
    timeout: false,
    errorThresholdPercentage: opts.errorThresholdPercentage,
    volumeThreshold: opts.volumeThreshold,
    resetTimeout: opts.resetTimeoutMs,
    // A refusal (wrong password, bad request) means the site is up: it does not count.
    errorFilter: (err: unknown) => err instanceof PermanentError,
  });
  const entry: Entry = { breaker, kind, openedAt: 0, resetTimeoutMs: opts.resetTimeoutMs };
  breaker.on('open', () => {
    entry.openedAt = Date.now();
    updateGauge(kind);
  });
  breaker.on('halfOpen', () => updateGauge(kind));
  breaker.on('close', () => updateGauge(kind));
  if (breakers.size >= MAX_BREAKERS) {
    for (const [oldKey, old] of breakers) {
      if (old.breaker.opened || old.breaker.halfOpen) continue;
      old.breaker.shutdown();
      breakers.delete(oldKey);
      break;
    }
  }
  breakers.set(key, entry);
  updateGauge(kind);
  return entry;
}

export function throughDestinationBreaker<T>(
  key: string,
  kind: DestinationKind,
  opts: DestinationBreakerOptions,
  call: () => Promise<T>,
): Promise<T> {
  return entryFor(key, kind, opts).breaker.fire(call) as Promise<T>;
}

/** Milliseconds until an open breaker lets a trial call through; 0 when it is closed or half-open. */
export function destinationWaitMs(key: string): number {
  const entry = breakers.get(key);
  if (!entry?.breaker.opened) return 0;
  return Math.max(100, entry.openedAt + entry.resetTimeoutMs - Date.now());
}

export function isBreakerOpenError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EOPENBREAKER';
}

/** Forgets every breaker (tests start closed). */
export function resetDestinationBreakers(): void {
  for (const { breaker } of breakers.values()) breaker.shutdown();
  breakers.clear();
}
