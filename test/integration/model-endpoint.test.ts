import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { diagnose } from '../../src/doctor.ts';
import { PermanentError } from '../../src/errors.ts';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import { LlmTransientError } from '../../src/llm/errors.ts';
import { createOpenAIProvider } from '../../src/llm/openai-provider.ts';
import type { ChatRequest } from '../../src/llm/types.ts';
import { createOpenAIEmbedder } from '../../src/vector/openai-embedder.ts';
import { chatCompletion, embeddingsFor, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { createTestEnv, startPipeline, waitFor } from '../support/harness.ts';

// How the service reaches a model endpoint (chat and embeddings) and says what is wrong with one: its own HTTP
// timeouts, errors that name the endpoint, /readyz and `blog-poster doctor`.

const request: ChatRequest = { step: 'draft', messages: [{ role: 'user', content: 'Write.' }], maxTokens: 50 };

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** /readyz once the app's own Redis connection is up (it does not queue commands before). */
function readyz(app: Awaited<ReturnType<typeof startPipeline>>) {
  return waitFor('the Redis check up', async () => {
    const res = await app.get('/readyz');
    return res.body.checks.redis.status === 'up' ? res : null;
  });
}

describe('model endpoints', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ embeddingDimension: 16 });
  });
  afterEach(() => {
    fake.reset();
    resetBreakers();
  });
  afterAll(async () => {
    await fake?.close();
  });

  /** Both endpoints on the fake server, as configured by environment variables. */
  const endpoints = (extra: Record<string, string> = {}): Record<string, string> => ({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: fake.url,
    OPENAI_MODEL: 'fake-model',
    LLM_PRICES: '{"*": {"prompt": 0, "completion": 0}}',
    EMBEDDING_PROVIDER: 'openai',
    EMBEDDING_BASE_URL: fake.url,
    EMBEDDING_MODEL: 'fake-embedding',
    EMBEDDING_DIMENSION: '16',
    ...extra,
  });

  describe('a call may take as long as LLM_TIMEOUT_MS, however long that is', () => {
    // Node's fetch runs on undici's global dispatcher, an Agent that stops waiting for response headers after
    // 300 s and for a silent body after 300 s, whatever timeout the SDK was given. Waiting 300 s per case is not
    // an option, so here the global dispatcher is that same Agent with 300 ms instead: the SDK as it was
    // configured before (Node's fetch) gives up at 300 ms though its timeout is 5 s, while the clients the
    // service makes, with an Agent of their own whose timeouts follow LLM_TIMEOUT_MS, wait for the late answer.
    // undici checks these timeouts on a coarse clock (up to about a second late), hence a stall of 2.5 s.
    const STALL_MS = 2500;
    const previous = getGlobalDispatcher();
    beforeAll(() => setGlobalDispatcher(new Agent({ headersTimeout: 300, bodyTimeout: 300 })));
    afterAll(() => setGlobalDispatcher(previous));

    it('chat: headers that come after the default dispatcher would have given up', async () => {
      const before = new OpenAI({ baseURL: fake.url, apiKey: 'sk-test', timeout: 5000, maxRetries: 0 });
      fake.enqueueChat({ ...chatCompletion('Late.'), delayMs: STALL_MS });
      const err = await before.chat.completions
        .create({ model: 'fake-model', messages: [{ role: 'user', content: 'Write.' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
      expect((err as Error).message).toMatch(/timed out waiting for response headers/);

      const provider = createOpenAIProvider({
        baseURL: fake.url,
        apiKey: 'sk-test',
        model: 'fake-model',
        timeoutMs: 5000,
      });
      fake.enqueueChat({ ...chatCompletion('Late but whole.'), delayMs: STALL_MS });
      const started = Date.now();
      expect((await provider.chat(request)).content).toBe('Late but whole.');
      expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS - 50);
    });

    it('chat: a body that stalls longer than the default dispatcher allows', async () => {
      const before = new OpenAI({ baseURL: fake.url, apiKey: 'sk-test', timeout: 5000, maxRetries: 0 });
      fake.enqueueChat({ ...chatCompletion('Slow body.'), bodyDelayMs: STALL_MS });
      const err = await before.chat.completions
        .create({ model: 'fake-model', messages: [{ role: 'user', content: 'Write.' }] })
        .catch((e: unknown) => e);
      expect((err as { cause?: { code?: string } }).cause?.code).toBe('UND_ERR_BODY_TIMEOUT');

      const provider = createOpenAIProvider({
        baseURL: fake.url,
        apiKey: 'sk-test',
        model: 'fake-model',
        timeoutMs: 5000,
      });
      fake.enqueueChat({ ...chatCompletion('Slow body, whole.'), bodyDelayMs: STALL_MS });
      expect((await provider.chat(request)).content).toBe('Slow body, whole.');
    });

    it('embeddings: the same for the embedding client', async () => {
      const embedder = createOpenAIEmbedder({
        model: 'fake-embedding',
        dimension: 16,
        baseURL: fake.url,
        batchSize: 8,
        timeoutMs: 5000,
      });
      fake.enqueueEmbeddings({ ...embeddingsFor({ input: ['a'], encoding_format: 'base64' }, 16), delayMs: STALL_MS });
      expect((await embedder.embed(['a']))[0]).toHaveLength(16);
      fake.enqueueEmbeddings({
        ...embeddingsFor({ input: ['a'], encoding_format: 'base64' }, 16),
        bodyDelayMs: STALL_MS,
      });
      expect((await embedder.embed(['a']))[0]).toHaveLength(16);
    });

    it('and no longer than LLM_TIMEOUT_MS: the SDK times the call out, naming the endpoint and the setting', async () => {
      const provider = createOpenAIProvider({
        baseURL: fake.url,
        apiKey: 'sk-test',
        model: 'fake-model',
        timeoutMs: 600,
      });
      fake.enqueueChat({ ...chatCompletion('Too late.'), delayMs: 2000 });
      const started = Date.now();
      const err = await provider.chat(request).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LlmTransientError);
      expect((err as Error).message).toBe(`the model at ${fake.url} did not answer within 600 ms (LLM_TIMEOUT_MS)`);
      expect(Date.now() - started).toBeLessThan(1500);
    });
  });

  it('names the endpoint and the cause when it cannot be reached', async () => {
    const port = await closedPort();
    const provider = createOpenAIProvider({
      baseURL: `http://127.0.0.1:${port}/v1`,
      apiKey: 'sk-test',
      model: 'fake-model',
      timeoutMs: 2000,
    });
    const err = await provider.chat(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTransientError);
    expect((err as Error).message).toBe(
      `could not reach the model at http://127.0.0.1:${port}/v1: connect ECONNREFUSED 127.0.0.1:${port}`,
    );

    const embedder = createOpenAIEmbedder({
      model: 'fake-embedding',
      dimension: 16,
      baseURL: `http://127.0.0.1:${port}/v1`,
      batchSize: 8,
    });
    await expect(embedder.embed(['x'])).rejects.toThrow(
      `could not reach the embedding model at http://127.0.0.1:${port}/v1: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('never shows credentials written into a base URL', async () => {
    const provider = createOpenAIProvider({
      baseURL: 'http://user:secret@127.0.0.1:9/v1',
      apiKey: 'sk-test',
      model: 'fake-model',
      timeoutMs: 2000,
    });
    const err = (await provider.chat(request).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^could not reach the model at http:\/\/127\.0\.0\.1:9\/v1: /);
    expect(err.message).not.toMatch(/secret/);
  });

  it('names the endpoint and what to check when it refuses the request', async () => {
    const provider = createOpenAIProvider({
      baseURL: fake.url,
      apiKey: 'sk-wrong',
      model: 'fake-model',
      timeoutMs: 2000,
    });
    fake.enqueueChat({
      status: 401,
      body: {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
      },
    });
    const err = await provider.chat(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(
      `the model at ${fake.url} refused the request (401): 401 Incorrect API key provided (check OPENAI_API_KEY)`,
    );
  });

  describe('/readyz', () => {
    it('checks the model and embedding endpoints: an outage degrades, a wrong dimension is not ready', async () => {
      const port = await closedPort();
      const t = await createTestEnv(endpoints({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }));
      const app = await startPipeline(t, { workers: false });
      try {
        const degraded = await readyz(app);
        expect(degraded.status).toBe(200);
        expect(degraded.body.status).toBe('degraded');
        expect(degraded.body.checks.model).toMatchObject({
          status: 'down',
          critical: false,
          error: `could not reach the model at http://127.0.0.1:${port}/v1: connect ECONNREFUSED 127.0.0.1:${port}`,
        });
        expect(degraded.body.checks.embeddings).toMatchObject({
          status: 'up',
          endpoint: fake.url,
          model: 'fake-embedding',
          dimension: 16,
        });
      } finally {
        await app.stop();
        await t.cleanup();
      }

      const wrong = await createTestEnv(endpoints({ LLM_PROVIDER: 'local', EMBEDDING_DIMENSION: '384' }));
      const app2 = await startPipeline(wrong, { workers: false });
      try {
        const notReady = await readyz(app2);
        expect(notReady.status).toBe(503);
        expect(notReady.body.checks.embeddings).toMatchObject({ status: 'down', critical: true });
        expect(notReady.body.checks.embeddings.error).toMatch(
          /returned 16-dimensional vectors; EMBEDDING_DIMENSION is 384/,
        );
        expect(notReady.body.checks).not.toHaveProperty('model');
      } finally {
        await app2.stop();
        await wrong.cleanup();
      }
    });
  });

  describe('blog-poster doctor', () => {
    const env = (extra: Record<string, string>) => loadConfig(endpoints(extra));

    it('passes when both endpoints answer as configured, having asked the model for one token', async () => {
      const findings = await diagnose(env({}));
      expect(findings).toEqual([
        { check: 'model', ok: true, detail: `fake-model at ${fake.url} answers (listed)` },
        {
          check: 'embeddings',
          ok: true,
          detail: `fake-embedding at ${fake.url} answers with 16-dimensional vectors, as EMBEDDING_DIMENSION says`,
        },
      ]);
      expect(fake.chatRequests().map((r) => r.body.max_completion_tokens)).toEqual([1]);
    });

    it('names what to fix: an unreachable model and a wrong dimension', async () => {
      const port = await closedPort();
      const findings = await diagnose(
        env({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, EMBEDDING_DIMENSION: '768' }),
      );
      expect(findings[0]).toMatchObject({
        check: 'model',
        ok: false,
        detail: `could not reach the model at http://127.0.0.1:${port}/v1: connect ECONNREFUSED 127.0.0.1:${port}`,
      });
      expect(findings[0]!.fix).toMatch(/OPENAI_BASE_URL/);
      expect(findings[1]).toMatchObject({ check: 'embeddings', ok: false });
      expect(findings[1]!.fix).toMatch(/^set EMBEDDING_DIMENSION=16 /);
    });

    it('exits 1 from the command line, printing each finding', async () => {
      const main = fileURLToPath(new URL('../../bin/main.ts', import.meta.url));
      const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [main, 'doctor'],
          {
            env: { PATH: process.env.PATH, ...endpoints({ EMBEDDING_DIMENSION: '32' }) },
          },
          (_err, stdout) => resolve({ code: child.exitCode, stdout }),
        );
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^ok {4}model {7}fake-model at .* answers/m);
      expect(run.stdout).toMatch(/^FAIL {2}embeddings {2}model fake-embedding .* returned 16-dimensional vectors/m);
      expect(run.stdout).toMatch(/fix: set EMBEDDING_DIMENSION=16/);
      expect(run.stdout).toMatch(/1 of 2 checks failed: embeddings/);
    });
  });
});
