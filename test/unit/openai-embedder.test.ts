import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { PermanentError } from '../../src/errors.ts';
import { createEmbedding, createVectorIndex } from '../../src/vector/providers.ts';
import { createOpenAIEmbedder } from '../../src/vector/openai-embedder.ts';
import { fakeEmbedding, serverError, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';

describe('OpenAI-compatible embedder', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ embeddingDimension: 16 });
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await fake?.close();
  });

  const make = (extra: Partial<Parameters<typeof createOpenAIEmbedder>[0]> = {}) =>
    createOpenAIEmbedder({
      model: 'text-embedding-3-small',
      dimension: 16,
      apiKey: 'sk-test',
      baseURL: fake.url,
      batchSize: 3,
      ...extra,
    });

  it('embeds in batches, keeping the order of the inputs', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `text number ${i}`);
    const vectors = await make().embed(texts);
    expect(fake.embeddingRequests().map((r) => r.body.input.length)).toEqual([3, 3, 1]);
    vectors.forEach((v, i) => {
      expect(v).toHaveLength(16);
      // The SDK asks for base64 and decodes it into float32 values.
      fakeEmbedding(texts[i]!, 16).forEach((x, j) => {
        expect(v[j]).toBeCloseTo(x, 6);
      });
    });
    expect(fake.embeddingRequests()[0]!.body).not.toHaveProperty('dimensions');
  });

  it('sends dimensions when asked', async () => {
    await make({ dimension: 8, sendDimensions: true }).embed(['short']);
    expect(fake.embeddingRequests()[0]!.body.dimensions).toBe(8);
  });

  it('reports a dimension mismatch and a refused request as permanent', async () => {
    await expect(make({ dimension: 32 }).embed(['x'])).rejects.toThrow(/16-dimensional.*EMBEDDING_DIMENSION is 32/);
    await expect(make({ dimension: 32 }).embed(['x'])).rejects.toBeInstanceOf(PermanentError);
    fake.enqueueEmbeddings({
      status: 401,
      body: {
        error: {
          message: 'Incorrect API key provided',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    });
    await expect(make().embed(['x'])).rejects.toBeInstanceOf(PermanentError);
  });

  it('leaves a server error transient (the stage retries it)', async () => {
    fake.enqueueEmbeddings(serverError(503), serverError(503));
    const err = await make()
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(fake.embeddingRequests()).toHaveLength(2); // one SDK retry, then the stage's backoff takes over
  });

  it('refuses a reply without a vector for every input', async () => {
    fake.enqueueEmbeddings({
      status: 200,
      body: { object: 'list', model: 'm', data: [], usage: { prompt_tokens: 1, total_tokens: 1 } },
    });
    await expect(make().embed(['x'])).rejects.toThrow(/no vector for input 0/);
  });
});

describe('embedding and index configuration', () => {
  it('names the missing variable', () => {
    expect(() => createEmbedding(loadConfig({ EMBEDDING_PROVIDER: 'openai' }))).toThrow(ConfigError);
    expect(() => createEmbedding(loadConfig({ EMBEDDING_PROVIDER: 'openai' }))).toThrow(/EMBEDDING_API_KEY/);
    expect(() => createEmbedding(loadConfig({ EMBEDDING_MODEL: 'nomic-embed-text' }))).toThrow(/EMBEDDING_MODEL/);
    expect(() => createVectorIndex(loadConfig({ VECTOR_INDEX: 'qdrant' }), null as never)).toThrow(/QDRANT_URL/);
    expect(() => loadConfig({ DUPLICATE_THRESHOLD: '1.5' })).toThrow(/DUPLICATE_THRESHOLD/);
    expect(() => loadConfig({ VECTOR_INDEX: 'faiss' })).toThrow(/VECTOR_INDEX/);
  });

  it('keys the cache and the index by model and dimension', () => {
    expect(createEmbedding(loadConfig({})).embeddingModel).toBe('local-hash-v1/384');
    expect(
      createEmbedding(loadConfig({ EMBEDDING_PROVIDER: 'openai', EMBEDDING_API_KEY: 'k', EMBEDDING_DIMENSION: '1536' }))
        .embeddingModel,
    ).toBe('text-embedding-3-small/1536');
  });
});
