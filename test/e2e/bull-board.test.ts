import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { createApp } from '../../src/http/app.ts';
import { maintenanceQueueName, siteQueueName } from '../../queues/registry.ts';
import { chromiumFlags, chromiumPath } from '../support/chromium.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startPrefixProxy } from '../support/prefix-proxy.ts';
import { ensureTestPeers } from '../support/prometheus.ts';

// Headless Chromium (Debian's package) through playwright-core opens Bull Board behind operator
// auth and behind a prefix-stripping reverse proxy, and retries a failed job.

const operator = { username: 'ops', password: 'operator-password-1' };
const token = 'operator-token-0123456789';

describe('Bull Board in a real browser', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let proxy: Server;
  let proxyUrl: string;
  let siteUp = false;
  let tmp: string;

  beforeAll(async () => {
    await ensureTestPeers('chromium');
    tmp = await mkdtemp(join(tmpdir(), 'bp-bull-board-'));
    t = await createTestEnv({
      OPERATOR_USER: operator.username,
      OPERATOR_PASSWORD: operator.password,
      OPERATOR_TOKEN: token,
    });
    app = await startPipeline(t);

    // The source is down (404, a permanent failure) until the test brings it back.
    site = createServer((req, res) => {
      if (req.url !== '/article' || !siteUp) {
        res.statusCode = 404;
        return res.end('not here');
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html lang="en"><head><title>Retried article</title></head><body><article>\
<h1>Retried article</h1>
        <p>Operators retry failed jobs from the console once the source is back. The retried job runs the stage \
again.</p>
        <p>After the retry the post continues through every later stage and is published like any other.</p></article>\
</body></html>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));

    // A reverse proxy serving the app under /ops: it strips the prefix and says so in X-Forwarded-Prefix.
    const proxied = await startPrefixProxy(app.api.url, '/ops');
    proxy = proxied.server;
    proxyUrl = proxied.url.slice(0, -'/ops'.length);
  }, 600_000);

  afterAll(async () => {
    await app?.stop();
    site?.close();
    proxy?.close();
    await t?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function browser(name: string, credentials?: { username: string; password: string }): Promise<BrowserContext> {
    const context = await chromium.launchPersistentContext(join(tmp, `profile-${name}`), {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumFlags,
      ...(credentials ? { httpCredentials: credentials } : {}),
    });
    // Second guard: the page may only talk to loopback.
    await context.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    return context;
  }

  it('refuses the board without credentials, and with wrong ones', async () => {
    const context = await browser('anonymous');
    try {
      const page = await context.newPage();
      const answered = page.waitForResponse((r) => r.url().endsWith('/ops/admin/queues'));
      // Headless Chromium has nobody to ask for a password, so the navigation itself fails.
      await expect(page.goto(`${proxyUrl}/ops/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      const res = await answered;
      expect(res.status()).toBe(401);
      expect(res.headers()['www-authenticate']).toMatch(/^Basic /);
      expect(await res.text()).not.toContain('static/js');
    } finally {
      await context.close();
    }
    const wrong = await fetch(`${app.api.url}/admin/queues/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from('ops:not-the-password').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect(
      (
        await fetch(`${app.api.url}/admin/queues/api/queues`, {
          headers: { authorization: 'Bearer wrong-token-0123456789' },
        })
      ).status,
    ).toBe(401);
    // The operator token works for tools.
    const tool = await fetch(`${app.api.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(tool.status).toBe(200);
  });

  it('lists every queue with counts, opens a failed job, retries it, and the job then completes', async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'url', url: `http://127.0.0.1:${(site.address() as { port: number }).port}/article` },
    });
    expect(res.status).toBe(202);
    const postId = res.body.postId as string;
    const jobId = `post-${postId}-ingest`;
    await waitFor(
      'the failed ingest job',
      async () => (await app.rt.queues.queues.ingest.getJobState(jobId)) === 'failed',
    );

    const context = await browser('operator', operator);
    try {
      const page = await context.newPage();
      const opened = await page.goto(`${proxyUrl}/ops/admin/queues`);
      expect(opened?.status()).toBe(200);
      // The page's base URL carries the proxy's prefix, so its scripts and API calls go through the proxy.
      expect(await page.locator('base').getAttribute('href')).toBe('/ops/admin/queues/');
      for (const queue of [...stages, maintenanceQueueName]) {
        await expect
          .poll(() => page.getByRole('link', { name: queue, exact: true }).count(), { timeout: 15_000 })
          .toBeGreaterThan(0);
      }
      // Each queue's card carries its job count; ingest's shows its one failed job, and the
      // maintenance queue (no scheduler runs here) says it has no workers.
      await expect
        .poll(() => page.locator('body').innerText(), { timeout: 15_000 })
        .toMatch(/\ningest\nFAILED\n1\n1 Job\b/);
      const home = await page.locator('body').innerText();
      for (const queue of [...stages, maintenanceQueueName])
        expect(home).toMatch(new RegExp(`\\n${queue}\\n(?:[^\\n]+\\n){0,3}\\d+ Jobs?\\b`));
      expect(home).toMatch(/\nmaintenance\nNo workers\n/);
      await page.screenshot({ path: join(tmp, 'bull-board-queues.png'), fullPage: true });

      await page.goto(`${proxyUrl}/ops/admin/queues/queue/ingest?status=failed`);
      const job = page.getByText(jobId).first();
      await job.waitFor({ timeout: 15_000 });
      await expect.poll(async () => page.locator('body').innerText(), { timeout: 15_000 }).toMatch(/404/);
      await page.screenshot({ path: join(tmp, 'bull-board-failed-job.png'), fullPage: true });

      // The source is back; the operator retries the job.
      siteUp = true;
      const retried = page.waitForResponse(
        (r) =>
          r.url().includes(`/ops/admin/queues/api/queues/ingest/${encodeURIComponent(jobId)}/retry`) &&
          r.request().method() === 'PUT',
      );
      // The job card's first action is Retry (an icon button); the request it sends proves which it was.
      const card = page
        .locator('div')
        .filter({ hasText: jobId })
        .filter({ has: page.getByRole('button') })
        .last();
      await card.getByRole('button').first().click();
      await page.getByText('Are you sure that you want to retry this job?').waitFor();
      await page.getByRole('button', { name: 'Confirm', exact: true }).click();
      expect((await retried).status()).toBe(204);
    } finally {
      await context.close();
    }

    const post = await waitFor('the retried post published', async () => {
      const { body } = await app.get(`/api/v1/posts/${postId}`);
      return body.status === 'published' ? body : null;
    });
    expect(
      post.stages.filter((s: { stage: string }) => s.stage === 'ingest').map((s: { outcome: string }) => s.outcome),
    ).toEqual(['failed', 'completed']);
    expect(await app.rt.queues.queues.ingest.getJobState(jobId)).toBe('completed');
    expect((await stat(join(tmp, 'bull-board-queues.png'))).size).toBeGreaterThan(1000);
  }, 120_000);

  it(
    'is read-only when BULL_BOARD_READ_ONLY is set, and not mounted without ' +
      'operator credentials outside development',
    async () => {
      const failed = await app.rt.queues.queues.ingest.add('ingest', { postId: 'bad' }, { jobId: 'read-only-probe' });
      await waitFor('the probe failed', async () => (await failed.getState()) === 'failed');
      const deps = {
        config: app.rt.config,
        db: app.rt.db,
        redis: app.rt.redis,
        queues: app.rt.queues,
        logger: app.rt.logger,
        providers: app.rt.providers,
      };
      const serve = async (config: typeof app.rt.config, fn: (base: string) => Promise<void>) => {
        const server = createApp({ ...deps, config }).listen(0, '127.0.0.1');
        await new Promise((r) => server.once('listening', r));
        try {
          await fn(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
        } finally {
          server.close();
          server.closeAllConnections();
        }
      };
      const auth = { authorization: `Bearer ${token}` };

      await serve({ ...app.rt.config, BULL_BOARD_READ_ONLY: true }, async (base) => {
        const queues = (await (await fetch(`${base}/admin/queues/api/queues`, { headers: auth })).json()) as {
          queues: Array<{ name: string; readOnlyMode: boolean; allowRetries: boolean }>;
        };
        expect(queues.queues.map((q) => q.name).sort()).toEqual(
          [...stages, siteQueueName, maintenanceQueueName].sort(),
        );
        for (const q of queues.queues) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false });
        const retry = await fetch(`${base}/admin/queues/api/queues/ingest/read-only-probe/retry/failed`, {
          method: 'PUT',
          headers: auth,
        });
        expect(retry.status).toBe(403);
        expect(await failed.getState()).toBe('failed');
        expect((await fetch(`${base}/admin/queues`, { headers: auth })).status).toBe(200);
      });

      for (const NODE_ENV of ['production', 'test'] as const) {
        await serve(
          {
            ...app.rt.config,
            NODE_ENV,
            OPERATOR_TOKEN: undefined,
            OPERATOR_USER: undefined,
            OPERATOR_PASSWORD: undefined,
          },
          async (base) => {
            const res = await fetch(`${base}/admin/queues/api/queues`);
            expect(res.status).toBe(404);
            expect(((await res.json()) as { detail: string }).detail).toMatch(/no operator credentials/);
          },
        );
      }
      // Development on loopback: open, with a warning at start (see bull-board.ts).
      await serve(
        {
          ...app.rt.config,
          NODE_ENV: 'development',
          HOST: '127.0.0.1',
          OPERATOR_TOKEN: undefined,
          OPERATOR_USER: undefined,
          OPERATOR_PASSWORD: undefined,
        },
        async (base) => {
          expect((await fetch(`${base}/admin/queues/api/queues`)).status).toBe(200);
        },
      );
    },
  );
});
