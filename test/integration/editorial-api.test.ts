import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELD_SQL } from '../../src/posts/list.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

// The editorial API against the real pipeline (offline writer, PostgreSQL, Redis): the post list with its
// filters and keyset pages, a post's content with the grounding evidence, draft edits as revisions, and
// the tenant overview. Every answer is scoped to the caller's tenant.

const OPERATOR = { user: 'editor-ops', password: 'operator-password-42', token: 'operator-token-editorial-0123' };

const fins = (extra = '', claim = 'They measured how fast each fin grew back.') => `# Zebrafish fins${extra}

Zebrafish regrow their fins within about two weeks of an injury. The new tissue forms from a mass of cells called a \
blastema.

Researchers at the Oregon laboratory followed 120 fish for three months. ${claim}

The cells involved switch genes on and off in a fixed order. Scientists hope the process will explain why mammals heal \
with scars.`;

describe('the editorial API', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let a: Awaited<ReturnType<typeof createTenantWithKeys>>;
  let b: Awaited<ReturnType<typeof createTenantWithKeys>>;
  let keyA: string;
  let keyB: string;
  let site: Server;
  let siteUrl: string;
  const ids: Record<string, string> = {};

  const call = (key: string, method: string, path: string, body?: unknown) => a.call(key, method, path, body);
  const status = async (key: string, id: string) => (await call(key, 'GET', `/api/v1/posts/${id}`)).body.status;
  const settle = (key: string, id: string, want: string) =>
    waitFor(`post ${id} ${want}`, async () => (await status(key, id)) === want, 60_000);

  beforeAll(async () => {
    site = createServer((_req, res) => {
      res.statusCode = 404;
      res.end('gone');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

    t = await createTestEnv({
      OPERATOR_USER: OPERATOR.user,
      OPERATOR_PASSWORD: OPERATOR.password,
      OPERATOR_TOKEN: OPERATOR.token,
    });
    app = await startPipeline(t);
    const api = { url: app.api.url, devKey: t.config.DEV_API_KEY };
    a = await createTenantWithKeys(api, 'editorial-a', { reader: ['read'] });
    b = await createTenantWithKeys(api, 'editorial-b');
    keyA = a.keys.all!.key;
    keyB = b.keys.all!.key;

    // Tenant A bans a claim its source makes, so that post is held for review; a budget for the overview.
    expect(
      (
        await call(keyA, 'PATCH', '/api/v1/admin/tenant', {
          settings: {
            grounding: {
              bannedClaims: ['/older fish regrow/'],
              disclaimers: [{ keywords: ['blastema'], text: 'Animal research summarised for a general audience.' }],
            },
            monthlyBudgetUsd: 2,
          },
        })
      ).status,
    ).toBe(200);
    const destination = await call(keyA, 'POST', '/api/v1/destinations', { name: 'partner site', kind: 'files' });
    ids.destination = destination.body.id;

    const submit = async (name: string, key: string, body: Record<string, unknown>) => {
      const res = await call(key, 'POST', '/api/v1/submissions', body);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      ids[name] = res.body.postId;
    };
    const brief = { minWords: 50, maxWords: 600 };
    await submit('review', keyA, {
      source: {
        type: 'markdown',
        text: fins('', 'They found that older fish regrow fins more slowly than young ones.'),
      },
      brief,
    });
    await submit('approval', keyA, {
      source: { type: 'markdown', text: fins(' and healing') },
      brief,
      publish: { requireApproval: true, destinations: [ids.destination] },
    });
    await submit('scheduled', keyA, {
      source: { type: 'markdown', text: fins(' on a schedule') },
      brief: { ...brief },
      publish: { publishAt: new Date(Date.now() + 7 * 24 * 3600_000).toISOString() },
    });
    await submit('failedOne', keyA, { source: { type: 'url', url: `${siteUrl}/one` } });
    await submit('failedTwo', keyA, { source: { type: 'url', url: `${siteUrl}/two` } });
    await submit('other', keyB, { source: { type: 'markdown', text: fins(' elsewhere') }, brief });
    await settle(keyA, ids.review!, 'needs_review');
    await settle(keyA, ids.approval!, 'awaiting_approval');
    await settle(keyA, ids.scheduled!, 'scheduled');
    await settle(keyA, ids.failedOne!, 'failed');
    await settle(keyA, ids.failedTwo!, 'failed');
    await settle(keyB, ids.other!, 'published');

    // Model spend this month, as the gateway records it.
    await app.rt.db.query(
      `INSERT INTO llm_calls (tenant_id, post_id, provider, model, step, prompt_tokens, completion_tokens, cost_usd)
       VALUES ($1, $2, 'openai', 'm', 'draft', 1000, 500, 0.25), ($1, $2, 'openai', 'm', 'metadata', 100, 50, 0.25)`,
      [a.id, ids.review],
    );
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await new Promise((r) => site?.close(r));
  });

  describe('GET /api/v1/posts', () => {
    it('lists the tenant’s posts newest first with the fields a list needs', async () => {
      const res = await call(keyA, 'GET', '/api/v1/posts');
      expect(res.status).toBe(200);
      const items = res.body.items as Record<string, any>[];
      expect(items.map((p) => p.id)).toEqual([ids.failedTwo, ids.failedOne, ids.scheduled, ids.approval, ids.review]);
      expect(items.map((p) => p.id)).not.toContain(ids.other);
      const review = items.find((p) => p.id === ids.review)!;
      expect(review).toMatchObject({
        title: expect.stringContaining('Zebrafish'),
        status: 'needs_review',
        hold: { stage: 'generate', reason: 'grounding: 2 findings to review' },
        failure: null,
        costUsd: 0.5,
        writer: 'local/extractive-v2',
        scheduledAt: null,
        publishedAt: null,
        destinations: [{ key: 'files', name: 'static site' }],
        links: { self: `/api/v1/posts/${ids.review}`, content: `/api/v1/posts/${ids.review}/content` },
      });
      expect(review.wordCount).toBeGreaterThan(30);
      expect(review.seoScore).toBeGreaterThan(0);
      const scheduled = items.find((p) => p.id === ids.scheduled)!;
      expect(Date.parse(scheduled.scheduledAt)).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
      expect(items.find((p) => p.id === ids.failedOne)!.failure).toMatchObject({ stage: 'ingest' });
      expect(items.find((p) => p.id === ids.approval)!.destinations).toEqual([
        { key: ids.destination, name: 'partner site' },
      ]);
      expect(res.body.nextCursor).toBeNull();
    });

    it('filters by several statuses, ranges, destination, writer and title text', async () => {
      const list = async (query: string) => {
        const res = await call(keyA, 'GET', `/api/v1/posts?${query}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return (res.body.items as { id: string }[]).map((p) => p.id).sort();
      };
      const sorted = (...names: string[]) => names.map((n) => ids[n]!).sort();
      expect(await list('status=needs_review,awaiting_approval')).toEqual(sorted('review', 'approval'));
      expect(await list('status=needs_review&status=failed')).toEqual(sorted('review', 'failedOne', 'failedTwo'));
      expect(await list(`destination=${ids.destination}`)).toEqual(sorted('approval'));
      expect(await list('destination=files')).toEqual(sorted('review', 'scheduled', 'failedOne', 'failedTwo'));
      expect(await list('writer=local/extractive-v2')).toEqual(sorted('review', 'approval', 'scheduled'));
      expect(await list('q=schedule')).toEqual(sorted('scheduled'));
      // Wildcards in the text are matched literally.
      expect(await list('q=%25')).toEqual([]);
      const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
      expect(await list(`createdFrom=2000-01-01&createdTo=${tomorrow}`)).toHaveLength(5);
      expect(await list(`createdFrom=${tomorrow}`)).toEqual([]);
      expect(await list('publishedFrom=2000-01-01')).toEqual([]);
      // Another tenant's filters see only its own posts.
      const other = await call(keyB, 'GET', '/api/v1/posts?status=published');
      expect(other.body.items.map((p: { id: string }) => p.id)).toEqual([ids.other]);
    });

    it('answers 422 naming the field for bad filters', async () => {
      const bad = async (query: string, field: string) => {
        const res = await call(keyA, 'GET', `/api/v1/posts?${query}`);
        expect(res.status, query).toBe(422);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(
          res.body.errors.map((e: { field: string }) => e.field),
          query,
        ).toContain(field);
      };
      await bad('status=needs_review,nonsense', 'status');
      await bad('createdFrom=yesterday', 'createdFrom');
      await bad('createdFrom=2030-01-02&createdTo=2030-01-01', 'createdTo');
      await bad('destination=ftp', 'destination');
      await bad('limit=0', 'limit');
      await bad('limit=101', 'limit');
      await bad('order=title', 'order');
      await bad('cursor=bm90LWEtY3Vyc29y', 'cursor');
      await bad('unknown=1', 'unknown');
    });

    it('pages by cursor in a stable order: ties broken by id, nothing repeated or skipped while posts arrive', async () => {
      // Thirty posts created in the same microsecond, straight into the tables (the order must not rely on time
      // alone).
      const { rows } = await app.rt.db.query<{ id: string }>(
        `WITH sub AS (
           INSERT INTO submissions (tenant_id, request_hash, correlation_id) VALUES ($1, 'h', 'c') RETURNING id)
         INSERT INTO posts (tenant_id, submission_id, status, title, correlation_id, created_at)
         SELECT $1, sub.id, CASE WHEN g % 3 = 0 THEN 'needs_review' ELSE 'published' END, 'Bulk post ' || g, 'c',
                '2020-05-05T05:05:05.123456Z'
           FROM sub, generate_series(1, 30) g
         RETURNING id`,
        [b.id],
      );
      const bulk = rows.map((r) => r.id);
      for (const order of ['created', 'held'] as const) {
        const seen: string[] = [];
        const arrivedMeanwhile: string[] = [];
        let cursor: string | null = null;
        do {
          const query: string = `order=${order}&limit=7&createdTo=2021-01-01${cursor ? `&cursor=${cursor}` : ''}`;
          const res = await call(keyB, 'GET', `/api/v1/posts?${query}`);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          seen.push(...res.body.items.map((p: { id: string }) => p.id));
          cursor = res.body.nextCursor;
          if (cursor) expect(res.body.links.next).toContain(`cursor=${cursor}`);
          // A post arriving between pages (newer, so it belongs before the pages already read) shifts nothing.
          const late = await app.rt.db.query<{ id: string }>(
            `INSERT INTO posts (tenant_id, submission_id, status, title, correlation_id, created_at)
             SELECT tenant_id, submission_id, 'needs_review', 'Late arrival', 'c', '2020-06-06T06:06:06Z'
               FROM posts WHERE id = $1 RETURNING id`,
            [bulk[0]],
          );
          arrivedMeanwhile.push(late.rows[0]!.id);
        } while (cursor);
        const bulkSeen = seen.filter((id) => bulk.includes(id));
        expect(new Set(seen).size, `${order}: no post twice`).toBe(seen.length);
        expect(bulkSeen.sort(), `${order}: every post`).toEqual([...bulk].sort());
        expect(
          seen.filter((id) => arrivedMeanwhile.includes(id)),
          `${order}: no late arrival`,
        ).toEqual([]);
        const again = await call(keyB, 'GET', `/api/v1/posts?order=${order}&limit=100&createdTo=2021-01-01`);
        const all = again.body.items as { id: string; status: string }[];
        if (order === 'held') {
          const firstPublished = all.findIndex((p) => p.status === 'published');
          expect(firstPublished).toBeGreaterThan(0);
          expect(
            all.slice(firstPublished).every((p) => p.status === 'published'),
            'held first',
          ).toBe(true);
        } else {
          // Newest first; within the tied microsecond, by id descending.
          const tied = all.filter((p) => bulk.includes(p.id)).map((p) => p.id);
          expect(tied).toEqual([...tied].sort().reverse());
        }
      }
      // `order=held` sorts on the expression the migration indexes, so it stays an index scan on a big tenant.
      const index = await app.rt.db.query<{ def: string }>(
        `SELECT pg_get_indexdef('posts_tenant_held_created_idx'::regclass) AS def`,
      );
      expect(index.rows[0]!.def).toContain(`(${HELD_SQL.replace(/^p\./, '')})`);
      // A cursor of one order is refused with the other.
      const first = await call(keyB, 'GET', '/api/v1/posts?order=held&limit=2');
      const mismatch = await call(keyB, 'GET', `/api/v1/posts?order=created&cursor=${first.body.nextCursor}`);
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.errors[0]).toMatchObject({ field: 'cursor' });
      // Tenant A's list never shows them.
      const listA = await call(keyA, 'GET', '/api/v1/posts?limit=100');
      expect(listA.body.items.some((p: { id: string }) => bulk.includes(p.id))).toBe(false);
    });
  });

  describe('GET /api/v1/posts/:id/content', () => {
    it('gives the draft, its reports, the closest source sentences of each flagged sentence, citations and cost', async () => {
      const res = await call(keyA, 'GET', `/api/v1/posts/${ids.review}/content`);
      expect(res.status).toBe(200);
      const c = res.body;
      expect(c).toMatchObject({ id: ids.review, status: 'needs_review', revision: 1, costUsd: 0.5 });
      expect(c.markdown).toContain('Zebrafish regrow their fins');
      expect(c.html).toContain('<p>');
      expect(c.html).not.toMatch(/<script|<h1/i);
      expect(c.seo).toMatchObject({ score: expect.any(Number), violations: expect.any(Array) });
      expect(c.metaTitle.length).toBeGreaterThan(10);
      expect(c.grounding.passed).toBe(false);
      const [finding] = c.grounding.failingSentences;
      expect(finding.sentence).toBe('They found that older fish regrow fins more slowly than young ones.');
      expect(finding.reasons).toEqual(['makes a banned claim (/older fish regrow/)']);
      expect(finding.closestSources[0]).toMatchObject({
        sentence: 'They found that older fish regrow fins more slowly than young ones.',
        score: 1,
        sourceTitle: expect.any(String),
      });
      expect(finding.closestSources.length).toBeGreaterThan(1);
      expect(finding.closestSources[1].score).toBeLessThan(1);
      expect(c.citations).toHaveLength(1);
      expect(c.citations[0]).toMatchObject({ number: 1, source: { kind: 'markdown', words: expect.any(Number) } });
      expect(c.citations[0].source.excerpt).toContain('Zebrafish regrow');
      expect(c.sources[0].citedAs).toEqual([1]);
      expect(c.costs.map((x: { step: string }) => x.step)).toEqual(['draft', 'metadata']);
      expect(c.hold).toMatchObject({ stage: 'generate' });
    });

    it('is 404 for another tenant’s post and for ids that are not posts', async () => {
      expect((await call(keyB, 'GET', `/api/v1/posts/${ids.review}/content`)).status).toBe(404);
      expect((await call(keyA, 'GET', '/api/v1/posts/not-a-uuid/content')).status).toBe(404);
      expect((await call(keyA, 'GET', `/api/v1/posts/${ids.other}/revisions`)).status).toBe(404);
      expect((await call(keyA, 'GET', `/api/v1/posts/${ids.review}/revisions/99`)).status).toBe(404);
    });
  });

  describe('PATCH /api/v1/posts/:id', () => {
    it('saves an edit as a new revision, re-runs the lint and the gate, and the ' +
      'approved post publishes the edit', async () => {
      const before = await call(keyA, 'GET', `/api/v1/posts/${ids.review}/content`);
      // A figure no source gives: the gate flags it and shows where the sources talk about it.
      const fabricated = before.body.markdown.replace(
        'They found that older fish regrow fins more slowly than young ones.',
        'They found that 95 percent of the fish healed without scars.',
      );
      const flagged = await call(keyA, 'PATCH', `/api/v1/posts/${ids.review}`, {
        markdown: fabricated,
        baseRevision: 1,
      });
      expect(flagged.status, JSON.stringify(flagged.body)).toBe(200);
      expect(flagged.body.revision).toBe(2);
      expect(flagged.body.status).toBe('needs_review');
      expect(flagged.body.grounding.passed).toBe(false);
      // The writer's meta description repeats the banned claim, and the gate reads descriptions too.
      expect(flagged.body.grounding.failingSentences).toEqual([
        expect.objectContaining({
          sentence: 'They found that 95 percent of the fish healed without scars.',
          reasons: ['the figure "95 percent" is not in any source'],
        }),
        expect.objectContaining({
          field: 'metaDescription',
          sentence: 'They found that older fish regrow fins more slowly than young ones.',
          reasons: ['makes a banned claim (/older fish regrow/)'],
        }),
      ]);
      expect(flagged.body.grounding.failingSentences[0].closestSources[0].sentence).toMatch(/fish|scars/);
      expect(flagged.body.hold.reason).toBe('grounding: 2 findings to review');

      // An edit from an old revision is a conflict.
      const stale = await call(keyA, 'PATCH', `/api/v1/posts/${ids.review}`, { title: 'Stale', baseRevision: 1 });
      expect(stale.status).toBe(409);
      expect(stale.body.errors[0]).toMatchObject({ field: 'baseRevision' });

      // The fix: the sentence goes, the title changes, the disclaimer the editor dropped comes back.
      const fixed = flagged.body.markdown
        .replace('They found that 95 percent of the fish healed without scars.', '')
        .replace('*Animal research summarised for a general audience.*', '');
      const saved = await call(keyA, 'PATCH', `/api/v1/posts/${ids.review}`, {
        markdown: fixed,
        title: 'How zebrafish regrow fins',
        // The description without the claim.
        metaDescription:
          'Zebrafish regrow their fins within about two weeks of an injury, from a mass of cells called a blastema.',
        tags: ['Zebrafish', 'zebrafish', 'healing'],
        baseRevision: 2,
      });
      expect(saved.status, JSON.stringify(saved.body)).toBe(200);
      expect(saved.body).toMatchObject({
        revision: 3,
        title: 'How zebrafish regrow fins',
        // Tags keep the case they are written in (a German noun keeps its capital), one of each whatever its case.
        tags: ['Zebrafish', 'healing'],
      });
      expect(saved.body.grounding).toMatchObject({ passed: true, failingSentences: [] });
      expect(saved.body.markdown).toContain('*Animal research summarised for a general audience.*');
      expect(saved.body.markdown).not.toContain('95 percent');
      expect(saved.body.metaTitle).toContain('How zebrafish regrow fins');
      expect(saved.body.hold.reason).toBe('edited: grounding passes on revision 3; approve to publish');
      expect(saved.body.seo.score).toEqual(expect.any(Number));

      const revisions = await call(keyA, 'GET', `/api/v1/posts/${ids.review}/revisions`);
      expect(revisions.body.items.map((r: Record<string, unknown>) => [r.revision, r.origin, r.current])).toEqual([
        [3, 'edit', true],
        [2, 'edit', false],
        [1, 'generate', false],
      ]);
      expect(revisions.body.items[0].author).toBe(`api-key:${keyA.split('_')[1]}`);
      expect(revisions.body.items[1].groundingPassed).toBe(false);
      const first = await call(keyA, 'GET', `/api/v1/posts/${ids.review}/revisions/1`);
      expect(first.body.markdown).toContain('older fish regrow');
      expect(first.body.author).toBe('local/extractive-v2');

      // Approval continues from embed, so the edited text is what gets embedded, indexed and published.
      expect((await call(keyA, 'POST', `/api/v1/posts/${ids.review}/approve`, {})).status).toBe(202);
      await settle(keyA, ids.review!, 'published');
      const post = await call(keyA, 'GET', `/api/v1/posts/${ids.review}`);
      expect(post.body.stages.filter((s: { stage: string }) => s.stage === 'embed')).toHaveLength(1);
      const file = await readFile(post.body.publications[0].location.replace(/\.html$/, '.md'), 'utf8');
      expect(file).toContain('How zebrafish regrow fins');
      expect(file).not.toContain('older fish regrow');
      expect(file).not.toContain('95 percent');

      // Published posts are not edited.
      const late = await call(keyA, 'PATCH', `/api/v1/posts/${ids.review}`, { title: 'Too late' });
      expect(late.status).toBe(409);
      expect(late.body.errors[0]).toMatchObject({ field: 'status', message: expect.stringContaining('published') });
    }, 90_000);

    it('edits a post awaiting approval without changing its hold; approval re-embeds the edit', async () => {
      const res = await call(keyA, 'PATCH', `/api/v1/posts/${ids.approval}`, { metaDescription: 'A new description.' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'awaiting_approval',
        revision: 2,
        metaDescription: 'A new description.',
      });
      expect(res.body.seo.violations.map((v: { rule: string }) => v.rule)).toContain('meta-description-length');
      expect(res.body.hold).toMatchObject({ stage: 'generate', reason: 'approval is required before publishing' });
      // The meta title, the page's <title>, is the editor's too: kept as given, even when the title changes with it.
      const metaTitle = 'Zebrafish fins: how a blastema rebuilds them in two weeks';
      const retitled = await call(keyA, 'PATCH', `/api/v1/posts/${ids.approval}`, {
        title: 'Zebrafish regrow their fins',
        metaTitle,
      });
      expect(retitled.status, JSON.stringify(retitled.body)).toBe(200);
      expect(retitled.body).toMatchObject({ revision: 3, title: 'Zebrafish regrow their fins', metaTitle });
      expect(retitled.body.seo.violations.map((v: { rule: string }) => v.rule)).not.toContain('meta-title-length');
      expect((await call(keyA, 'GET', `/api/v1/posts/${ids.approval}/revisions/3`)).body.metaTitle).toBe(metaTitle);
      expect((await call(keyA, 'GET', `/api/v1/posts/${ids.approval}/revisions/2`)).body.metaTitle).not.toBe(metaTitle);
      expect((await call(keyA, 'POST', `/api/v1/posts/${ids.approval}/approve`, {})).status).toBe(202);
      await settle(keyA, ids.approval!, 'published');
      const post = await call(keyA, 'GET', `/api/v1/posts/${ids.approval}`);
      expect(post.body.metaDescription).toBe('A new description.');
      const page = await readFile(post.body.publications[0].location, 'utf8');
      expect(page).toContain(`<title>${metaTitle}</title>`);
      expect(page).toContain('<h1>Zebrafish regrow their fins</h1>');
      expect(post.body.stages.map((s: { stage: string }) => s.stage)).toEqual([
        'ingest',
        'generate',
        'embed',
        'index',
        'publish',
        'embed',
        'index',
        'publish',
      ]);
    }, 60_000);

    it('refuses bad edits with 422 naming the field, other tenants with 404, and posts not held with 409', async () => {
      const patch = (key: string, id: string, body: unknown) => call(key, 'PATCH', `/api/v1/posts/${id}`, body);
      const fields = async (body: unknown) =>
        (await patch(keyA, ids.scheduled!, body)).body.errors.map((e: { field: string }) => e.field);
      expect(await fields({ title: 'x', colour: 'red' })).toEqual(['colour']);
      expect(await fields({ title: 'two\nlines' })).toEqual(['title']);
      expect(await fields({ metaTitle: '' })).toEqual(['metaTitle']);
      expect(await fields({ markdown: '   ' })).toEqual(['markdown']);
      expect(await fields({ tags: Array.from({ length: 11 }, (_, i) => `t${i}`) })).toEqual(['tags']);
      expect(await fields({ baseRevision: 0, title: 'x' })).toEqual(['baseRevision']);
      expect(await fields({})).toEqual(['(body)']);
      expect((await patch(keyA, ids.scheduled!, {})).status).toBe(422);
      expect((await patch(keyB, ids.scheduled!, { title: 'Taken over' })).status).toBe(404);
      expect((await patch(keyA, '00000000-0000-4000-8000-000000000000', { title: 'x' })).status).toBe(404);
      const scheduled = await patch(keyA, ids.scheduled!, { title: 'Rewritten' });
      expect(scheduled.status).toBe(409);
      expect(scheduled.body.errors[0].message).toMatch(/scheduled/);
      const failed = await patch(keyA, ids.failedOne!, { title: 'Rewritten' });
      expect(failed.status).toBe(409);
      // A read-only key may not edit.
      expect((await patch(a.keys.reader!.key, ids.scheduled!, { title: 'x' })).status).toBe(403);
      // Nothing was recorded by the refused edits.
      const revisions = await call(keyA, 'GET', `/api/v1/posts/${ids.scheduled}/revisions`);
      expect(revisions.body.items).toHaveLength(1);
    });
  });

  describe('GET /api/v1/overview', () => {
    it('shows spend against the budget, posts per day by status, failures by reason, schedules and feeds', async () => {
      const feed = await call(keyA, 'POST', '/api/v1/feeds', { url: `${siteUrl}/feed.xml`, cron: '0 0 1 1 *' });
      await app.rt.db.query(
        `INSERT INTO feed_polls (feed_id, tick, started_at, finished_at, outcome, new_items, error)
         VALUES ($1, 't1', now() - interval '2 hours', now() - interval '2 hours', 'ok', 3, NULL),
                ($1, 't2', now() - interval '1 hour', now() - interval '1 hour', 'failed', 0, 'the feed answered 404')`,
        [feed.body.id],
      );
      const res = await call(keyA, 'GET', '/api/v1/overview?days=7');
      expect(res.status).toBe(200);
      const o = res.body;
      expect(o.tenant).toEqual({ slug: 'editorial-a' });
      expect(o.spend).toMatchObject({ spentUsd: 0.5, monthlyBudgetUsd: 2, usedRatio: 0.25 });
      expect(o.postsPerDay).toHaveLength(7);
      const today = o.postsPerDay.at(-1);
      expect(today.date).toBe(new Date().toISOString().slice(0, 10));
      expect(today.byStatus).toMatchObject({ failed: 2, scheduled: 1 });
      expect(today.total).toBe(5);
      expect(o.postsByStatus).toMatchObject({ failed: 2, scheduled: 1, published: 2 });
      expect(o.failures).toEqual([
        expect.objectContaining({
          status: 'failed',
          stage: 'ingest',
          count: 2,
          reason: expect.stringContaining('<url>'),
        }),
      ]);
      expect(o.failures[0].example).toContain(siteUrl);
      expect(o.scheduled).toEqual([
        { destination: 'files', name: 'static site', count: 1, nextAt: expect.any(String) },
      ]);
      expect(o.feeds).toHaveLength(1);
      expect(o.feeds[0].recentPolls.map((p: { outcome: string }) => p.outcome)).toEqual(['failed', 'ok']);
      expect(o.feeds[0].recentPolls[1].newEntries).toBe(3);

      // Another tenant sees its own (nearly empty) overview.
      const other = await call(keyB, 'GET', '/api/v1/overview');
      expect(other.body.spend).toMatchObject({ spentUsd: 0, monthlyBudgetUsd: null, usedRatio: null });
      expect(other.body.failures).toEqual([]);
      expect(other.body.feeds).toEqual([]);
      expect(other.body.postsPerDay).toHaveLength(14);
      expect((await call(keyA, 'GET', '/api/v1/overview?days=0')).body.errors[0]).toMatchObject({ field: 'days' });
    });
  });

  describe('operator credentials', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const get = (path: string, headers: Record<string, string>) =>
      fetch(`${app.api.url}${path}`, { headers }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as any,
      }));

    it('act in the tenant X-Tenant names, with every scope; wrong ones are refused with a clear message', async () => {
      const asA = await get('/api/v1/posts?limit=100', {
        authorization: basic(OPERATOR.user, OPERATOR.password),
        'x-tenant': 'editorial-a',
      });
      expect(asA.status).toBe(200);
      expect(asA.body.items.map((p: { id: string }) => p.id)).toContain(ids.review);
      const token = await get('/api/v1/overview', {
        authorization: `Bearer ${OPERATOR.token}`,
        'x-tenant': 'editorial-b',
      });
      expect(token.body.tenant).toEqual({ slug: 'editorial-b' });
      const byDefault = await get('/api/v1/overview', { authorization: basic('anyone', OPERATOR.token) });
      expect(byDefault.body.tenant).toEqual({ slug: 'default' });

      const wrong = await get('/api/v1/posts', { authorization: basic(OPERATOR.user, 'not-the-password') });
      expect(wrong.status).toBe(401);
      expect(wrong.body.errors).toEqual([{ field: 'Authorization', message: 'wrong operator credentials' }]);
      const nobody = await get('/api/v1/posts', {
        authorization: basic(OPERATOR.user, OPERATOR.password),
        'x-tenant': 'no-such-tenant',
      });
      expect(nobody.status).toBe(401);
      expect(nobody.body.errors).toEqual([{ field: 'X-Tenant', message: 'no such tenant' }]);
      // X-Tenant means nothing to a tenant's own key.
      const ownKey = await get('/api/v1/overview', { authorization: `Bearer ${keyB}`, 'x-tenant': 'editorial-a' });
      expect(ownKey.body.tenant).toEqual({ slug: 'editorial-b' });
    });
  });
});
