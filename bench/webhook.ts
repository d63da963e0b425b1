import { createApiKey } from '../src/auth/api-keys.ts';
import { connectDb } from '../src/db/pool.ts';
import { createLogger } from '../src/logger.ts';
import { createTestEnv } from '../test/support/harness.ts';
import { freePort } from '../test/support/redis-server.ts';
import { ensureWrk, fmt, percentile, startNode, stopChild, wrkPost, type Row } from './lib.ts';

type WrkResult = Awaited<ReturnType<typeof wrkPost>>;

const median = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

const body = JSON.stringify({
  source: {
    type: 'text',
    title: 'Bench',
    text: 'A webhook body of ordinary size. It carries one short source to write about.',
  },
});

/** 1. Webhook accepts per second and p99 latency with a tenant's key, against a bare Express + zod + Queue.add app. */
export async function benchWebhook(seconds = 12, rounds = 3): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
  await ensureWrk();
  const t = await createTestEnv({ LOG_LEVEL: 'info' });
  try {
    const apiPort = await freePort();
    const api = await startNode(['bin/main.ts', 'api'], { ...t.env, PORT: String(apiPort) }, /API listening/);
    // A tenant's key, as a system sending webhooks has (DEV_API_KEY skips the key's look-up).
    const db = await connectDb(t.config, createLogger('silent'));
    const tenant = await db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`);
    const { key } = await createApiKey(db, { tenantId: tenant.rows[0]!.id, name: 'bench', scopes: ['submit'] });
    await db.close();
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` };
    const basePort = await freePort();
    const base = await startNode(
      ['bench/baseline-webhook-app.ts'],
      { ...t.env, PORT: String(basePort) },
      /baseline ready/,
    );
    const oursUrl = `http://127.0.0.1:${apiPort}/api/v1/submissions`;
    const bareUrl = `http://127.0.0.1:${basePort}/api/v1/submissions`;
    await wrkPost(oursUrl, body, headers, 2); // warm-up
    await wrkPost(bareUrl, body, headers, 2);
    // Rounds alternate, the order flipped each round, and the medians are kept: the bare app's own rate swings by 2×
    // between runs on a shared machine, so a single pair measured minutes apart says little.
    const runs: { ours: WrkResult; bare: WrkResult }[] = [];
    for (let round = 0; round < rounds; round++) {
      const first = round % 2 === 0 ? oursUrl : bareUrl;
      const a = await wrkPost(first, body, headers, seconds / rounds);
      const b = await wrkPost(first === oursUrl ? bareUrl : oursUrl, body, headers, seconds / rounds);
      runs.push(first === oursUrl ? { ours: a, bare: b } : { ours: b, bare: a });
    }
    await stopChild(api);
    await stopChild(base);
    const ours = { rps: median(runs.map((r) => r.ours.rps)), p99ms: median(runs.map((r) => r.ours.p99ms)) };
    const bare = { rps: median(runs.map((r) => r.bare.rps)), p99ms: median(runs.map((r) => r.bare.p99ms)) };
    const ratio = median(runs.map((r) => r.ours.rps / r.bare.rps));
    const p99Ratio = median(runs.map((r) => r.ours.p99ms / r.bare.p99ms));

    return {
      rows: [
        {
          benchmark: `webhook accepts/s (median of ${rounds} alternating rounds)`,
          measured: fmt(ours.rps, 0),
          baseline: fmt(bare.rps, 0),
          ratio: `${fmt(ratio, 2)}×`,
        },
        {
          benchmark: `webhook p99 latency (ms) (median of ${rounds} rounds)`,
          measured: fmt(ours.p99ms, 1),
          baseline: fmt(bare.p99ms, 1),
          ratio: `${fmt(p99Ratio, 2)}×`,
        },
      ],
      data: { ours, bare, runs, seconds, rounds, connections: 32 },
    };
  } finally {
    await t.cleanup();
  }
}

if (import.meta.main) {
  const { rows, data } = await benchWebhook();
  console.table(rows);
  console.log(JSON.stringify(data));
}
