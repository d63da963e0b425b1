import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptSubmissions,
  IdempotencyConflictError,
  type Outcome,
  type SubmissionRequest,
  UnknownDestinationsError,
} from '../../src/submissions.ts';
import { submissionGroups } from '../../src/submissions/group-commit.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';

// Group commit: submissions arriving together share one transaction (rows written by one transaction
// carry its id in xmin), and each is still answered on its own.

function text(i: number | string, extra = '') {
  return {
    source: { type: 'text' as const, text: `Grouped submission ${i}. It shares a commit with its neighbours.${extra}` },
  };
}

describe('submissions committed in groups', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    tenantId = (await app.rt.db.query(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  const request = (body: SubmissionRequest['body'], idempotencyKey: string | null = null): SubmissionRequest => ({
    tenantId,
    body,
    idempotencyKey,
    correlationId: randomUUID(),
  });
  const acceptedOf = (o: Outcome | undefined) => {
    if (!o?.ok) throw new Error('not accepted');
    return o.accepted;
  };
  /** The transaction that wrote each submission, with its source and post. */
  async function transactionsOf(submissionIds: string[]) {
    const { rows } = await app.rt.db.query<{ id: string; s: string; src: string; p: string }>(
      `SELECT s.id, s.xmin::text AS s, src.xmin::text AS src, p.xmin::text AS p
         FROM submissions s JOIN sources src ON src.submission_id = s.id JOIN posts p ON p.submission_id = s.id
        WHERE s.id = ANY($1::uuid[])`,
      [submissionIds],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  it('commits submissions that arrive together in one transaction, with their sources and posts', async () => {
    const groups = submissionGroups(app.rt.db, app.rt.queues);
    const accepted = await Promise.all(Array.from({ length: 12 }, (_, i) => groups.accept(request(text(i)))));
    expect(new Set(accepted.map((a) => a.postId)).size).toBe(12);
    const written = await transactionsOf(accepted.map((a) => a.submissionId));
    expect(written.size).toBe(12);
    const xids = new Set([...written.values()].flatMap((r) => [r.s, r.src, r.p]));
    expect(xids.size).toBe(1);
    const jobs = await Promise.all(accepted.map((a) => app.rt.queues.queues.ingest.getJob(`post-${a.postId}-ingest`)));
    expect(jobs.every((job) => job !== undefined)).toBe(true);
  });

  it('groups concurrent HTTP submissions and answers each with its own post', async () => {
    const before = (await app.rt.db.query(`SELECT count(*)::int AS n FROM submissions`)).rows[0]!.n as number;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => app.post('/api/v1/submissions', text(`http-${i}`))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(202));
    expect(new Set(answers.map((a) => a.body.postId)).size).toBe(30);
    const written = await transactionsOf(answers.map((a) => a.body.id));
    const perTransaction = new Map<string, number>();
    for (const r of written.values()) {
      expect([r.src, r.p]).toEqual([r.s, r.s]);
      perTransaction.set(r.s, (perTransaction.get(r.s) ?? 0) + 1);
    }
    // Fewer commits than submissions: at least one transaction carried several.
    expect(perTransaction.size).toBeLessThan(30);
    expect(Math.max(...perTransaction.values())).toBeGreaterThan(1);
    const after = (await app.rt.db.query(`SELECT count(*)::int AS n FROM submissions`)).rows[0]!.n as number;
    expect(after - before).toBe(30);
  });

  it('answers each submission of a group on its own: a reused key, a replay, an unknown destination', async () => {
    const first = await acceptSubmissions(app.rt.db, app.rt.queues, [request(text('keyed'), 'group-k1')]);
    expect(first[0]).toMatchObject({ ok: true, accepted: { replayed: false } });
    const earlier = acceptedOf(first[0]);

    const outcomes = await acceptSubmissions(app.rt.db, app.rt.queues, [
      request(text('a')),
      request(text('keyed', ' Another body.'), 'group-k1'), // the key's first body was another
      request(text('keyed'), 'group-k1'), // a retry of the first: its answer again
      request({ ...text('b'), publish: { destinations: [randomUUID()] } }),
      request(text('pair'), 'group-k2'), // one key twice in the group, same body: one submission
      request(text('pair'), 'group-k2'),
      request(text('clash'), 'group-k3'), // one key twice in the group, different bodies: the second is refused
      request(text('clash', ' Changed.'), 'group-k3'),
      request(text('c')),
    ]);
    const [a, reused, retried, unknown, pair1, pair2, clash1, clash2, c] = outcomes;
    expect(reused).toMatchObject({ ok: false, error: expect.any(IdempotencyConflictError) });
    expect(retried).toEqual({ ok: true, accepted: { ...earlier, replayed: true } });
    expect(unknown).toMatchObject({ ok: false, error: expect.any(UnknownDestinationsError) });
    expect(pair1).toMatchObject({ ok: true, accepted: { replayed: false } });
    expect(pair2).toMatchObject({ ok: true, accepted: { replayed: true } });
    expect(acceptedOf(pair1).postId).toBe(acceptedOf(pair2).postId);
    expect(clash1).toMatchObject({ ok: true, accepted: { replayed: false } });
    expect(clash2).toMatchObject({ ok: false, error: expect.any(IdempotencyConflictError) });

    // The new ones went in together.
    const fresh = [a, pair1, clash1, c].map((o) => acceptedOf(o).submissionId);
    const written = await transactionsOf(fresh);
    expect(written.size).toBe(4);
    expect(new Set([...written.values()].map((r) => r.s)).size).toBe(1);
    const keyed = await app.rt.db.query(
      `SELECT idempotency_key, count(*)::int AS n FROM submissions WHERE idempotency_key LIKE 'group-k%'
        GROUP BY 1 ORDER BY 1`,
    );
    expect(keyed.rows).toEqual([
      { idempotency_key: 'group-k1', n: 1 },
      { idempotency_key: 'group-k2', n: 1 },
      { idempotency_key: 'group-k3', n: 1 },
    ]);
  });

  it('goes one by one when the database refuses a row, so only that submission fails', async () => {
    const outcomes = await acceptSubmissions(app.rt.db, app.rt.queues, [
      request(text('before the refused one')),
      // No such tenant: the foreign key refuses the row, and with it the group's statement.
      { ...request(text('refused')), tenantId: randomUUID() },
      request(text('after the refused one'), 'group-k4'),
    ]);
    expect(outcomes[0]).toMatchObject({ ok: true, accepted: { replayed: false } });
    expect(outcomes[1]).toMatchObject({ ok: false, error: expect.objectContaining({ code: '23503' }) });
    expect(outcomes[2]).toMatchObject({ ok: true, accepted: { replayed: false } });
    const jobs = await Promise.all(
      [outcomes[0], outcomes[2]].map((o) => app.rt.queues.queues.ingest.getJob(`post-${acceptedOf(o).postId}-ingest`)),
    );
    expect(jobs.every((job) => job !== undefined)).toBe(true);
  });

  it('answers a conflicting key in a concurrent HTTP group with 422 and the others with 202', async () => {
    expect((await app.post('/api/v1/submissions', text('http-keyed'), { 'idempotency-key': 'http-k' })).status).toBe(
      202,
    );
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => app.post('/api/v1/submissions', text(`http-more-${i}`))),
      app.post('/api/v1/submissions', text('http-keyed', ' Changed.'), { 'idempotency-key': 'http-k' }),
      app.post('/api/v1/submissions', text('http-keyed'), { 'idempotency-key': 'http-k' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([...Array(8).fill(202), 422, 202]);
    expect(answers[8]!.body.errors[0].field).toBe('Idempotency-Key');
    expect(answers[9]!.headers.get('idempotent-replayed')).toBe('true');
  });
});
