import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

const topics = ['queues', 'retries', 'embeddings', 'publishing', 'observability'];

function sourceText(i: number): string {
  const topic = topics[i % topics.length]!;
  return [
    `# Notes on ${topic} number ${i}`,
    `Teams that run content pipelines learn about ${topic} the hard way. Sample ` +
      `${i} describes one such lesson in detail.`,
    `## What went wrong`,
    `The first version handled ${topic} inside a single request. When a dependency ` +
      `slowed down, requests piled up and work was lost.`,
    `## What fixed it`,
    `Moving ${topic} into its own stage with retries and backoff made failures ` +
      `visible. Each run is recorded so operators can read the history of post ` +
      `${i}.`,
  ].join('\n\n');
}

describe('the five-stage pipeline over HTTP', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
    site = createServer((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html lang="en"><head><title>Article ${req.url}</title></head><body>
        <nav><a href="/">Home</a> <a href="/about">About</a></nav>
        <article><h1>Article ${req.url}</h1>
        <p>Publishing pipelines need a clear record of every stage. This article explains why a stage history matters \
for operators.</p>
        <p>Without a history, a failed post is a mystery. With one, the failing stage and its error are one query \
away.</p>
        <h2>Keeping it honest</h2><p>Every stage writes a row when it starts and when it ends, including the attempt \
number and the error.</p>
        </article><footer>Copyright footer text</footer><script>trackEverything()</script></body></html>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.stop();
    site?.close();
    await t?.cleanup();
  });

  it('publishes 50 submitted sources, each with five completed stage runs and no failed job', async () => {
    const accepted = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app.post('/api/v1/submissions', {
          source:
            i % 10 === 9
              ? { type: 'url', url: `${siteUrl}/article-${i}` }
              : { type: i % 2 ? 'markdown' : 'text', text: sourceText(i) },
        }),
      ),
    );
    for (const res of accepted) {
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        status: 'accepted',
        links: { self: expect.stringMatching(/^\/api\/v1\/submissions\//) },
      });
    }

    const postIds = accepted.map((r) => r.body.postId as string);
    await waitFor('50 published posts', async () => {
      const { rows } = await app.rt.db.query(
        `SELECT count(*)::int AS n FROM posts WHERE status IN ('published', 'failed')`,
      );
      return rows[0]!.n === 50;
    });

    for (const id of postIds) {
      const { status, body: post } = await app.get(`/api/v1/posts/${id}`);
      expect(status).toBe(200);
      expect(post.status).toBe('published');
      expect(post.stages.map((s: { stage: string }) => s.stage)).toEqual([...stages]);
      expect(post.stages.every((s: { outcome: string }) => s.outcome === 'completed')).toBe(true);
      expect(post.publications).toHaveLength(1);
      const file = post.publications[0].location as string;
      expect(existsSync(file)).toBe(true);
      expect(existsSync(file.replace(/\.html$/, '.md'))).toBe(true);
      const html = readFileSync(file, 'utf8');
      expect(html).toContain(post.title.replaceAll('&', '&amp;'));
      // The page's one script is its JSON-LD, which holds no markup (no '<' inside); nothing from the source.
      expect(html.match(/<script/g)).toEqual(['<script']);
      expect(html).toMatch(/<script type="application\/ld\+json">[^<]*<\/script>/);
      expect(html).not.toContain('trackEverything');
    }

    const slugs = await app.rt.db.query(`SELECT count(DISTINCT slug)::int AS n FROM posts`);
    expect(slugs.rows[0]!.n).toBe(50);
    for (const stage of stages) {
      const counts = await app.rt.queues.queues[stage].getJobCounts('failed', 'completed');
      expect(counts.failed, `${stage} failed jobs`).toBe(0);
      expect(counts.completed, `${stage} completed jobs`).toBe(50);
    }
    const chunks = await app.rt.db.query(`SELECT count(*)::int AS n FROM post_chunks WHERE embedding IS NULL`);
    expect(chunks.rows[0]!.n).toBe(0);
  }, 120_000);

  it('shows the submission with its post, and a URL source extracted without page chrome', async () => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/single` } });
    expect(res.status).toBe(202);
    const post = await waitFor('the URL post', async () => {
      const { body } = await app.get(res.body.links.post);
      return body.status === 'published' ? body : null;
    });
    const submission = await app.get(res.body.links.self);
    expect(submission.body).toMatchObject({
      id: res.body.id,
      status: 'published',
      posts: [{ id: post.id, status: 'published' }],
    });
    const md = readFileSync(post.publications[0].location.replace(/\.html$/, '.md'), 'utf8');
    expect(md).toContain('stage history');
    expect(md).not.toContain('Copyright footer text');
    expect(md).not.toContain('trackEverything');
  });

  it('fails a 404 source at once, without retries, with the reason on the post', async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'url', url: `${siteUrl.replace(/\d+$/, '1')}/unreachable` },
    });
    expect(res.status).toBe(202);
    // Port 1 refuses connections: a transient error that is retried, then fails with the reason.
    const post = await waitFor('the failed post', async () => {
      const { body } = await app.get(res.body.links.post);
      return body.status === 'failed' ? body : null;
    });
    expect(post.failure.stage).toBe('ingest');
    expect(post.stages.filter((s: { outcome: string }) => s.outcome === 'retrying').length).toBe(
      t.config.STAGE_ATTEMPTS - 1,
    );

    const gone = http404Site();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(gone.address() as { port: number }).port}/missing`;
      const res404 = await app.post('/api/v1/submissions', { source: { type: 'url', url } });
      const failed = await waitFor('the 404 post', async () => {
        const { body } = await app.get(res404.body.links.post);
        return body.status === 'failed' ? body : null;
      });
      expect(failed.failure.reason).toMatch(/404/);
      expect(failed.stages).toHaveLength(1);
      expect(failed.stages[0]).toMatchObject({ stage: 'ingest', outcome: 'failed' });
    } finally {
      gone.close();
    }
  });
});

function http404Site(): Server {
  return createServer((_req, res) => {
    res.statusCode = 404;
    res.end('not here');
  });
}
