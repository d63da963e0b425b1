import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

const cli = join(import.meta.dirname, '../../bin/main.ts');

describe('a worker killed in the middle of a stage', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;
  let hang = true;
  let requests = 0;
  const children: ChildProcess[] = [];

  function startWorker(): ChildProcess {
    const child = spawn(process.execPath, [cli, 'worker'], {
      // Short locks so the killed worker's jobs are seen as stalled within seconds, not a minute.
      env: { ...process.env, ...t.env, LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    // A source site whose pages hang while `hang` is set: the ingest stage is caught mid-fetch.
    site = createServer((req, res) => {
      requests++;
      const answer = () => {
        res.setHeader('content-type', 'text/html');
        res.end(`<html><body><article><h1>Page ${req.url}</h1>\
<p>Recovery after a crash must not lose or duplicate work. This page is ${req.url}.</p>
          <p>The stage runs again on another worker and leaves the same result.</p></article></body></html>`);
      };
      if (hang) setTimeout(answer, 60_000).unref();
      else answer();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    site?.closeAllConnections();
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  it('is taken over by a new worker and every post is published exactly once', async () => {
    const first = startWorker();
    const accepted = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/p${i}` } }),
      ),
    );
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    await waitFor('all six fetches in flight', async () => requests >= 6, 30_000);

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    hang = false;
    startWorker();

    const postIds = accepted.map((r) => r.body.postId as string);
    await waitFor(
      'six published posts',
      async () => {
        const { rows } = await app.rt.db.query(`SELECT count(*)::int AS n FROM posts WHERE status = 'published'`);
        return rows[0]!.n === 6;
      },
      60_000,
    );

    for (const id of postIds) {
      const { body: post } = await app.get(`/api/v1/posts/${id}`);
      expect(post.publications).toHaveLength(1);
      const runs = post.stages as { stage: string; outcome: string }[];
      expect(runs.filter((r) => r.stage === 'publish' && r.outcome === 'completed')).toHaveLength(1);
      // The run the killed worker left open is closed as abandoned, then completed by the new worker.
      expect(runs.filter((r) => r.stage === 'ingest').map((r) => r.outcome)).toEqual(['abandoned', 'completed']);
    }
    const tenantDir = readdirSync(t.outputDir)[0]!;
    expect(
      readdirSync(join(t.outputDir, tenantDir)).filter((f) => f.endsWith('.html') && f !== 'index.html'),
    ).toHaveLength(6);
    expect(await app.rt.queues.queues.ingest.getFailedCount()).toBe(0);
  }, 90_000);
});
