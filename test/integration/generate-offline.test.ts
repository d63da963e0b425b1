import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalise } from '../../src/grounding/gate.ts';
import { splitSentences } from '../../src/text/sentences.ts';
import { sourceSets, type Article } from '../support/source-articles.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// The generate stage with the offline writer (the default), run by the real worker on twenty source sets.

/** The writer's own text: headings, list and citation markup, and the Sources list. Everything else is copied. */
function bodySentences(markdown: string): string[] {
  return markdown
    .split(/\n## Sources\n/)[0]!
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .map((line) => line.replace(/^- /, '').replace(/\s*\[\d+\]/g, ''))
    .flatMap((line) => splitSentences(line));
}

describe('generate with the offline writer', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
    tenantId = (await app.rt.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  /** A submission whose sources are already ingested, handed straight to generate. */
  async function generateFrom(set: Article[], options: Record<string, unknown> = {}): Promise<string> {
    const db = app.rt.db;
    const submission = await db.query<{ id: string }>(
      `INSERT INTO submissions (tenant_id, request_hash, correlation_id, options) ` +
        `VALUES ($1, md5(random()::text), 'offline-test', $2) RETURNING id`,
      [tenantId, JSON.stringify(options)],
    );
    for (const article of set) {
      await db.query(
        `INSERT INTO sources (tenant_id, submission_id, kind, url, title, input_text, ` +
          `content, fetched_at) VALUES ($1, $2, 'markdown', $3, $4, $5, $5, now())`,
        [tenantId, submission.rows[0]!.id, article.url, article.title, article.text],
      );
      await new Promise((r) => setTimeout(r, 2)); // sources are read in created_at order
    }
    const post = await db.query<{ id: string }>(
      `INSERT INTO posts (tenant_id, submission_id, correlation_id) VALUES ($1, $2, 'offline-test') RETURNING id`,
      [tenantId, submission.rows[0]!.id],
    );
    await app.rt.queues.enqueue('generate', { postId: post.rows[0]!.id, correlationId: 'offline-test' });
    return post.rows[0]!.id;
  }

  async function generated(postId: string) {
    await waitFor(`generate of ${postId}`, async () => {
      const { rows } = await app.rt.db.query(
        `SELECT outcome FROM stage_runs WHERE post_id = $1 AND stage = 'generate' ` +
          `AND outcome IN ('completed', 'failed')`,
        [postId],
      );
      return rows.length > 0;
    });
    return (await app.rt.db.query('SELECT * FROM posts WHERE id = $1', [postId])).rows[0]!;
  }

  it('writes 20 posts from different source sets: SEO fields in bounds, grounded, ' +
    'cited, copied from the sources', async () => {
    const sets = sourceSets();
    expect(sets).toHaveLength(20);
    const ids = [];
    for (const set of sets) ids.push(await generateFrom(set));

    for (const [i, id] of ids.entries()) {
      const post = await generated(id);
      const set = sets[i]!;
      expect(post.status, `post ${i}`).not.toMatch(/failed|needs_review/);
      expect(post.writer).toBe('local/extractive-v2');
      expect(post.title.length).toBeGreaterThan(0);
      expect(post.title.length).toBeLessThanOrEqual(60);
      // The title, or its main part within 60 characters; never padded with filler or key phrases.
      expect(post.meta_title.length).toBeLessThanOrEqual(60);
      expect(post.meta_title.startsWith(post.title)).toBe(true);
      expect(post.meta_title).not.toMatch(/Guide and Sources|Sourced Overview|Key Facts Explained|\| Overview/);
      if (post.meta_title.length < 45)
        expect(post.seo_report.violations.map((v: { rule: string }) => v.rule)).toContain('meta-title-length');
      expect(post.meta_description.length, post.meta_description).toBeGreaterThanOrEqual(140);
      expect(post.meta_description.length).toBeLessThanOrEqual(160);
      expect(post.slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(post.tags.length).toBeLessThanOrEqual(10);
      expect(post.json_ld).toMatchObject({
        '@type': 'BlogPosting',
        headline: post.title,
        description: post.meta_description,
      });
      expect(post.hero_image.alt.length).toBeGreaterThan(0);
      expect(post.reading_time_minutes).toBeGreaterThanOrEqual(1);
      expect(post.seo_score).toBeGreaterThanOrEqual(0);
      expect(post.seo_report.violations.every((v: { rule: string; message: string }) => v.rule && v.message)).toBe(
        true,
      );

      // Grounding passes, and every section cites a source.
      expect(post.grounding, JSON.stringify(post.grounding)).toMatchObject({
        passed: true,
        failingSentences: [],
        problems: [],
      });

      // It cites its sources: a numbered list of them, every number used in the body, every one a real source.
      const citations = post.citations as { sourceId: string; title: string; url: string | null }[];
      expect(citations.length).toBeGreaterThanOrEqual(1);
      const titles = set.map((a) => a.title);
      for (const c of citations) expect(titles).toContain(c.title);
      const list = post.markdown.split('\n## Sources\n')[1].trim().split('\n');
      expect(list).toHaveLength(citations.length);
      const body = post.markdown.split('\n## Sources\n')[0];
      expect(new Set([...body.matchAll(/\[(\d+)\]/g)].map((m: RegExpMatchArray) => Number(m[1])))).toEqual(
        new Set(citations.map((_, k) => k + 1)),
      );

      // No body sentence is absent from the sources: the writer's own text is only headings and markup.
      const haystack = set.map((a) => normalise(a.text.replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, ''))).join('\n');
      const sentences = bodySentences(post.markdown);
      expect(sentences.length).toBeGreaterThan(3);
      for (const sentence of sentences)
        expect(haystack.includes(normalise(sentence)), `not in the sources: ${sentence}`).toBe(true);
    }
  }, 120_000);

  it('follows the submission brief and the tenant policy: keyword, disclaimer, minimum citations', async () => {
    await app.rt.db.query(`UPDATE tenants SET settings = $1 WHERE id = $2`, [
      JSON.stringify({
        grounding: {
          disclaimers: [{ keywords: ['investors', 'index fund'], text: 'This is not financial advice.' }],
          minCitations: 1,
        },
      }),
      tenantId,
    ]);
    try {
      const sets = sourceSets();
      const funds = sets[4]!; // The Basics of Index Funds
      const post = await generated(
        await generateFrom(funds, { brief: { primaryKeyword: 'index funds', minWords: 100, maxWords: 900 } }),
      );
      expect(post.tags[0]).toBe('index funds');
      expect(post.markdown).toContain('*This is not financial advice.*\n\n## Sources');
      expect(post.grounding.disclaimers).toEqual(['This is not financial advice.']);
      expect(post.seo_report.measures.keywordDensity).toBeGreaterThan(0);

      // A policy asking for more sources than the post can cite holds it for review.
      await app.rt.db.query(`UPDATE tenants SET settings = $1 WHERE id = $2`, [
        JSON.stringify({ grounding: { minCitations: 3 } }),
        tenantId,
      ]);
      const held = await generated(await generateFrom(sets[1]!));
      expect(held.status).toBe('needs_review');
      expect(held.held_details.problems).toEqual(['the post cites 1 source; the policy asks for at least 3']);

      // A banned claim (a pattern) holds the post and names the sentence.
      await app.rt.db.query(`UPDATE tenants SET settings = $1 WHERE id = $2`, [
        JSON.stringify({ grounding: { bannedClaims: ['/doubles in size/'] } }),
        tenantId,
      ]);
      const banned = await generated(await generateFrom(sets[1]!));
      expect(banned.status).toBe('needs_review');
      expect(banned.held_details.failingSentences).toContainEqual({
        sentence: 'A healthy starter doubles in size within four to eight hours of a feed at room temperature.',
        section: expect.any(String),
        reasons: ['makes a banned claim (/doubles in size/)'],
      });
    } finally {
      await app.rt.db.query(`UPDATE tenants SET settings = '{}' WHERE id = $1`, [tenantId]);
    }
  }, 60_000);

  it("expands to the brief's minWords with source sentences only, and keeps " +
    'the length warning when the sources fall short', async () => {
    const sets = sourceSets();
    const checkCopied = (set: Article[], markdown: string): void => {
      const haystack = set.map((a) => normalise(a.text.replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, ''))).join('\n');
      for (const sentence of bodySentences(markdown))
        expect(haystack.includes(normalise(sentence)), `not in the sources: ${sentence}`).toBe(true);
    };
    const lengthWarnings = (post: Record<string, any>) =>
      (post.seo_report.violations as { rule: string }[]).filter((v) => v.rule === 'length');

    // Three articles: the unexpanded draft has under 400 words, the sources over 500.
    const set = sets[17]!;
    const unexpanded = await generated(await generateFrom(set, { brief: { minWords: 50, maxWords: 2500 } }));
    expect(unexpanded.word_count).toBeLessThan(450);
    const expanded = await generated(await generateFrom(set, { brief: { minWords: 450, maxWords: 900 } }));
    expect(expanded.status).not.toMatch(/failed|needs_review/);
    expect(expanded.word_count).toBeGreaterThanOrEqual(450);
    expect(expanded.word_count).toBeLessThanOrEqual(900);
    expect(lengthWarnings(expanded)).toEqual([]);
    expect(expanded.grounding).toMatchObject({ passed: true, failingSentences: [], problems: [] });
    expect(expanded.markdown).toMatch(/\n## Conclusion\n\n.+ \[\d+\]\n\n## Sources\n/);
    checkCopied(set, expanded.markdown);

    // A small maximum: trimmed to fit.
    const trimmed = await generated(await generateFrom(set, { brief: { minWords: 50, maxWords: 120 } }));
    expect(trimmed.word_count).toBeLessThanOrEqual(120);
    expect(trimmed.grounding).toMatchObject({ passed: true });
    checkCopied(set, trimmed.markdown);

    // One short article cannot reach 1000 words: the post is written anyway, with the lint's length warning.
    const short = await generated(await generateFrom(sets[1]!, { brief: { minWords: 1000 } }));
    expect(short.status).not.toMatch(/failed|needs_review/);
    expect(short.word_count).toBeLessThan(1000);
    expect(lengthWarnings(short)).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringContaining('at least 1000') }),
    ]);
    expect(short.grounding).toMatchObject({ passed: true });
    checkCopied(sets[1]!, short.markdown);
  }, 60_000);

  it('validates the brief of a submission and names the offending field', async () => {
    const bad = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'Some text to write about.' },
      brief: { minWords: 800, maxWords: 200, tone: 'loud' },
    });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(bad.body.errors).toEqual(expect.arrayContaining([{ field: 'brief.tone', message: 'unknown field' }]));
    const badLanguage = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'Some text.' },
      brief: { language: 'English please' },
    });
    expect(badLanguage.status).toBe(422);
    expect(badLanguage.body.errors).toEqual([
      { field: 'brief.language', message: 'must be a language tag such as en or en-GB' },
    ]);
    const inverted = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'Some text.' },
      brief: { minWords: 800, maxWords: 200 },
    });
    expect(inverted.body.errors).toEqual([{ field: 'brief.maxWords', message: 'must not be below minWords' }]);
  });
});
