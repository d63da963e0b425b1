import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { modelWriter } from '../support/fake-model-writer.ts';
import { articles } from '../support/source-articles.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// One submission's request id goes out on every outbound call made for it: the source page (and its
// robots.txt), the OpenAI-compatible chat and embeddings endpoint, the webhook destination and the
// tenant's notification callback all receive it as X-Request-Id.

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const article = articles[0]!;

function articleHtml(markdown: string): string {
  const body = markdown
    .split(/\n{2,}/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) =>
      block.startsWith('## ')
        ? `<h2>${block.slice(3)}</h2>`
        : block.startsWith('# ')
          ? `<h1>${block.slice(2)}</h1>`
          : `<p>${block}</p>`,
    )
    .join('\n');
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${article.title}</title></head><body><nav>` +
    `<a href="/">Home</a></nav><article>${body}</article></body></html>`
  );
}

describe('the request id on outbound calls', () => {
  let fake: FakeOpenAI;
  let site: Server;
  let siteUrl: string;
  const siteRequests: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    process.env.BP_SECRET_CORRELATION = secret;
    fake = await startFakeOpenAI();
    fake.onChat(modelWriter());
    site = createServer((req, res) => {
      siteRequests.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/robots.txt') {
        res.setHeader('content-type', 'text/plain');
        return res.end('User-agent: *\nAllow: /\n');
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(articleHtml(article.text));
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    t = await createTestEnv({
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_MODEL: 'fake-model',
      LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 0, completion: 0 } }),
      EMBEDDING_PROVIDER: 'openai',
      EMBEDDING_BASE_URL: fake.url,
      EMBEDDING_API_KEY: 'sk-test-embeddings',
      EMBEDDING_MODEL: 'text-embedding-3-small',
      EMBEDDING_DIMENSION: '64',
      EMBEDDING_SEND_DIMENSIONS: 'true',
      NOTIFICATION_POLL_MS: '100',
    });
    app = await startPipeline(t);
  });

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    site?.closeAllConnections();
    site?.close();
    await fake?.close();
  });

  it(
    "sends the submission's request id to the source, the model, the embedder, " + 'the webhook and the callback',
    async () => {
      const hook = await startReceiver(secret);
      const callback = await startReceiver(secret);
      try {
        await app.rt.db.query(`UPDATE tenants SET settings = settings || $1::jsonb WHERE slug = 'default'`, [
          JSON.stringify({ notifications: { url: callback.url, secretEnv: 'BP_SECRET_CORRELATION' } }),
        ]);
        const dest = await app.post('/api/v1/destinations', {
          name: 'correlated hook',
          kind: 'webhook',
          config: { url: hook.url, secretEnv: 'BP_SECRET_CORRELATION', timeoutMs: 5000 },
        });
        expect(dest.status).toBe(201);

        const requestId = `outbound-${t.id}-trace`;
        const res = await app.post(
          '/api/v1/submissions',
          {
            source: { type: 'url', url: `${siteUrl}/heat-pumps` },
            brief: { minWords: 50, maxWords: 600 },
            publish: { destinations: [dest.body.id] },
          },
          { 'x-request-id': requestId },
        );
        expect(res.status).toBe(202);
        const postId = res.body.postId as string;
        const post = await waitFor('the post to settle', async () => {
          const { body } = await app.get(`/api/v1/posts/${postId}`);
          return ['published', 'failed', 'needs_review'].includes(body.status) ? body : null;
        });
        expect(post.status, JSON.stringify(post.failure)).toBe('published');
        await waitFor(
          'the post.published callback',
          async () => callback.deliveries.some((d) => d.body?.type === 'post.published'),
          30_000,
        );

        // The source page and its robots.txt.
        expect(siteRequests.map((r) => r.url)).toEqual(expect.arrayContaining(['/robots.txt', '/heat-pumps']));
        for (const r of siteRequests) expect(r.headers['x-request-id'], r.url).toBe(requestId);
        // The model (every chat step) and the embedder.
        expect(fake.chatRequests().length).toBeGreaterThanOrEqual(3);
        expect(fake.embeddingRequests().length).toBeGreaterThanOrEqual(1);
        for (const r of fake.requests) expect(r.headers['x-request-id'], r.path).toBe(requestId);
        // The webhook destination and the tenant's callback.
        expect(hook.deliveries).toHaveLength(1);
        expect(hook.deliveries[0]!.verified).toBe(true);
        expect(hook.deliveries[0]!.headers['x-request-id']).toBe(requestId);
        const callbacks = callback.deliveries.filter((d) => d.body?.data?.post?.id === postId);
        expect(callbacks.length).toBeGreaterThanOrEqual(1);
        for (const d of callbacks) expect(d.headers['x-request-id'], d.body?.type).toBe(requestId);
      } finally {
        await app.rt.db.query(`UPDATE tenants SET settings = settings - 'notifications' WHERE slug = 'default'`);
        await hook.close();
        await callback.close();
      }
    },
  );
});
