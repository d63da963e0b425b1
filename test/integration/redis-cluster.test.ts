import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { familyOf } from '../../src/redis-keys.ts';
import { createRedis, masters } from '../../src/redis.ts';
import { modelWriter } from '../support/fake-model-writer.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startRedisCluster, type RedisClusterPeer } from '../support/redis-cluster.ts';
import { articles } from '../support/source-articles.ts';

// The whole pipeline on a Redis Cluster of three masters (one replica each): queues, workers, the job
// schedulers' queue, the rate limiters, the model cache, the model's request and token windows and
// concurrency slots, robots.txt and the per-host fetch limits. Redis refuses a script or multi-key
// command whose keys span slots (CROSSSLOT), and a client that ignores the cluster sees MOVED; any
// such error in any log line fails the test. Then every key left in the cluster is checked against the
// families of src/redis-keys.ts.

describe('the pipeline on a Redis Cluster', () => {
  let cluster: RedisClusterPeer;
  let fake: FakeOpenAI;
  let site: Server;
  let siteUrl: string;
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const logLines: string[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    fake = await startFakeOpenAI();
    fake.onChat(modelWriter());
    site = createServer((req, res) => {
      if (req.url === '/robots.txt') {
        res.setHeader('content-type', 'text/plain');
        return void res.end('User-agent: *\nAllow: /\n');
      }
      const article = articles[Number(req.url?.replace(/\D/g, '') || 0) % articles.length]!;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><html lang="en"><head><title>${article.title}</title></head><body><article>${article.text
          .split('\n\n')
          .map((p) => (p.startsWith('#') ? `<h2>${p.replace(/^#+\s*/, '')}</h2>` : `<p>${p}</p>`))
          .join('')}</article></body></html>`,
      );
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    t = await createTestEnv({
      REDIS_CLUSTER_NODES: cluster.nodes,
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_MODEL: 'fake-model',
      LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 0, completion: 0 } }),
      // Every Redis-backed limit on, high enough never to refuse.
      LLM_RPM: '100000',
      LLM_TPM: '100000000',
      LLM_MAX_CONCURRENCY: '4',
      RATE_LIMIT_PER_KEY: '100000',
      RATE_LIMIT_PER_ADDRESS: '100000',
      LOG_LEVEL: 'warn',
    });
    const logger = createLogger('warn', 'blog-poster', { write: (line: string) => void logLines.push(line) });
    app = await startPipeline(t, { logger });
  });

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    site?.close();
    await fake?.close();
    await cluster?.cleanup();
  });

  it('publishes every submission with no CROSSSLOT or MOVED error, each key in a known family', async () => {
    const accepted = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.post('/api/v1/submissions', {
          source:
            i % 4 === 3
              ? { type: 'url', url: `${siteUrl}/article-${i}` }
              : { type: 'markdown', text: articles[i % articles.length]!.text },
          brief: { minWords: 50, maxWords: 600 },
        }),
      ),
    );
    expect(accepted.map((r) => r.status)).toEqual(accepted.map(() => 202));
    const ids = accepted.map((r) => r.body.postId as string);
    const ended = await waitFor(
      '20 posts to end',
      async () => {
        const { rows } = await app.rt.db.query<{ status: string }>(
          `SELECT status FROM posts WHERE id = ANY($1::uuid[]) AND status IN ('published', 'failed', 'needs_review')`,
          [ids],
        );
        return rows.length === ids.length ? rows : null;
      },
      120_000,
    );
    expect(ended.map((r) => r.status)).toEqual(ids.map(() => 'published'));
    // Read routes and the queue views (Bull Board's counts, /readyz's worker check) work on the cluster too.
    expect((await app.get('/api/v1/posts?limit=5')).status).toBe(200);
    expect((await fetch(`${app.api.url}/readyz`)).status).toBe(200);

    expect(logLines.filter((l) => /CROSSSLOT|MOVED|ASK /.test(l))).toEqual([]);

    // Every key the run left, on every master, belongs to a family; a family's shared keys share a slot.
    const probe = createRedis(t.config, 'worker');
    try {
      const keys: string[] = [];
      for (const node of await masters(probe)) {
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'COUNT', 1000);
          cursor = next;
          keys.push(...found);
        } while (cursor !== '0');
      }
      const ns = t.config.QUEUE_PREFIX.replace(/[{}]/g, '');
      const ours = keys.filter((k) => k.includes(ns));
      expect(ours.filter((k) => familyOf(t.config.QUEUE_PREFIX, k) === null)).toEqual([]);
      const families = new Set(ours.map((k) => familyOf(t.config.QUEUE_PREFIX, k)));
      for (const family of ['bullmq', 'llm-cache', 'fetch:robots', 'rate-limit:key', 'rate-limit:address'])
        expect(families).toContain(family);
      const slotOf = async (k: string) => (await probe.call('CLUSTER', 'KEYSLOT', k)) as number;
      const bullSlots = new Set(
        await Promise.all(ours.filter((k) => familyOf(t.config.QUEUE_PREFIX, k) === 'bullmq').map(slotOf)),
      );
      expect(bullSlots.size).toBe(1);
      // The other families spread over the cluster instead of loading the queues' master.
      const otherSlots = new Set(
        await Promise.all(ours.filter((k) => familyOf(t.config.QUEUE_PREFIX, k) !== 'bullmq').map(slotOf)),
      );
      expect(otherSlots.size).toBeGreaterThan(3);
    } finally {
      probe.disconnect();
    }
  });
});
