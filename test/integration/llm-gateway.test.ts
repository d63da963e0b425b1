import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { PermanentError } from '../../src/errors.ts';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import {
  BudgetExceededError,
  LlmRateLimitedError,
  LlmRefusalError,
  LlmTransientError,
  LlmTruncatedError,
  LlmUnusableReplyError,
  LlmWaitError,
} from '../../src/llm/errors.ts';
import { createGateway, type CallScope } from '../../src/llm/gateway.ts';
import { createConcurrencyLimit, SlotWaitTimeout } from '../../src/llm/concurrency.ts';
import { createSharedLimits } from '../../src/llm/limits.ts';
import { createOpenAIProvider } from '../../src/llm/openai-provider.ts';
import type { ChatRequest } from '../../src/llm/types.ts';
import { createLogger } from '../../src/logger.ts';
import { registry } from '../../src/metrics.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import {
  chatCompletion,
  hang,
  malformed,
  rateLimited,
  refusal,
  serverError,
  startFakeOpenAI,
  truncated,
  type FakeOpenAI,
} from '../support/fake-openai.ts';
import { createTestEnv, type TestEnv } from '../support/harness.ts';
import { modelCallScope } from '../support/model-scope.ts';

// The openai provider and the gateway around it, against a local server speaking OpenAI's wire format.

describe('the openai provider through the gateway', () => {
  let t: TestEnv;
  let rt: Runtime;
  let fake: FakeOpenAI;
  let scope: CallScope;
  let n = 0;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    t = await createTestEnv();
    rt = await createRuntime(t.config, { logger: createLogger('silent') });
    scope = await modelCallScope(rt.db);
  });
  afterEach(() => {
    fake.reset();
    resetBreakers();
  });
  afterAll(async () => {
    await rt?.close();
    await t?.cleanup();
    await fake?.close();
  });

  function gateway(overrides: Partial<Config> = {}) {
    const config = {
      ...t.config,
      LLM_CACHE_TTL_SECONDS: 0,
      LLM_RETRIES: 2,
      LLM_TIMEOUT_MS: 2000,
      ...overrides,
    } as Config;
    const provider = createOpenAIProvider({
      baseURL: fake.url,
      apiKey: 'sk-test',
      organization: 'org-test',
      model: 'fake-model',
      timeoutMs: config.LLM_TIMEOUT_MS,
    });
    return createGateway({ db: rt.db, redis: rt.redis, config, log: rt.logger }, provider);
  }

  /** A request no other test sends, so the cache never answers one test with another's reply. */
  function request(extra: Partial<ChatRequest> = {}): ChatRequest {
    return { step: 'draft', messages: [{ role: 'user', content: `Write request ${++n}` }], maxTokens: 100, ...extra };
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const values = (await registry.getSingleMetric(name)!.get()).values;
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((s, v) => s + v.value, 0);
  }

  it('sends structured-output requests and records tokens and cost for every call', async () => {
    fake.enqueueChat(chatCompletion({ title: 'T' }, { promptTokens: 1200, completionTokens: 300 }));
    const g = gateway({ LLM_PRICES: { 'fake-model': { prompt: 0.5, completion: 1.5 } } });
    const reply = await g.chat(
      request({
        step: 'outline',
        jsonSchema: {
          name: 'outline',
          schema: {
            type: 'object',
            additionalProperties: false,
            required: ['title'],
            properties: { title: { type: 'string' } },
          },
        },
      }),
      scope,
    );
    expect(JSON.parse(reply.content)).toEqual({ title: 'T' });

    const [sent] = fake.chatRequests();
    expect(sent!.headers.authorization).toBe('Bearer sk-test');
    expect(sent!.headers['openai-organization']).toBe('org-test');
    expect(sent!.body).toMatchObject({
      model: 'fake-model',
      max_completion_tokens: 100,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'outline', strict: true, schema: { required: ['title'] } },
      },
    });
    const row = (
      await rt.db.query(
        `SELECT provider, model, step, prompt_tokens, completion_tokens, cost_usd::float ` +
          `AS cost, cached FROM llm_calls ORDER BY id DESC LIMIT 1`,
      )
    ).rows[0];
    expect(row).toEqual({
      provider: 'openai',
      model: 'fake-model',
      step: 'outline',
      prompt_tokens: 1200,
      completion_tokens: 300,
      cost: (1200 * 0.5 + 300 * 1.5) / 1e6,
      cached: false,
    });
  });

  it('turns a 429 into a wait of Retry-After without retrying inside the job', async () => {
    fake.enqueueChat(rateLimited(3));
    const before = await metric('blog_poster_llm_requests_total', { outcome: 'rate_limited' });
    const err = await gateway()
      .chat(request(), scope)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmRateLimitedError);
    expect((err as LlmRateLimitedError).waitMs).toBe(3000);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(await metric('blog_poster_llm_requests_total', { outcome: 'rate_limited' })).toBe(before + 1);
  });

  it('retries 500s and malformed JSON inside the job, then answers', async () => {
    fake.enqueueChat(serverError(500), malformed(), chatCompletion('All good now.'));
    const reply = await gateway().chat(request(), scope);
    expect(reply.content).toBe('All good now.');
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('gives up on persistent 500s with a transient error, which the stage retries with backoff', async () => {
    fake.onChat(() => serverError(503));
    const err = await gateway({ LLM_RETRIES: 1 })
      .chat(request(), scope)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTransientError);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/503/);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('fails a refusal permanently, after recording what it cost', async () => {
    fake.enqueueChat(refusal('I cannot write that.'));
    const before = (await rt.db.query('SELECT count(*)::int AS n FROM llm_calls')).rows[0]!.n;
    const err = await gateway()
      .chat(request(), scope)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmRefusalError);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/I cannot write that/);
    expect(fake.chatRequests()).toHaveLength(1);
    expect((await rt.db.query('SELECT count(*)::int AS n FROM llm_calls')).rows[0]!.n).toBe(before + 1);
  });

  it('fails a reply cut off at the token limit (finish_reason length) permanently', async () => {
    fake.enqueueChat(truncated('The post begins and then'));
    const err = await gateway()
      .chat(request(), scope)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTruncatedError);
    expect((err as Error).message).toMatch(/finish_reason "length"/);
    expect(await metric('blog_poster_llm_requests_total', { outcome: 'truncated' })).toBeGreaterThan(0);
  });

  it('times out a call that never answers', async () => {
    fake.enqueueChat(hang());
    const started = Date.now();
    const err = await gateway({ LLM_TIMEOUT_MS: 300, LLM_RETRIES: 0 })
      .chat(request(), scope)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTransientError);
    expect((err as Error).message).toMatch(/did not answer within 300 ms \(LLM_TIMEOUT_MS\)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a reply its check rejects as unusable (no retry of the same request), and never caches it', async () => {
    fake.enqueueChat(chatCompletion('{"nope": true}'), chatCompletion('{"title": "ok"}'));
    const g = gateway({ LLM_CACHE_TTL_SECONDS: 60 });
    const check = (content: string) => {
      if (!JSON.parse(content).title) throw new Error('no title');
    };
    const req = request({ step: 'metadata' });
    const err = await g.chat(req, scope, check).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnusableReplyError);
    expect((err as Error).message).toBe('the metadata reply was unusable: no title');
    expect(fake.chatRequests()).toHaveLength(1);
    // Another sample (the writer's next try) is a request of its own, cached once it passes.
    const another = { ...req, seed: 1 };
    expect((await g.chat(another, scope, check)).content).toBe('{"title": "ok"}');
    expect(await g.chat(another, scope, check)).toMatchObject({ content: '{"title": "ok"}', cached: true });
    expect(fake.chatRequests()).toHaveLength(2);
    expect(fake.chatRequests()[1]!.body.seed).toBe(1);
  });

  it('answers identical requests from the Redis cache and counts hits and misses', async () => {
    fake.onChat(() => chatCompletion('Cached answer.'));
    const g = gateway({ LLM_CACHE_TTL_SECONDS: 60, LLM_PRICES: { '*': { prompt: 1, completion: 1 } } });
    const hits = await metric('blog_poster_cache_requests_total', { cache: 'llm', result: 'hit' });
    const req = request();
    const first = await g.chat(req, scope);
    const second = await g.chat(req, scope);
    const other = await g.chat({ ...req, temperature: 0.9 }, scope);
    expect([first.cached, second.cached, other.cached]).toEqual([false, true, false]);
    expect(fake.chatRequests()).toHaveLength(2);
    expect(await metric('blog_poster_cache_requests_total', { cache: 'llm', result: 'hit' })).toBe(hits + 1);
    const cachedRow = (
      await rt.db.query(`SELECT cost_usd::float AS cost, cached FROM llm_calls WHERE cached ORDER BY id DESC LIMIT 1`)
    ).rows[0];
    expect(cachedRow).toEqual({ cost: 0, cached: true });
  });

  it(
    'opens the breaker on repeated failures: calls then wait instead of reaching ' +
      'the provider, until it half-opens',
    async () => {
      fake.onChat(() => serverError(500));
      const g = gateway({
        LLM_RETRIES: 0,
        LLM_BREAKER_VOLUME: 2,
        LLM_BREAKER_ERROR_PERCENT: 50,
        LLM_BREAKER_RESET_MS: 700,
      });
      for (let i = 0; i < 2; i++) await expect(g.chat(request(), scope)).rejects.toBeInstanceOf(LlmTransientError);
      const seen = fake.chatRequests().length;
      const waiting = await g.chat(request(), scope).catch((e: unknown) => e);
      expect(waiting).toBeInstanceOf(LlmWaitError);
      expect((waiting as LlmWaitError).scope).toBe('breaker');
      expect((waiting as LlmWaitError).waitMs).toBeGreaterThan(0);
      expect((waiting as LlmWaitError).waitMs).toBeLessThanOrEqual(700);
      expect(fake.chatRequests()).toHaveLength(seen);
      expect(await metric('blog_poster_circuit_breaker_state', { breaker: 'openai' })).toBe(2);

      fake.onChat(() => chatCompletion('Recovered.'));
      await new Promise((r) => setTimeout(r, 800));
      expect((await g.chat(request(), scope)).content).toBe('Recovered.');
      expect(await metric('blog_poster_circuit_breaker_state', { breaker: 'openai' })).toBe(0);
    },
  );

  it('waits for a half-open breaker trial verdict instead of sending the other calls back to the queue', async () => {
    const g = gateway({
      LLM_RETRIES: 0,
      LLM_BREAKER_VOLUME: 2,
      LLM_BREAKER_ERROR_PERCENT: 50,
      LLM_BREAKER_RESET_MS: 500,
    });
    const open = async () => {
      fake.onChat(() => serverError(500));
      for (let i = 0; i < 2; i++) await expect(g.chat(request(), scope)).rejects.toBeInstanceOf(LlmTransientError);
      await new Promise((r) => setTimeout(r, 600)); // half-open: the next call is the trial
      fake.reset();
    };

    // The trial takes a second and passes: the calls behind it wait for that, then go to the endpoint.
    await open();
    fake.onChat(() => ({ ...chatCompletion('After the trial.'), delayMs: 1000 }));
    const trial = g.chat(request(), scope);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const others = await Promise.all([1, 2, 3].map(() => g.chat(request(), scope)));
    expect(others.map((r) => r.content)).toEqual(['After the trial.', 'After the trial.', 'After the trial.']);
    expect((await trial).content).toBe('After the trial.');
    const [first, ...rest] = fake.chatRequests();
    for (const r of rest) expect(r.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);

    // The trial fails: the breaker opens again and the calls behind it wait for its reset, not a second apiece.
    resetBreakers();
    await open();
    fake.onChat(() => ({ ...serverError(500), delayMs: 700 }));
    const failing = g.chat(request(), scope).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const asked = Date.now();
    const waits = await Promise.all([1, 2].map(() => g.chat(request(), scope).catch((e: unknown) => e)));
    expect(Date.now() - asked).toBeGreaterThanOrEqual(600);
    expect(await failing).toBeInstanceOf(LlmTransientError);
    for (const w of waits) {
      expect(w).toBeInstanceOf(LlmWaitError);
      expect((w as LlmWaitError).scope).toBe('breaker');
      expect((w as LlmWaitError).waitMs).toBeGreaterThan(250);
    }
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('shares request and token limits through Redis over a rolling window', async () => {
    const limits = createSharedLimits(rt.redis, {
      prefix: `${t.config.QUEUE_PREFIX}:limits-test`,
      rpm: 3,
      tpm: 1000,
      windowMs: 1000,
    });
    const decisions: Awaited<ReturnType<typeof limits.acquire>>[] = [];
    for (let i = 0; i < 4; i++) decisions.push(await limits.acquire('openai', 'm', 100));
    expect(decisions.slice(0, 3)).toEqual([{ waitMs: 0 }, { waitMs: 0 }, { waitMs: 0 }]);
    expect(decisions[3]).toMatchObject({ limit: 'rpm' });
    expect(decisions[3]!.waitMs).toBeGreaterThan(0);
    expect(decisions[3]!.waitMs).toBeLessThanOrEqual(1300);
    expect(await limits.acquire('openai', 'other-model', 2000)).toEqual({ waitMs: 0 });
    expect(await limits.acquire('openai', 'other-model', 10)).toMatchObject({ limit: 'tpm' });
    await new Promise((r) => setTimeout(r, decisions[3]!.waitMs + 20));
    expect(await limits.acquire('openai', 'm', 100)).toEqual({ waitMs: 0 });
  });

  describe('the concurrency limit of an endpoint (LLM_MAX_CONCURRENCY), shared through Redis', () => {
    const limit = (extra: { leaseMs?: number; redis?: Redis } = {}) =>
      createConcurrencyLimit(extra.redis ?? rt.redis, {
        prefix: `${t.config.QUEUE_PREFIX}:slots-test-${++n}`,
        max: 1,
        pollMaxMs: 100,
        ...(extra.leaseMs ? { leaseMs: extra.leaseMs } : {}),
      });

    it('hands its slots out one at a time, in arrival order', async () => {
      const slots = limit();
      const first = await slots.acquire('endpoint', 5000);
      const order: string[] = [];
      const waiters = ['b', 'c', 'd'].map(async (name, i) => {
        await new Promise((r) => setTimeout(r, 30 * i)); // b asks first, then c, then d
        const slot = await slots.acquire('endpoint', 5000);
        order.push(name);
        await new Promise((r) => setTimeout(r, 50));
        await slot.release();
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(order).toEqual([]);
      await first.release();
      await Promise.all(waiters);
      expect(order).toEqual(['b', 'c', 'd']);
      // Another endpoint has slots of its own.
      await (await slots.acquire('another endpoint', 100)).release();
    });

    it('frees the slot of a worker that died when its lease runs out', async () => {
      const prefix = `${t.config.QUEUE_PREFIX}:slots-test-${++n}`;
      const dying = new Redis(t.config.REDIS_URL);
      await createConcurrencyLimit(dying, { prefix, max: 1, leaseMs: 600 }).acquire('endpoint', 1000);
      // The worker is gone: its connection closes, nothing renews the lease or releases the slot.
      dying.disconnect();
      const slots = createConcurrencyLimit(rt.redis, { prefix, max: 1, leaseMs: 600, pollMaxMs: 100 });
      const started = Date.now();
      const slot = await slots.acquire('endpoint', 5000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(2000);
      await slot.release();
    });

    it('renews the lease of a live holder, so a long call keeps its slot', async () => {
      const prefix = `${t.config.QUEUE_PREFIX}:slots-test-${++n}`;
      const slots = createConcurrencyLimit(rt.redis, { prefix, max: 1, leaseMs: 300, pollMaxMs: 100 });
      const held = await slots.acquire('endpoint', 1000);
      // Three leases long: without renewals the slot would have been handed on.
      const err = await slots.acquire('endpoint', 900).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SlotWaitTimeout);
      expect((err as Error).message).toMatch(/all 1 slot of the model endpoint stayed busy for 900 ms/);
      await held.release();
      await (await slots.acquire('endpoint', 500)).release();
    });

    it('turns a wait longer than LLM_TIMEOUT_MS into a wait of the stage', async () => {
      fake.onChat(async () => ({ ...chatCompletion('Slow.'), delayMs: 1500 }));
      // One worker's call takes 1.5 s; another worker's may take 400 ms, so it waits for a slot no longer.
      const slow = gateway({ LLM_MAX_CONCURRENCY: 1, LLM_TIMEOUT_MS: 3000 }).chat(request(), scope);
      await new Promise((r) => setTimeout(r, 100));
      const waiting = await gateway({ LLM_MAX_CONCURRENCY: 1, LLM_TIMEOUT_MS: 400 })
        .chat(request(), scope)
        .catch((e: unknown) => e);
      expect(waiting).toBeInstanceOf(LlmWaitError);
      expect((waiting as LlmWaitError).scope).toBe('limit');
      // The waiting call never reached the endpoint; the slow one was answered.
      expect(fake.chatRequests()).toHaveLength(1);
      expect((await slow).content).toBe('Slow.');
    });
  });

  it('serves embeddings in the wire format the SDK expects (base64 by default, floats on request)', async () => {
    const client = new OpenAI({ baseURL: fake.url, apiKey: 'sk-test', maxRetries: 0 });
    const base64 = await client.embeddings.create({
      model: 'fake-embedding',
      input: ['alpha', 'beta'],
      dimensions: 16,
    });
    expect(fake.embeddingRequests()[0]!.body.encoding_format).toBe('base64');
    expect(base64.data).toHaveLength(2);
    expect(base64.data[0]!.embedding).toHaveLength(16);
    const floats = await client.embeddings.create({
      model: 'fake-embedding',
      input: 'alpha',
      dimensions: 16,
      encoding_format: 'float',
    });
    floats.data[0]!.embedding.forEach((v, i) => {
      expect(v).toBeCloseTo(base64.data[0]!.embedding[i]!, 5);
    });
    expect(base64.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('reserves each call’s worst case atomically: concurrent calls of one tenant never overshoot its budget', async () => {
    const tenant = (
      await rt.db.query<{ id: string }>(`INSERT INTO tenants (slug, name) VALUES ('budget-race', 'Race') RETURNING id`)
    ).rows[0]!.id;
    const submission = await rt.db.query<{ id: string }>(
      `INSERT INTO submissions (tenant_id, request_hash, correlation_id) VALUES ($1, 'h', 'c') RETURNING id`,
      [tenant],
    );
    const postIds = await Promise.all(
      Array.from(
        { length: 10 },
        async () =>
          (
            await rt.db.query<{ id: string }>(
              `INSERT INTO posts (tenant_id, submission_id, correlation_id) VALUES ($1, $2, 'c') RETURNING id`,
              [tenant, submission.rows[0]!.id],
            )
          ).rows[0]!.id,
      ),
    );
    // Each call may cost up to $0.10 (100 completion tokens at $1,000 per million) and costs exactly that;
    // the month's budget of $0.35 admits three. The model is slow, so all ten calls overlap.
    fake.onChat(async () => ({
      ...chatCompletion('A draft.', { promptTokens: 0, completionTokens: 100 }),
      delayMs: 300,
    }));
    const g = gateway({ LLM_PRICES: { 'fake-model': { prompt: 0, completion: 1000 } } });
    const outcomes = await Promise.allSettled(
      postIds.map((postId) =>
        g.chat(request({ maxTokens: 100 }), { tenantId: tenant, postId, limits: { monthlyBudgetUsd: 0.35 } }),
      ),
    );
    const made = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(made).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const err of refused) expect(err).toBeInstanceOf(BudgetExceededError);
    expect(fake.chatRequests()).toHaveLength(3);
    const { rows } = await rt.db.query<{ spent: number; reserved: number }>(
      `SELECT (SELECT COALESCE(sum(cost_usd), 0)::float FROM llm_calls WHERE tenant_id = $1) AS spent,
              (SELECT count(*)::int FROM llm_reservations WHERE tenant_id = $1) AS reserved`,
      [tenant],
    );
    expect(rows[0]!.spent).toBeCloseTo(0.3, 8);
    expect(rows[0]!.spent).toBeLessThanOrEqual(0.35);
    // Every reservation was settled (replaced by its call) or given back.
    expect(rows[0]!.reserved).toBe(0);
  });

  it('refuses a call with a budget when the model has no price, and gives the reservation back after a failed call', async () => {
    const unpriced = gateway({ LLM_PRICES: {} });
    await expect(unpriced.chat(request(), { ...scope, limits: { monthlyBudgetUsd: 100 } })).rejects.toThrow(
      /has no price \(LLM_PRICES\)/,
    );
    expect(fake.chatRequests()).toHaveLength(0);

    fake.enqueueChat(serverError(), serverError(), serverError());
    const priced = gateway({ LLM_PRICES: { 'fake-model': { prompt: 1, completion: 1 } } });
    await expect(priced.chat(request(), { ...scope, limits: { monthlyBudgetUsd: 100 } })).rejects.toBeInstanceOf(
      LlmTransientError,
    );
    const { rows } = await rt.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM llm_reservations WHERE post_id = $1',
      [scope.postId],
    );
    expect(rows[0]!.n).toBe(0);
  });
});
