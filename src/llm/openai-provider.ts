import OpenAI from 'openai';
import { correlationHeaders } from '../correlation.ts';
import { PermanentError } from '../errors.ts';
import { LlmRateLimitedError, LlmTransientError } from './errors.ts';
import type { ChatProvider, ChatReply, ChatRequest } from './types.ts';

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
  const client = new OpenAI({
    baseURL: opts.baseURL ?? null,
    // Local servers (Ollama, LM Studio, vLLM) ignore the key; the SDK refuses to start without one.
    apiKey: opts.apiKey ?? 'unset',
    organization: opts.organization ?? null,
    timeout: opts.timeoutMs,
    maxRetries: 0,
  });
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
        throw classify(err);
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
      if (!content || !content.trim())
        throw new LlmTransientError(`the model returned no content for the ${request.step} step`);
      return { ...base, content, finishReason: 'stop' };
    },
  };
}

/** SDK errors by what the pipeline should do about them. */
function classify(err: unknown): Error {
  if (err instanceof OpenAI.RateLimitError) {
    return new LlmRateLimitedError(`rate limited by the provider: ${err.message}`, retryAfterMs(err.headers) ?? 1000);
  }
  if (err instanceof OpenAI.APIConnectionTimeoutError)
    return new LlmTransientError(`the model call timed out: ${err.message}`);
  if (err instanceof OpenAI.APIUserAbortError) return new LlmTransientError('the model call was aborted');
  if (err instanceof OpenAI.APIConnectionError)
    return new LlmTransientError(`could not reach the model: ${err.message}`);
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    if (status >= 500 || status === 408 || status === 409)
      return new LlmTransientError(`the model endpoint answered ${status}: ${err.message}`);
    // 400, 401, 403, 404, 422: the request or the configuration is wrong; retrying repeats it.
    return new PermanentError(`the model endpoint refused the request (${status}): ${err.message}`);
  }
  // A body that is not JSON (a proxy's error page, a truncated response) is worth another try.
  if (err instanceof SyntaxError)
    return new LlmTransientError(`the model endpoint sent malformed JSON: ${err.message}`);
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
