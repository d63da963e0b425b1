import { z } from 'zod';
import { correlationHeaders } from '../correlation.ts';
import { PermanentError } from '../errors.ts';
import { openai } from '../heavy-deps.ts';
import { connectionCause, displayEndpoint, modelTransport, statusHint } from '../llm/transport.ts';
import type { Embedder, EmbedderReport } from './types.ts';

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

/** The endpoint's vectors are not of the dimension the index is built for (EMBEDDING_DIMENSION). */
export class EmbeddingDimensionError extends PermanentError {
  readonly actual: number;
  constructor(message: string, actual: number) {
    super(message);
    this.actual = actual;
  }
}

/** Statuses a retry cannot fix: a bad request, a bad key, an unknown model. */
const permanentStatuses = new Set([400, 401, 403, 404, 422]);

/**
 * OpenAI-compatible embeddings (OpenAI, Azure, Ollama, vLLM, LM Studio…) through the official SDK, in batches.
 * Every vector must have the configured dimension: the index is built for it, so a mismatch is a configuration
 * error, reported as permanent rather than retried.
 */
export function createOpenAIEmbedder(opts: OpenAIEmbedderOptions): Embedder {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const OpenAI = openai();
  const { APIError } = OpenAI;
  const client = new OpenAI({
    // Local servers (Ollama, vLLM) take any key; the SDK insists on one.
    apiKey: opts.apiKey ?? 'unused',
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    timeout: timeoutMs,
    // The stage runner retries with backoff and jitter; the SDK's own retries would multiply them.
    maxRetries: 1,
    ...modelTransport(timeoutMs),
  });
  const endpoint = displayEndpoint(client.baseURL);
  const at = `the embedding model at ${endpoint}`;

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
        const hint = statusHint(err.status, {
          key: 'EMBEDDING_API_KEY',
          model: opts.model,
          modelKey: 'EMBEDDING_MODEL',
        });
        throw new PermanentError(`${at} refused the request (${err.status}): ${err.message}${hint}`);
      }
      if (err instanceof OpenAI.APIConnectionTimeoutError)
        throw new Error(`${at} did not answer within ${timeoutMs} ms (EMBEDDING_TIMEOUT_MS)`, { cause: err });
      if (err instanceof OpenAI.APIConnectionError)
        throw new Error(`could not reach ${at}: ${connectionCause(err)}`, { cause: err });
      if (err instanceof APIError) throw new Error(`${at} answered ${err.status}: ${err.message}`, { cause: err });
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
        throw new EmbeddingDimensionError(
          `model ${opts.model} at ${endpoint} returned ${v.length}-dimensional vectors; ` +
            `EMBEDDING_DIMENSION is ${opts.dimension} (set it to ${v.length}, or choose ` +
            `a model of ${opts.dimension} dimensions)`,
          v.length,
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
    async check(): Promise<EmbedderReport> {
      try {
        await client.models.list({ timeout: Math.min(timeoutMs, 5_000) });
      } catch (err) {
        if (err instanceof OpenAI.APIConnectionError) throw new Error(`could not reach ${at}: ${connectionCause(err)}`);
        if (err instanceof APIError && (err.status === 401 || err.status === 403))
          throw new PermanentError(
            `${at} refused the request (${err.status}): ${err.message}` +
              statusHint(err.status, { key: 'EMBEDDING_API_KEY', model: opts.model, modelKey: 'EMBEDDING_MODEL' }),
          );
        // Any other answer (a server without GET /models) means it is there.
      }
      return { endpoint, model: opts.model, dimension: null };
    },
    async probe(): Promise<EmbedderReport> {
      // One short text: the model answers, with vectors of the configured dimension (embedBatch checks).
      const [vector] = await embedBatch(['blog-poster readiness check']);
      return { endpoint, model: opts.model, dimension: vector!.length };
    },
  };
}
