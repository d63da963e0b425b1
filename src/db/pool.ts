import pg from 'pg';
import pRetry from 'p-retry';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { dbSlowQueriesTotal } from '../metrics.ts';

/** A pool or a transaction's client: what a query function needs. */
export type Queryable = {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
};

export type Db = {
  pool: pg.Pool;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs fn in one transaction on one client; rolls back when it throws. */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

// Timestamps come back as Date, bigints (counts) as numbers: every count here fits.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** Creates the database named in the URL when it does not exist yet (first start on a new host). */
export async function ensureDatabase(databaseUrl: string, logger: Logger): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
        logger.info({ database: name }, 'created database');
      } catch (err) {
        // Another process created it between our check and our CREATE: that is the outcome we wanted.
        const code = (err as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export async function connectDb(config: Config, logger: Logger): Promise<Db> {
  const log = logger.child({ component: 'db' });
  await pRetry(() => ensureDatabase(config.DATABASE_URL, log), {
    retries: config.DATABASE_CONNECT_RETRIES,
    minTimeout: 250,
    maxTimeout: 5000,
    randomize: true,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) =>
      log.warn({ err: error.message, attemptNumber, retriesLeft }, 'PostgreSQL not reachable yet; retrying'),
  });

  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL client failed'));

  return wrapPool(pool, log, config.DATABASE_SLOW_QUERY_MS, config.DATABASE_PREPARED_STATEMENTS);
}

/**
 * At most this many distinct statements are prepared per process: each one is kept by every connection that ran it
 * (in the client and in its PostgreSQL backend), and the service's own statements are far fewer.
 */
const MAX_PREPARED = 500;

/**
 * Names for parameterised statements, so each connection parses and plans a statement once instead of on every run
 * (a fifth of PostgreSQL's CPU per post, mostly planning the stage runner's statements). Process-wide: a name always
 * stands for the same text.
 */
const preparedNames = new Map<string, string>();

/** PostgreSQL's "cached plan must not change result type": a migration changed a prepared statement's columns. */
const PLAN_CHANGED = '0A000';

/** The Db API over a pool: timed queries (slow ones logged and counted) and transactions. */
export function wrapPool(pool: pg.Pool, log: Logger, slowMs: number, prepare = false): Db {
  /** The statement's name, when it is prepared: only statements with parameters, which use the extended protocol. */
  function nameOf(text: string, params: unknown[] | undefined): string | undefined {
    if (!prepare || params === undefined) return undefined;
    let name = preparedNames.get(text);
    if (name === '') return undefined;
    if (name === undefined && preparedNames.size < MAX_PREPARED) {
      name = `bp${preparedNames.size}`;
      preparedNames.set(text, name);
    }
    return name;
  }

  async function query<R extends pg.QueryResultRow>(text: string, params?: unknown[]) {
    const started = performance.now();
    try {
      const name = nameOf(text, params);
      if (name === undefined) return await pool.query<R>(text, params);
      try {
        return await pool.query<R>({ name, text, values: params });
      } catch (err) {
        if ((err as { code?: string }).code !== PLAN_CHANGED) throw err;
        // Connections that prepared it before the migration keep the old plan's shape: this text runs unprepared
        // from now on in this process (a new process prepares it afresh).
        preparedNames.set(text, '');
        log.warn({ query: text.slice(0, 200) }, 'a prepared statement changed shape after a migration; unprepared');
        return await pool.query<R>(text, params);
      }
    } finally {
      const ms = performance.now() - started;
      if (ms >= slowMs) {
        dbSlowQueriesTotal.inc();
        log.warn({ durationMs: Math.round(ms), query: text.slice(0, 200) }, 'slow query');
      }
    }
  }

  async function tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A connection that drops between two statements emits 'error' on the client itself; without a
    // listener that would crash the process. The next statement fails and the transaction unwinds.
    let lost = false;
    const onError = (err: Error) => {
      lost = true;
      log.warn({ err: err.message }, 'PostgreSQL connection lost in a transaction');
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      // A lost connection is destroyed instead of going back to the pool.
      client.release(lost || undefined);
    }
  }

  return { pool, query, tx, close: () => pool.end() };
}
