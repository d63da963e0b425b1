import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import type { Db } from './db/pool.ts';
import { crashPoint } from './faults.ts';
import { briefSchema } from './llm/brief.ts';
import type { PipelineQueues } from '../queues/registry.ts';
import { missingDestinations } from './publish/destinations.ts';
import { publishOptionsSchema } from './publish/options.ts';

// Accepting a submission: the one piece of work the HTTP layer and the CLI share.

const title = z.string().trim().min(1).max(300);
const body = z.string().trim().min(1, 'must not be empty').max(500_000);

export const sourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), title: title.optional(), text: body }).strict(),
  z.object({ type: z.literal('markdown'), title: title.optional(), text: body }).strict(),
  z
    .object({
      type: z.literal('url'),
      url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
      title: title.optional(),
    })
    .strict(),
  // A feed, sitemap or site fans out: each new entry becomes a post of its own.
  z
    .object({
      type: z.literal('feed'),
      url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
    })
    .strict(),
  z
    .object({
      type: z.literal('sitemap'),
      url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
    })
    .strict(),
  z
    .object({
      type: z.literal('site'),
      url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
    })
    .strict(),
]);

/**
 * Unknown fields are refused everywhere (a typo should not be silently ignored). Everything beside
 * `source` is stored as the submission's options for the later stages to read.
 */
export const submissionSchema = z
  .object({
    source: sourceSchema,
    /** The writing brief for this post; fields left out come from the tenant's defaults. */
    brief: briefSchema.optional(),
    /** Where and when to publish: destinations, publishAt, requireApproval, featuredImage. */
    publish: publishOptionsSchema.optional(),
  })
  .strict();
export type SubmissionInput = z.infer<typeof submissionSchema>;

export class IdempotencyConflictError extends Error {}

/** The submission names destinations the tenant does not have (another tenant's, deleted, unknown). */
export class UnknownDestinationsError extends Error {
  readonly fields: { field: string; message: string }[];
  constructor(fields: { field: string; message: string }[]) {
    super(fields.map((f) => `${f.field}: ${f.message}`).join('; '));
    this.fields = fields;
  }
}

export type Accepted = { submissionId: string; postId: string; replayed: boolean };

export type SubmissionRequest = {
  tenantId: string;
  body: SubmissionInput;
  idempotencyKey: string | null;
  correlationId: string;
};

/** How one submission of a group ended: each is answered on its own, whatever happened to the others. */
export type Outcome = { ok: true; accepted: Accepted } | { ok: false; error: Error };

/**
 * Records one submission and signals ingest: a group of one (see acceptSubmissions). Throws what the
 * submission's outcome carries.
 */
export async function acceptSubmission(db: Db, queues: PipelineQueues, input: SubmissionRequest): Promise<Accepted> {
  const [outcome] = await acceptSubmissions(db, queues, [input]);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.accepted;
}

/** A submission as the group records it: ids made here, so rows need no mapping back. */
type Prepared = {
  index: number;
  input: SubmissionRequest;
  requestHash: string;
  submissionId: string;
  postId: string;
};

/** What the database holds for a submission: the one just inserted, or the earlier one of its key. */
type Recorded = {
  submissionId: string;
  postId: string;
  requestHash: string;
  status: string;
  correlationId: string;
  inserted: boolean;
};

/**
 * Records a group of submissions, their sources and posts in one statement (one transaction, one
 * commit, whatever the group's size), then signals ingest for all of them with one bulk add. Jobs
 * are added after the commit so a worker never sees a post that is not there yet; if Redis refuses
 * them, the group's new records are removed again and those submissions answer 503, so nothing is
 * half-accepted. A post committed whose job never got added (the process died in between) is found
 * by the stranded sweep; nobody was told it was accepted, and a retry with its key replays it.
 *
 * Each submission gets its own outcome: a reused key with another body, a destination the tenant does
 * not have, or a row the database refuses fails that submission only. `onCommitted` is called once
 * the records are committed (or failed), before the jobs are added, so the next group can commit
 * meanwhile.
 */
export async function acceptSubmissions(
  db: Db,
  queues: PipelineQueues,
  inputs: readonly SubmissionRequest[],
  onCommitted: () => void = () => undefined,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(inputs.length);
  let committed = false;
  const commitDone = () => {
    if (committed) return;
    committed = true;
    onCommitted();
  };
  try {
    const refused = await Promise.all(inputs.map((input) => unknownDestinations(db, input)));
    const prepared: Prepared[] = [];
    inputs.forEach((input, index) => {
      const error = refused[index];
      if (error) outcomes[index] = { ok: false, error };
      else prepared.push(prepare(input, index));
    });

    // One key twice in a group: the first records it, the others are answered as its replays.
    const leaders = new Map<string, Prepared>();
    const recording: Prepared[] = [];
    const followers: { item: Prepared; leader: Prepared }[] = [];
    for (const item of prepared) {
      const key = keyOf(item.input);
      const leader = key === null ? undefined : leaders.get(key);
      if (leader) {
        followers.push({ item, leader });
        continue;
      }
      if (key !== null) leaders.set(key, item);
      recording.push(item);
    }

    let recorded: Map<Prepared, Recorded | Error>;
    try {
      recorded = await recordSubmissions(db, recording);
    } catch (err) {
      commitDone();
      // A statement the database refused because of one row fails the group: each goes again alone.
      if (inputs.length > 1 && refusedByDatabase(err)) return await oneByOne(db, queues, inputs);
      throw err;
    }
    commitDone();
    crashPoint('submissions', 'processed');

    const resolved: { item: Prepared; row: Recorded | Error; replayed: boolean }[] = [
      ...recording.map((item) => ({ item, row: recorded.get(item)!, replayed: false })),
      ...followers.map(({ item, leader }) => ({ item, row: recorded.get(leader)!, replayed: true })),
    ];
    const jobs = new Map<string, { postId: string; correlationId: string }>();
    for (const { item, row, replayed } of resolved) {
      if (row instanceof Error) {
        outcomes[item.index] = { ok: false, error: row };
      } else if (row.requestHash !== item.requestHash) {
        outcomes[item.index] = {
          ok: false,
          error: new IdempotencyConflictError('this Idempotency-Key was already used with a different body'),
        };
      } else {
        outcomes[item.index] = {
          ok: true,
          accepted: { submissionId: row.submissionId, postId: row.postId, replayed: replayed || !row.inserted },
        };
        // A replay of a submission whose first answer never got its job onto the queue finishes the job.
        if (row.status === 'queued') jobs.set(row.postId, { postId: row.postId, correlationId: row.correlationId });
      }
    }

    try {
      await queues.enqueueMany('ingest', [...jobs.values()]);
    } catch (err) {
      const fresh = [...recorded.values()].flatMap((row) => (row instanceof Error || !row.inserted ? [] : [row]));
      if (fresh.length > 0) {
        await db
          .query(`DELETE FROM submissions WHERE id = ANY($1::uuid[])`, [fresh.map((row) => row.submissionId)])
          .catch(() => undefined);
      }
      for (const [index, outcome] of outcomes.entries()) {
        if (outcome?.ok && jobs.has(outcome.accepted.postId)) outcomes[index] = { ok: false, error: err as Error };
      }
      return outcomes;
    }
    crashPoint('submissions', 'handed-off');
    return outcomes;
  } catch (err) {
    commitDone();
    return inputs.map((_, index) => outcomes[index] ?? { ok: false, error: err as Error });
  }
}

function prepare(input: SubmissionRequest, index: number): Prepared {
  return {
    index,
    input,
    requestHash: createHash('sha256').update(JSON.stringify(input.body)).digest('hex'),
    submissionId: randomUUID(),
    postId: randomUUID(),
  };
}

function keyOf(input: SubmissionRequest): string | null {
  return input.idempotencyKey === null ? null : `${input.tenantId} ${input.idempotencyKey}`;
}

async function unknownDestinations(db: Db, input: SubmissionRequest): Promise<UnknownDestinationsError | null> {
  const named = input.body.publish?.destinations ?? [];
  if (named.length === 0) return null;
  const missing = new Set(await missingDestinations(db, input.tenantId, named));
  if (missing.size === 0) return null;
  return new UnknownDestinationsError(
    named.flatMap((id, i) =>
      missing.has(id)
        ? [{ field: `publish.destinations.${i}`, message: `no destination ${id} (or it was deleted)` }]
        : [],
    ),
  );
}

/**
 * One statement records every submission of the group with its source and post: atomic without a
 * transaction block, one round trip and one commit. Rows go in key order, so two groups that share
 * keys (two API processes) wait on each other instead of deadlocking. A key already taken (by an
 * earlier submission, or by a concurrent one: the unique index makes us wait for it to commit) is
 * looked up and answered as that submission; the look-up is tried again if that row went away
 * meanwhile (its enqueue failed and it was removed).
 */
async function recordSubmissions(db: Db, items: readonly Prepared[]): Promise<Map<Prepared, Recorded | Error>> {
  const recorded = new Map<Prepared, Recorded | Error>();
  let pending: Prepared[] = [...items];
  for (let round = 0; pending.length > 0 && round < 3; round++) {
    const trying = pending;
    pending = [];
    const inserted = await db.query<{ submission_id: string }>(insertGroup, [JSON.stringify(trying.map(rowOf))]);
    const ids = new Set(inserted.rows.map((r) => r.submission_id));
    const taken: Prepared[] = [];
    for (const item of trying) {
      if (ids.has(item.submissionId)) {
        recorded.set(item, {
          submissionId: item.submissionId,
          postId: item.postId,
          requestHash: item.requestHash,
          status: 'queued',
          correlationId: item.input.correlationId,
          inserted: true,
        });
      } else {
        taken.push(item);
      }
    }
    if (taken.length === 0) break;
    const existing = await db.query<{
      tenant_id: string;
      idempotency_key: string;
      id: string;
      request_hash: string;
      post_id: string;
      status: string;
      correlation_id: string;
    }>(
      `SELECT DISTINCT ON (s.id) s.tenant_id, s.idempotency_key, s.id, s.request_hash, p.id AS post_id, p.status,
              s.correlation_id
         FROM submissions s JOIN posts p ON p.submission_id = s.id
        WHERE (s.tenant_id, s.idempotency_key) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))
        ORDER BY s.id, p.created_at, p.id`,
      [taken.map((item) => item.input.tenantId), taken.map((item) => item.input.idempotencyKey)],
    );
    const byKey = new Map(existing.rows.map((r) => [`${r.tenant_id} ${r.idempotency_key}`, r]));
    for (const item of taken) {
      const row = byKey.get(keyOf(item.input) ?? '');
      if (!row) {
        pending.push(item);
        continue;
      }
      recorded.set(item, {
        submissionId: row.id,
        postId: row.post_id,
        requestHash: row.request_hash,
        status: row.status,
        correlationId: row.correlation_id,
        inserted: false,
      });
    }
  }
  for (const item of pending) recorded.set(item, new Error('the submission of this Idempotency-Key kept changing'));
  return recorded;
}

function rowOf(item: Prepared) {
  const { source, ...options } = item.input.body;
  return {
    submission_id: item.submissionId,
    post_id: item.postId,
    tenant_id: item.input.tenantId,
    idempotency_key: item.input.idempotencyKey,
    request_hash: item.requestHash,
    correlation_id: item.input.correlationId,
    options,
    kind: source.type,
    url: 'url' in source ? source.url : null,
    title: 'title' in source ? (source.title ?? null) : null,
    input_text: 'text' in source ? source.text : null,
  };
}

const insertGroup = `
  WITH input AS (
    SELECT * FROM json_to_recordset($1::json) AS i(
      submission_id uuid, post_id uuid, tenant_id uuid, idempotency_key text, request_hash text, correlation_id text,
      options jsonb, kind text, url text, title text, input_text text)
  ), s AS (
    INSERT INTO submissions (id, tenant_id, idempotency_key, request_hash, correlation_id, options)
    SELECT submission_id, tenant_id, idempotency_key, request_hash, correlation_id, options FROM input
     ORDER BY tenant_id, idempotency_key
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id
  ), src AS (
    INSERT INTO sources (tenant_id, submission_id, kind, url, title, input_text)
    SELECT i.tenant_id, s.id, i.kind, i.url, i.title, i.input_text FROM s JOIN input i ON i.submission_id = s.id
  ), p AS (
    INSERT INTO posts (id, tenant_id, submission_id, correlation_id)
    SELECT i.post_id, i.tenant_id, s.id, i.correlation_id FROM s JOIN input i ON i.submission_id = s.id
    RETURNING submission_id
  )
  SELECT submission_id FROM p`;

/**
 * An error PostgreSQL raised about the statement itself (a constraint, a value, a deadlock), which may
 * be one row's doing; not a lost connection or a server going down, which every row would meet again.
 */
function refusedByDatabase(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError) || typeof err.code !== 'string') return false;
  return !['08', '53', '57', '58'].includes(err.code.slice(0, 2));
}

/** Every submission of a group alone, as if each had come by itself. */
function oneByOne(db: Db, queues: PipelineQueues, inputs: readonly SubmissionRequest[]): Promise<Outcome[]> {
  return Promise.all(
    inputs.map(async (input): Promise<Outcome> => {
      const [outcome] = await acceptSubmissions(db, queues, [input]);
      return outcome!;
    }),
  );
}
