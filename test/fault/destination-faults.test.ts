import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { tallyPosts } from '../support/fault-report.ts';

type Mode = 'error' | 'hang' | 'reset' | 'ok';

describe('a destination answering 5xx, timing out and resetting connections', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let server: Server;
  let url: string;
  let mode: Mode = 'error';
  // webhook-id → how many times this receiver accepted it (answered 200).
  const accepted = new Map<string, number>();
  const seen = { error: 0, hang: 0, reset: 0 };

  beforeAll(async () => {
    process.env.BP_SECRET_FAULT_HOOK = 'whsec_ZmF1bHQtaW5qZWN0aW9uLXNlY3JldC0wMTIzNDU2Nzg5';
    server = createServer((req, res) => {
      const id = String(req.headers['webhook-id'] ?? '');
      req.resume();
      req.on('end', () => {
        if (mode === 'error') {
          seen.error++;
          res.statusCode = 503;
          return res.end('overloaded');
        }
        if (mode === 'hang') {
          seen.hang++;
          return; // never answers: the publisher's timeout fires
        }
        if (mode === 'reset') {
          seen.reset++;
          return req.socket.resetAndDestroy();
        }
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    // Retries and the destination's breaker on a short clock, so the test runs in seconds.
    t = await createTestEnv({
      STAGE_ATTEMPTS: '8',
      STAGE_BACKOFF_MS: '200',
      PUBLISH_BREAKER_VOLUME: '3',
      PUBLISH_BREAKER_RESET_MS: '500',
    });
    app = await startPipeline(t);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await app?.stop();
    await t?.cleanup();
  });

  it('publishes every post exactly once after the destination recovers', async () => {
    const dest = await app.post('/api/v1/destinations', {
      name: 'flaky',
      kind: 'webhook',
      config: { url, secretEnv: 'BP_SECRET_FAULT_HOOK', timeoutMs: 300 },
    });
    expect(dest.status).toBe(201);
    const submit = (i: number) =>
      app.post('/api/v1/submissions', {
        source: { type: 'text', text: `Destination fault post ${i}. The receiver misbehaves before it recovers.` },
        publish: { destinations: [dest.body.id] },
      });

    const posts = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(i)));
    // Each misbehaviour lasts until deliveries have met it (not a fixed time: on a loaded machine the
    // first deliveries may come later than any chosen delay), then the next one starts.
    await waitFor('deliveries refused with 503', async () => seen.error >= 3, 60_000);
    mode = 'hang';
    await waitFor('a delivery left hanging', async () => seen.hang >= 1, 60_000);
    mode = 'reset';
    await waitFor('a connection reset', async () => seen.reset >= 1, 60_000);
    mode = 'ok';
    const ids = posts.map((p) => p.body.postId as string);
    await waitFor(
      'every post settled',
      async () => {
        const { rows } = await app.rt.db.query(
          `SELECT count(*)::int AS n FROM posts WHERE id = ANY($1::uuid[]) AND status IN ('published', 'failed')`,
          [ids],
        );
        return rows[0]!.n === ids.length;
      },
      90_000,
    );

    // Each misbehaviour really happened, and the receiver accepted each post's delivery once.
    expect(seen.error).toBeGreaterThan(0);
    expect(seen.hang + seen.reset).toBeGreaterThan(0);
    const twice = new Set<string>();
    const { rows } = await app.rt.db.query<{ post_id: string; external_id: string }>(
      `SELECT post_id, external_id FROM publications WHERE post_id = ANY($1::uuid[]) AND status = 'published'`,
      [ids],
    );
    for (const r of rows) if ((accepted.get(r.external_id) ?? 0) > 1) twice.add(r.post_id);
    const report = await tallyPosts(app.rt.db, 'destination answering 503, timing out, resetting', ids, {
      duplicatedIds: twice,
    });
    expect(report).toMatchObject({ accepted: 12, published: 12, lost: 0, duplicated: 0 });
    expect([...accepted.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);
});
