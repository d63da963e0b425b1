import { AsyncLocalStorage } from 'node:async_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';

// Counts the PostgreSQL statements and round trips and the Redis commands each part of the work makes (a stage's
// processor, the stage runner's bookkeeping, a submission), for the benchmark (bench/pipeline.ts). Off unless
// startCounting() is called: until then nothing is patched and inCountScope() is a plain call.

export type Tally = { statements: number; roundTrips: number; redisCommands: number };

let active: { scope: AsyncLocalStorage<string>; tallies: Map<string, Tally>; restore: () => void } | null = null;

/** Runs fn with its statements and commands counted under `label` (while counting; a plain call otherwise). */
export function inCountScope<T>(label: string, fn: () => T): T {
  return active ? active.scope.run(label, fn) : fn();
}

function tallyOf(): Tally {
  const label = active!.scope.getStore() ?? 'unscoped';
  let tally = active!.tallies.get(label);
  if (!tally) {
    tally = { statements: 0, roundTrips: 0, redisCommands: 0 };
    active!.tallies.set(label, tally);
  }
  return tally;
}

/** Statements in one query: a parameterless simple query may hold several, separated by semicolons. */
function statementsIn(query: unknown, values: unknown): number {
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  const params = Array.isArray(values) ? values : (query as { values?: unknown } | null)?.values;
  if (typeof text !== 'string' || (Array.isArray(params) && params.length > 0)) return 1;
  return Math.max(1, text.split(';').filter((s) => s.trim()).length);
}

/**
 * Starts counting every query of every pg client and every command of every ioredis client in this process, by the
 * scope it runs in. `stop()` undoes the patches and returns the tallies by label ('unscoped' for work outside any).
 */
export function startCounting(): { tallies: Map<string, Tally>; stop: () => Map<string, Tally> } {
  if (active) throw new Error('already counting');
  const clientQuery = pg.Client.prototype.query;
  const poolQuery = pg.Pool.prototype.query;
  const redisSend = Redis.prototype.sendCommand;
  const tallies = new Map<string, Tally>();
  const count = (args: unknown[]) => {
    const tally = tallyOf();
    tally.roundTrips++;
    tally.statements += statementsIn(args[0], typeof args[1] === 'function' ? undefined : args[1]);
  };
  // A pool's query is counted when it is called: the client it runs on may be handed over later, in the context of
  // whoever released it. It runs with a callback, which is how the client's own count below tells it apart.
  pg.Pool.prototype.query = function countedPoolQuery(this: pg.Pool, ...args: unknown[]) {
    count(args);
    return (poolQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof poolQuery;
  pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
    if (typeof args.at(-1) !== 'function') count(args);
    return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof clientQuery;
  Redis.prototype.sendCommand = function countedCommand(this: Redis, ...args: Parameters<Redis['sendCommand']>) {
    tallyOf().redisCommands++;
    return redisSend.apply(this, args);
  };
  // A Redis Cluster client hands each command on to one of its nodes' Redis clients, which count it.
  active = {
    scope: new AsyncLocalStorage<string>(),
    tallies,
    restore: () => {
      pg.Client.prototype.query = clientQuery;
      pg.Pool.prototype.query = poolQuery;
      Redis.prototype.sendCommand = redisSend;
    },
  };
  return {
    tallies,
    stop() {
      active?.restore();
      active = null;
      return tallies;
    },
  };
}
