import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepFailed } from '../../processors/scheduled/sweep-failed.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

const cli = join(import.meta.dirname, '../../bin/main.ts');

describe('dead letters', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;
  let siteDown = true;

  beforeAll(async () => {
    t = await createTestEnv({ STAGE_ATTEMPTS: '2' });
    app = await startPipeline(t);
    site = createServer((req, res) => {
      // No robots.txt (a 5xx one would make the fetcher back off from the whole site).
      if (req.url === '/gone' || req.url === '/robots.txt') {
        res.statusCode = 404;
        return res.end('gone');
      }
      if (siteDown) {
        res.statusCode = 503;
        return res.end('down for maintenance');
      }
      res.setHeader('content-type', 'text/html');
      res.end(
        '<html><body><article><h1>Back up</h1><p>The site came back after an outage. ' +
          'The sweep gave the post another run.</p></article></body></html>',
      );
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  const failedPost = async (url: string) => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'url', url } });
    return waitFor('the post to fail', async () => {
      const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
      return body.status === 'failed' ? body : null;
    });
  };
  const sweep = () =>
    sweepFailed({ db: app.rt.db, queues: app.rt.queues, log: app.rt.logger, minAgeMs: 0, maxRetries: 3 });

  it('keeps a failed job inspectable, and the sweep retries a transient failure but not a permanent one', async () => {
    const transient = await failedPost(`${siteUrl}/flaky`);
    const permanent = await failedPost(`${siteUrl}/gone`);
    const failedJobs = await app.rt.queues.queues.ingest.getFailed();
    expect(failedJobs.map((j) => j.data.postId).sort()).toEqual([transient.id, permanent.id].sort());
    expect(failedJobs.find((j) => j.data.postId === transient.id)?.failedReason).toMatch(/503/);

    siteDown = false;
    expect(await sweep()).toBe(1);
    const recovered = await waitFor('the swept post to publish', async () => {
      const { body } = await app.get(`/api/v1/posts/${transient.id}`);
      return body.status === 'published' ? body : null;
    });
    expect(recovered.publications).toHaveLength(1);
    expect((await app.get(`/api/v1/posts/${permanent.id}`)).body.status).toBe('failed');
    expect(await sweep()).toBe(0);
  });

  it('stops sweeping a post after the configured number of extra runs', async () => {
    siteDown = true;
    const post = await failedPost(`${siteUrl}/always-down`);
    for (let i = 0; i < 3; i++) {
      expect(await sweep()).toBe(1);
      await waitFor('the extra run to fail', async () => {
        const { rows } = await app.rt.db.query(`SELECT status FROM posts WHERE id = $1`, [post.id]);
        return rows[0]!.status === 'failed';
      });
    }
    expect(await sweep()).toBe(0);
  });

  it('replays a post from a chosen stage through the API, refusing bad requests', async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'A post to replay. Operators can run it again from any stage.' },
    });
    const postId = res.body.postId as string;
    await waitFor('published', async () => (await app.get(`/api/v1/posts/${postId}`)).body.status === 'published');

    const bad = await app.post(`/api/v1/posts/${postId}/replay`, { fromStage: 'polish' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('fromStage');
    expect(
      (await app.post(`/api/v1/posts/${postId}/replay`, { fromStage: 'embed', extra: true })).body.errors[0].field,
    ).toBe('extra');
    expect(
      (await app.post('/api/v1/posts/00000000-0000-4000-8000-000000000000/replay', { fromStage: 'embed' })).status,
    ).toBe(404);

    const ok = await app.post(`/api/v1/posts/${postId}/replay`, { fromStage: 'embed' });
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ fromStage: 'embed', generation: 1 });
    const again = await app.post(`/api/v1/posts/${postId}/replay`, { fromStage: 'embed' });
    expect([202, 409]).toContain(again.status); // 409 while the first replay is still in flight
    const post = await waitFor('the replay to finish', async () => {
      const { body } = await app.get(`/api/v1/posts/${postId}`);
      return body.status === 'published' &&
        body.stages.filter((s: { stage: string }) => s.stage === 'embed').length >= 2
        ? body
        : null;
    });
    expect(post.publications).toHaveLength(1);
  });

  it('refuses to replay a post that is in flight', async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'In flight. A second run must wait.' },
    });
    await waitFor(
      'published',
      async () => (await app.get(`/api/v1/posts/${res.body.postId}`)).body.status === 'published',
    );
    await app.rt.db.query(`UPDATE posts SET status = 'generating' WHERE id = $1`, [res.body.postId]);
    const conflict = await app.post(`/api/v1/posts/${res.body.postId}/replay`, { fromStage: 'generate' });
    expect(conflict.status).toBe(409);
  });

  // A CLI process starts in seconds on a loaded machine: a budget for that, not the default 30 s.
  it('replays from the command line', { timeout: 120_000 }, async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'Replayed by the CLI. The command names the stage.' },
    });
    await waitFor(
      'published',
      async () => (await app.get(`/api/v1/posts/${res.body.postId}`)).body.status === 'published',
    );
    const run = spawnSync(process.execPath, [cli, 'replay', res.body.postId, '--from', 'publish'], {
      env: { ...process.env, ...t.env },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ postId: res.body.postId, fromStage: 'publish', generation: 1 });
    const wrong = spawnSync(process.execPath, [cli, 'replay', res.body.postId, '--from', 'nowhere'], {
      env: { ...process.env, ...t.env },
      encoding: 'utf8',
    });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/--from: choose a stage from ingest, generate, embed, index, publish/);
  });
});
