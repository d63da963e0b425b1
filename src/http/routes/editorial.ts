import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { fitTags } from '../../llm/post.ts';
import { readPostContent } from '../../posts/content.ts';
import { decodeCursor, listPosts } from '../../posts/list.ts';
import { DraftEditError, editDraft, listRevisions, readRevision } from '../../posts/revisions.ts';
import { sendProblem, zodFieldErrors, type FieldError } from '../problem.ts';
import { postStatuses } from '../../posts/lifecycle.ts';
import { requireJson } from './destinations.ts';

// What an editor needs beyond the post view: the list of posts, a post's text with its reports, its
// revisions, and editing the draft of a held post.

const uuid = z.uuid();

/** `status=a,b` or `status=a&status=b`. */
const list = z.union([z.string().max(1000), z.array(z.string().max(1000)).max(30)]).transform((v) =>
  [v]
    .flat()
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean),
);
/** An ISO 8601 date-time with a time zone, or a date (midnight UTC). */
const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'must be an ISO 8601 date-time with a time zone (2030-01-02T03:04:05Z) or a date (2030-01-02)',
  })
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v));

export const postListQuery = z
  .object({
    status: list.optional().meta({ description: 'Statuses, comma-separated or repeated; any of them matches' }),
    createdFrom: instant.optional().meta({ description: 'Created at or after' }),
    createdTo: instant.optional().meta({ description: 'Created before' }),
    publishedFrom: instant.optional().meta({ description: 'Published at or after' }),
    publishedTo: instant.optional().meta({ description: 'Published before' }),
    destination: z
      .union([z.uuid(), z.literal('files')], { error: 'must be a destination id or "files"' })
      .optional()
      .meta({ description: 'A destination id, or `files` for the built-in static site' }),
    writer: z.string().trim().min(1).max(200).optional().meta({ description: 'The writer, e.g. `local/extractive`' }),
    q: z.string().trim().min(1).max(200).optional().meta({ description: 'Text the title contains' }),
    order: z
      .enum(['created', 'held'])
      .default('created')
      .meta({ description: '`created`: newest first; `held`: posts waiting for a person first, then newest' }),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(500).optional().meta({ description: 'The `nextCursor` of the previous page' }),
  })
  .strict()
  .superRefine((q, ctx) => {
    for (const [from, to] of [
      ['createdFrom', 'createdTo'],
      ['publishedFrom', 'publishedTo'],
    ] as const) {
      const a = q[from];
      const b = q[to];
      if (a && b && a > b) ctx.addIssue({ code: 'custom', path: [to], message: `must not be before ${from}` });
    }
  });

const oneLine = /^[^\p{Cc}]*$/u;
export const draftPatchSchema = z
  .object({
    title: z.string().trim().min(1).max(200).regex(oneLine, 'must be one line of text').optional(),
    metaTitle: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .regex(oneLine, 'must be one line of text')
      .optional()
      .meta({ description: "The page's <title>; a new title without one gets a new meta title" }),
    metaDescription: z.string().trim().min(1).max(500).regex(oneLine, 'must be one line of text').optional(),
    markdown: z
      .string()
      .max(200_000)
      .refine((v) => v.trim().length > 0, 'must not be empty')
      .optional(),
    tags: z.array(z.string().trim().min(1).max(50).regex(oneLine, 'must be one line of text')).max(10).optional(),
    baseRevision: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'The revision the edit starts from; a newer one makes the edit a 409' }),
  })
  .strict()
  .refine((v) => [v.title, v.metaTitle, v.metaDescription, v.markdown, v.tags].some((f) => f !== undefined), {
    message: 'change at least one of title, metaTitle, metaDescription, markdown, tags',
  });

/** The statuses a post can have: the lifecycle's (a test checks they are the rows of post_statuses). */
const knownStatuses: ReadonlySet<string> = new Set(postStatuses);

export function editorialRoutes({ db, config }: AppDeps): Router {
  const router = Router();

  router.get('/posts', async (req, res) => {
    const parsed = postListQuery.safeParse(req.query);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid query', { errors: zodFieldErrors(parsed.error) });
    const query = parsed.data;
    const errors: FieldError[] = [];
    const known = knownStatuses;
    for (const s of query.status ?? []) {
      if (!known.has(s))
        errors.push({ field: 'status', message: `unknown status "${s}"; one of ${[...known].join(', ')}` });
    }
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (cursor === null) errors.push({ field: 'cursor', message: 'is not a cursor this list handed out' });
    else if (cursor && cursor.order !== query.order)
      errors.push({ field: 'cursor', message: `was handed out for order=${cursor.order}; send that order with it` });
    if (errors.length) return sendProblem(res, 422, 'Invalid query', { errors });

    const page = await listPosts(req.readDb, req.tenantId, {
      ...query,
      statuses: query.status,
      cursor: cursor ?? undefined,
    });
    const next = page.nextCursor ? new URLSearchParams(rawQuery(req.query)) : null;
    next?.set('cursor', page.nextCursor!);
    res.json({ ...page, links: { self: req.originalUrl, next: next ? `/api/v1/posts?${next}` : null } });
  });

  router.get('/posts/:id/content', async (req, res) => {
    const id = String(req.params.id);
    const content = uuid.safeParse(id).success ? await readPostContent(req.readDb, req.tenantId, id) : null;
    if (!content) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    res.json(content);
  });

  router.get('/posts/:id/revisions', async (req, res) => {
    const id = String(req.params.id);
    const revisions = uuid.safeParse(id).success ? await listRevisions(req.readDb, req.tenantId, id) : null;
    if (!revisions) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    res.json({ ...revisions, links: { post: `/api/v1/posts/${id}` } });
  });

  router.get('/posts/:id/revisions/:revision', async (req, res) => {
    const id = String(req.params.id);
    const n = /^[1-9]\d{0,8}$/.test(String(req.params.revision)) ? Number(req.params.revision) : null;
    const revision =
      uuid.safeParse(id).success && n !== null ? await readRevision(req.readDb, req.tenantId, id, n) : null;
    if (!revision)
      return sendProblem(res, 404, 'Not Found', { detail: `no revision ${req.params.revision} of post ${id}` });
    res.json(revision);
  });

  router.patch('/posts/:id', async (req, res) => {
    if (!requireJson(req, res)) return;
    const id = String(req.params.id);
    if (!uuid.safeParse(id).success) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    const parsed = draftPatchSchema.safeParse(req.body ?? {});
    if (!parsed.success) return sendProblem(res, 422, 'Invalid edit', { errors: zodFieldErrors(parsed.error) });
    const patch = { ...parsed.data, ...(parsed.data.tags ? { tags: fitTags(parsed.data.tags) } : {}) };
    let revision: number;
    try {
      ({ revision } = await editDraft(db, {
        tenantId: req.tenantId,
        postId: id,
        author: `${req.auth!.via}:${req.auth!.principal}`,
        patch,
        siteUrl: config.PUBLIC_SITE_URL ?? null,
      }));
    } catch (err) {
      return editProblem(res, err);
    }
    req.log.info({ postId: id, revision }, 'post draft edited');
    res.json(await readPostContent(db, req.tenantId, id));
  });

  return router;
}

/** The query as sent, for the next page's link (array values repeated). */
function rawQuery(query: unknown): [string, string][] {
  return Object.entries(query as Record<string, unknown>).flatMap(([k, v]) =>
    k === 'cursor' ? [] : [v].flat().map((x) => [k, String(x)] as [string, string]),
  );
}

function editProblem(res: Response, err: unknown): void {
  if (err instanceof DraftEditError) {
    sendProblem(res, err.status, err.status === 404 ? 'Not Found' : 'Conflict', {
      detail: err.message,
      errors: [{ field: err.field, message: err.message }],
    });
    return;
  }
  throw err;
}
