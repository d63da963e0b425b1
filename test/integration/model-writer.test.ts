import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import { resolveBrief } from '../../src/llm/brief.ts';
import { LlmContextOverflowError, LlmTruncatedError, LlmUnusableReplyError } from '../../src/llm/errors.ts';
import { createGateway, type CallScope } from '../../src/llm/gateway.ts';
import { writeWithModel } from '../../src/llm/model-writer.ts';
import { createOpenAIProvider } from '../../src/llm/openai-provider.ts';
import { ContextTooSmallError, limitsFor, type ModelLimitsTable } from '../../src/llm/prompt-fit.ts';
import type { SourceDoc } from '../../src/llm/types.ts';
import { createLogger } from '../../src/logger.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { chatCompletion, startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../support/fake-openai.ts';
import { modelWriter, stepOf } from '../support/fake-model-writer.ts';
import { articles } from '../support/source-articles.ts';
import { createTestEnv, type TestEnv } from '../support/harness.ts';
import { modelCallScope } from '../support/model-scope.ts';

// The model writer's steps against a server that behaves like llama.cpp: a context of its own size (a longer
// prompt is a 400), replies held to max_completion_tokens (cut with finish_reason "length").

const promptOf = (req: RecordedRequest): string => String(req.body?.messages?.at(-1)?.content ?? '');
/** Prompt tokens as the fake server counts them. */
const fakeTokens = (req: RecordedRequest, charsPerToken = 4): number =>
  (req.body.messages as { content: string }[]).reduce((n, m) => n + m.content.length, 0) / charsPerToken;

/** A long article: filler paragraphs of other articles around one paragraph about `topic`. */
function longSource(id: string, title: string, topic: string, at: 'start' | 'end', paragraphs = 60): SourceDoc {
  const filler = articles
    .slice(3)
    .flatMap((a) => a.text.split(/\n\s*\n/).filter((p) => p.trim() && !p.startsWith('#')))
    .map((p) => p.trim());
  const body = Array.from({ length: paragraphs }, (_, i) => filler[i % filler.length]!);
  if (at === 'start') body.unshift(topic);
  else body.push(topic);
  return { id, kind: 'text', title, url: null, text: body.join('\n\n') };
}

describe('the model writer against a small local model', () => {
  let t: TestEnv;
  let rt: Runtime;
  let fake: FakeOpenAI;
  let scope: CallScope;
  const heatPumps: SourceDoc = {
    id: 's1',
    kind: 'markdown',
    title: articles[0]!.title,
    url: null,
    text: articles[0]!.text,
  };

  beforeAll(async () => {
    fake = await startFakeOpenAI({ contextTokens: 4096 });
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

  function write(
    sources: SourceDoc[],
    opts: { limits?: ModelLimitsTable; brief?: Record<string, unknown>; server?: FakeOpenAI } = {},
  ) {
    const config = {
      ...t.config,
      LLM_CACHE_TTL_SECONDS: 0,
      LLM_RETRIES: 0,
      LLM_PRICES: { 'fake-model': { prompt: 0, completion: 0 } },
    } as Config;
    const provider = createOpenAIProvider({
      baseURL: (opts.server ?? fake).url,
      apiKey: 'sk-test',
      model: 'fake-model',
      timeoutMs: 5000,
    });
    const gateway = createGateway({ db: rt.db, redis: rt.redis, config, log: rt.logger }, provider);
    return writeWithModel(gateway, scope, {
      sources,
      brief: resolveBrief(undefined, { minWords: 50, maxWords: 600, ...opts.brief }),
      temperature: 0.3,
      limits: limitsFor(opts.limits ?? {}, 'fake-model'),
    });
  }

  it('fits the prompt into the model context: the passages about the topic, some of every source', async () => {
    fake.onChat(modelWriter());
    const sources = [
      longSource(
        'a',
        'Defrost cycles',
        'Heat pumps run a defrost cycle when ice forms on the outdoor coil in humid cold weather.',
        'end',
      ),
      longSource(
        'b',
        'Coil icing',
        'A defrost cycle reverses the heat pump for a few minutes to melt the ice on the coil.',
        'end',
      ),
      longSource('c', 'Other notes', 'Defrost cycles cost a little energy but keep the heat pump efficient.', 'start'),
    ];
    expect(sources.reduce((n, s) => n + s.text.length, 0)).toBeGreaterThan(40_000);

    // Sent whole, as before, the sources are far beyond 4,096 tokens: the server refuses the prompt.
    const whole = createOpenAIProvider({ baseURL: fake.url, model: 'fake-model', timeoutMs: 5000 }).chat({
      step: 'outline',
      messages: [{ role: 'user', content: sources.map((s) => s.text).join('\n\n') }],
      maxTokens: 1500,
    });
    await expect(whole).rejects.toBeInstanceOf(LlmContextOverflowError);
    fake.reset();
    fake.onChat(modelWriter());

    const post = await write(sources, {
      limits: { 'fake-model': { contextTokens: 4096, draftTokens: 1200 } },
      brief: { primaryKeyword: 'defrost cycle' },
    });
    expect(post.title).toBeTruthy();
    const requests = fake.chatRequests();
    expect(requests.map(stepOf)).toEqual(['outline', 'draft', 'metadata']);
    for (const req of requests) {
      // No 400: every prompt and its reply fit the context, by the server's own count.
      expect(fakeTokens(req) + req.body.max_completion_tokens).toBeLessThanOrEqual(4096);
    }
    const outline = promptOf(requests[0]!);
    // Every source is there, each with its passage about the topic, wherever it stood; left-out text is marked.
    expect(outline).toMatch(/^\[1\] Defrost cycles$/m);
    expect(outline).toMatch(/^\[2\] Coil icing$/m);
    expect(outline).toMatch(/^\[3\] Other notes$/m);
    for (const s of sources) expect(outline).toContain(s.text.split('\n\n').find((p) => /defrost/i.test(p)));
    expect(outline).toContain('[…]');
    // The brief's 600 words would ask for 1,360 tokens; draftTokens holds the draft to 1,200.
    expect(requests[1]!.body.max_completion_tokens).toBe(1200);
  });

  it('tries a step once more with fewer sources when the server still refuses the prompt as too long', async () => {
    // A tokenizer that makes 1.5 characters a token (CJK text, figures, URLs): more than the writer counts.
    const dense = await startFakeOpenAI({ contextTokens: 4096, charsPerToken: 1.5 });
    const writer = modelWriter();
    const shortDraft = (req: RecordedRequest) =>
      stepOf(req) === 'draft' ? chatCompletion(`${articles[0]!.text.replace(/^#.*$/gm, '').trim()} [1]`) : writer(req);
    try {
      dense.onChat(shortDraft);
      const sources = [longSource('a', 'Defrost cycles', 'Heat pumps defrost their coils.', 'start')];
      await write(sources, { server: dense, limits: { 'fake-model': { contextTokens: 4096, draftTokens: 1500 } } });
      const [first, second] = dense.chatRequests();
      expect(stepOf(first!)).toBe('outline');
      expect(stepOf(second!)).toBe('outline');
      expect(promptOf(second!).length).toBeLessThan(promptOf(first!).length * 0.75);
      expect(dense.chatRequests().map(stepOf)).toEqual(['outline', 'outline', 'draft', 'draft', 'metadata']);

      // Refused again with fewer sources: the step fails, naming the setting to change.
      dense.reset();
      dense.onChat(shortDraft);
      const err = await write(sources, {
        server: dense,
        limits: { 'fake-model': { contextTokens: 16_000, draftTokens: 1500 } },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LlmContextOverflowError);
      expect((err as Error).message).toMatch(
        /refused the prompt as longer than its context: 400 the request exceeds the available context size.*; set contextTokens for "fake-model" in LLM_MODEL_LIMITS \(now 16000\) to the server's context/,
      );
      expect(dense.chatRequests()).toHaveLength(2);
    } finally {
      await dense.close();
      fake.reset();
    }
  });

  it('says what to change when the context cannot hold a reply and the sources', async () => {
    const err = await write([longSource('a', 'A', 'x', 'start')], {
      limits: { 'fake-model': { contextTokens: 1024, outlineTokens: 1000 } },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextTooSmallError);
    expect((err as Error).message).toMatch(/raise contextTokens for "fake-model" in LLM_MODEL_LIMITS \(now 1024\)/);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('asks once more for a reply cut off at its token limit, with more tokens and another sample', async () => {
    const writer = modelWriter();
    // A draft of about 700 tokens: more than the 560 a 100-word brief asks for, within half as many again.
    const long = articles
      .slice(0, 4)
      .map((a) => a.text.replace(/^#.*$/gm, '').trim())
      .join('\n\n')
      .slice(0, 2800);
    expect(long).toHaveLength(2800);
    fake.onChat((req) => (stepOf(req) === 'draft' ? chatCompletion(`${long} [1]`) : writer(req)));
    const post = await write([heatPumps], { brief: { minWords: 50, maxWords: 100 } });
    const drafts = fake.chatRequests().filter((r) => stepOf(r) === 'draft');
    expect(drafts.map((r) => r.body.max_completion_tokens)).toEqual([560, 840]);
    expect(drafts.map((r) => [r.body.seed, r.body.temperature])).toEqual([
      [undefined, 0.3],
      [1, 0.5],
    ]);
    // Whole: its last words are there.
    expect(post.markdown.replace(/\s+/g, ' ')).toContain(long.slice(-200).replace(/\s+/g, ' '));

    // Cut off again: the step fails, naming the limit to raise.
    fake.reset();
    fake.onChat((req) => (stepOf(req) === 'draft' ? chatCompletion(`${long.repeat(3)} [1]`) : writer(req)));
    const err = await write([heatPumps], { brief: { minWords: 50, maxWords: 100 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTruncatedError);
    expect((err as Error).message).toBe(
      'the draft step was cut off at its token limit twice, at 560 and then 840 ' +
        'tokens (finish_reason "length"); the replies ran past what the step asks ' +
        'for, as a model that repeats itself does',
    );
  });

  it('asks for other samples while a reply is unusable after cleaning, then fails the step with the reason', async () => {
    const writer = modelWriter();
    let drafts = 0;
    fake.onChat((req) =>
      stepOf(req) === 'draft' && drafts++ === 0
        ? chatCompletion('## Heat pumps\n\n## Cold climates\n\n{}')
        : writer(req),
    );
    await write([heatPumps]);
    expect(
      fake
        .chatRequests()
        .filter((r) => stepOf(r) === 'draft')
        .map((r) => r.body.seed),
    ).toEqual([undefined, 1]);

    fake.reset();
    fake.onChat((req) =>
      stepOf(req) === 'outline' ? chatCompletion('Sure! Here is a plan: intro, body, end.') : writer(req),
    );
    const err = await write([heatPumps]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnusableReplyError);
    expect((err as Error).message).toMatch(
      /^the outline step's replies were unusable after 3 tries: the outline reply was unusable: /,
    );
    expect(fake.chatRequests().map((r) => r.body.seed)).toEqual([undefined, 1, 2]);
  });
});
