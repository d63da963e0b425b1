import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { dbReplicaLagSeconds, dbReplicaReads, dbReplicaUp } from '../metrics.ts';
import { wrapPool, type Db } from './pool.ts';

// Reads that may go to a streaming replica (DATABASE_READ_URL): the API's lists, post reads, search
// results, related posts and the overview. A replica is used only while it answers and is at most
// DATABASE_READ_MAX_LAG_MS behind; otherwise the read goes to the primary.
//
// Read-your-writes by WAL position: when a tenant sends a write through the API (any of its keys), it is
// pinned to the primary from the moment the request starts; once the answer is sent, the primary's WAL
// position is remembered for DATABASE_READ_YOUR_WRITES_MS (pg_current_wal_insert_lsn(), which covers the
// commit record even when synchronous_commit is off and it is not yet written out), and the caller reads
// from a replica only once that replica has replayed at least that far (pg_last_wal_replay_lsn()).
// Replica positions come from a probe every DATABASE_READ_CHECK_MS, so a replica's position is never
// newer than what it has replayed: a stale probe only sends more reads to the primary.

export type ReplicaState = {
  name: string;
  up: boolean;
  /** WAL position replayed, as pg_lsn text; null while unknown. */
  replayLsn: string | null;
  /** Seconds behind the primary; 0 when it has replayed everything the primary has written. */
  lagSeconds: number | null;
  /** Why it is not used, when it is not. */
  reason?: string;
};

export type ReadRouting = {
  /** The database a caller's read goes to: a replica that has what the caller wrote, else the primary. */
  reader(caller: string): Db;
  /** Pins the caller to the primary before a write starts (until endWrite records its position). */
  beginWrite(caller: string): void;
  /** After the write: remembers the primary's WAL position for the caller. */
  endWrite(caller: string): Promise<void>;
  /** Probes every replica now (the probe also runs on a timer). */
  refresh(): Promise<void>;
  replicas(): ReplicaState[];
  close(): Promise<void>;
};

/** Splits DATABASE_READ_URL into its URLs. */
export function readUrls(config: Pick<Config, 'DATABASE_READ_URL'>): string[] {
  return (config.DATABASE_READ_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

export function createReadRouting(config: Config, primary: Db, logger: Logger): ReadRouting | null {
  const urls = readUrls(config);
  if (!urls.length) return null;
  const log = logger.child({ component: 'db-replicas' });
  const maxLagSeconds = config.DATABASE_READ_MAX_LAG_MS / 1000;
  const replicas = urls.map((url, i) => {
    const u = new URL(url);
    const name = `${u.hostname}:${u.port || '5432'}`;
    const pool = new pg.Pool({
      connectionString: url,
      max: config.DATABASE_POOL_MAX,
      connectionTimeoutMillis: 2_000,
      idleTimeoutMillis: 30_000,
      // A replica that stops answering must not hold a read for long: the probe takes it out.
      query_timeout: 10_000,
    });
    pool.on('error', (err) => log.warn({ replica: name, err: err.message }, 'idle replica client failed'));
    const state: ReplicaState = {
      name: urls.length > 1 ? `${name}#${i}` : name,
      up: false,
      replayLsn: null,
      lagSeconds: null,
      reason: 'not probed yet',
    };
    return { state, db: wrapPool(pool, log, config.DATABASE_SLOW_QUERY_MS, config.DATABASE_PREPARED_STATEMENTS) };
  });

  /** Callers that wrote recently: null while the write is in flight (primary only), else its position. */
  const pins = new Map<string, { lsn: string | null; until: number }>();
  let next = 0;

  async function probe(r: (typeof replicas)[number]): Promise<void> {
    try {
      const primaryLsn = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn'))
        .rows[0]!.lsn;
      const { rows } = await r.db.query<{
        recovery: boolean;
        lsn: string | null;
        behind: string | null;
        ts_lag: number | null;
      }>(
        `SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS lsn,
                pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS behind,
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS ts_lag`,
        [primaryLsn],
      );
      const row = rows[0]!;
      if (!row.recovery || row.lsn === null) {
        Object.assign(r.state, { up: false, replayLsn: null, lagSeconds: null, reason: 'not a streaming replica' });
      } else {
        // Nothing left to replay means no lag, however long ago the primary last wrote.
        const behind = Number(row.behind ?? 0);
        const lag = behind <= 0 ? 0 : Math.max(0, row.ts_lag ?? 0);
        Object.assign(r.state, { up: true, replayLsn: row.lsn, lagSeconds: lag });
        delete r.state.reason;
        if (lag > maxLagSeconds) r.state.reason = `${lag.toFixed(1)} s behind (over DATABASE_READ_MAX_LAG_MS)`;
      }
    } catch (err) {
      if (r.state.up)
        log.warn(
          { replica: r.state.name, err: (err as Error).message },
          'read replica unavailable; reading from the primary',
        );
      Object.assign(r.state, { up: false, replayLsn: null, lagSeconds: null, reason: (err as Error).message });
    }
    dbReplicaUp.set({ replica: r.state.name }, r.state.up ? 1 : 0);
    if (r.state.lagSeconds !== null) dbReplicaLagSeconds.set({ replica: r.state.name }, r.state.lagSeconds);
  }

  let probing: Promise<void> | null = null;
  const refresh = () => {
    probing ??= Promise.all(replicas.map(probe)).then(() => {
      probing = null;
    });
    return probing;
  };
  const timer = setInterval(() => void refresh(), config.DATABASE_READ_CHECK_MS);
  timer.unref();
  void refresh();

  const usable = (r: (typeof replicas)[number], lsn: string | null | undefined) =>
    r.state.up &&
    r.state.reason === undefined &&
    (lsn === undefined || (lsn !== null && r.state.replayLsn !== null && lsnAtLeast(r.state.replayLsn, lsn)));

  return {
    reader(caller) {
      const pin = pins.get(caller);
      if (pin && pin.until < Date.now()) pins.delete(caller);
      const need = pin && pin.until >= Date.now() ? pin.lsn : undefined;
      for (let i = 0; i < replicas.length; i++) {
        const r = replicas[(next + i) % replicas.length]!;
        if (usable(r, need)) {
          next = (next + i + 1) % replicas.length;
          dbReplicaReads.inc({ target: 'replica' });
          return fallbackOnError(r.db, primary, () => void refresh());
        }
      }
      dbReplicaReads.inc({ target: 'primary' });
      return primary;
    },
    beginWrite(caller) {
      pins.set(caller, { lsn: null, until: Date.now() + config.DATABASE_READ_YOUR_WRITES_MS });
    },
    async endWrite(caller) {
      try {
        const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
        pins.set(caller, { lsn: rows[0]!.lsn, until: Date.now() + config.DATABASE_READ_YOUR_WRITES_MS });
      } catch {
        // Primary unreachable: the pin stays on the primary until it expires.
      }
    },
    refresh,
    replicas: () => replicas.map((r) => ({ ...r.state })),
    async close() {
      clearInterval(timer);
      await Promise.all(replicas.map((r) => r.db.close().catch(() => undefined)));
    },
  };
}

/** A replica's Db whose failed connections (not query errors) retry the read on the primary. */
function fallbackOnError(replica: Db, primary: Db, onDown: () => void): Db {
  return {
    ...replica,
    async query(text, params) {
      try {
        return await replica.query(text, params);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        onDown();
        return primary.query(text, params);
      }
    },
  };
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  // Class 08 (connection exception), 57P0x (shutdown, cannot connect now), socket errors, pool timeouts.
  return (
    (typeof e.code === 'string' && (/^08/.test(e.code) || /^57P0/.test(e.code) || /^E[A-Z]+$/.test(e.code))) ||
    /timeout|terminat|Connection|ECONNREFUSED/i.test(e.message ?? '')
  );
}

/** a >= b for pg_lsn text such as 0/16B3748. */
export function lsnAtLeast(a: string, b: string): boolean {
  const value = (lsn: string) => {
    const [hi, lo] = lsn.split('/');
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  };
  return value(a) >= value(b);
}
