import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { spawnRole, type WorkerProcess } from '../support/worker-process.ts';
import { tallyPosts } from '../support/fault-report.ts';

describe('graceful shutdown and a rolling restart under load', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const workers: WorkerProcess[] = [];
  let site: Server;
  let siteUrl: string;

  beforeAll(async () => {
    // Slow source pages keep ingest jobs in flight when a worker is told to stop.
    site = createServer((req, res) => {
      setTimeout(() => {
        res.setHeader('content-type', 'text/html');
        res.end(
          `<html><body><article><h1>Page ${req.url}</h1><p>A slow page keeps a job ` +
            `in flight during shutdown. Graceful workers finish it first.</p></article></body></html>`,
        );
      }, 400);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    t = await createTestEnv({ SHUTDOWN_GRACE_MS: '20000', WORKER_CONCURRENCY: '2' });
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  it('restarts each worker in turn while posts flow: every exit is 0, no run ' +
    'is abandoned, each post published once', async () => {
    // As an orchestrator would, a worker is replaced only once the new one is up.
    const workersUp = (n: number) =>
      waitFor(`${n} worker processes`, async () => (await app.rt.queues.queues.ingest.getWorkersCount()) === n, 30_000);
    workers.push(spawnRole(t.env), spawnRole(t.env));
    await workersUp(2);
    const submit = (i: number) =>
      app.post('/api/v1/submissions', {
        source:
          i % 2
            ? { type: 'url', url: `${siteUrl}/page-${i}` }
            : {
                type: 'text',
                text: `Rolling restart post ${i}. Work in flight finishes before a worker exits, and nothing is lost.`,
              },
      });

    const accepted = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(i)));
    for (let round = 0; round < 2; round++) {
      // Replace one worker while the other keeps going, with submissions still arriving.
      const old = workers[round]!;
      const more = Promise.all(Array.from({ length: 10 }, (_, i) => submit(100 * (round + 1) + i)));
      const exit = await old.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      workers.push(spawnRole(t.env));
      await workersUp(2);
      accepted.push(...(await more));
    }
    expect(accepted.every((r) => r.status === 202)).toBe(true);

    await waitFor(
      '60 published posts',
      async () => {
        const { rows } = await app.rt.db.query(`SELECT count(*)::int AS n FROM posts WHERE status = 'published'`);
        return rows[0]!.n === 60;
      },
      90_000,
    );
    const { rows } = await app.rt.db.query(
      `SELECT (SELECT count(*)::int FROM publications) AS publications,
              (SELECT count(*)::int FROM stage_runs WHERE outcome <> 'completed') AS unfinished,
              (SELECT count(*)::int FROM stage_runs) AS runs`,
    );
    expect(rows[0]).toEqual({ publications: 60, unfinished: 0, runs: 300 });
    expect(
      await tallyPosts(
        app.rt.db,
        'rolling restart of both workers (SIGTERM) under load',
        accepted.map((r) => r.body.postId),
      ),
    ).toMatchObject({ accepted: 60, published: 60, lost: 0, duplicated: 0 });
    for (const w of workers.slice(2)) expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 150_000);
});
