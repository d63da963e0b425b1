import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import { resumePost } from '../../src/pipeline-control.ts';
import { chatCompletion, rateLimited, serverError, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { modelWriter, stepOf } from '../support/fake-model-writer.ts';
import { articles } from '../support/source-articles.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// The generate stage with LLM_PROVIDER=openai against a local server speaking OpenAI's wire format.

const heatPumps = articles[0]!;

async function withPipeline(
  fake: FakeOpenAI,
  env: Record<string, string>,
  body: (app: Awaited<ReturnType<typeof startPipeline>>, t: TestEnv) => Promise<void>,
) {
  const t = await createTestEnv({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_MODEL: 'fake-model',
    // A model needs a price (the fake one costs nothing unless a test prices it).
    LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 0, completion: 0 } }),
    ...env,
  });
  const app = await startPipeline(t);
  try {
    await body(app, t);
  } finally {
    await app.stop();
    await t.cleanup();
  }
}

async function submit(
  app: Awaited<ReturnType<typeof startPipeline>>,
  extra: Record<string, unknown> = {},
  article = heatPumps,
) {
  const res = await app.post('/api/v1/submissions', {
    source: { type: 'markdown', text: article.text },
    brief: { minWords: 50, maxWords: 600 },
    ...extra,
  });
  expect(res.status).toBe(202);
  return res.body.postId as string;
}

/** A post's generate runs: outcome, attempt and whether the row is a wait. */
async function generateRuns(app: Awaited<ReturnType<typeof startPipeline>>, postId: string) {
  const { rows } = await app.rt.db.query(
    `SELECT outcome, attempt, COALESCE(error LIKE 'waiting %', false) AS waited FROM stage_runs
      WHERE post_id = $1 AND stage = 'generate' ORDER BY id`,
    [postId],
  );
  return rows as { outcome: string; attempt: number; waited: boolean }[];
}

async function settle(
  app: Awaited<ReturnType<typeof startPipeline>>,
  postId: string,
  statuses: string[],
  timeoutMs = 30_000,
) {
  return waitFor(
    `post ${postId} in ${statuses.join('/')}`,
    async () => {
      const { rows } = await app.rt.db.query('SELECT * FROM posts WHERE id = $1', [postId]);
      return statuses.includes(rows[0]?.status) ? rows[0] : null;
    },
    timeoutMs,
  );
}

describe('generate with an OpenAI-compatible model', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(() => {
    fake.reset();
    resetBreakers();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('writes the post in steps with structured output, records every call, and publishes it', async () => {
    fake.onChat(modelWriter());
    await withPipeline(
      fake,
      { LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 1, completion: 2 } }) },
      async (app) => {
        const postId = await submit(app, { brief: { minWords: 50, maxWords: 600, primaryKeyword: 'heat pumps' } });
        const post = await settle(app, postId, ['published', 'failed', 'needs_review']);
        expect(post.status).toBe('published');
        expect(fake.chatRequests().map(stepOf)).toEqual(['outline', 'draft', 'metadata']);
        const [outline] = fake.chatRequests();
        expect(outline!.body.response_format).toMatchObject({
          type: 'json_schema',
          json_schema: { name: 'outline', strict: true },
        });
        expect(outline!.headers.authorization).toBe('Bearer sk-test');
        expect(post).toMatchObject({
          title: 'What the Sources Say About It',
          slug: 'what-the-sources-say',
          writer: 'openai/fake-model',
        });
        expect(post.meta_title.length).toBeGreaterThanOrEqual(45);
        expect(post.markdown).toMatch(/\n## Sources\n\n1\. How Heat Pumps Work in Cold Climates\n/);
        expect(post.json_ld).toMatchObject({ '@type': 'BlogPosting', headline: post.title });
        expect(post.grounding.passed).toBe(true);

        const calls = await app.rt.db.query(
          'SELECT step, prompt_tokens, completion_tokens, cost_usd::float AS cost ' +
            'FROM llm_calls WHERE post_id = $1 ORDER BY id',
          [postId],
        );
        expect(calls.rows.map((r) => r.step)).toEqual(['outline', 'draft', 'metadata']);
        for (const r of calls.rows)
          expect(r.cost).toBeCloseTo((r.prompt_tokens * 1 + r.completion_tokens * 2) / 1e6, 8);
        const view = await app.get(`/api/v1/posts/${postId}`);
        expect(view.body.costUsd).toBeCloseTo(
          calls.rows.reduce((n, r) => n + r.cost, 0),
          8,
        );
        expect(view.body.seo.score).toBeGreaterThan(0);
      },
    );
  }, 60_000);

  it('gives posts with the same slug base, base-2, base-3…, and a post written again keeps its own', async () => {
    // The scripted model gives every post the metadata slug "what-the-sources-say".
    fake.onChat(modelWriter());
    await withPipeline(fake, { LLM_CACHE_TTL_SECONDS: '0' }, async (app) => {
      const ids: string[] = [];
      for (const article of articles.slice(0, 4)) ids.push(await submit(app, {}, article));
      const posts = [];
      for (const id of ids) posts.push(await settle(app, id, ['published', 'failed', 'needs_review'], 60_000));
      expect(posts.map((p) => p.status)).toEqual(Array(4).fill('published'));
      expect(posts.map((p) => p.slug).sort()).toEqual([
        'what-the-sources-say',
        'what-the-sources-say-2',
        'what-the-sources-say-3',
        'what-the-sources-say-4',
      ]);
      const before = posts[2]!.slug;
      await resumePost(app.rt.db, app.rt.queues, ids[2]!, { fromStage: 'generate' });
      await waitFor('the post written again', async () => {
        const { rows } = await app.rt.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM stage_runs WHERE post_id = $1 AND stage ` +
            `= 'publish' AND outcome = 'completed'`,
          [ids[2]],
        );
        return rows[0]!.n === 2;
      });
      const { rows } = await app.rt.db.query<{ slug: string }>('SELECT slug FROM posts WHERE id = $1', [ids[2]]);
      expect(rows[0]!.slug).toBe(before);
    });
  }, 90_000);

  it('holds a post with a fabricated figure as needs_review and names the sentence', async () => {
    const fabricated = 'Heat pumps cut the average heating bill by 73 percent in every home that installs one.';
    fake.onChat(modelWriter({ extraSentence: fabricated }));
    await withPipeline(fake, {}, async (app) => {
      const postId = await submit(app);
      const post = await settle(app, postId, ['published', 'failed', 'needs_review']);
      expect(post.status).toBe('needs_review');
      expect(post.held_stage).toBe('generate');
      expect(post.held_details.failingSentences).toEqual([
        { sentence: fabricated, section: 'A closer look', reasons: ['the figure "73 percent" is not in any source'] },
      ]);
      // Not handed on: nothing was embedded or published.
      expect(await app.rt.queues.queues.embed.getJobCounts('waiting', 'active', 'completed')).toEqual({
        waiting: 0,
        active: 0,
        completed: 0,
      });
      const view = await app.get(`/api/v1/posts/${postId}`);
      expect(view.body.status).toBe('needs_review');
    });
  }, 60_000);

  it('stops at the first call that would pass a $0.01 budget, with no further calls', async () => {
    fake.onChat(modelWriter({ usage: { promptTokens: 500, completionTokens: 500 } }));
    await withPipeline(
      fake,
      { LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 2, completion: 4 } }) },
      async (app) => {
        await app.rt.db.query(`UPDATE tenants SET settings = '{"monthlyBudgetUsd": 0.01}' WHERE slug = 'default'`);
        const first = await submit(app, { brief: { minWords: 50, maxWords: 2500 } });
        const post = await settle(app, first, ['published', 'failed', 'needs_review', 'budget_exceeded']);
        expect(post.status).toBe('budget_exceeded');
        expect(post.held_details).toMatchObject({ scope: 'month', limitUsd: 0.01, step: 'draft' });
        // The outline fitted (at most $0.007 estimated, $0.003 spent); the draft (up to 4,400 tokens) would not.
        expect(fake.chatRequests().map(stepOf)).toEqual(['outline']);
        const spent = await app.rt.db.query('SELECT sum(cost_usd)::float AS usd, count(*)::int AS n FROM llm_calls');
        expect(spent.rows[0]).toEqual({ usd: 0.003, n: 1 });

        // The same brief: the outline is answered from the cache (free), and the draft is refused before any call.
        const second = await submit(app, { brief: { minWords: 50, maxWords: 2500 } });
        expect((await settle(app, second, ['published', 'failed', 'needs_review', 'budget_exceeded'])).status).toBe(
          'budget_exceeded',
        );
        await new Promise((r) => setTimeout(r, 500));
        expect(fake.chatRequests()).toHaveLength(1);
        expect(await app.rt.queues.queues.generate.getJobCounts('failed')).toEqual({ failed: 0 });
      },
    );
  }, 60_000);

  it('rides out a storm of 429s: no job fails, calls wait out Retry-After, and ' +
    'never exceed the request limit', async () => {
    // 429s with Retry-After: 1 for the first 2.5 s after the first call.
    let stormUntil = Infinity;
    const writer = modelWriter();
    fake.onChat((req) => {
      if (stormUntil === Infinity) stormUntil = req.at + 2500;
      return req.at < stormUntil ? rateLimited(1) : writer(req);
    });
    const windowMs = 4000;
    const limit = 6;
    await withPipeline(
      fake,
      { LLM_RPM: String(limit), LLM_LIMIT_WINDOW_MS: String(windowMs), WORKER_CONCURRENCY: '1' },
      async (app) => {
        // Different sources, so neither the response cache nor duplicate detection shortens the run.
        const ids = [
          await submit(app, {}, articles[0]),
          await submit(app, {}, articles[1]),
          await submit(app, {}, articles[2]),
        ];
        for (const id of ids)
          expect((await settle(app, id, ['published', 'failed', 'needs_review'], 60_000)).status).toBe('published');

        const requests = fake.chatRequests();
        const limited = requests.filter((r) => r.at < stormUntil);
        expect(limited.length).toBeGreaterThan(0);
        expect(requests.length).toBe(limited.length + 9);
        // One worker, one job at a time: every call after a 429 came at least Retry-After (1 s) later.
        for (let i = 1; i < requests.length; i++) {
          if (requests[i - 1]!.at < stormUntil)
            expect(requests[i]!.at - requests[i - 1]!.at).toBeGreaterThanOrEqual(950);
        }
        // The shared limit: never more than `limit` requests in any window.
        for (const r of requests)
          expect(requests.filter((o) => o.at >= r.at && o.at < r.at + windowMs).length).toBeLessThanOrEqual(limit);

        expect(await app.rt.queues.queues.generate.getJobCounts('failed')).toEqual({ failed: 0 });
        // Sent back to wait by the 429s and the shared limit, yet each job spent a single attempt (the one that
        // completed).
        const jobs = await app.rt.queues.queues.generate.getJobs(['completed']);
        expect(jobs).toHaveLength(3);
        for (const job of jobs) expect(job.attemptsMade).toBe(1);
        expect(jobs.some((job) => job.attemptsStarted > 1)).toBe(true);
        const paused = await app.rt.db.query(
          `SELECT count(*)::int AS n FROM stage_runs WHERE stage = 'generate' AND error LIKE 'waiting %'`,
        );
        expect(paused.rows[0]!.n).toBeGreaterThan(0);
        // However often a job was sent back, its history is one row for the wait and one for the run, attempt 1.
        for (const id of ids) {
          const runs = await generateRuns(app, id);
          expect(runs.at(-1)).toEqual({ outcome: 'completed', attempt: 1, waited: false });
          expect(runs.slice(0, -1)).toEqual(runs.length > 1 ? [{ outcome: 'retrying', attempt: 1, waited: true }] : []);
        }
      },
    );
  }, 90_000);

  it('queues four posts for a one-slot local server (LLM_MAX_CONCURRENCY=1) ' +
    'instead of timing them out together', async () => {
    // Like llama.cpp or Ollama on one CPU: one completion at a time, 400 ms each, the others wait unanswered.
    const oneSlot = async () => {
      const server = await startFakeOpenAI({ slots: 1, chatLatencyMs: 400 });
      server.onChat(modelWriter());
      return server;
    };
    const timeouts = `SELECT count(*)::int AS n FROM stage_runs WHERE error LIKE '%did not answer within%'`;
    // The cache stays on: a job sent back to wait for a slot asks again only for the step it had not done.
    const env = { LLM_TIMEOUT_MS: '1000', LLM_RETRIES: '0', WORKER_CONCURRENCY: '4' };

    // Without the limit, four calls reach the server at once and the later ones run out of time in its queue.
    const unlimited = await oneSlot();
    try {
      await withPipeline(unlimited, env, async (app) => {
        for (const article of articles.slice(0, 4)) await submit(app, {}, article);
        await waitFor('a timed-out call', async () => (await app.rt.db.query(timeouts)).rows[0]!.n > 0, 30_000);
        expect(unlimited.peakChats()).toBeGreaterThan(1);
      });
    } finally {
      await unlimited.close();
      resetBreakers();
    }

    // With it, each call waits for the slot in Redis, and its timeout starts when the server takes it on.
    const limited = await oneSlot();
    try {
      await withPipeline(limited, { ...env, LLM_MAX_CONCURRENCY: '1' }, async (app) => {
        const ids = [];
        for (const article of articles.slice(0, 4)) ids.push(await submit(app, {}, article));
        for (const id of ids)
          expect((await settle(app, id, ['published', 'failed', 'needs_review'], 60_000)).status).toBe('published');
        expect(limited.chatRequests()).toHaveLength(12);
        expect(limited.peakChats()).toBe(1);
        expect((await app.rt.db.query(timeouts)).rows[0]!.n).toBe(0);
      });
    } finally {
      await limited.close();
    }
  }, 120_000);

  it('cleans what a small model returns before it becomes the post: headings, ' +
    'blank lines, JSON debris, tags, titles', async () => {
    const writer = modelWriter();
    // A paragraph of the source, sent as a heading (as small models do).
    const paragraph = heatPumps.text.split('\n\n')[2]!;
    const description =
      'Modern cold-climate heat pumps keep extracting heat from outdoor air at ' +
      'minus twenty degrees Celsius, and sizing matters more than the brand.';
    fake.onChat((req) => {
      const step = stepOf(req);
      const reply = writer(req);
      if (step === 'outline' || step === 'metadata') {
        if (step === 'metadata')
          return chatCompletion({
            title: '"Heat Pumps in Cold Climates"…',
            metaTitle: 'Heat Pumps in Cold Climates | Heat Pumps in Cold Climates | Blog',
            metaDescription: JSON.stringify({ metaDescription: description }),
            slug: 'heat-pumps-in-cold-climates',
            tags: ['.', 'the', '#HeatPumps', 'cold climates', 'Post', '—'],
            category: '**Energy**',
            heroImagePrompt: 'A heat pump outside a snowy house',
            heroImageAlt: 'A heat pump in the snow',
          });
        return reply;
      }
      const body = (reply.body as (r: typeof req) => { choices: { message: { content: string } }[] })(req).choices[0]!
        .message.content;
      const [first, ...rest] = body.split('\n\n');
      return chatCompletion(
        `{\n# What the sources say\n\n${first}${'\n'.repeat(40)}## ${paragraph} ` +
          `[1]\n\n#### A deep heading\n\n${rest.join('\n\n\n\n\n')}\n"}\n}`,
      );
    });
    await withPipeline(fake, {}, async (app) => {
      const postId = await submit(app);
      const post = await settle(app, postId, ['published', 'failed', 'needs_review']);
      expect(post.status).toBe('published');
      const markdown = post.markdown as string;
      expect(markdown).not.toMatch(/\n{3}/);
      expect(markdown).not.toMatch(/^# /m);
      expect(markdown).not.toMatch(/^\s*["{}[\],]+\s*$/m);
      expect(markdown.match(/^#{2,6} .*$/gm)!.every((h) => h.length <= 110)).toBe(true);
      // The "heading" is the paragraph it was; an H4 as the first heading becomes an H2.
      expect(markdown).toContain(`\n\n${paragraph} [1]\n\n## A deep heading\n\n`);
      expect(post.title).toBe('Heat Pumps in Cold Climates');
      expect(post.meta_description).toBe(description);
      expect(post.meta_title).not.toMatch(/Climates \| Heat Pumps in Cold Climates|Blog/);
      expect(post.tags).toEqual(['HeatPumps', 'cold climates']);
      expect(post.category).toBe('Energy');
    });
  }, 60_000);

  it('fails a post whose model keeps answering unusable drafts, with the reason, after three samples', async () => {
    const writer = modelWriter();
    fake.onChat((req) =>
      stepOf(req) === 'draft' ? chatCompletion('## Heat pumps\n\n## Costs\n\n```\n```') : writer(req),
    );
    await withPipeline(fake, {}, async (app) => {
      const postId = await submit(app);
      const post = await settle(app, postId, ['published', 'failed', 'needs_review']);
      expect(post.status).toBe('failed');
      expect(post.failed_stage).toBe('generate');
      expect(post.failure_reason).toBe(
        "the draft step's replies were unusable after 3 tries: the draft reply " +
          'was unusable: the reply has 0 words of prose',
      );
      expect(fake.chatRequests().map(stepOf)).toEqual(['outline', 'draft', 'draft', 'draft']);
      const calls = await app.rt.db.query(`SELECT step FROM llm_calls WHERE post_id = $1 ORDER BY id`, [postId]);
      expect(calls.rows.map((r) => r.step)).toEqual(['outline', 'draft', 'draft', 'draft']);
    });
  }, 60_000);

  it('a slow half-open trial: the other posts wait for its verdict, one stage-run row per wait', async () => {
    // Every call fails for 300 ms (the breaker opens); then the first call, the breaker's trial, takes 3 s.
    const writer = modelWriter();
    let failUntil = Infinity;
    let trialSeen = false;
    fake.onChat((req) => {
      if (failUntil === Infinity) failUntil = req.at + 300;
      if (req.at < failUntil) return serverError(500);
      if (!trialSeen) {
        trialSeen = true;
        return { ...writer(req), delayMs: 3000 };
      }
      return writer(req);
    });
    await withPipeline(
      fake,
      {
        LLM_RETRIES: '0',
        LLM_BREAKER_VOLUME: '2',
        LLM_BREAKER_ERROR_PERCENT: '50',
        LLM_BREAKER_RESET_MS: '1000',
        LLM_CACHE_TTL_SECONDS: '0',
        STAGE_ATTEMPTS: '10',
      },
      async (app) => {
        const ids = [];
        for (const article of articles.slice(0, 4)) ids.push(await submit(app, {}, article));
        for (const id of ids)
          expect((await settle(app, id, ['published', 'failed', 'needs_review'], 60_000)).status).toBe('published');
        for (const id of ids) {
          const runs = await generateRuns(app, id);
          // No two wait rows in a row, and each attempt is the attempt it says (1 + failures before it).
          runs.forEach((run, i) => {
            expect(run.waited && runs[i - 1]?.waited && runs[i - 1]!.attempt === run.attempt).toBeFalsy();
          });
          const failures = runs.filter((r) => r.outcome === 'retrying' && !r.waited).length;
          expect(runs.at(-1)).toMatchObject({ outcome: 'completed', attempt: failures + 1 });
          expect(runs.length).toBeLessThanOrEqual(2 * failures + 2);
        }
      },
    );
  }, 90_000);
});
