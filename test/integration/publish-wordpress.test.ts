import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumePost } from '../../src/pipeline-control.ts';
import { bodyHtml, externalIdOf } from '../../src/publish/publish-post.ts';
import { documentTitle } from '../../src/llm/post.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { ensureWordPress, type WordPressSite } from '../support/wordpress.ts';

// A 2×2 PNG, the featured image the site serves to the pipeline.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#0?38;/g, '&');
/** What esc_html and esc_attr encode, decoded. */
const unescapeHtml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');

describe('publishing to a real WordPress', () => {
  let wp: WordPressSite;
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let images: Server;
  let imageUrl: string;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    wp = await ensureWordPress();
    process.env.BP_SECRET_WP_TEST = wp.password;
    process.env.BP_SECRET_WP_WRONG = 'abcd efgh ijkl mnop qrst uvwx';
    t = await createTestEnv();
    app = await startPipeline(t);
    images = createServer((_req, res) => {
      res.setHeader('content-type', 'image/png');
      res.end(PNG);
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    imageUrl = `http://127.0.0.1:${(images.address() as { port: number }).port}/hero-${run}.png`;
  }, 600_000);

  afterAll(async () => {
    await app?.stop();
    images?.close();
    await t?.cleanup();
  });

  async function destination(name: string, passwordEnv: string) {
    const res = await app.post('/api/v1/destinations', {
      name,
      kind: 'wordpress',
      config: { url: wp.url, username: wp.user, passwordEnv, categories: ['News & Updates'] },
    });
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain(wp.password);
    return res.body.id as string;
  }

  async function submitAndSettle(body: unknown) {
    const res = await app.post('/api/v1/submissions', body);
    expect(res.status).toBe(202);
    return waitFor('the post to settle', async () => {
      const { body: post } = await app.get(`/api/v1/posts/${res.body.postId}`);
      return ['published', 'failed'].includes(post.status) ? post : null;
    });
  }

  async function wpPostsWithExternalId(postId: string) {
    const { status, body } = await wp.rest<any[]>('GET', '/wp/v2/posts', {
      blog_poster_external_id: externalIdOf({ id: postId }),
      status: 'any',
      context: 'edit',
    });
    expect(status).toBe(200);
    return body;
  }

  it(
    'publishes a post with categories and tags by name, slug, excerpt and featured ' +
      'image, read back field by field',
    async () => {
      const destinationId = await destination(`wp-${run}`, 'BP_SECRET_WP_TEST');
      const post = await submitAndSettle({
        source: {
          type: 'markdown',
          text:
            `# Heat pumps in cold winters ${run}\n\nHeat pumps keep working below freezing. ` +
            `Modern units reach minus twenty degrees.\n\n## Costs\n\nRunning costs ` +
            `fall when the house is insulated. Installers size the pump to the heat ` +
            `loss of the house.`,
        },
        publish: {
          destinations: [destinationId],
          featuredImage: { url: imageUrl, alt: `A heat pump outside a house ${run}` },
        },
      });
      expect(post.status, JSON.stringify(post.failure)).toBe('published');
      expect(post.publications).toHaveLength(1);
      const publication = post.publications[0];
      expect(publication).toMatchObject({
        kind: 'wordpress',
        status: 'published',
        externalId: externalIdOf(post as { id: string }),
      });

      const found = await wpPostsWithExternalId(post.id);
      expect(found).toHaveLength(1);
      const remote = found[0];
      const { rows } = await app.rt.db.query(
        'SELECT markdown, meta_description, meta_title, details FROM posts JOIN publications ' +
          'ON publications.post_id = posts.id WHERE posts.id = $1',
        [post.id],
      );
      const stored = rows[0]!;

      expect(remote.title.raw).toBe(post.title);
      expect(remote.content.raw).toBe(bodyHtml(stored.markdown));
      expect(remote.excerpt.raw).toBe(stored.meta_description);
      expect(remote.status).toBe('publish');
      // WordPress may rename a clashing slug: the stored slug and link are the ones it answered.
      expect(remote.slug).toMatch(new RegExp(`^${post.slug}(-\\d+)?$`));
      expect(stored.details.slug).toBe(remote.slug);
      expect(publication.url).toBe(remote.link);
      expect(remote.meta.blog_poster_external_id).toBe(externalIdOf(post as { id: string }));
      expect(remote.meta.blog_poster_meta_description).toBe(stored.meta_description);
      // The page's <title> is the meta title, with the site's name after a short one as the static site has it; not
      // WordPress's own title with the site's name after it.
      expect(remote.meta.blog_poster_meta_title).toBe(stored.meta_title);
      const siteName = decode((await wp.rest<{ name: string }>('GET', '/')).body.name);
      const page = await (await fetch(remote.link)).text();
      expect(unescapeHtml(/<title>([^<]*)<\/title>/.exec(page)?.[1] ?? '')).toBe(
        documentTitle(stored.meta_title, siteName),
      );
      // A short meta title, as an editor may set it, gets the site's name; WordPress's "Title – Site" is not it.
      const short = 'Heat pumps, briefly';
      await wp.rest('POST', `/wp/v2/posts/${remote.id}`, undefined, { meta: { blog_poster_meta_title: short } });
      const shortPage = await (await fetch(remote.link)).text();
      expect(unescapeHtml(/<title>([^<]*)<\/title>/.exec(shortPage)?.[1] ?? '')).toBe(`${short} – ${siteName}`);
      expect(documentTitle(short, siteName)).toBe(`${short} – ${siteName}`);
      const description = /<meta name="description" content="([^"]*)">/.exec(page)?.[1];
      expect(unescapeHtml(description ?? '')).toBe(stored.meta_description);

      const tags = await wp.rest<any[]>('GET', '/wp/v2/tags', { include: remote.tags.join(','), per_page: '100' });
      expect(new Set(tags.body.map((tag) => decode(tag.name).toLowerCase()))).toEqual(
        new Set(post.tags.map((tag: string) => tag.toLowerCase())),
      );
      const categories = await wp.rest<any[]>('GET', '/wp/v2/categories', {
        include: remote.categories.join(','),
        per_page: '100',
      });
      expect(categories.body.map((c) => decode(c.name))).toContain('News & Updates');

      expect(remote.featured_media).toBeGreaterThan(0);
      const media = await wp.rest('GET', `/wp/v2/media/${remote.featured_media}`, { context: 'edit' });
      expect(media.status).toBe(200);
      expect(media.body.alt_text).toBe(`A heat pump outside a house ${run}`);
      expect(media.body.mime_type).toBe('image/png');
      const image = await fetch(media.body.source_url);
      expect(Buffer.from(await image.arrayBuffer()).equals(PNG)).toBe(true);
    },
  );

  it('reuses terms that exist already (term_exists) instead of failing', async () => {
    const destinationId = await destination(`wp-terms-${run}`, 'BP_SECRET_WP_TEST');
    const post = await submitAndSettle({
      source: {
        type: 'text',
        text:
          `Insulation ${run} matters more than the pump. A well insulated house needs ` +
          `a smaller heat pump and saves energy every winter.`,
      },
      publish: { destinations: [destinationId] },
    });
    expect(post.status, JSON.stringify(post.failure)).toBe('published');
    const [remote] = await wpPostsWithExternalId(post.id);
    const categories = await wp.rest<any[]>('GET', '/wp/v2/categories', { search: 'News', per_page: '100' });
    expect(categories.body.filter((c) => decode(c.name) === 'News & Updates')).toHaveLength(1);
    expect(remote.categories).toContain(categories.body.find((c) => decode(c.name) === 'News & Updates').id);
  });

  it('does not create a second post on a retry, whether the commit was lost or the stage runs again', async () => {
    const destinationId = await destination(`wp-retry-${run}`, 'BP_SECRET_WP_TEST');
    const post = await submitAndSettle({
      source: {
        type: 'text',
        text:
          `Retry ${run}: a publish that runs twice must update the post it made, ` +
          `never make another one. The external id finds it.`,
      },
      publish: { destinations: [destinationId] },
    });
    expect(post.status).toBe('published');
    const [first] = await wpPostsWithExternalId(post.id);

    // As if the worker died after WordPress answered, before its commit: the row is pending again, the post still
    // publishing, and the stage runs again.
    await app.rt.db.query(`UPDATE publications SET status = 'pending' WHERE post_id = $1`, [post.id]);
    await app.rt.db.query(`UPDATE posts SET status = 'publishing' WHERE id = $1`, [post.id]);
    await app.rt.queues.queues.publish.add(
      'publish',
      { postId: post.id, correlationId: post.correlationId },
      { jobId: `retry-${post.id}` },
    );
    await waitFor('the row published again', async () => {
      const { rows } = await app.rt.db.query(`SELECT status FROM publications WHERE post_id = $1`, [post.id]);
      return rows[0]!.status === 'published';
    });
    // And a replay of the publish stage as a new run.
    await resumePost(app.rt.db, app.rt.queues, post.id, { fromStage: 'publish' });
    await waitFor('the replay', async () => {
      const { rows } = await app.rt.db.query(`SELECT generation FROM publications WHERE post_id = $1`, [post.id]);
      return rows[0]!.generation === 1;
    });
    const after = await wpPostsWithExternalId(post.id);
    expect(after).toHaveLength(1);
    expect(after[0].id).toBe(first.id);
  });

  it('fails the publication at once with a clear reason when the application password is wrong', async () => {
    const destinationId = await destination(`wp-wrong-${run}`, 'BP_SECRET_WP_WRONG');
    const post = await submitAndSettle({
      source: {
        type: 'text',
        text:
          `Wrong password ${run}. WordPress 6.1 serves a wrong application password ` +
          `as anonymous on reads, so the client checks users/me first.`,
      },
      publish: { destinations: [destinationId] },
    });
    expect(post.status).toBe('failed');
    expect(post.failure.stage).toBe('publish');
    expect(post.failure.reason).toMatch(/refused the application password of user "admin" \(401 rest_not_logged_in/);
    const publishRuns = post.stages.filter((s: { stage: string }) => s.stage === 'publish');
    expect(publishRuns).toEqual([expect.objectContaining({ outcome: 'failed', attempt: 1 })]);
    expect(post.publications[0]).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/application password/),
    });
    expect(await wpPostsWithExternalId(post.id)).toHaveLength(0);
  });
});
