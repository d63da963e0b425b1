import OpenAI, { APIError } from 'openai';
import { z } from 'zod';
import { correlationHeaders } from '../correlation.ts';
import { PermanentError } from '../errors.ts';
import type { Embedder } from './types.ts';

export type OpenAIEmbedderOptions = {
  model: string;
  dimension: number;
  apiKey?: string;
  baseURL?: string;
  /** Texts per request. */
  batchSize: number;
  /** Send `dimensions` (only models that can shorten their vectors accept it). */
  sendDimensions?: boolean;
  timeoutMs?: number;
};

// What we rely on in the reply; the SDK has already decoded base64 vectors into numbers.
const replySchema = z.object({
  data: z.array(z.object({ index: z.number().int().min(0), embedding: z.array(z.number()) })),
});

/** Statuses a retry cannot fix: a bad request, a bad key, an unknown model. */
const permanentStatuses = new Set([400, 401, 403, 404, 422]);

/**
 * OpenAI-compatible embeddings (OpenAI, Azure, Ollama, vLLM, LM Studio…) through the official SDK, in batches.
 * Every vector must have the configured dimension: the index is built for it, so a mismatch is a configuration
 * error, reported as permanent rather than retried.
 */
export function createOpenAIEmbedder(opts: OpenAIEmbedderOptions): Embedder {
  const client = new OpenAI({
    // Local servers (Ollama, vLLM) take any key; the SDK insists on one.
    apiKey: opts.apiKey ?? 'unused',
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    timeout: opts.timeoutMs ?? 30_000,
    // The stage runner retries with backoff and jitter; the SDK's own retries would multiply them.
    maxRetries: 1,
  });

  async function embedBatch(texts: string[]): Promise<number[][]> {
    let raw: unknown;
    try {
      raw = await client.embeddings.create(
        {
          model: opts.model,
          input: texts,
          ...(opts.sendDimensions ? { dimensions: opts.dimension } : {}),
        },
        { headers: correlationHeaders() },
      );
    } catch (err) {
      if (err instanceof APIError && err.status !== undefined && permanentStatuses.has(err.status)) {
        throw new PermanentError(`embeddings request refused (${err.status}): ${err.message}`);
      }
      throw err;
    }
    const parsed = replySchema.safeParse(raw);
    if (!parsed.success) throw new Error(`embeddings reply is malformed: ${parsed.error.issues[0]?.message}`);
    const vectors = new Array<number[] | undefined>(texts.length);
    for (const item of parsed.data.data) {
      if (item.index < texts.length) vectors[item.index] = item.embedding;
    }
    return Array.from(vectors, (v, i) => {
      if (!v) throw new Error(`embeddings reply has no vector for input ${i}`);
      if (v.length !== opts.dimension) {
        throw new PermanentError(
          `model ${opts.model} returned ${v.length}-dimensional vectors; EMBEDDING_DIMENSION is ${opts.dimension}`,
        );
      }
      return v;
    });
  }

  return {
    model: opts.model,
    dimension: opts.dimension,
    async embed(texts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += opts.batchSize)
        out.push(...(await embedBatch(texts.slice(i, i + opts.batchSize))));
      return out;
    },
  };
}
