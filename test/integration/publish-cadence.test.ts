import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setClockOffsetForTests } from '../../src/clock.ts';
import { zonedTime } from '../../src/publish/cadence.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// A burst of 20 approvals to a destination that takes 3 posts a day: the plan, the first three
// published at their planned times, and a change of cadence that re-plans the rest. The clock is
// moved to just before the window opens (src/clock.ts), so the window's first minutes pass for real.

const berlin = (day: string, hm: string, s = 0) => {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return zonedTime(y, m, d, Number(hm.slice(0, 2)), Number(hm.slice(3)), 'Europe/Berlin') + s * 1000;
};
const DAYS = ['2030-03-29', '2030-03-30', '2030-03-31', '2030-04-01', '2030-04-02', '2030-04-03', '2030-04-04'];
const iso = (t: number) => new Date(t).toISOString();

describe('cadence per destination', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let offset = 0;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
  });
  afterAll(async () => {
    setClockOffsetForTests(0);
    await app?.stop();
    await t?.cleanup();
  });

  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${app.api.url}${path}`, { method, headers: app.headers, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const get = async (id: string) => (await app.get(`/api/v1/posts/${id}`)).body;

  it('refuses a bad cadence naming the field', async () => {
    const res = await call('POST', '/api/v1/destinations', {
      name: 'bad',
      kind: 'files',
      config: { cadence: { maxPerDay: 3, timeZone: 'Europe/Nowhere', window: { start: '18:00', end: '08:00' } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['config.cadence.timeZone', 'config.cadence.window.end']),
    );
  });

  it('spreads 20 approvals 3 a day, publishes the first on time, re-plans the rest on a new cadence', async () => {
    const cadence = {
      maxPerDay: 3,
      timeZone: 'Europe/Berlin',
      window: { start: '08:00', end: '18:00' },
      minGapMinutes: 0.05,
    };
    const created = await call('POST', '/api/v1/destinations', {
      name: 'paced site',
      kind: 'files',
      config: { subdir: 'paced', cadence },
    });
    expect(created.status).toBe(201);
    const destinationId = created.body.id as string;

    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await app.post('/api/v1/submissions', {
        source: {
          type: 'text',
          text:
            `Cadence burst number ${i}. A destination takes a few posts a day. Approvals ` +
            `spread over the days ahead.`,
        },
        publish: { requireApproval: true, destinations: [destinationId] },
      });
      expect(res.status).toBe(202);
      ids.push(res.body.postId);
    }
    for (const id of ids)
      await waitFor('awaiting approval', async () => (await get(id)).status === 'awaiting_approval', 60_000);

    // The clock now reads 07:59:20 in Berlin on the 29th: the window opens in 40 seconds (time to plan and restart on a
    // busy machine).
    const start = berlin(DAYS[0]!, '07:59', 20);
    offset = start - Date.now();
    setClockOffsetForTests(offset);
    for (const id of ids) expect((await call('POST', `/api/v1/posts/${id}/approve`, {})).status).toBe(202);
    const scheduled = [];
    for (const id of ids)
      scheduled.push(
        await waitFor('scheduled', async () => ((p) => (p.status === 'scheduled' ? p : null))(await get(id))),
      );
    expect(Date.now() + offset).toBeLessThan(berlin(DAYS[0]!, '08:00'));

    const expected = DAYS.flatMap((day) => [0, 3, 6].map((s) => iso(berlin(day, '08:00', s)))).slice(0, 20);
    const plan = scheduled.map((p) => p.publishing.publishAt as string);
    expect([...plan].sort()).toEqual(expected);
    for (const p of scheduled) {
      expect(p.hold.details).toMatchObject({ publishAt: p.publishing.publishAt, by: 'cadence' });
      expect(p.publications).toEqual([]);
    }
    expect(await app.rt.queues.queues.publish.getDelayedCount()).toBe(20);

    // Every process restarts before the window opens; a publish job run again for a planned post (a
    // retry, a replay after a crash) finds its plan and keeps it: no second slot, no second job.
    await app.stop();
    app = await startPipeline(t);
    const again = scheduled[0]!;
    await app.rt.queues.queues.publish.add(
      'publish',
      {
        postId: again.id,
        correlationId: again.correlationId,
        generation: (await app.rt.db.query(`SELECT run_generation FROM posts WHERE id = $1`, [again.id])).rows[0]!
          .run_generation,
      },
      { jobId: `replay-${again.id}` },
    );
    await waitFor(
      'the replayed job',
      async () => (await app.rt.queues.queues.publish.getJobState(`replay-${again.id}`)) === 'completed',
    );
    const replayed = await waitFor('scheduled again', async () =>
      ((p) => (p.status === 'scheduled' ? p : null))(await get(again.id)),
    );
    expect(replayed.publishing.publishAt).toBe(again.publishing.publishAt);
    expect(replayed.hold.details.jobId).toBe(again.hold.details.jobId);
    expect(replayed.stages.filter((r: { stage: string }) => r.stage === 'publish').length).toBeGreaterThan(
      again.stages.filter((r: { stage: string }) => r.stage === 'publish').length,
    );
    expect(await app.rt.queues.queues.publish.getDelayedCount()).toBe(20);
    const { rows: slots } = await app.rt.db.query(
      `SELECT count(*)::int AS n FROM cadence_slots WHERE destination_id = $1`,
      [destinationId],
    );
    expect(slots[0]!.n).toBe(20);
    expect(Date.now() + offset).toBeLessThan(berlin(DAYS[0]!, '08:00'));

    // The first three go out at 08:00:00, 08:00:03 and 08:00:06, not before; the fourth waits for tomorrow.
    const firstDay = scheduled.filter((p) => expected.slice(0, 3).includes(p.publishing.publishAt));
    for (const p of firstDay) {
      const published = await waitFor(
        'published',
        async () => ((q) => (q.status === 'published' ? q : null))(await get(p.id)),
        60_000,
      );
      expect(Date.parse(published.publishedAt) + offset).toBeGreaterThanOrEqual(Date.parse(p.publishing.publishAt));
      expect(published.publications).toEqual([expect.objectContaining({ status: 'published', kind: 'files' })]);
    }
    const rest = scheduled.filter((p) => !firstDay.includes(p));
    for (const p of rest) expect((await get(p.id)).status).toBe('scheduled');

    // New cadence: 4 a day from 09:00. Today keeps its 3 published and takes one more; the 16 others follow.
    const patched = await call('PATCH', `/api/v1/destinations/${destinationId}`, {
      config: { subdir: 'paced', cadence: { ...cadence, maxPerDay: 4, window: { start: '09:00', end: '18:00' } } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.replanned).toBe(17);
    const replanned = [iso(berlin(DAYS[0]!, '09:00'))].concat(
      DAYS.slice(1, 5).flatMap((day) => [0, 3, 6, 9].map((s) => iso(berlin(day, '09:00', s)))),
    );
    const after = await Promise.all(rest.map((p) => get(p.id)));
    expect(after.map((p) => p.publishing.publishAt).sort()).toEqual(replanned);
    // Their old order is kept, each waits in one delayed job (the old ones removed).
    const byOld = [...after].sort((a, b) =>
      rest
        .find((r) => r.id === a.id)!
        .publishing.publishAt.localeCompare(rest.find((r) => r.id === b.id)!.publishing.publishAt),
    );
    expect(byOld.map((p) => p.publishing.publishAt)).toEqual(replanned);
    for (const p of after) expect(p.hold.details).toMatchObject({ publishAt: p.publishing.publishAt, by: 'cadence' });
    expect(await app.rt.queues.queues.publish.getDelayedCount()).toBe(17);

    // An operator's reschedule moves one planned post; the next change of cadence leaves it where it was put.
    const moved = after[0]!;
    const at = new Date(Date.now() + 3_600_000);
    expect((await call('POST', `/api/v1/posts/${moved.id}/reschedule`, { publishAt: at.toISOString() })).status).toBe(
      200,
    );
    const third = await call('PATCH', `/api/v1/destinations/${destinationId}`, {
      config: { subdir: 'paced', cadence: { ...cadence, maxPerDay: 5, window: { start: '10:00', end: '18:00' } } },
    });
    expect(third.body.replanned).toBe(16);
    expect((await get(moved.id)).publishing.publishAt).toBe(at.toISOString());
  }, 240_000);

  it("counts a submission's own time in the destination's day: a post planned after it takes the next day", async () => {
    const created = await call('POST', '/api/v1/destinations', {
      name: 'one a day',
      kind: 'files',
      config: {
        subdir: 'daily',
        cadence: { maxPerDay: 1, timeZone: 'Europe/Berlin', window: { start: '08:00', end: '18:00' } },
      },
    });
    expect(created.status).toBe(201);
    const destinationId = created.body.id as string;
    const day = '2031-01-10';
    offset = berlin(day, '07:00') - Date.now();
    setClockOffsetForTests(offset);
    const submit = async (i: number, publishAt?: string) => {
      const res = await app.post('/api/v1/submissions', {
        source: {
          type: 'text',
          text: `Daily post number ${i}. A destination takes one post a day. A submission may name its own time.`,
        },
        publish: { destinations: [destinationId], ...(publishAt ? { publishAt } : {}) },
      });
      expect(res.status).toBe(202);
      return waitFor('scheduled', async () =>
        ((p) => (p.status === 'scheduled' ? p : null))(await get(res.body.postId)),
      );
    };
    const own = await submit(0, iso(berlin(day, '12:00')));
    expect(own.publishing.publishAt).toBe(iso(berlin(day, '12:00')));
    const planned = await submit(1);
    expect(planned.hold.details).toMatchObject({ by: 'cadence' });
    expect(planned.publishing.publishAt).toBe(iso(berlin('2031-01-11', '08:00')));
  }, 120_000);
});
