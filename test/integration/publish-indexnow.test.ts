import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexNowPingsTotal } from '../../src/metrics.ts';
import { requestIndexNowPing } from '../../src/publish/indexnow.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { ensureWordPress } from '../support/wordpress.ts';

// IndexNow after publication, against a loopback endpoint that records what it receives: the key and
// the URL list, the key file served with the static site, a 503 retried, a 403 recorded on the post
// without failing it, and one request per host for URLs pending together.

type Received = { path: string; body: { host: string; key: string; keyLocation: string; urlList: string[] } };

describe('IndexNow pings', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let endpoint: Server;
  let endpointUrl: string;
  const received: Received[] = [];
  /** Answers queued per path; 200 once they run out. */
  const answers: Record<string, number[]> = { '/indexnow': [503], '/refuses': [403, 403, 403, 403, 403, 403] };
  let tenantId: string;
  const KEY = 'a1b2c3d4e5f6a7b8c9d0';

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
    endpoint = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        received.push({ path: req.url!, body: JSON.parse(data) });
        res.writeHead(answers[req.url!]?.shift() ?? 200).end();
      });
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}`;
    tenantId = (await app.rt.db.query(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
  });
  afterAll(async () => {
    endpoint?.closeAllConnections();
    endpoint?.close();
    await app?.stop();
    await t?.cleanup();
  });

  const site = async (name: string, subdir: string, path: string) => {
    const res = await app.post('/api/v1/destinations', {
      name,
      kind: 'files',
      config: {
        subdir,
        baseUrl: `https://news.example/${subdir}`,
        indexNow: { enabled: true, endpoint: `${endpointUrl}${path}`, key: KEY },
      },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const publish = async (destinationId: string, n: string) => {
    const res = await app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        text: `Search engines ${n} hear of new pages. A ping names the page and the key of the site.`,
      },
      publish: { destinations: [destinationId] },
    });
    return waitFor('published', async () => {
      const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
      return body.status === 'published' ? body : null;
    });
  };

  it('is off by default and refuses a bad key naming the field', async () => {
    const plain = await app.post('/api/v1/destinations', { name: 'plain', kind: 'files', config: { subdir: 'plain' } });
    expect(plain.body.config.indexNow).toBeUndefined();
    const post = await publish(plain.body.id, 'plain');
    expect(post.publications[0].indexNow).toBeUndefined();
    const bad = await app.post('/api/v1/destinations', {
      name: 'bad',
      kind: 'files',
      config: { indexNow: { enabled: true, key: 'short', endpoint: 'ftp://x' } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'config.indexNow.endpoint',
      'config.indexNow.key',
    ]);
  });

  it('sends the key and the URL list after publication, retries a 503, and serves the key file', async () => {
    const id = await site('indexed', 'news', '/indexnow');
    const post = await publish(id, 'one');
    const url = `https://news.example/news/${post.slug}.html`;
    const sent = await waitFor('the ping sent', async () => {
      const { body } = await app.get(`/api/v1/posts/${post.id}`);
      return body.publications[0].indexNow?.status === 'sent' ? body.publications[0].indexNow : null;
    });
    expect(sent).toMatchObject({ attempts: 2, lastError: null, sentAt: expect.any(String) });
    const pings = received.filter((r) => r.path === '/indexnow');
    // The first answer was a 503; the retry carried the same list.
    expect(pings).toHaveLength(2);
    for (const ping of pings)
      expect(ping.body).toEqual({
        host: 'news.example',
        key: KEY,
        keyLocation: `https://news.example/news/${KEY}.txt`,
        urlList: [url],
      });
    await waitFor('the key file', async () => {
      try {
        return readFileSync(join(t.outputDir, tenantId, 'news', `${KEY}.txt`), 'utf8') === KEY;
      } catch {
        return false;
      }
    });
    const counts = Object.fromEntries((await indexNowPingsTotal.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(counts).toMatchObject({ sent: 1, retrying: 1 });
  });

  it('records a refusal on the post and leaves it published', async () => {
    const id = await site('refused', 'refused', '/refuses');
    const post = await publish(id, 'refused');
    const failed = await waitFor('the ping failed', async () => {
      const { body } = await app.get(`/api/v1/posts/${post.id}`);
      return body.publications[0].indexNow?.status === 'failed' ? body : null;
    });
    expect(failed.status).toBe('published');
    expect(failed.publications[0]).toMatchObject({
      status: 'published',
      indexNow: {
        status: 'failed',
        attempts: 1,
        lastError: expect.stringMatching(/answered 403 \(the key is not valid/),
      },
    });
    // A 403 is final: one request, no retry.
    expect(received.filter((r) => r.path === '/refuses')).toHaveLength(1);
  });

  it('sends URLs pending together in one request per host', async () => {
    const id = await site('batched', 'batched', '/batch');
    const posts = await Promise.all(['b1', 'b2', 'b3'].map((n) => publish(id, n)));
    await waitFor('the pings of the three posts', async () => {
      const { rows } = await app.rt.db.query(
        `SELECT count(*)::int AS n FROM indexnow_pings WHERE destination_id = $1 AND status = 'sent'`,
        [id],
      );
      return rows[0]!.n === 3;
    });
    const before = received.length;
    // Four more URLs of the destination, two hosts, recorded before the one job that sends them runs.
    const urls = [
      'https://news.example/batched/x.html',
      'https://news.example/batched/y.html',
      'https://other.example/z.html',
      'https://other.example/w.html',
    ];
    for (const [i, url] of urls.slice(0, 3).entries())
      await app.rt.db.query(
        `INSERT INTO indexnow_pings (tenant_id, destination_id, post_id, generation, url) VALUES ($1, $2, $3, $4, $5)`,
        [tenantId, id, posts[i]!.id, 100 + i, url],
      );
    await requestIndexNowPing(app.rt.db, app.rt.queues.site, {
      tenantId,
      destinationId: id,
      postId: posts[0]!.id,
      generation: 200,
      url: urls[3]!,
    });
    await waitFor('two requests', async () => received.length - before === 2);
    const batch = received.slice(before).sort((a, b) => a.body.host.localeCompare(b.body.host));
    expect(batch.map((r) => [r.body.host, r.body.urlList])).toEqual([
      ['news.example', urls.slice(0, 2)],
      ['other.example', urls.slice(2)],
    ]);
    expect(batch[1]!.body.keyLocation).toBe(`https://other.example/${KEY}.txt`);
  });

  it('pings the link WordPress answered, with the key at the site root', async () => {
    const wp = await ensureWordPress();
    process.env.BP_SECRET_WP_INDEXNOW = wp.password;
    const res = await app.post('/api/v1/destinations', {
      name: 'wp indexed',
      kind: 'wordpress',
      config: {
        url: wp.url,
        username: wp.user,
        passwordEnv: 'BP_SECRET_WP_INDEXNOW',
        indexNow: { enabled: true, endpoint: `${endpointUrl}/wp`, key: KEY },
      },
    });
    expect(res.status).toBe(201);
    const post = await publish(res.body.id, `wordpress ${Date.now()}`);
    await waitFor('the ping', async () => received.some((r) => r.path === '/wp'));
    const ping = received.find((r) => r.path === '/wp')!;
    expect(ping.body).toEqual({ host: new URL(wp.url).hostname, key: KEY, urlList: [post.publications[0].url] });
    expect(post.publications[0].url.startsWith(wp.url)).toBe(true);
  }, 600_000);
});
