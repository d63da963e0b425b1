import type OpenAI from 'openai';
import { correlationHeaders } from '../correlation.ts';
import { PermanentError } from '../errors.ts';
import { openai } from '../heavy-deps.ts';
import { LlmContextOverflowError, LlmRateLimitedError, LlmTransientError } from './errors.ts';
import { connectionCause, displayEndpoint, isContextOverflow, modelTransport, statusHint } from './transport.ts';
import type { ChatProvider, ChatReply, ChatRequest, EndpointReport } from './types.ts';

export type OpenAIProviderOptions = {
  baseURL?: string | undefined;
  apiKey?: string | undefined;
  organization?: string | undefined;
  model: string;
  timeoutMs: number;
};

/**
 * Chat completions through the official SDK, so any OpenAI-compatible endpoint works by its base URL (OpenAI,
 * Azure OpenAI's v1 API, Ollama, vLLM, LM Studio). The SDK's own retries are off: the gateway decides what to
 * retry, and a 429 must reach the queue rather than sleep inside the job.
 */
export function createOpenAIProvider(opts: OpenAIProviderOptions): ChatProvider {
  const OpenAI = openai();
  const client = new OpenAI({
    baseURL: opts.baseURL ?? null,
    // Local servers (Ollama, LM Studio, vLLM) ignore the key; the SDK refuses to start without one.
    apiKey: opts.apiKey ?? 'unset',
    organization: opts.organization ?? null,
    timeout: opts.timeoutMs,
    maxRetries: 0,
    ...modelTransport(opts.timeoutMs),
  });
  const where = { endpoint: displayEndpoint(client.baseURL), model: opts.model, timeoutMs: opts.timeoutMs };
  return {
    name: 'openai',
    model: opts.model,
    endpoint: client.baseURL,
    async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> {
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model: opts.model,
            messages: request.messages,
            max_completion_tokens: request.maxTokens,
            temperature: request.temperature ?? null,
            ...(request.seed !== undefined ? { seed: request.seed } : {}),
            ...(request.jsonSchema
              ? {
                  response_format: {
                    type: 'json_schema',
                    json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema, strict: true },
                  },
                }
              : {}),
          },
          // The submission's id as X-Request-Id, so the endpoint's logs (a gateway, vLLM, a proxy) join ours.
          { signal: signal ?? null, headers: correlationHeaders() },
        );
      } catch (err) {
        throw classify(err, where);
      }
      const choice = completion.choices?.[0];
      if (!choice) throw new LlmTransientError('the model answered without a choice');
      const message = choice.message;
      const base = {
        model: completion.model || opts.model,
        promptTokens: completion.usage?.prompt_tokens ?? 0,
        completionTokens: completion.usage?.completion_tokens ?? 0,
      };
      if (message?.refusal) return { ...base, content: '', finishReason: 'refusal', refusal: message.refusal };
      if (choice.finish_reason === 'content_filter' || choice.finish_reason === 'length') {
        return { ...base, content: message?.content ?? '', finishReason: choice.finish_reason };
      }
      const content = message?.content;
      if (!content?.trim()) throw new LlmTransientError(`the model returned no content for the ${request.step} step`);
      return { ...base, content, finishReason: 'stop' };
    },

    async check(): Promise<EndpointReport> {
      let listed: boolean | null = null;
      try {
        const models = await client.models.list({ timeout: Math.min(opts.timeoutMs, 5_000) });
        listed = models.data.some((m) => m.id === opts.model);
      } catch (err) {
        // A server without GET /models (some proxies) still answered: reachable, listing unknown.
        if (!(err instanceof OpenAI.NotFoundError)) throw classify(err, where);
      }
      return { endpoint: where.endpoint, model: opts.model, listed };
    },

    async probe(): Promise<EndpointReport> {
      const report = await this.check!();
      try {
        // One token: the model is there and answers, whatever the listing said (llama.cpp serves any name).
        await client.chat.completions.create({
          model: opts.model,
          messages: [{ role: 'user', content: 'Reply with OK.' }],
          max_completion_tokens: 1,
        });
      } catch (err) {
        throw classify(err, where);
      }
      return { ...report, answered: true };
    },
  };
}

type Where = { endpoint: string; model: string; timeoutMs: number };

/** SDK errors by what the pipeline should do about them, each naming the endpoint. */
function classify(err: unknown, where: Where): Error {
  const OpenAI = openai();
  const at = `the model at ${where.endpoint}`;
  if (err instanceof OpenAI.RateLimitError) {
    return new LlmRateLimitedError(`rate limited by ${at}: ${err.message}`, retryAfterMs(err.headers) ?? 1000);
  }
  if (err instanceof OpenAI.APIConnectionTimeoutError)
    return new LlmTransientError(`${at} did not answer within ${where.timeoutMs} ms (LLM_TIMEOUT_MS)`);
  if (err instanceof OpenAI.APIUserAbortError) return new LlmTransientError(`the call to ${at} was aborted`);
  if (err instanceof OpenAI.APIConnectionError)
    return new LlmTransientError(`could not reach ${at}: ${connectionCause(err)}`);
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    if (isContextOverflow(err))
      return new LlmContextOverflowError(`${at} refused the prompt as longer than its context: ${err.message}`);
    if (status >= 500 || status === 408 || status === 409)
      return new LlmTransientError(`${at} answered ${status}: ${err.message}`);
    // 400, 401, 403, 404, 422: the request or the configuration is wrong; retrying repeats it.
    const hint = statusHint(status, { key: 'OPENAI_API_KEY', model: where.model, modelKey: 'OPENAI_MODEL' });
    return new PermanentError(`${at} refused the request (${status}): ${err.message}${hint}`);
  }
  // A body that is not JSON (a proxy's error page, a truncated response) is worth another try.
  if (err instanceof SyntaxError) return new LlmTransientError(`${at} sent malformed JSON: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** `retry-after-ms`, then `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined): number | null {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const value = headers?.get('retry-after');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
