import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// A 50 MB body and a body that trickles forever are cut off at FETCH_MAX_BYTES and
// FETCH_TIMEOUT_MS; their posts fail at once with the reason, and the same worker ingests ordinary
// posts (a page from the same host, too) while they are being cut off, and publishes them.

describe('fetch limits inside the pipeline', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;
  let hugeBytesSent = 0;
  const timers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    t = await createTestEnv({ FETCH_TIMEOUT_MS: '3000', FETCH_HOST_CONCURRENCY: '4' });
    app = await startPipeline(t);
    site = createServer((req, res) => {
      if (req.url === '/robots.txt') return res.writeHead(404).end();
      if (req.url === '/huge') {
        // 50 MB, chunked (no Content-Length), so only the streaming cap can stop it.
        res.writeHead(200, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const pump = () => {
          while (hugeBytesSent < 50 * 1024 * 1024) {
            hugeBytesSent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => undefined);
        return pump();
      }
      if (req.url === '/trickle') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><body><p>');
        const timer = setInterval(() => res.write('.'), 100);
        timers.add(timer);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><head><title>Normal page</title></head><body><article><h1>Normal page</h1>
        <p>Ordinary pages from the same host are still fetched while another request on it trickles.</p>
        <p>Each worker keeps serving jobs because one slow body never blocks the others.</p></article></body></html>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    for (const timer of timers) clearInterval(timer);
    site?.closeAllConnections();
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  it('cuts off a 50 MB body and an endless trickle, fails both permanently, ' +
    'and publishes other posts meanwhile', async () => {
    const huge = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/huge` } });
    const trickle = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/trickle` } });
    const normalPage = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/normal` } });
    const normalText = await app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        text: 'A text post about harbour logistics. It needs no fetch at all and should publish promptly.',
      },
    });

    const failedPost = (link: string) =>
      waitFor(
        `failed ${link}`,
        async () => {
          const { body } = await app.get(link);
          return body.status === 'failed' ? body : null;
        },
        30_000,
      );
    const publishedPost = (link: string) =>
      waitFor(
        `published ${link}`,
        async () => {
          const { body } = await app.get(link);
          return body.status === 'published' ? body : null;
        },
        30_000,
      );

    const [hugePost, tricklePost, pagePost, textPost] = await Promise.all([
      failedPost(huge.body.links.post),
      failedPost(trickle.body.links.post),
      publishedPost(normalPage.body.links.post),
      publishedPost(normalText.body.links.post),
    ]);

    expect(hugePost.failure).toEqual({
      stage: 'ingest',
      reason: expect.stringMatching(/exceeds 5242880 bytes \(limit FETCH_MAX_BYTES\)/),
    });
    expect(hugePost.stages).toEqual([expect.objectContaining({ stage: 'ingest', outcome: 'failed' })]);
    // The reader stopped at the cap: the server could not push the whole 50 MB through.
    expect(hugeBytesSent).toBeLessThan(50 * 1024 * 1024);

    expect(tricklePost.failure).toEqual({
      stage: 'ingest',
      reason: expect.stringMatching(/was still arriving after 3000 ms \(limit FETCH_TIMEOUT_MS\)/),
    });
    expect(tricklePost.stages).toEqual([expect.objectContaining({ stage: 'ingest', outcome: 'failed' })]);

    // Both ordinary posts were ingested while the trickle was still being read (a page from the same host too),
    // and went on to be published. Their ingest needs a fraction of the trickle's 3 s; the rest of their way
    // depends on how busy the machine is, so only the ingest is compared with the trickle's end.
    const trickleFailedAt = Date.parse(tricklePost.stages[0].finishedAt);
    for (const post of [pagePost, textPost]) {
      expect(post.stages.map((s: { stage: string; outcome: string }) => `${s.stage} ${s.outcome}`)).toEqual([
        'ingest completed',
        'generate completed',
        'embed completed',
        'index completed',
        'publish completed',
      ]);
      expect(Date.parse(post.stages[0].finishedAt)).toBeLessThan(trickleFailedAt);
    }
    expect(await app.rt.queues.queues.ingest.getFailedCount()).toBe(2);
  }, 60_000);
});
