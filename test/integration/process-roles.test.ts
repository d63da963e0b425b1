import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepStranded } from '../../processors/scheduled/sweep-stranded.ts';
import { stageJobId } from '../../queues/stages.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

const cli = join(import.meta.dirname, '../../bin/main.ts');

describe('process roles', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    site = createServer((_req, res) => {
      // Slow enough for a SIGTERM to arrive mid-stage.
      setTimeout(() => {
        res.setHeader('content-type', 'text/html');
        res.end(
          '<html><body><article><h1>Slow page</h1><p>Graceful shutdown lets this ' +
            'fetch finish before the worker exits.</p></article></body></html>',
        );
      }, 1500);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  // Three CLI processes, each seconds to start on a loaded machine: a budget for that, not the default 30 s.
  it('stops at start with a message naming a bad variable', { timeout: 120_000 }, () => {
    const run = spawnSync(process.execPath, [cli, 'api'], {
      env: { ...process.env, ...t.env, PORT: 'eighty' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/PORT/);
    const bad = spawnSync(process.execPath, [cli, 'worker', '--queues', 'ingest,nope'], {
      env: { ...process.env, ...t.env },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--queues: unknown stage nope/);
    const noFile = spawnSync(process.execPath, [cli, 'submit', '/no/such/file.md'], {
      env: { ...process.env, ...t.env },
      encoding: 'utf8',
    });
    expect(noFile.status).toBe(2);
    expect(noFile.stderr).toMatch(/cannot read \/no\/such\/file\.md: no such file/);
  });

  it('on SIGTERM lets the in-flight stage finish, then exits 0', async () => {
    const worker = spawn(process.execPath, [cli, 'worker', '--queues', 'ingest'], {
      env: { ...process.env, ...t.env },
      stdio: 'inherit',
    });
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    const res = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/slow` } });
    const postId = res.body.postId as string;
    await waitFor('ingest to start', async () => (await app.get(`/api/v1/posts/${postId}`)).body.stages.length === 1);
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    const { body: post } = await app.get(`/api/v1/posts/${postId}`);
    expect(post.stages).toEqual([expect.objectContaining({ stage: 'ingest', outcome: 'completed' })]);
    // Handed on: the next stage's job waits for a generate worker.
    expect(await app.rt.queues.queues.generate.getJob(stageJobId(postId, 'generate'))).toBeTruthy();
  });

  it('the scheduler sweep enqueues a post accepted without a job, once', async () => {
    const { rows } = await app.rt.db.query<{ id: string }>(
      `WITH s AS (INSERT INTO submissions (tenant_id, request_hash, correlation_id)
                  SELECT id, 'h', 'c-1' FROM tenants WHERE slug = 'default' RETURNING id, tenant_id)
       INSERT INTO posts (tenant_id, submission_id, correlation_id, created_at, updated_at)
       SELECT tenant_id, id, 'c-1', now() - interval '5 minutes', now() - interval '5 minutes' FROM s RETURNING id`,
    );
    const postId = rows[0]!.id;
    const deps = { db: app.rt.db, queues: app.rt.queues, log: app.rt.logger, strandedAfterMs: 60_000 };
    expect(await sweepStranded(deps)).toBeGreaterThanOrEqual(1);
    await sweepStranded(deps);
    const job = await app.rt.queues.queues.ingest.getJob(stageJobId(postId, 'ingest'));
    expect(job?.data).toEqual({ postId, correlationId: 'c-1' });
    const waiting = await app.rt.queues.queues.ingest.getJobs(['waiting']);
    expect(waiting.filter((j) => j.data.postId === postId)).toHaveLength(1);
  });

  it('the sweep gives each post in flight its lost job back at its stage, once', async () => {
    // Posts as Redis would have left them after losing its data: rows say where each stands, no job exists.
    const { rows } = await app.rt.db.query<{ id: string; label: string }>(
      `WITH s AS (INSERT INTO submissions (tenant_id, request_hash, correlation_id)
                  SELECT id, 'h', 'c-2' FROM tenants WHERE slug = 'default' RETURNING id, tenant_id),
            p AS (INSERT INTO posts (tenant_id, submission_id, correlation_id, status, run_generation, queued_stage,
                                     held_details, updated_at)
                  SELECT s.tenant_id, s.id, 'c-2', v.status, v.generation, v.queued_stage, v.details, now() - interval
                    '5 minutes'
                    FROM s, (VALUES ('mid-generate', 'generating', 0, NULL, NULL::jsonb),
                                    ('handed-to-embed', 'generating', 0, NULL, NULL),
                                    ('approved', 'queued', 2, 'publish', NULL),
                                    ('deferred', 'publishing', 1, NULL, NULL),
                                    ('scheduled', 'scheduled', 0, NULL, '{"publishAt": "2031-01-01T00:00:00Z"}'))
                         AS v(label, status, generation, queued_stage, details)
                  RETURNING id, status, run_generation)
       SELECT p.id, v.label FROM p JOIN (VALUES ('mid-generate', 'generating', 0), ('approved', 'queued', 2),
                                             ('deferred', 'publishing', 1), ('scheduled', 'scheduled', 0))
                                     AS v(label, status, generation)
         ON v.status = p.status AND v.generation = p.run_generation`,
    );
    // Two posts share ('generating', 0): tell them apart by the runs given to them below.
    const ids = Object.fromEntries(rows.map((r) => [r.label, r.id]));
    const generating = (
      await app.rt.db.query<{ id: string }>(
        `SELECT id FROM posts WHERE correlation_id = 'c-2' AND status = 'generating' ORDER BY id`,
      )
    ).rows.map((r) => r.id);
    const [midGenerate, handedToEmbed] = generating as [string, string];
    await app.rt.db.query(
      `INSERT INTO stage_runs (post_id, stage, attempt, outcome, finished_at) VALUES
         ($1, 'generate', 1, 'running', NULL), ($2, 'generate', 1, 'completed', now()),
         ($3, 'publish', 1, 'completed', now())`,
      [midGenerate, handedToEmbed, ids.deferred],
    );
    const deferredRun = (
      await app.rt.db.query<{ id: number }>(`SELECT id FROM stage_runs WHERE post_id = $1`, [ids.deferred])
    ).rows[0]!.id;
    await app.rt.db.query(
      `INSERT INTO post_publishing (post_id, publish_at, revision, scheduled_job_id) ` +
        `VALUES ($1, '2031-01-01T00:00:00Z', 1, $2)`,
      [ids.scheduled, `post-${ids.scheduled}-publish-at-1924992000000-r1`],
    );

    const deps = { db: app.rt.db, queues: app.rt.queues, log: app.rt.logger, strandedAfterMs: 60_000 };
    expect(await sweepStranded(deps)).toBeGreaterThanOrEqual(5);
    expect(await sweepStranded(deps)).toBe(0); // every job is there now: nothing is added twice
    const q = app.rt.queues.queues;
    expect(await q.generate.getJobState(stageJobId(midGenerate, 'generate'))).toBe('waiting');
    expect(await q.embed.getJobState(stageJobId(handedToEmbed, 'embed'))).toBe('waiting');
    expect((await q.publish.getJob(stageJobId(ids.approved!, 'publish', 2)))?.data).toEqual({
      postId: ids.approved,
      correlationId: 'c-2',
      generation: 2,
    });
    expect(await q.publish.getJobState(`post-${ids.deferred}-publish-g1-wait-${deferredRun}`)).toBe('waiting');
    const scheduled = await q.publish.getJob(`post-${ids.scheduled}-publish-at-1924992000000-r1`);
    expect(await scheduled?.getState()).toBe('delayed');
    expect(scheduled!.delay).toBeGreaterThan(24 * 3600_000);
  });

  it('`submit` accepts a file from the command line', () => {
    const run = spawnSync(
      process.execPath,
      [cli, 'submit', join(import.meta.dirname, '../../samples/sample-article.md')],
      {
        env: { ...process.env, ...t.env },
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({
      submissionId: expect.any(String),
      postId: expect.any(String),
      status: 'accepted',
    });
  });
});
