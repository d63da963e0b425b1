import type { Queue } from 'bullmq';
import type { RedisClient } from './redis.ts';
import type { Db } from './db/pool.ts';
import type { ReadRouting } from './db/replicas.ts';

// Readiness: every dependency checked at once, each with its status and latency. Providers add their
// own checks (a Qdrant index, a model endpoint) through Providers.healthChecks.

export type HealthCheck = {
  name: string;
  /**
   * A critical check that is down makes /readyz answer 503; others only mark the report degraded. A check may
   * also throw an error with `critical: true` (a configuration error found, not an outage) to count as critical.
   */
  critical: boolean;
  /** Resolves when the dependency answers; the value, if an object, is added to the report. */
  check(): Promise<unknown>;
};

export type CheckResult = { status: 'up' | 'down'; latencyMs: number; critical: boolean; error?: string } & Record<
  string,
  unknown
>;

export type Readiness = { status: 'ready' | 'degraded' | 'not ready'; checks: Record<string, CheckResult> };

const checkTimeoutMs = 2000;

export async function runCheck(check: HealthCheck): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${checkTimeoutMs} ms`)), checkTimeoutMs);
      }),
    ]);
    return { ...(isRecord(detail) ? detail : {}), status: 'up', latencyMs: elapsed(started), critical: check.critical };
  } catch (err) {
    // A check may attach what it found to its error (which queues lack a worker) for the report.
    const details = (err as { details?: unknown }).details;
    return {
      ...(isRecord(details) ? details : {}),
      status: 'down',
      latencyMs: elapsed(started),
      critical: check.critical || (err as { critical?: unknown }).critical === true,
      error: (err as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(checks: readonly HealthCheck[]): Promise<Readiness> {
  const results = await Promise.all(checks.map(runCheck));
  const named = Object.fromEntries(checks.map((c, i) => [c.name, results[i]!]));
  const criticalDown = results.some((r) => r.critical && r.status === 'down');
  const anyDown = results.some((r) => r.status === 'down');
  return { status: criticalDown ? 'not ready' : anyDown ? 'degraded' : 'ready', checks: named };
}

export function redisCheck(redis: RedisClient): HealthCheck {
  return { name: 'redis', critical: true, check: () => redis.ping() };
}

export function postgresCheck(db: Db): HealthCheck {
  return { name: 'postgres', critical: true, check: () => db.query('SELECT 1') };
}

/** The pgvector index lives in PostgreSQL: the extension must be installed and answer a distance query. */
export function pgvectorCheck(db: Db): HealthCheck {
  return {
    name: 'vectorIndex',
    critical: true,
    async check() {
      const { rows } = await db.query<{ version: string }>(
        `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') ` +
          `AS version, '[1,0]'::vector <=> '[0,1]'::vector AS d`,
      );
      return { backend: 'pgvector', version: rows[0]?.version };
    },
  };
}

/**
 * Whether each queue has at least one live worker (BullMQ names its worker connections, so Redis's
 * CLIENT LIST tells). Not critical: without workers submissions still queue up safely.
 */
export function workersCheck(queues: readonly Queue[]): HealthCheck {
  return {
    name: 'workers',
    critical: false,
    async check() {
      const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
      const byQueue = Object.fromEntries(
        queues.map((q, i) => [q.name, { status: counts[i]! > 0 ? 'up' : 'down', workers: counts[i]! }]),
      );
      const idle = queues.filter((_, i) => counts[i] === 0).map((q) => q.name);
      if (idle.length > 0)
        throw Object.assign(new Error(`no live worker for ${idle.join(', ')}`), { details: { queues: byQueue } });
      return { queues: byQueue };
    },
  };
}

/**
 * The read replicas (DATABASE_READ_URL): each one's state as the last probe found it. One that is down or too far
 * behind marks the report degraded, never not ready: its reads go to the primary meanwhile.
 */
export function replicasCheck(reads: ReadRouting): HealthCheck {
  return {
    name: 'replicas',
    critical: false,
    async check() {
      await reads.refresh();
      const replicas = Object.fromEntries(
        reads.replicas().map((r) => [
          r.name,
          {
            status: r.up && r.reason === undefined ? 'up' : 'down',
            lagSeconds: r.lagSeconds,
            ...(r.reason !== undefined ? { reason: r.reason } : {}),
          },
        ]),
      );
      const unused = Object.entries(replicas).filter(([, r]) => r.status === 'down');
      if (unused.length > 0)
        throw Object.assign(
          new Error(
            `reads go to the primary instead of ${unused.map(([name, r]) => `${name} (${r.reason ?? 'down'})`).join(', ')}`,
          ),
          { details: { replicas } },
        );
      return { replicas };
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}
