import { createApiKey } from '../src/auth/api-keys.ts';
import { connectDb } from '../src/db/pool.ts';
import { createLogger } from '../src/logger.ts';
import { createTestEnv } from '../test/support/harness.ts';
import { freePort } from '../test/support/redis-server.ts';
import { ensureWrk, fmt, startNode, stopChild, wrkPost, type Row } from './lib.ts';

const body = JSON.stringify({
  source: {
    type: 'text',
    title: 'Bench',
    text: 'A webhook body of ordinary size. It carries one short source to write about.',
  },
});

/** 1. Webhook accepts per second and p99 latency with a tenant's key, against a bare Express + zod + Queue.add app. */
export async function benchWebhook(seconds = 8): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
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
    await wrkPost(`http://127.0.0.1:${apiPort}/api/v1/submissions`, body, headers, 2); // warm-up
    const ours = await wrkPost(`http://127.0.0.1:${apiPort}/api/v1/submissions`, body, headers, seconds);
    await stopChild(api);

    const basePort = await freePort();
    const base = await startNode(
      ['bench/baseline-webhook-app.ts'],
      { ...t.env, PORT: String(basePort) },
      /baseline ready/,
    );
    await wrkPost(`http://127.0.0.1:${basePort}/api/v1/submissions`, body, headers, 2);
    const bare = await wrkPost(`http://127.0.0.1:${basePort}/api/v1/submissions`, body, headers, seconds);
    await stopChild(base);

    return {
      rows: [
        {
          benchmark: 'webhook accepts/s',
          measured: fmt(ours.rps, 0),
          baseline: fmt(bare.rps, 0),
          ratio: `${fmt(ours.rps / bare.rps, 2)}×`,
        },
        {
          benchmark: 'webhook p99 latency (ms)',
          measured: fmt(ours.p99ms, 1),
          baseline: fmt(bare.p99ms, 1),
          ratio: `${fmt(ours.p99ms / bare.p99ms, 2)}×`,
        },
      ],
      data: { ours, bare, seconds, connections: 32 },
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
