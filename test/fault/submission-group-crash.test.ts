import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../processors/registry.ts';
import { startScheduler } from '../../src/roles.ts';
import { tallyPosts } from '../support/fault-report.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { freePort } from '../support/redis-server.ts';
import { spawnRole, type WorkerProcess } from '../support/worker-process.ts';

// The API dies while a group of submissions is in flight: after the group's commit and before its jobs
// are added, after the jobs and before the answers, and at a random moment under load. A submission
// answered 202 is published exactly once; one the client never heard back about is either not there or
// published exactly once (the stranded sweep adds a job that was never added), and its retry with the
// same Idempotency-Key replays it instead of making a second post.

function body(key: string) {
  return {
    source: {
      type: 'text',
      title: `Post ${key}`,
      text: `Submitted as ${key} while the API may die. It is published once, or never was accepted.`,
    },
  };
}

describe('the API killed with a group of submissions in flight', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  }, 120_000);

  async function setUp() {
    const t: TestEnv = await createTestEnv({ STRANDED_AFTER_MS: '2000', SCHEDULER_TICK_MS: '1000' });
    cleanups.push(() => t.cleanup());
    // Workers, the scheduler (its stranded sweep) and a second API that stays up, in this process.
    const app = await startPipeline(t);
    cleanups.push(() => app.stop());
    const scheduler = await startScheduler(app.rt, pipeline.maintenance);
    cleanups.push(() => scheduler.stop());
    return { t, app };
  }

  async function startApi(t: TestEnv, extra: Record<string, string> = {}) {
    const port = await freePort();
    const api: WorkerProcess = spawnRole(t.env, ['api'], { PORT: String(port), ...extra });
    cleanups.push(() => api.stop('SIGKILL'));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      'the API process to listen',
      async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok,
      30_000,
    );
    const submit = async (key: string) => {
      const res = await fetch(`${url}/api/v1/submissions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.config.DEV_API_KEY}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(body(key)),
      });
      return { status: res.status, body: (await res.json()) as { postId: string } };
    };
    return { api, submit };
  }

  /** Every post in the database is published exactly once, and no key made two posts. */
  async function expectAllPublishedOnce(app: Awaited<ReturnType<typeof startPipeline>>, fault: string, keys: number) {
    await waitFor(
      'every recorded post to be published',
      async () => {
        const { rows } = await app.rt.db.query(
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'published')::int AS published FROM posts`,
        );
        return rows[0]!.n > 0 && rows[0]!.n === rows[0]!.published;
      },
      90_000,
    );
    const { rows } = await app.rt.db.query<{ id: string }>(`SELECT id FROM posts`);
    expect(rows.length).toBeLessThanOrEqual(keys);
    const { rows: perKey } = await app.rt.db.query(
      `SELECT count(*)::int AS n FROM submissions GROUP BY idempotency_key HAVING count(*) > 1`,
    );
    expect(perKey).toEqual([]);
    return tallyPosts(
      app.rt.db,
      fault,
      rows.map((r) => r.id),
    );
  }

  for (const point of ['processed', 'handed-off'] as const) {
    it(`loses and duplicates nothing when it dies after a group's ${point === 'processed' ? 'commit' : 'enqueue'}`, async () => {
      const { t, app } = await setUp();
      const { api, submit } = await startApi(t, { BLOG_POSTER_CRASH_AT: `submissions:${point}` });
      const keys = Array.from({ length: 16 }, (_, i) => `crash-${point}-${i}`);
      const first = await Promise.allSettled(keys.map((key) => submit(key)));
      expect(await api.exited).toEqual({ code: null, signal: 'SIGKILL' });
      // Nobody heard back: the process died before answering the first group.
      expect(first.every((r) => r.status === 'rejected')).toBe(true);
      const { rows } = await app.rt.db.query(`SELECT count(*)::int AS n FROM submissions`);
      expect(rows[0]!.n).toBeGreaterThan(0);

      // Half the clients retry (same keys) against an API that stays up; the other half never come back.
      const retried = await Promise.all(
        keys.slice(0, 8).map((key) => app.post('/api/v1/submissions', body(key), { 'idempotency-key': key })),
      );
      expect(retried.map((r) => r.status)).toEqual(Array(8).fill(202));
      const tally = await expectAllPublishedOnce(
        app,
        `API killed after a submission group's ${point === 'processed' ? 'commit' : 'enqueue'}`,
        16,
      );
      expect(tally).toMatchObject({ lost: 0, duplicated: 0 });
      expect(tally.published).toBe(tally.accepted);
      // Every retried submission is among them.
      const published = new Set((await app.rt.db.query<{ id: string }>(`SELECT id FROM posts`)).rows.map((r) => r.id));
      for (const r of retried) expect(published.has(r.body.postId)).toBe(true);
    }, 150_000);
  }

  it('publishes every 202 once when killed at a random moment under load', async () => {
    const { t, app } = await setUp();
    const { api, submit } = await startApi(t);
    const accepted = new Map<string, string>();
    const unanswered: string[] = [];
    let stop = false;
    const clients = Array.from({ length: 8 }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const key = `load-${c}-${n}`;
        try {
          const res = await submit(key);
          expect(res.status).toBe(202);
          accepted.set(key, res.body.postId);
        } catch {
          unanswered.push(key);
          return;
        }
      }
    });
    await waitFor('some accepted submissions', async () => accepted.size >= 24, 30_000);
    await api.stop('SIGKILL');
    stop = true;
    await Promise.all(clients);

    // The unanswered clients retry against an API that stays up: each gets its own post, once.
    const retried = await Promise.all(
      unanswered.map((key) => app.post('/api/v1/submissions', body(key), { 'idempotency-key': key })),
    );
    expect(retried.map((r) => r.status)).toEqual(Array(unanswered.length).fill(202));
    const answered = [...accepted.values(), ...retried.map((r) => r.body.postId as string)];
    const tally = await expectAllPublishedOnce(
      app,
      'API killed under load with submission groups in flight',
      answered.length,
    );
    expect(tally).toMatchObject({ lost: 0, duplicated: 0 });
    expect(tally.accepted).toBe(answered.length);
    expect(
      await tallyPosts(app.rt.db, 'submissions answered 202 before the API was killed', [...accepted.values()]),
    ).toMatchObject({ accepted: accepted.size, published: accepted.size, lost: 0, duplicated: 0 });
  }, 150_000);
});
