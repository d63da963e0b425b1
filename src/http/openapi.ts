import { z } from 'zod';
import { scopes } from '../auth/api-keys.ts';
import type { Config } from '../config.ts';
import { createDestinationSchema, destinationKinds, updateDestinationSchema } from '../publish/destinations.ts';
import { submissionSchema } from '../submissions.ts';
import { stageSchema } from '../../queues/stages.ts';
import {
  createKeySchema,
  createTenantSchema,
  patchTenantSchema,
  putSecretSchema,
  rotateSchema,
} from './routes/admin.ts';
import { feedInput } from './routes/feeds.ts';
import { draftPatchSchema, postListQuery } from './routes/editorial.ts';
import { overviewQuery } from './routes/overview.ts';
import { approveSchema, cancelSchema, rejectSchema, rescheduleSchema } from './routes/post-actions.ts';
import { replaySchema } from './routes/replay.ts';
import { relatedQuery, searchQuery } from './routes/search.ts';

// The OpenAPI 3.1 document of every route the app mounts. Request bodies and query strings are the
// routers' own zod schemas (converted with z.toJSONSchema, as they accept input); answers are
// described by the response schemas below. test/integration/openapi.test.ts reads the app's
// router stack and fails for a mounted route this document leaves out, and checks that each route
// answers with a documented status and a body matching the documented schema.

type JsonSchema = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Security = 'apiKey' | 'operator' | 'metrics' | 'webhook' | 'none';

const uuid = z.uuid();
const timestamp = z.iso.datetime({ offset: true });
const link = z.string().regex(/^\//);

// ---------------------------------------------------------------- response schemas

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() }).strict()).optional(),
    instance: z.string(),
    requestId: z.string().optional(),
  })
  .strict()
  .meta({ description: 'An RFC 9457 problem document; `errors` names each offending field.' });

const acceptedSchema = z
  .object({
    id: uuid,
    status: z.literal('accepted'),
    postId: uuid,
    links: z.object({ self: link, post: link }).strict(),
  })
  .strict();

const postStatus = z.string().meta({
  description:
    'queued, ingesting, generating, embedding, indexing, publishing, published, ' +
    'failed, awaiting_approval, needs_review, duplicate_of, scheduled, rejected, ' +
    'cancelled, …',
});

const submissionViewSchema = z
  .object({
    id: uuid,
    status: z.enum(['processing', 'published', 'failed', 'completed']),
    correlationId: z.string(),
    createdAt: timestamp,
    posts: z.array(
      z
        .object({
          id: uuid,
          status: postStatus,
          title: z.string().nullable(),
          failureReason: z.string().nullable(),
          submissionId: uuid.optional(),
          links: z.object({ self: link }).strict(),
        })
        .strict(),
    ),
    links: z.object({ self: link }).strict(),
  })
  .strict();

const stageRunSchema = z
  .object({
    stage: z.string(),
    attempt: z.number().int(),
    outcome: z.string(),
    startedAt: timestamp,
    finishedAt: timestamp.nullable(),
    error: z.string().nullable(),
  })
  .strict();

const postViewSchema = z.looseObject({
  id: uuid,
  submissionId: uuid,
  status: postStatus,
  title: z.string().nullable(),
  slug: z.string().nullable(),
  metaDescription: z.string().nullable(),
  tags: z.array(z.string()).nullable(),
  wordCount: z.number().int().nullable(),
  failure: z.object({ stage: z.string().nullable(), reason: z.string() }).strict().nullable(),
  correlationId: z.string(),
  publishedAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  stages: z.array(stageRunSchema),
  publications: z.array(z.looseObject({ destination: z.string(), kind: z.string(), status: z.string() })),
  hold: z.looseObject({ stage: z.string(), reason: z.string().nullable() }).nullable(),
  costUsd: z.number(),
  links: z.object({ self: link, submission: link, content: link, revisions: link }).strict(),
});

const postSummary = {
  postId: uuid,
  title: z.string().nullable(),
  slug: z.string().nullable(),
  status: postStatus,
  url: z.string().nullable(),
};

const searchResultsSchema = z
  .object({
    query: z.string(),
    model: z.string(),
    index: z.string(),
    results: z.array(
      z
        .object({
          ...postSummary,
          score: z.number(),
          heading: z.string().nullable(),
          snippet: z.string(),
          position: z.number().int(),
          links: z.object({ post: link }).strict(),
        })
        .strict(),
    ),
  })
  .strict();

const relatedPostsSchema = z
  .object({
    postId: uuid,
    model: z.string(),
    results: z.array(
      z
        .object({
          ...postSummary,
          score: z.number(),
          nearDuplicate: z.boolean(),
          links: z.object({ post: link }).strict(),
        })
        .strict(),
    ),
  })
  .strict();

const postListSchema = z
  .object({
    items: z.array(
      z
        .object({
          id: uuid,
          title: z.string().nullable(),
          status: postStatus,
          hold: z.object({ stage: z.string(), reason: z.string().nullable() }).strict().nullable(),
          failure: z.object({ stage: z.string().nullable(), reason: z.string() }).strict().nullable(),
          costUsd: z.number(),
          wordCount: z.number().int().nullable(),
          seoScore: z.number().int().nullable(),
          writer: z.string().nullable(),
          createdAt: timestamp,
          updatedAt: timestamp,
          scheduledAt: timestamp.nullable().meta({ description: 'When the post is (or was) due to publish' }),
          publishedAt: timestamp.nullable(),
          destinations: z
            .array(z.object({ key: z.string(), name: z.string().nullable() }).strict())
            .meta({ description: 'Where it was or will be published: destination ids, or `files` (the static site)' }),
          links: z.object({ self: link, content: link }).strict(),
        })
        .strict(),
    ),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }),
    links: z.object({ self: z.string(), next: z.string().nullable() }).strict(),
  })
  .strict();

const closestSourceSchema = z
  .object({ sourceId: uuid, sourceTitle: z.string().nullable(), sentence: z.string(), score: z.number() })
  .strict();
const groundingReportSchema = z
  .looseObject({
    passed: z.boolean(),
    failingSentences: z.array(
      z.looseObject({
        sentence: z.string(),
        section: z.string().nullable(),
        reasons: z.array(z.string()),
        field: z
          .enum(['title', 'heading', 'metaDescription'])
          .optional()
          .meta({ description: 'Where the text is when it is not a body sentence' }),
        closestSources: z
          .array(closestSourceSchema)
          .meta({ description: 'The source sentences most like it (offline embedder, cosine), best first' }),
      }),
    ),
    problems: z.array(z.string()),
  })
  .nullable();
const sourceViewShape = {
  id: uuid,
  kind: z.string(),
  title: z.string().nullable(),
  url: z.string().nullable(),
  fetchedAt: timestamp.nullable(),
  words: z.number().int(),
  excerpt: z.string(),
};
const postContentSchema = z.looseObject({
  id: uuid,
  status: postStatus,
  revision: z.number().int().nullable().meta({ description: 'The latest revision: the text that publishes' }),
  title: z.string().nullable(),
  metaTitle: z.string().nullable(),
  metaDescription: z.string().nullable(),
  slug: z.string().nullable(),
  tags: z.array(z.string()),
  markdown: z.string().nullable(),
  html: z
    .string()
    .nullable()
    .meta({ description: 'The Markdown rendered and sanitised (no script, style or event handler)' }),
  seo: z.looseObject({ score: z.number(), violations: z.array(z.looseObject({ rule: z.string() })) }).nullable(),
  grounding: groundingReportSchema,
  citations: z.array(
    z
      .object({
        number: z.number().int(),
        sourceId: z.string(),
        title: z.string(),
        url: z.string().nullable(),
        source: z.object(sourceViewShape).strict().nullable(),
      })
      .strict(),
  ),
  sources: z.array(z.object({ ...sourceViewShape, citedAs: z.array(z.number().int()) }).strict()),
  costUsd: z.number(),
  costs: z.array(
    z
      .object({
        step: z.string(),
        provider: z.string(),
        model: z.string(),
        calls: z.number().int(),
        cachedCalls: z.number().int(),
        promptTokens: z.number().int(),
        completionTokens: z.number().int(),
        costUsd: z.number(),
      })
      .strict(),
  ),
  hold: z.looseObject({ stage: z.string(), reason: z.string().nullable() }).nullable(),
  links: z.looseObject({ self: link, post: link, revisions: link }),
});

const revisionSummaryShape = {
  revision: z.number().int(),
  origin: z.enum(['generate', 'edit']),
  author: z
    .string()
    .meta({ description: 'The writer, or who edited: `api-key:<key id>`, `dev-key:dev`, `operator:<user>`' }),
  createdAt: timestamp,
  title: z.string(),
  wordCount: z.number().int().nullable(),
  seoScore: z.number().int().nullable(),
  groundingPassed: z.boolean().nullable(),
  current: z.boolean(),
  links: z.object({ self: link }).strict(),
};
const revisionsSchema = z
  .object({
    postId: uuid,
    items: z.array(z.object(revisionSummaryShape).strict()),
    links: z.object({ post: link }).strict(),
  })
  .strict();
const revisionSchema = z
  .object({
    ...revisionSummaryShape,
    metaTitle: z
      .string()
      .nullable()
      .meta({ description: "The page's <title> the revision had; null for revisions kept before it was" }),
    metaDescription: z.string(),
    tags: z.array(z.string()),
    markdown: z.string(),
    seo: z.unknown(),
    grounding: z.unknown(),
  })
  .strict();

const overviewSchema = z
  .object({
    tenant: z.object({ slug: z.string() }).strict(),
    generatedAt: timestamp,
    days: z.number().int(),
    spend: z
      .object({
        monthStart: timestamp,
        spentUsd: z.number(),
        monthlyBudgetUsd: z.number().nullable(),
        usedRatio: z.number().nullable(),
        perPostCostCapUsd: z.number().nullable(),
      })
      .strict(),
    postsByStatus: z.record(z.string(), z.number().int()),
    postsPerDay: z.array(
      z
        .object({
          date: z.iso.date(),
          total: z.number().int(),
          byStatus: z.record(z.string(), z.number().int()),
        })
        .strict(),
    ),
    failures: z.array(
      z
        .object({
          status: z.string(),
          stage: z.string().nullable(),
          reason: z
            .string()
            .meta({ description: 'The reason with URLs, ids and figures replaced, so alike ones group' }),
          example: z.string(),
          count: z.number().int(),
          lastAt: timestamp,
        })
        .strict(),
    ),
    scheduled: z.array(
      z
        .object({
          destination: z.string(),
          name: z.string().nullable(),
          count: z.number().int(),
          nextAt: timestamp.nullable(),
        })
        .strict(),
    ),
    feeds: z.array(
      z
        .object({
          id: uuid,
          type: z.string(),
          url: z.string(),
          cron: z.string(),
          timezone: z.string(),
          lastPolledAt: timestamp.nullable(),
          lastOutcome: z.string().nullable(),
          lastError: z.string().nullable(),
          recentPolls: z.array(
            z
              .object({
                startedAt: timestamp,
                finishedAt: timestamp.nullable(),
                outcome: z.string().nullable(),
                newEntries: z.number().int(),
                error: z.string().nullable(),
              })
              .strict(),
          ),
          links: z.object({ self: link }).strict(),
        })
        .strict(),
    ),
  })
  .strict();

const postActionSchema = postViewSchema.meta({ description: 'The post after the action' });

const replayAnswerSchema = z
  .object({
    id: uuid,
    status: z.literal('queued'),
    fromStage: stageSchema,
    generation: z.number().int(),
    links: z.object({ post: link }).strict(),
  })
  .strict();

const destinationViewSchema = z
  .object({
    id: uuid,
    name: z.string(),
    kind: z.enum(destinationKinds),
    config: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The kind’s config; secrets appear only as the names of their variables.' }),
    isDefault: z.boolean(),
    createdAt: timestamp,
    updatedAt: timestamp,
    links: z.object({ self: link }).strict(),
  })
  .strict();

const feedViewShape = {
  id: uuid,
  type: z.enum(['feed', 'sitemap', 'site']),
  url: z.string(),
  cron: z.string(),
  timezone: z.string(),
  createdAt: timestamp,
  lastPolledAt: timestamp.nullable(),
  lastOutcome: z.string().nullable(),
  lastError: z.string().nullable(),
  links: z.object({ self: link }).strict(),
};
const feedViewSchema = z.object(feedViewShape).strict();
const feedDetailSchema = z
  .object({
    ...feedViewShape,
    recentPolls: z.array(
      z
        .object({
          startedAt: timestamp,
          outcome: z.string().nullable(),
          newEntries: z.number().int(),
          error: z.string().nullable(),
        })
        .strict(),
    ),
  })
  .strict();

const tenantShape = {
  id: uuid,
  slug: z.string(),
  name: z.string(),
  operator: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
};
const tenantViewSchema = z.object(tenantShape).strict();
const apiKeyShape = {
  id: uuid,
  prefix: z.string().regex(/^bpk_[0-9a-f]{16}$/),
  name: z.string(),
  scopes: z.array(z.enum(scopes)),
  hint: z.string(),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
};
const apiKeyViewSchema = z.object(apiKeyShape).strict();
const createdKeySchema = z
  .object({ ...apiKeyShape, key: z.string().meta({ description: 'The key itself, shown in this answer only.' }) })
  .strict();
const createdTenantSchema = z.object({ ...tenantShape, key: createdKeySchema.optional() }).strict();
const secretInfoSchema = z
  .object({ name: z.string(), hint: z.string(), keyId: z.string(), createdAt: timestamp, updatedAt: timestamp })
  .strict();
const inboundSecretShape = { id: uuid, hint: z.string(), createdAt: timestamp, expiresAt: timestamp.nullable() };
const inboundSecretSchema = z.object(inboundSecretShape).strict();
const rotatedSecretSchema = z
  .object({
    ...inboundSecretShape,
    secret: z
      .string()
      .regex(/^whsec_/)
      .meta({ description: 'The signing secret, shown in this answer only.' }),
    links: z.object({ deliver: link }).strict(),
  })
  .strict();

const checkSchema = z.looseObject({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  critical: z.boolean(),
  error: z.string().optional(),
});
const readinessSchema = z
  .object({ status: z.enum(['ready', 'degraded', 'not ready']), checks: z.record(z.string(), checkSchema) })
  .strict();

// ---------------------------------------------------------------- operations

type Body = { schema: z.ZodType; example?: unknown };
type Answer = { description: string; schema?: z.ZodType; type?: string; headers?: Record<string, string> };
export type OperationSpec = {
  method: Method;
  /** Express route template (`/api/v1/posts/:id`); the document uses `{id}`. */
  path: string;
  summary: string;
  tag: string;
  security: Security;
  /** The API-key scope the route needs. */
  scope?: (typeof scopes)[number] | 'admin (operator tenant)';
  query?: z.ZodObject;
  body?: Body;
  headers?: { name: string; description: string; schema: z.ZodType }[];
  responses: Record<number, Answer>;
};

const problem = (description: string): Answer => ({
  description,
  schema: problemSchema,
  type: 'application/problem+json',
});
const json = (description: string, schema: z.ZodType, headers?: Record<string, string>): Answer => ({
  description,
  schema,
  ...(headers ? { headers } : {}),
});
const noContent: Answer = { description: 'Done; no body' };

/** What any key-authenticated route may answer besides its own statuses. */
const apiProblems: Record<number, Answer> = {
  401: problem('A missing, malformed, unknown or revoked key'),
  403: problem('The key lacks the scope'),
  429: problem('Over the per-address or per-key rate limit; see Retry-After'),
  503: problem('Redis or PostgreSQL is unavailable; retry after Retry-After'),
  500: problem('An unexpected error; the request id identifies it'),
};
const bodyProblems: Record<number, Answer> = {
  400: problem('Malformed JSON'),
  413: problem('The body is over BODY_LIMIT'),
  415: problem('The body is not application/json'),
  422: problem('A missing, unknown or invalid field (each named in `errors`)'),
};
const notFound = { 404: problem('No such resource for this tenant') };
const conflict = (why: string) => ({ 409: problem(why) });

const future = '2030-01-02T03:04:05Z';

export const operations: OperationSpec[] = [
  // Probes, metrics and docs.
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: 200 while the process runs',
    tag: 'operations',
    security: 'none',
    responses: { 200: json('Alive', z.object({ status: z.literal('ok') }).strict()) },
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: each dependency with its status and latency, and each queue’s live workers',
    tag: 'operations',
    security: 'none',
    responses: {
      200: json('Ready, or degraded (a queue without a worker)', readinessSchema),
      503: json('A critical dependency (Redis, PostgreSQL, the vector index) is down', readinessSchema),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    security: 'metrics',
    responses: {
      200: { description: 'The Prometheus text exposition format', type: 'text/plain', schema: z.string() },
      401: problem('METRICS_TOKEN is set and the request does not carry it'),
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'operations',
    security: 'none',
    responses: { 200: json('The OpenAPI 3.1 document', z.record(z.string(), z.unknown())) },
  },
  {
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This document (under the API prefix)',
    tag: 'operations',
    security: 'none',
    responses: { 200: json('The OpenAPI 3.1 document', z.record(z.string(), z.unknown())) },
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'Interactive API documentation (Swagger UI, served by this app; works offline)',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'The docs page', type: 'text/html', schema: z.string() } },
  },
  {
    method: 'get',
    path: '/docs/assets/:file',
    summary: 'The docs page’s scripts and styles',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'A static file of the docs page', type: '*/*' }, 404: problem('No such file') },
  },
  {
    method: 'get',
    path: '/console',
    summary: 'The editorial console (static page; signs in with an API key or operator credentials in the browser)',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'The console page', type: 'text/html', schema: z.string() } },
  },
  {
    method: 'get',
    path: '/console/assets/:file',
    summary: 'The console’s scripts, styles and icon',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'A static file of the console', type: '*/*' }, 404: problem('No such file') },
  },
  {
    method: 'get',
    path: '/admin/queues',
    summary: 'Bull Board, the operator console (its own page and JSON API live below this path)',
    tag: 'operations',
    security: 'operator',
    responses: {
      200: { description: 'The console page', type: 'text/html', schema: z.string() },
      401: problem('No or wrong operator credentials'),
      404: problem('No operator credentials are configured: the console is off'),
    },
  },

  // Submissions.
  {
    method: 'post',
    path: '/api/v1/submissions',
    summary: 'Submit a source; the pipeline runs asynchronously',
    tag: 'submissions',
    security: 'apiKey',
    scope: 'submit',
    headers: [
      {
        name: 'Idempotency-Key',
        description:
          'Makes a retried request return the first answer and run the pipeline once ' +
          '(1 to 255 visible ASCII characters)',
        schema: z.string().min(1).max(255),
      },
    ],
    body: {
      schema: submissionSchema,
      example: { source: { type: 'markdown', title: 'A title', text: '# A title\n\nSome text to write about.' } },
    },
    responses: {
      202: json('Accepted: recorded and enqueued', acceptedSchema, {
        Location: 'The submission',
        'Idempotent-Replayed': '`true` when this is the first answer replayed',
      }),
      ...bodyProblems,
      400: problem('Malformed JSON, or a bad Idempotency-Key'),
      422: problem('An invalid field, or an Idempotency-Key reused with another body'),
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/submissions/:id',
    summary: 'A submission, its overall status and its posts',
    tag: 'submissions',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('The submission', submissionViewSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'post',
    path: '/api/v1/hooks/:tenant/submissions',
    summary: 'A submission signed per Standard Webhooks with one of the tenant’s inbound secrets (no API key)',
    tag: 'submissions',
    security: 'webhook',
    headers: [
      {
        name: 'webhook-id',
        description: 'The delivery id; a redelivery is refused (409) for 11 minutes',
        schema: z.string(),
      },
      {
        name: 'webhook-timestamp',
        description: 'Seconds since the epoch, within 5 minutes of now',
        schema: z.string(),
      },
      { name: 'webhook-signature', description: '`v1,<base64 HMAC-SHA256 of id.timestamp.body>`', schema: z.string() },
    ],
    body: { schema: submissionSchema, example: { source: { type: 'text', text: 'Some text to write about.' } } },
    responses: {
      202: json('Accepted', acceptedSchema),
      ...bodyProblems,
      401: problem('A missing or bad signature, a stale timestamp or an unknown tenant'),
      409: problem('This webhook-id was delivered already'),
      429: apiProblems[429]!,
      503: apiProblems[503]!,
      500: apiProblems[500]!,
    },
  },

  // Posts.
  {
    method: 'get',
    path: '/api/v1/posts/:id',
    summary: 'A post: status, SEO fields, citations, stage history, publications, hold or failure',
    tag: 'posts',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('The post', postViewSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'post',
    path: '/api/v1/posts/:id/approve',
    summary: 'Continue a post held as awaiting_approval, needs_review or duplicate_of',
    tag: 'posts',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: approveSchema, example: {} },
    responses: {
      202: json('Approved; the post runs on', postActionSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('The post is not held'),
      ...apiProblems,
    },
  },
  {
    method: 'post',
    path: '/api/v1/posts/:id/reject',
    summary: 'Stop a held or scheduled post as rejected',
    tag: 'posts',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: rejectSchema, example: { reason: 'off-topic' } },
    responses: {
      200: json('Rejected', postActionSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('The post is neither held nor scheduled'),
      ...apiProblems,
    },
  },
  {
    method: 'post',
    path: '/api/v1/posts/:id/cancel',
    summary: 'Stop a post as cancelled; it is never published',
    tag: 'posts',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: cancelSchema, example: { reason: 'no longer needed' } },
    responses: {
      200: json('Cancelled', postActionSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('The post is published or stopped already'),
      ...apiProblems,
    },
  },
  {
    method: 'post',
    path: '/api/v1/posts/:id/reschedule',
    summary: 'Move a post’s publishing time',
    tag: 'posts',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: rescheduleSchema, example: { publishAt: future } },
    responses: {
      200: json('Rescheduled', postActionSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('The post can no longer be rescheduled'),
      ...apiProblems,
    },
  },
  {
    method: 'post',
    path: '/api/v1/posts/:id/replay',
    summary: 'Run a settled post again from a stage (a new run)',
    tag: 'posts',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: replaySchema, example: { fromStage: 'generate' } },
    responses: {
      202: json('Queued from the stage', replayAnswerSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('A stage is working on the post now'),
      ...apiProblems,
    },
  },
  // The editorial API.
  {
    method: 'get',
    path: '/api/v1/posts',
    summary: 'The tenant’s posts, filtered, a page at a time (keyset cursor, stable order)',
    tag: 'posts',
    security: 'apiKey',
    scope: 'read',
    query: postListQuery,
    responses: {
      200: json('A page of posts', postListSchema),
      422: problem('A bad filter, an unknown status or a cursor this list did not hand out'),
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/posts/:id/content',
    summary:
      'A post’s text (Markdown and sanitised HTML), SEO fields and lint report, ' +
      'grounding report with the closest source sentences, citations with their ' +
      'sources, cost',
    tag: 'posts',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('The post’s content', postContentSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'patch',
    path: '/api/v1/posts/:id',
    summary:
      'Edit the draft of a post held for review, approval or as a near-duplicate: ' +
      'a new revision, linted and checked again',
    tag: 'posts',
    security: 'apiKey',
    scope: 'admin',
    body: {
      schema: draftPatchSchema,
      example: { title: 'How zebrafish regrow their fins', tags: ['zebrafish', 'healing'], baseRevision: 1 },
    },
    responses: {
      200: json('The post’s content after the edit, with the new lint and grounding reports', postContentSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('The post is published, not held, or has a revision newer than `baseRevision`'),
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/posts/:id/revisions',
    summary: 'A post’s revisions, newest first (the current one publishes)',
    tag: 'posts',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('Revisions', revisionsSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/posts/:id/revisions/:revision',
    summary: 'One revision with its text and reports',
    tag: 'posts',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('The revision', revisionSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/overview',
    summary:
      'The tenant at a glance: spend this month against the budget, posts per ' +
      'day by status, failures by reason, scheduled posts per destination, feeds ' +
      'with their last polls',
    tag: 'posts',
    security: 'apiKey',
    scope: 'read',
    query: overviewQuery,
    responses: { 200: json('The overview', overviewSchema), 422: problem('A bad `days`'), ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/posts/:id/related',
    summary: 'The tenant’s published posts most similar to this one',
    tag: 'search',
    security: 'apiKey',
    scope: 'read',
    query: relatedQuery,
    responses: {
      200: json('Related posts, best first', relatedPostsSchema),
      422: problem('A bad query parameter'),
      ...notFound,
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/search',
    summary: 'Semantic search over the tenant’s indexed posts',
    tag: 'search',
    security: 'apiKey',
    scope: 'read',
    query: searchQuery,
    responses: {
      200: json('Hits, best first', searchResultsSchema),
      422: problem('A missing or bad query parameter'),
      ...apiProblems,
    },
  },

  // Destinations.
  {
    method: 'get',
    path: '/api/v1/destinations',
    summary: 'The tenant’s publishing destinations',
    tag: 'destinations',
    security: 'apiKey',
    scope: 'read',
    responses: {
      200: json('Destinations', z.object({ items: z.array(destinationViewSchema) }).strict()),
      ...apiProblems,
    },
  },
  {
    method: 'post',
    path: '/api/v1/destinations',
    summary: 'Add a destination (files, wordpress or webhook)',
    tag: 'destinations',
    security: 'apiKey',
    scope: 'admin',
    body: {
      schema: createDestinationSchema,
      example: { name: 'static site', kind: 'files', config: { subdir: 'blog' } },
    },
    responses: {
      201: json('Created', destinationViewSchema, { Location: 'The destination' }),
      ...bodyProblems,
      ...conflict('A destination of that name exists'),
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/destinations/:id',
    summary: 'One destination',
    tag: 'destinations',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('The destination', destinationViewSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'patch',
    path: '/api/v1/destinations/:id',
    summary: 'Change a destination; `config` is replaced whole and checked against its kind',
    tag: 'destinations',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: updateDestinationSchema, example: { name: 'renamed site', isDefault: true } },
    responses: {
      200: json('Updated', destinationViewSchema),
      ...bodyProblems,
      ...notFound,
      ...conflict('A destination of that name exists'),
      ...apiProblems,
    },
  },
  {
    method: 'delete',
    path: '/api/v1/destinations/:id',
    summary: 'Remove a destination',
    tag: 'destinations',
    security: 'apiKey',
    scope: 'admin',
    responses: { 204: noContent, ...notFound, ...apiProblems },
  },

  // Feeds.
  {
    method: 'post',
    path: '/api/v1/feeds',
    summary: 'Register a feed, sitemap or site for polling on a cron schedule',
    tag: 'feeds',
    security: 'apiKey',
    scope: 'submit',
    body: { schema: feedInput, example: { url: 'https://example.com/feed.xml', cron: '*/30 * * * *' } },
    responses: {
      201: json('Registered', feedViewSchema, { Location: 'The feed' }),
      ...bodyProblems,
      422: problem('An invalid field (a bad cron expression or time zone is named)'),
      ...conflict('The URL is registered already'),
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/feeds',
    summary: 'The registered feeds',
    tag: 'feeds',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('Feeds', z.object({ feeds: z.array(feedViewSchema) }).strict()), ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/feeds/:id',
    summary: 'One feed with its last 20 polls',
    tag: 'feeds',
    security: 'apiKey',
    scope: 'read',
    responses: { 200: json('The feed', feedDetailSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'delete',
    path: '/api/v1/feeds/:id',
    summary: 'Unregister a feed',
    tag: 'feeds',
    security: 'apiKey',
    scope: 'admin',
    responses: { 204: noContent, ...notFound, ...apiProblems },
  },

  // Admin.
  {
    method: 'get',
    path: '/api/v1/admin/tenant',
    summary: 'The caller’s tenant',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    responses: { 200: json('The tenant', tenantViewSchema), ...apiProblems },
  },
  {
    method: 'patch',
    path: '/api/v1/admin/tenant',
    summary: 'Rename the tenant or replace its settings whole',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: patchTenantSchema, example: { name: 'Acme Inc.' } },
    responses: { 200: json('The tenant', tenantViewSchema), ...bodyProblems, ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/admin/tenants',
    summary: 'Every tenant (operator tenants only)',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin (operator tenant)',
    responses: { 200: json('Tenants', z.object({ tenants: z.array(tenantViewSchema) }).strict()), ...apiProblems },
  },
  {
    method: 'post',
    path: '/api/v1/admin/tenants',
    summary: 'Create a tenant, optionally with its first key (operator tenants only)',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin (operator tenant)',
    body: {
      schema: createTenantSchema,
      example: { slug: 'acme', name: 'Acme Inc.', key: { name: 'ci', scopes: ['submit', 'read'] } },
    },
    responses: {
      201: json('Created; `key` is shown this once', createdTenantSchema, { Location: 'The tenant' }),
      ...bodyProblems,
      ...conflict('The slug is taken'),
      ...apiProblems,
    },
  },
  {
    method: 'get',
    path: '/api/v1/admin/keys',
    summary: 'The tenant’s API keys (hints only)',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    responses: { 200: json('Keys', z.object({ keys: z.array(apiKeyViewSchema) }).strict()), ...apiProblems },
  },
  {
    method: 'post',
    path: '/api/v1/admin/keys',
    summary: 'Create an API key; the key is in this answer only',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: createKeySchema, example: { name: 'ci', scopes: ['submit', 'read'] } },
    responses: { 201: json('Created', createdKeySchema), ...bodyProblems, ...apiProblems },
  },
  {
    method: 'delete',
    path: '/api/v1/admin/keys/:id',
    summary: 'Revoke a key (by id or `bpk_<key id>` prefix)',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    responses: { 200: json('The revoked key', apiKeyViewSchema), ...notFound, ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/admin/secrets',
    summary: 'The tenant’s secrets (hints only)',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    responses: { 200: json('Secrets', z.object({ secrets: z.array(secretInfoSchema) }).strict()), ...apiProblems },
  },
  {
    method: 'put',
    path: '/api/v1/admin/secrets/:name',
    summary: 'Store or replace a secret, encrypted at rest',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: putSecretSchema, example: { value: 'an application password' } },
    responses: {
      200: json('Stored (a hint of the value only)', secretInfoSchema),
      ...bodyProblems,
      422: problem('A bad secret name or body'),
      ...apiProblems,
      503: problem('No SECRETS_MASTER_KEYS, or Redis or PostgreSQL unavailable'),
    },
  },
  {
    method: 'delete',
    path: '/api/v1/admin/secrets/:name',
    summary: 'Delete a secret',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    responses: { 204: noContent, ...notFound, ...apiProblems },
  },
  {
    method: 'get',
    path: '/api/v1/admin/webhook-secrets',
    summary: 'Current inbound signing secrets (hints only)',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    responses: { 200: json('Secrets', z.object({ secrets: z.array(inboundSecretSchema) }).strict()), ...apiProblems },
  },
  {
    method: 'post',
    path: '/api/v1/admin/webhook-secrets',
    summary: 'Add an inbound signing secret; the current ones expire after `overlapSeconds`',
    tag: 'admin',
    security: 'apiKey',
    scope: 'admin',
    body: { schema: rotateSchema, example: { overlapSeconds: 3600 } },
    responses: {
      201: json('Created; `secret` is shown this once', rotatedSecretSchema),
      ...bodyProblems,
      ...apiProblems,
      503: problem('No SECRETS_MASTER_KEYS, or Redis or PostgreSQL unavailable'),
    },
  },
];

// ---------------------------------------------------------------- the document

/** `/posts/:id` → `/posts/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

const securitySchemes = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'A tenant API key (`bpk_…`) or DEV_API_KEY. The operator credentials (OPERATOR_TOKEN ' +
      'as a bearer token, or OPERATOR_USER/OPERATOR_PASSWORD as basic auth) work ' +
      'too, in the tenant an `X-Tenant: <slug>` header names (`default` without ' +
      'it)',
  },
  operatorToken: { type: 'http', scheme: 'bearer', description: 'OPERATOR_TOKEN' },
  operatorBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'OPERATOR_USER / OPERATOR_PASSWORD (or any user with OPERATOR_TOKEN as the password)',
  },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set' },
  webhookSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'webhook-signature',
    description: 'Standard Webhooks signature with webhook-id and webhook-timestamp',
  },
};

function security(op: OperationSpec): Record<string, string[]>[] {
  switch (op.security) {
    case 'apiKey':
      return [{ apiKey: [] }];
    case 'operator':
      return [{ operatorToken: [] }, { operatorBasic: [] }];
    case 'metrics':
      return [{ metricsToken: [] }, {}];
    case 'webhook':
      return [{ webhookSignature: [] }];
    case 'none':
      return [];
  }
}

export type OpenApiDocument = {
  openapi: string;
  info: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: a free-form JSON document; readers walk it by key, as in the spec
  paths: Record<string, Record<string, any>>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  components: Record<string, any>;
  [k: string]: unknown;
};

/** `get` and `/api/v1/posts/{id}` → `getApiV1PostsById`. */
function operationId(method: string, path: string): string {
  const camel = (_m: string, c: string | undefined) => (c ? c.toUpperCase() : '');
  return `${method}${path.replace(/\{([^}]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, camel)}`;
}

/** The OpenAPI 3.1 document for this deployment (servers follow PUBLIC_API_URL or BASE_PATH). */
export function buildOpenApiDocument(config?: Pick<Config, 'PUBLIC_API_URL' | 'BASE_PATH'>): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = openApiPath(op.path);
    const parameters: Record<string, unknown>[] = [];
    for (const [, name] of op.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)) {
      parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
    if (op.query) {
      const query = jsonSchema(op.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
      }
    }
    for (const h of op.headers ?? [])
      parameters.push({
        name: h.name,
        in: 'header',
        required: op.security === 'webhook',
        description: h.description,
        schema: jsonSchema(h.schema, 'input'),
      });

    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(op.responses).sort(([a], [b]) => Number(a) - Number(b))) {
      const schema =
        answer.schema === problemSchema
          ? { $ref: '#/components/schemas/Problem' }
          : answer.schema
            ? jsonSchema(answer.schema, 'output')
            : undefined;
      const content = schema
        ? { [answer.type ?? 'application/json']: { schema } }
        : answer.type
          ? { [answer.type]: {} }
          : undefined;
      responses[status] = {
        description: answer.description,
        ...(content ? { content } : {}),
        ...(answer.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(answer.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]),
              ),
            }
          : {}),
      };
    }
    const description = op.scope ? `Needs an API key with the \`${op.scope}\` scope.` : undefined;
    const pathItem = paths[path] ?? {};
    paths[path] = pathItem;
    pathItem[op.method] = {
      operationId: operationId(op.method, path),
      summary: op.summary,
      ...(description ? { description } : {}),
      tags: [op.tag],
      security: security(op),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: jsonSchema(op.body.schema, 'input'),
                  ...(op.body.example !== undefined ? { example: op.body.example } : {}),
                },
              },
            },
          }
        : {}),
      responses,
    };
  }
  const server = config?.PUBLIC_API_URL ?? config?.BASE_PATH ?? '/';
  return {
    openapi: '3.1.1',
    info: {
      title: 'Blog Poster API',
      version: '1',
      summary: 'Sources in, grounded SEO-ready posts out, published where you want them.',
      description:
        'Queue-first: the API validates, authenticates, records and enqueues; the ' +
        'stages run in workers. Errors are `application/problem+json` with an `errors` ' +
        'list naming each offending field; unknown fields are refused everywhere. ' +
        'Every answer carries `X-Request-Id` (taken from the request or generated).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: server }],
    tags: ['submissions', 'posts', 'search', 'destinations', 'feeds', 'admin', 'operations'].map((name) => ({ name })),
    paths,
    components: { securitySchemes, schemas: { Problem: jsonSchema(problemSchema, 'output') } },
  };
}
