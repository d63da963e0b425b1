import CircuitBreaker from 'opossum';
import { PermanentError } from '../errors.ts';
import { circuitBreakerState } from '../metrics.ts';
import { LlmRateLimitedError } from './errors.ts';

export type BreakerOptions = { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number };

type Breaker = { breaker: CircuitBreaker<[() => Promise<unknown>], unknown>; openedAt: number; resetTimeoutMs: number };

// One breaker per provider and endpoint for the whole process, whichever job is calling.
const breakers = new Map<string, Breaker>();
// Until when (Date.now()) an endpoint asked this process to wait: its last 429's Retry-After.
const holds = new Map<string, number>();

/** Records a 429's Retry-After: the process's other calls to the endpoint wait it out too (holdMs). */
export function holdEndpoint(name: string, endpoint: string, ms: number): void {
  const key = `${name} ${endpoint}`;
  if (holds.size >= 100 && !holds.has(key)) holds.clear();
  holds.set(key, Math.max(holds.get(key) ?? 0, Date.now() + ms));
}

/** Milliseconds left of the endpoint's last Retry-After; 0 when none is running. */
export function holdMs(name: string, endpoint: string): number {
  return Math.max(0, (holds.get(`${name} ${endpoint}`) ?? 0) - Date.now());
}

/**
 * Runs `call` through the provider's breaker. Only the provider's own health counts against it: 5xx, timeouts
 * and broken connections do; a 429, a refusal or a rejected request do not (the endpoint is up and answering).
 */
export async function throughBreaker<T>(
  name: string,
  endpoint: string,
  opts: BreakerOptions,
  call: () => Promise<T>,
): Promise<T> {
  const entry = breakerFor(name, endpoint, opts);
  return (await entry.breaker.fire(call)) as T;
}

/** Milliseconds until an open breaker lets a trial call through; 0 when it is closed or half-open. */
export function breakerWaitMs(name: string, endpoint: string): number {
  const entry = breakers.get(`${name} ${endpoint}`);
  if (!entry?.breaker.opened) return 0;
  return Math.max(250, entry.openedAt + entry.resetTimeoutMs - Date.now());
}

/** Whether the breaker is half-open with its one trial call in flight, so that it refuses every other call. */
export function trialInFlight(name: string, endpoint: string): boolean {
  const breaker = breakers.get(`${name} ${endpoint}`)?.breaker;
  return Boolean(breaker?.halfOpen && !breaker.pendingClose);
}

/**
 * Waits for the verdict of a half-open breaker's trial call, looking again after 100 ms and twice as long each
 * time up to 2 s, at most `maxWaitMs`: `closed` (the trial passed: call now), `open` (it failed) or `pending`.
 */
export async function trialVerdict(name: string, endpoint: string, maxWaitMs: number): Promise<TrialVerdict> {
  const deadline = Date.now() + maxWaitMs;
  let pause = 100;
  while (trialInFlight(name, endpoint)) {
    if (Date.now() + pause > deadline) return 'pending';
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(2_000, pause * 2);
  }
  return breakers.get(`${name} ${endpoint}`)?.breaker.opened ? 'open' : 'closed';
}

export type TrialVerdict = 'closed' | 'open' | 'pending';

export function isBreakerOpenError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EOPENBREAKER';
}

function breakerFor(name: string, endpoint: string, opts: BreakerOptions): Breaker {
  const key = `${name} ${endpoint}`;
  const existing = breakers.get(key);
  if (existing) return existing;
  const breaker = new CircuitBreaker(async (call: () => Promise<unknown>) => call(), {
    // Calls have their own timeouts (LLM_TIMEOUT_MS); a second one here would race them.
    timeout: false,
    errorThresholdPercentage: opts.errorThresholdPercentage,
    volumeThreshold: opts.volumeThreshold,
    resetTimeout: opts.resetTimeoutMs,
    errorFilter: (err: unknown) => err instanceof LlmRateLimitedError || err instanceof PermanentError,
  });
  const entry: Breaker = { breaker, openedAt: 0, resetTimeoutMs: opts.resetTimeoutMs };
  breaker.on('open', () => {
    entry.openedAt = Date.now();
    circuitBreakerState.set({ breaker: name }, 2);
  });
  breaker.on('halfOpen', () => circuitBreakerState.set({ breaker: name }, 1));
  breaker.on('close', () => circuitBreakerState.set({ breaker: name }, 0));
  circuitBreakerState.set({ breaker: name }, 0);
  breakers.set(key, entry);
  return entry;
}

/** Forgets every breaker and Retry-After (tests start each case closed). */
export function resetBreakers(): void {
  for (const { breaker } of breakers.values()) breaker.shutdown();
  breakers.clear();
  holds.clear();
}
