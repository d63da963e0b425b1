import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopWords } from '../../src/text/stop-words.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// German, French and an unsupported language through the whole offline pipeline: ingest → generate → embed →
// index → publish to the static site. The German source is submitted as Markdown (its language told from its
// text), the French one as a page on a loopback server that declares <html lang="fr">.

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'languages');
const read = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

describe('posts in German, French and a language without rules', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let folder: string;
  const posts: Record<string, any> = {};

  beforeAll(async () => {
    site = createServer((req, res) => {
      if (req.url !== '/energie/pompes-a-chaleur') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(read('pompes.fr.html'));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    t = await createTestEnv();
    app = await startPipeline(t);
    const submissions = {
      de: { source: { type: 'markdown', text: read('waermepumpen.de.md') } },
      fr: { source: { type: 'url', url: `${siteUrl}/energie/pompes-a-chaleur` } },
      // The brief asks for English; the offline writer can only copy the Polish sentences, and says so.
      pl: { source: { type: 'markdown', text: read('pompy.pl.md') }, brief: { language: 'en' } },
    };
    for (const [lang, body] of Object.entries(submissions)) {
      const res = await app.post('/api/v1/submissions', body);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      posts[lang] = await waitFor(`the ${lang} post is published`, async () => {
        const { body: post } = await app.get(`/api/v1/posts/${res.body.postId}`);
        if (post.status === 'failed' || post.status === 'needs_review') throw new Error(JSON.stringify(post));
        return post.status === 'published' ? post : null;
      });
      const stored = await app.rt.db.query('SELECT markdown FROM posts WHERE id = $1', [posts[lang].id]);
      posts[lang].markdown = stored.rows[0]!.markdown;
    }
    const tenantId = (await app.rt.db.query(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id as string;
    folder = join(t.outputDir, tenantId);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await new Promise((resolve) => site?.close(resolve));
  });

  it('publishes the German source as a German post with a transliterated slug and German tags', () => {
    const post = posts.de;
    expect(post.language).toEqual({ tag: 'de', name: 'German', supported: true, from: 'sources', notes: [] });
    expect(post.title).toBe('Wärmepumpen im Altbau: Was Eigentümer wissen müssen');
    expect(post.slug).toBe('waermepumpen-im-altbau-was-eigentuemer-wissen-muessen');
    expect(post.markdown).toMatch(/\n## Quellen\n/);
    expect(post.markdown).not.toMatch(/## (Key takeaways|Conclusion|Sources)\n/);
    expect(post.grounding).toMatchObject({ passed: true, failingSentences: [], problems: [] });
    expect(post.seo.measures.readabilityFormula).toBe('Flesch reading ease (Amstad)');
    expect(post.tags.length).toBeGreaterThan(0);
    const english = stopWords('en');
    const german = stopWords('de');
    for (const tag of post.tags as string[]) {
      for (const word of tag.toLowerCase().split(/\s+/)) {
        expect(english.has(word), `English stop word in tag "${tag}"`).toBe(false);
        expect(german.has(word), `German stop word in tag "${tag}"`).toBe(false);
      }
      expect(read('waermepumpen.de.md').toLowerCase()).toContain(tag.toLowerCase());
    }
    const html = readFileSync(join(folder, `${post.slug}.html`), 'utf8');
    expect(parseHTML(html).document.documentElement.getAttribute('lang')).toBe('de');
  });

  it('publishes the French page as a French post with accents folded in its slug', () => {
    const post = posts.fr;
    expect(post.language).toMatchObject({ tag: 'fr', supported: true, from: 'sources' });
    expect(post.title).toBe("Les pompes à chaleur séduisent l'Europe");
    expect(post.slug).toBe('les-pompes-a-chaleur-seduisent-l-europe');
    expect(post.markdown).toMatch(/\n## Sources\n\n1\. \[Les pompes à chaleur/);
    expect(post.grounding).toMatchObject({ passed: true });
    expect(post.seo.measures.readabilityFormula).toBe('Kandel–Moles reading ease');
    expect(post.seo.notes).toEqual(['reading-grade: no grade formula for French (fr); the rule was skipped']);
    const english = stopWords('en');
    const french = stopWords('fr');
    expect(post.tags).toContain('pompes à chaleur');
    for (const tag of post.tags as string[]) {
      const words = tag.toLowerCase().split(/\s+/);
      for (const word of words) expect(english.has(word), `English stop word in tag "${tag}"`).toBe(false);
      // French phrases may join their words with "à" or "de", but never start or end with a stop word.
      expect(french.has(words[0]!) || french.has(words.at(-1)!), tag).toBe(false);
    }
    const html = readFileSync(join(folder, `${post.slug}.html`), 'utf8');
    expect(parseHTML(html).document.documentElement.getAttribute('lang')).toBe('fr');
  });

  it('accepts a language without rules and says so on the post instead of treating it as English', () => {
    const post = posts.pl;
    expect(post.language.tag).toBe('pl');
    expect(post.language.supported).toBe(false);
    expect(post.language.notes).toEqual([
      "the brief asks for English (en); the offline writer copies the sources' " +
        'sentences, so the post is in Polish (pl)',
      "Polish (pl) has no text rules here: sentences are split by Unicode's rules " +
        'only, with no context words, English section headings, no readability ' +
        'formula and no local number or date formats',
    ]);
    expect(post.jsonLd.inLanguage).toBe('pl');
    expect(post.seo.measures.readingEase).toBeNull();
    expect(post.seo.notes).toContain('reading-ease: no readability formula for Polish (pl); the rule was skipped');
    expect(post.slug).toBe('pompy-ciepla-zdobywaja-polskie-domy');
  });
});
