import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './db/pool.ts';
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

/**
 * Records the submission, its source and its post, then signals ingest. The job is added after the
 * commit so a worker never sees a post that is not there yet; if Redis refuses it, the records are
 * removed again and the caller answers 503, so nothing is half-accepted.
 */
export async function acceptSubmission(
  db: Db,
  queues: PipelineQueues,
  input: { tenantId: string; body: SubmissionInput; idempotencyKey: string | null; correlationId: string },
): Promise<Accepted> {
  const named = input.body.publish?.destinations ?? [];
  if (named.length > 0) {
    const missing = new Set(await missingDestinations(db, input.tenantId, named));
    if (missing.size > 0)
      throw new UnknownDestinationsError(
        named.flatMap((id, i) =>
          missing.has(id)
            ? [{ field: `publish.destinations.${i}`, message: `no destination ${id} (or it was deleted)` }]
            : [],
        ),
      );
  }
  const requestHash = createHash('sha256').update(JSON.stringify(input.body)).digest('hex');
  const { source, ...options } = input.body;
  // One statement records the submission, its source and its post: one round trip, atomic without a
  // transaction block. Concurrent requests with one key wait on the unique index for the first to commit.
  const inserted = await db.query<{ submission_id: string; post_id: string }>(
    `WITH s AS (
       INSERT INTO submissions (tenant_id, idempotency_key, request_hash, correlation_id, options)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id
     ), src AS (
       INSERT INTO sources (tenant_id, submission_id, kind, url, title, input_text)
       SELECT $1, s.id, $6, $7, $8, $9 FROM s
     ), p AS (
       INSERT INTO posts (tenant_id, submission_id, correlation_id) SELECT $1, s.id, $4 FROM s RETURNING id,
         submission_id
     )
     SELECT submission_id, id AS post_id FROM p`,
    [
      input.tenantId,
      input.idempotencyKey,
      requestHash,
      input.correlationId,
      JSON.stringify(options),
      source.type,
      'url' in source ? source.url : null,
      'title' in source ? (source.title ?? null) : null,
      'text' in source ? source.text : null,
    ],
  );
  let accepted: { submissionId: string; postId: string; replayed: boolean; status: string; correlationId: string };
  if (inserted.rows[0]) {
    accepted = {
      submissionId: inserted.rows[0].submission_id,
      postId: inserted.rows[0].post_id,
      replayed: false,
      status: 'queued',
      correlationId: input.correlationId,
    };
  } else {
    const existing = await db.query<{
      id: string;
      request_hash: string;
      post_id: string;
      status: string;
      correlation_id: string;
    }>(
      `SELECT s.id, s.request_hash, p.id AS post_id, p.status, s.correlation_id
         FROM submissions s JOIN posts p ON p.submission_id = s.id
        WHERE s.tenant_id = $1 AND s.idempotency_key = $2`,
      [input.tenantId, input.idempotencyKey],
    );
    const row = existing.rows[0]!;
    if (row.request_hash !== requestHash) {
      throw new IdempotencyConflictError('this Idempotency-Key was already used with a different body');
    }
    accepted = {
      submissionId: row.id,
      postId: row.post_id,
      replayed: true,
      status: row.status,
      correlationId: row.correlation_id,
    };
  }

  // A replay of a submission whose first answer never got its job onto the queue finishes the job.
  if (accepted.status === 'queued') {
    try {
      await queues.enqueue('ingest', { postId: accepted.postId, correlationId: accepted.correlationId });
    } catch (err) {
      if (!accepted.replayed) {
        await db.query(`DELETE FROM submissions WHERE id = $1`, [accepted.submissionId]).catch(() => undefined);
      }
      throw err;
    }
  }
  return { submissionId: accepted.submissionId, postId: accepted.postId, replayed: accepted.replayed };
}
