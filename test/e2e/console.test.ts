import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelWriter } from '../support/fake-model-writer.ts';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../support/fake-openai.ts';
import { chromiumFlags, chromiumPath } from '../support/chromium.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startPrefixProxy } from '../support/prefix-proxy.ts';
import { ensureTestPeers } from '../support/prometheus.ts';
import { articles } from '../support/source-articles.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

// The editorial console in headless Chromium (Debian's package, via playwright-core), served through a
// reverse proxy that strips the prefix /newsroom: sign in (a wrong key refused, a tenant key, operator
// credentials), filter to held posts, open a post the grounding gate held, fix the flagged sentence,
// approve it and see it published; reject with a reason; reschedule; cancel; replay; a near-duplicate
// beside its original; the overview. axe-core checks every page (no serious or critical violation),
// the page's CSP and Trusted Types must never fire, and the screenshots go to CONSOLE_SCREENSHOTS_DIR
// (a temporary folder unless set; `npm run docs:screenshots` writes the README's into docs/console).

// Functions passed to page.evaluate run in the browser; the tests' TypeScript has no DOM library.
declare const document: any;

const OPERATOR = { user: 'night-editor', password: 'operator-password-77' };
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const [heatPumps, sourdough, urbanTrees, composting, indexFunds, bicycle] = articles as [
  (typeof articles)[0],
  (typeof articles)[0],
  (typeof articles)[0],
  (typeof articles)[0],
  (typeof articles)[0],
  (typeof articles)[0],
];
const fabricated = 'Heat pumps cut the average heating bill by 73 percent in every home that installs one.';
const fix = 'Sizing matters more than the brand of the heat pump.';
// A title written by the "model" with markup in it: the console must show it as text.
const hostileTitle = '<img src=x onerror=window.pwned=1>Bicycles';

/** The fake model: it writes from the sources; it slips a figure into the heat-pump post and markup into one title. */
function writer(req: RecordedRequest) {
  const prompt = JSON.stringify(req.body?.messages ?? []);
  const article = [heatPumps, sourdough, urbanTrees, composting, indexFunds, bicycle].find((a) =>
    prompt.includes(a.text.split('\n')[2]!.slice(0, 40)),
  );
  const title = article === bicycle ? hostileTitle : (article?.title ?? 'What the sources say');
  return modelWriter({
    ...(article === heatPumps ? { extraSentence: fabricated } : {}),
    metadata: { title, slug: (article?.title ?? 'post').toLowerCase().replace(/[^a-z]+/g, '-') },
  })(req);
}

describe('the editorial console in a real browser', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let fake: FakeOpenAI;
  let tenant: Awaited<ReturnType<typeof createTenantWithKeys>>;
  let key: string;
  let proxy: Server;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  let tmp: string;
  const ids: Record<string, string> = {};
  const problems: string[] = [];

  const api = (method: string, path: string, body?: unknown) => tenant.call(key, method, path, body);
  const statusOf = async (id: string) => (await api('GET', `/api/v1/posts/${id}`)).body.status as string;
  const settle = (id: string, want: string, timeoutMs = 60_000) =>
    waitFor(`post ${id} ${want}`, async () => (await statusOf(id)) === want, timeoutMs);

  beforeAll(async () => {
    await ensureTestPeers('chromium');
    tmp = await mkdtemp(join(tmpdir(), 'bp-console-'));
    shots = process.env.CONSOLE_SCREENSHOTS_DIR ?? join(tmp, 'screenshots');
    await mkdir(shots, { recursive: true });
    fake = await startFakeOpenAI();
    fake.onChat(writer);
    t = await createTestEnv({
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_MODEL: 'fake-model',
      LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 2.5, completion: 10 } }),
      OPERATOR_USER: OPERATOR.user,
      OPERATOR_PASSWORD: OPERATOR.password,
      DUPLICATE_GUARD: 'true',
    });
    app = await startPipeline(t);
    tenant = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'newsroom');
    key = tenant.keys.all!.key;
    expect((await api('PATCH', '/api/v1/admin/tenant', { settings: { monthlyBudgetUsd: 5 } })).status).toBe(200);

    const submit = async (name: string, article: (typeof articles)[0], publish?: Record<string, unknown>) => {
      const res = await api('POST', '/api/v1/submissions', {
        source: { type: 'markdown', text: article.text },
        brief: { minWords: 50, maxWords: 600 },
        ...(publish ? { publish } : {}),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      ids[name] = res.body.postId;
    };
    await submit('original', composting);
    await settle(ids.original!, 'published');
    await submit('duplicate', composting);
    await submit('review', heatPumps);
    await submit('approval', sourdough, { requireApproval: true });
    await submit('scheduled', urbanTrees, { publishAt: new Date(Date.now() + 7 * 86_400_000).toISOString() });
    await submit('funds', indexFunds);
    await submit('hostile', bicycle);
    const failed = await api('POST', '/api/v1/submissions', {
      source: { type: 'url', url: 'http://127.0.0.1:9/gone' },
    });
    ids.failed = failed.body.postId;
    const feed = await api('POST', '/api/v1/feeds', { url: 'http://127.0.0.1:9/feed.xml', cron: '*/30 * * * *' });
    // No scheduler runs in this test: two polls as the scheduler records them, for the overview.
    await app.rt.db.query(
      `INSERT INTO feed_polls (feed_id, tick, started_at, finished_at, outcome, new_items, error)
       VALUES ($1, 'a', now() - interval '1 hour', now() - interval '1 hour', 'ok', 4, NULL),
              ($1, 'b', now() - interval '30 minutes', now() - interval '30 minutes', 'failed', 0,
               'connect ECONNREFUSED 127.0.0.1:9')`,
      [feed.body.id],
    );
    await app.rt.db.query(
      `UPDATE feeds SET last_polled_at = now() - interval '30 minutes', last_outcome ` +
        `= 'failed', last_error = 'connect ECONNREFUSED 127.0.0.1:9' WHERE id = ` +
        `$1`,
      [feed.body.id],
    );
    for (const [name, status] of Object.entries({
      duplicate: 'duplicate_of',
      review: 'needs_review',
      approval: 'awaiting_approval',
      scheduled: 'scheduled',
      funds: 'published',
      hostile: 'published',
      failed: 'failed',
    }))
      await settle(ids[name]!, status);

    // A reverse proxy serving the app under /newsroom: it strips the prefix and says so in X-Forwarded-Prefix.
    const proxied = await startPrefixProxy(app.api.url, '/newsroom');
    proxy = proxied.server;
    base = proxied.url;

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumFlags });
    context = await newContext();
    page = await context.newPage();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await fake?.close();
    proxy?.close();
    await t?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function newContext(viewport = { width: 1366, height: 900 }) {
    const ctx = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/Paris' });
    // Nothing but loopback, and every CSP or Trusted Types violation, script error or console error is recorded.
    await ctx.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    await ctx.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) => {
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    ctx.on('page', (p) => {
      p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      p.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
    });
    return ctx;
  }

  /** axe-core in the page: no serious or critical violation. */
  async function expectAccessible(p: Page, what: string) {
    await p.evaluate(axeSource);
    const results = await p.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
      return axe.run(document, { resultTypes: ['violations'] });
    });
    const bad = (results.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(bad, `axe on ${what}`).toEqual([]);
  }

  async function shoot(p: Page, name: string) {
    await p.screenshot({ path: join(shots, name), fullPage: true });
  }

  async function signIn(p: Page, credentials = key) {
    await p.goto(`${base}/console`);
    await p.getByLabel('API key', { exact: true }).fill(credentials);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  async function confirm(p: Page, button: string) {
    const dialog = p.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: button, exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  it('refuses a wrong key with a clear message, and serves the page with a strict CSP', async () => {
    const res = await page.goto(`${base}/console`);
    expect(res?.status()).toBe(200);
    const csp = res!.headers()['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("require-trusted-types-for 'script'");
    // Every URL of the page is relative, so its assets and API calls go through the proxy's prefix.
    const html = await (await fetch(`${base}/console`)).text();
    expect(html).not.toMatch(/(?:src|href)="\//);
    expect(html).not.toMatch(/<script>|style=/);

    await signIn(page, `bpk_0123456789abcdef_${'x'.repeat(43)}`);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toBe('The server refused these credentials: unknown API key.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await expectAccessible(page, 'the sign-in page');
  });

  it('signs in with a tenant key and filters to held posts, the hostile title shown as text', async () => {
    await signIn(page);
    await page.getByRole('heading', { name: 'Posts', level: 1 }).waitFor();
    expect(page.url()).toBe(`${base}/console#/posts`);
    // The key lives in sessionStorage, nowhere else.
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual(['bp-console-auth']);
    expect((await context.cookies()).length).toBe(0);

    const list = page.locator('table.posts tbody');
    await expect.poll(() => list.locator('tr').count()).toBe(8);
    const hostile = list.locator(`tr[data-id="${ids.hostile}"] a`);
    expect(await hostile.innerText()).toBe(hostileTitle);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('table.posts img').count()).toBe(0);
    // Held first: the posts waiting for a person lead the default list.
    const statuses = await list
      .locator('tr')
      .evaluateAll((rows) => rows.map((r) => (r as { dataset: { status?: string } }).dataset.status));
    expect(statuses.slice(0, 3).sort()).toEqual(['awaiting_approval', 'duplicate_of', 'needs_review']);

    await page.getByRole('button', { name: 'Held only' }).click();
    await expect.poll(() => list.locator('tr').count()).toBe(3);
    expect(page.url()).toContain('status=needs_review%2Cduplicate_of%2Cawaiting_approval%2Cduplicate%2Cskipped');
    await expect.poll(() => page.getByRole('checkbox', { name: 'needs review' }).isChecked()).toBe(true);
    await shoot(page, 'console-list.png');
    await expectAccessible(page, 'the posts list');

    // The title filter and search by meaning.
    await page.getByRole('button', { name: 'All statuses' }).click();
    await page.getByLabel('Title contains').fill('sourdough');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => list.locator('tr').count()).toBe(1);
    await page.getByLabel('Search by meaning').fill('compost bins and kitchen scraps');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => page.locator('ol.hits li').count()).toBeGreaterThan(0);
    expect(await page.locator('ol.hits li a').first().innerText()).toBe(composting.title);
    await page.getByRole('button', { name: 'Back to the list' }).click();
  });

  it('shows the tenant overview with its charts', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const spend = page.getByRole('region', { name: 'Model spend this month' });
    await expect
      .poll(() => spend.locator('figcaption').innerText())
      .toMatch(/^\$\d\.\d\d of \$5\.00 spent this month \(\d+%\)\./);
    expect(await page.locator('svg[role="img"]').count()).toBe(2);
    const perDay = await page.locator('svg[role="img"]').nth(1).getAttribute('aria-label');
    expect(perDay).toMatch(/^Posts created per day over 14 days: 8 in all/);
    expect(await page.getByRole('region', { name: 'Failures by reason', exact: true }).innerText()).toContain('ingest');
    expect(await page.getByRole('region', { name: 'Feeds', exact: true }).innerText()).toContain('ECONNREFUSED');
    await shoot(page, 'console-overview.png');
    await expectAccessible(page, 'the overview');
  });

  it('opens the needs_review post, fixes the flagged sentence, approves it and sees it published', async () => {
    await page.goto(`${base}/console#/posts?status=needs_review`);
    await page.locator(`tr[data-id="${ids.review}"] a`).click();
    await page.getByRole('heading', { name: heatPumps.title, level: 1 }).waitFor();
    // The flagged sentence is highlighted in the rendered draft, its reason and closest source sentences beside it.
    const mark = page.locator('article.draft mark.finding');
    await expect.poll(() => mark.count()).toBeGreaterThan(0);
    expect((await mark.allInnerTexts()).join('')).toBe(fabricated);
    const finding = page.locator('#finding-1');
    expect(await finding.locator('.reasons').innerText()).toBe('the figure "73 percent" is not in any source');
    const evidence = await finding.locator('.evidence li').allInnerTexts();
    expect(evidence.length).toBeGreaterThan(0);
    expect(evidence[0]).toMatch(/heat/i);
    expect(evidence[0]).toContain(heatPumps.title);
    await shoot(page, 'console-held-post.png');
    await page.getByRole('button', { name: /^Finding 1:/ }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('finding-1');
    await expectAccessible(page, 'a held post');

    // Edit: the fabricated sentence becomes one the source gives.
    await page.getByRole('button', { name: 'Edit draft' }).click();
    const markdown = page.getByLabel('Markdown');
    const text = await markdown.inputValue();
    expect(text).toContain(fabricated);
    await markdown.fill(text.replace(fabricated, fix));
    // The meta title, the page's <title>, is there to fix as well.
    const metaTitle = page.getByLabel('Meta title');
    expect(await metaTitle.inputValue()).toBe((await api('GET', `/api/v1/posts/${ids.review}/content`)).body.metaTitle);
    await metaTitle.fill('Heat pumps in cold winters: what the field data say');
    await expectAccessible(page, 'the editor');
    await page.getByRole('button', { name: 'Save as new revision' }).click();
    await confirm(page, 'Save revision');
    const result = page.locator('#action-result');
    await expect.poll(() => result.innerText()).toMatch(/^Saved revision 2\. Grounding passes; SEO score \d+/);
    expect(await page.locator('article.draft mark.finding').count()).toBe(0);
    expect(await page.locator('article.draft').innerText()).toContain(fix);

    await page.getByRole('button', { name: 'Approve' }).click();
    await confirm(page, 'Approve');
    await expect.poll(() => result.innerText(), { timeout: 30_000 }).toBe('The post is now published.');
    await expect.poll(() => page.locator('.facts .badge').innerText()).toBe('published');
    const post = await api('GET', `/api/v1/posts/${ids.review}`);
    expect(post.body.status).toBe('published');
    const published = await readFile(post.body.publications[0].location.replace(/\.html$/, '.md'), 'utf8');
    expect(published).toContain(fix);
    expect(published).not.toContain('73 percent');
    expect(await readFile(post.body.publications[0].location, 'utf8')).toContain(
      '<title>Heat pumps in cold winters: what the field data say</title>',
    );
  }, 60_000);

  it('rejects a held post with a reason', async () => {
    await page.goto(`${base}/console#/posts/${ids.approval}`);
    await page.getByRole('heading', { name: sourdough.title, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Reject' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('Off-topic for this site');
    await confirm(page, 'Reject');
    await expect.poll(() => page.locator('#action-result').innerText()).toBe('Rejected: Off-topic for this site');
    await expect.poll(() => page.locator('.facts .badge').innerText()).toBe('rejected');
    expect(await page.locator('.callout').last().innerText()).toContain('Off-topic for this site');
    expect((await api('GET', `/api/v1/posts/${ids.approval}`)).body.publishing.stopped).toEqual({
      status: 'rejected',
      reason: 'Off-topic for this site',
    });
  });

  it('reschedules a scheduled post in the editor’s time zone, then cancels it', async () => {
    await page.goto(`${base}/console#/posts/${ids.scheduled}`);
    await page.getByRole('heading', { name: urbanTrees.title, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Reschedule' }).click();
    await page.getByRole('dialog').getByLabel('Publish at').fill('2031-03-04T05:06');
    await confirm(page, 'Reschedule');
    await expect.poll(() => page.locator('#action-result').innerText()).toMatch(/^Rescheduled for /);
    // 05:06 in Paris (UTC+1 in March) is 04:06 UTC.
    const rescheduled = await api('GET', `/api/v1/posts/${ids.scheduled}`);
    expect(rescheduled.body.publishing.publishAt).toBe('2031-03-04T04:06:00.000Z');
    expect(rescheduled.body.status).toBe('scheduled');

    await page.getByRole('button', { name: 'Cancel post' }).click();
    await page.getByRole('dialog').getByLabel('Reason (optional)').fill('Season is over');
    await confirm(page, 'Cancel post');
    await expect
      .poll(() => page.locator('#action-result').innerText())
      .toBe('Cancelled: the post will not be published.');
    expect(await statusOf(ids.scheduled!)).toBe('cancelled');
  });

  it('replays a failed post from a stage and follows it', async () => {
    const runsBefore = (await api('GET', `/api/v1/posts/${ids.failed}`)).body.stages.length;
    await page.goto(`${base}/console#/posts/${ids.failed}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.locator('.callout').first().innerText()).toMatch(/^Failed at ingest: /);
    await page.getByRole('button', { name: 'Replay…' }).click();
    expect(await page.getByRole('dialog').getByLabel('From stage').inputValue()).toBe('ingest');
    await confirm(page, 'Replay');
    await expect
      .poll(() => page.locator('#action-result').innerText())
      .toMatch(/^Replaying from ingest \(run 1\)\.|^The post is now failed\.$/);
    await expect
      .poll(() => page.locator('#action-result').innerText(), { timeout: 30_000 })
      .toBe('The post is now failed.');
    const post = await api('GET', `/api/v1/posts/${ids.failed}`);
    // The source is still unreachable: the new run tried ingest again (with its retries) and failed.
    expect(post.body.stages.length).toBeGreaterThan(runsBefore);
    expect(post.body.stages.every((s: { stage: string }) => s.stage === 'ingest')).toBe(true);
  }, 60_000);

  it('shows a near-duplicate beside the post it repeats, with the score', async () => {
    await page.goto(`${base}/console#/posts/${ids.duplicate}`);
    const compared = page.getByRole('region', { name: 'Compared with the post it repeats' });
    await compared.waitFor();
    expect(await compared.innerText()).toMatch(/Similarity (0\.9\d\d|1\.000) \(held at 0\.9 or more\) with /);
    const columns = compared.locator('.side-by-side .column');
    expect(await columns.count()).toBe(2);
    for (const column of await columns.all()) expect(await column.innerText()).toContain('compost');
    expect(await compared.getByRole('link').first().getAttribute('href')).toBe(`#/posts/${ids.original}`);
    await expectAccessible(page, 'a near-duplicate');
  });

  it('works with the keyboard alone', async () => {
    // A fresh load: focus starts at the top of the page.
    await page.goto(`${base}/console#/posts?status=published`);
    await page.reload();
    await page.locator('table.posts tbody tr').first().waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Tab on to the first post's link and open it with Enter.
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => !!document.activeElement?.closest('table.posts tbody a'));
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/posts\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
  });

  // What sticks out past the screen's edge and is clipped by no scrolling frame. A frame clips what it contains,
  // except what is absolutely placed against a box outside it: for such an element the frames that count are
  // those around the box it is placed against (its offsetParent); a fixed element no frame clips.
  const STICKING_OUT = `(() => {
    const frames = (from) => {
      for (let a = from; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return true;
      return false;
    };
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
      .filter((e) => {
        const position = getComputedStyle(e).position;
        if (position === 'fixed') return true;
        return !frames(position === 'absolute' ? e.offsetParent : e.parentElement);
      })
      .slice(0, 5)
      .map((e) => '<' + e.tagName.toLowerCase() + ' class="' + (e.getAttribute('class') ?? '') + '"> ' +
        (e.textContent ?? '').slice(0, 60));
  })()`;

  it('is readable on a phone: one column, nothing wider than the screen', async () => {
    const phone = await newContext({ width: 390, height: 844 });
    try {
      const p = await phone.newPage();
      await signIn(p);
      await p.locator('table.posts tbody tr').first().waitFor();
      // Each page with what it draws last: its heading comes before the data, and a page measured before its
      // tables arrive is narrow whatever they would do to it.
      const pages: [string, Locator][] = [
        ['#/posts', p.locator('table.posts tbody tr').first()],
        [`#/posts/${ids.review}`, p.getByRole('region', { name: 'Stage runs (table)' })],
        ['#/overview', p.getByRole('region', { name: 'Feeds and their last polls (table)' })],
      ];
      for (const [hash, drawn] of pages) {
        await p.goto(`${base}/console${hash}`);
        await drawn.waitFor({ timeout: 10_000 });
        const overflow = await p.evaluate(
          () => document.documentElement.scrollWidth - (globalThis as unknown as { innerWidth: number }).innerWidth,
        );
        // On a failure, the message names what sticks out past the screen's edge.
        const wider = await p.evaluate<string[]>(STICKING_OUT);
        expect(overflow, `${hash} is no wider than the phone; past the edge: ${wider.join(' | ')}`).toBeLessThanOrEqual(
          0,
        );
      }
      await p.goto(`${base}/console#/posts`);
      await p.locator('table.posts tbody tr').first().waitFor();
      await shoot(p, 'console-phone.png');
      await expectAccessible(p, 'the list on a phone');
    } finally {
      await phone.close();
    }
  });

  it('signs in with operator credentials for a named tenant, and refuses wrong ones', async () => {
    const ops = await newContext();
    try {
      const p = await ops.newPage();
      await p.goto(`${base}/console`);
      await p.getByLabel('Operator credentials').check();
      await p.getByLabel('Operator user').fill(OPERATOR.user);
      await p.getByLabel('Password or operator token').fill('not-the-password');
      await p.getByLabel('Tenant').fill('newsroom');
      await p.getByRole('button', { name: 'Sign in' }).click();
      await expect
        .poll(() => p.getByRole('alert').innerText())
        .toBe('The server refused these credentials: wrong operator credentials.');
      await p.getByLabel('Password or operator token').fill(OPERATOR.password);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('heading', { name: 'Posts', level: 1 }).waitFor();
      expect(await p.locator('header .identity').innerText()).toContain(`operator ${OPERATOR.user} in newsroom`);
      await expect.poll(() => p.locator('table.posts tbody tr').count()).toBe(8);
    } finally {
      await ops.close();
    }
  });

  it('signs the page out, saying why, when its key is revoked while it is open', async () => {
    const made = await api('POST', '/api/v1/admin/keys', { name: 'short-lived', scopes: ['read'] });
    const ctx = await newContext();
    try {
      const p = await ctx.newPage();
      await signIn(p, made.body.key);
      await p.locator('table.posts tbody tr').first().waitFor();
      expect((await api('DELETE', `/api/v1/admin/keys/${made.body.id}`)).status).toBe(200);
      // The next refresh of the list is refused.
      await expect
        .poll(
          () =>
            p
              .getByRole('alert')
              .innerText()
              .catch(() => ''),
          { timeout: 15_000 },
        )
        .toBe('You were signed out: revoked API key.');
      expect(
        await p.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length),
      ).toBe(0);
    } finally {
      await ctx.close();
    }
  }, 60_000);

  it('left no CSP or Trusted Types violation, script error or console error, and wrote the screenshots', async () => {
    // The wrong key, the wrong operator password and the revoked key answered 401, which the browser logs;
    // nothing else may appear.
    const unexpected = problems.filter((p) => !/status of 401/.test(p));
    expect(unexpected).toEqual([]);
    for (const name of ['console-list.png', 'console-held-post.png', 'console-overview.png', 'console-phone.png'])
      expect((await stat(join(shots, name))).size, name).toBeGreaterThan(10_000);
  });
});
