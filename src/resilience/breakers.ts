import CircuitBreaker from 'opossum';
import { isPermanent } from '../errors.ts';
import { circuitBreakerState } from '../metrics.ts';
import { pollWithBackoff } from './backoff.ts';

// One circuit breaker per remote (a model endpoint, a destination) and process, whichever job is calling. While a
// remote is down its breaker is open and the jobs that need it wait (a delayed job, no attempt spent) instead of
// failing their retries.

export type BreakerOptions = { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number };

export type BreakerSpec = BreakerOptions & {
  /** The `breaker` label of the state gauge (bounded); it shows the worst breaker that shares it. */
  gauge: string;
  /**
   * Errors that say the remote is up and answering (a refusal, a 429): they do not count against it. Errors that
   * retrying cannot fix always count as "up".
   */
  upWhen?: (err: unknown) => boolean;
};

type Fire = CircuitBreaker<[() => Promise<unknown>], unknown>;
type Entry = { breaker: Fire; gauge: string; openedAt: number; resetTimeoutMs: number };

const breakers = new Map<string, Entry>();
/** Breakers kept: past this many remotes, the longest-known closed one is forgotten (it starts closed again). */
const MAX_BREAKERS = 1_000;
// Until when (Date.now()) a remote asked this process to wait: its last 429's Retry-After.
const holds = new Map<string, number>();

/** Records a 429's Retry-After: the process's other calls to the remote wait it out too (heldMs). */
export function holdRemote(key: string, ms: number): void {
  if (holds.size >= 100 && !holds.has(key)) holds.clear();
  holds.set(key, Math.max(holds.get(key) ?? 0, Date.now() + ms));
}

/** Milliseconds left of the remote's last Retry-After; 0 when none is running. */
export function heldMs(key: string): number {
  return Math.max(0, (holds.get(key) ?? 0) - Date.now());
}

const stateValue = (b: Fire) => (b.opened ? 2 : b.halfOpen ? 1 : 0);

function updateGauge(gauge: string): void {
  let worst = 0;
  for (const e of breakers.values()) if (e.gauge === gauge) worst = Math.max(worst, stateValue(e.breaker));
  circuitBreakerState.set({ breaker: gauge }, worst);
}

function entryFor(key: string, spec: BreakerSpec): Entry {
  const existing = breakers.get(key);
  if (existing) return existing;
  const breaker = new CircuitBreaker(async (call: () => Promise<unknown>) => call(), {
    // Each call has its own timeout; a second one here would race it.
    timeout: false,
    errorThresholdPercentage: spec.errorThresholdPercentage,
    volumeThreshold: spec.volumeThreshold,
    resetTimeout: spec.resetTimeoutMs,
    errorFilter: (err: unknown) => isPermanent(err) || (spec.upWhen?.(err) ?? false),
  });
  const entry: Entry = { breaker, gauge: spec.gauge, openedAt: 0, resetTimeoutMs: spec.resetTimeoutMs };
  breaker.on('open', () => {
    entry.openedAt = Date.now();
    updateGauge(spec.gauge);
  });
  breaker.on('halfOpen', () => updateGauge(spec.gauge));
  breaker.on('close', () => updateGauge(spec.gauge));
  if (breakers.size >= MAX_BREAKERS) {
    for (const [oldKey, old] of breakers) {
      if (old.breaker.opened || old.breaker.halfOpen) continue;
      old.breaker.shutdown();
      breakers.delete(oldKey);
      break;
    }
  }
  breakers.set(key, entry);
  updateGauge(spec.gauge);
  return entry;
}

/** Runs `call` through the breaker of `key`, made on first use from `spec`. */
export async function throughBreaker<T>(key: string, spec: BreakerSpec, call: () => Promise<T>): Promise<T> {
  return (await entryFor(key, spec).breaker.fire(call)) as T;
}

/** Milliseconds until an open breaker lets a trial call through (at least `minMs`); 0 when closed or half-open. */
export function breakerWaitMs(key: string, minMs: number): number {
  const entry = breakers.get(key);
  if (!entry?.breaker.opened) return 0;
  return Math.max(minMs, entry.openedAt + entry.resetTimeoutMs - Date.now());
}

/** Whether the breaker is half-open with its one trial call in flight, so that it refuses every other call. */
export function trialInFlight(key: string): boolean {
  const breaker = breakers.get(key)?.breaker;
  return Boolean(breaker?.halfOpen && !breaker.pendingClose);
}

export type TrialVerdict = 'closed' | 'open' | 'pending';

/**
 * Waits for the verdict of a half-open breaker's trial call, looking again after 100 ms and twice as long each
 * time up to 2 s, at most `maxWaitMs`: `closed` (the trial passed: call now), `open` (it failed) or `pending`.
 */
export async function trialVerdict(key: string, maxWaitMs: number): Promise<TrialVerdict> {
  const settled = await pollWithBackoff(() => trialInFlight(key), Date.now() + maxWaitMs, {
    baseMs: 100,
    maxMs: 2_000,
  });
  if (!settled) return 'pending';
  return breakers.get(key)?.breaker.opened ? 'open' : 'closed';
}

export function isBreakerOpenError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EOPENBREAKER';
}

/** Forgets every breaker and Retry-After (tests start each case closed). */
export function resetBreakers(): void {
  for (const { breaker } of breakers.values()) breaker.shutdown();
  breakers.clear();
  holds.clear();
}
