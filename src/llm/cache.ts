import { createHash } from 'node:crypto';
import { redisKeys } from '../redis-keys.ts';
import type { RedisClient } from '../redis.ts';
import { z } from 'zod';
import { cacheRequestsTotal } from '../metrics.ts';
import type { ChatProvider, ChatReply, ChatRequest } from './types.ts';

const cachedReplySchema = z.object({
  content: z.string(),
  model: z.string(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  finishReason: z.literal('stop'),
});

/**
 * Identical requests (provider, endpoint, model, messages, parameters) are answered from Redis within the TTL.
 * Only replies that passed validation are stored, so a bad answer is never replayed.
 */
export function createLlmCache(redis: RedisClient, opts: { prefix: string; ttlSeconds: number }) {
  const key = (provider: ChatProvider, request: ChatRequest): string => {
    const identity = JSON.stringify([
      provider.name,
      provider.endpoint,
      provider.model,
      request.messages,
      request.jsonSchema ?? null,
      request.maxTokens,
      request.temperature ?? null,
      request.seed ?? null,
    ]);
    return redisKeys(opts.prefix).llmCache(createHash('sha256').update(identity).digest('hex'));
  };
  return {
    enabled: opts.ttlSeconds > 0,
    async get(provider: ChatProvider, request: ChatRequest): Promise<ChatReply | null> {
      if (opts.ttlSeconds <= 0) return null;
      const raw = await redis.get(key(provider, request));
      const parsed = raw ? cachedReplySchema.safeParse(safeJson(raw)) : null;
      cacheRequestsTotal.inc({ cache: 'llm', result: parsed?.success ? 'hit' : 'miss' });
      return parsed?.success ? parsed.data : null;
    },
    async set(provider: ChatProvider, request: ChatRequest, reply: ChatReply): Promise<void> {
      if (opts.ttlSeconds <= 0) return;
      await redis.set(key(provider, request), JSON.stringify(reply), 'EX', opts.ttlSeconds);
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
