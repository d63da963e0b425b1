import type { ClientOptions } from 'openai';
import { openai, undici } from '../heavy-deps.ts';

// How the OpenAI SDK clients (chat and embeddings) reach a model endpoint, and how a failure to reach one is
// told to the operator.

/**
 * The SDK's `fetch` and `fetchOptions` for calls that may take `timeoutMs`. Node's own fetch gives up after 300 s
 * without response headers (and after 300 s of a silent body) whatever the SDK's timeout, and a CPU-bound local
 * model can take longer than that to answer a long prompt. So each client gets its own undici Agent whose header
 * and body timeouts lie just past the SDK's, which then decides when a call has taken too long; undici's own
 * fetch goes with it, since an Agent of one undici version may not drive another version's fetch.
 */
export function modelTransport(timeoutMs: number): Required<Pick<ClientOptions, 'fetch' | 'fetchOptions'>> {
  const limit = timeoutMs + 5_000;
  return {
    // The same function; undici's Request type is a newer revision of the one the SDK's types name.
    fetch: undici().fetch as unknown as NonNullable<ClientOptions['fetch']>,
    fetchOptions: { dispatcher: new (undici().Agent)({ headersTimeout: limit, bodyTimeout: limit }) },
  };
}

/** A base URL as it may be shown in errors and reports: no user name, password or query. */
export function displayEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(an invalid URL)';
  }
}

/** The innermost cause of a connection failure, e.g. "connect ECONNREFUSED 127.0.0.1:9". */
export function connectionCause(err: unknown): string {
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const inner: unknown =
      current instanceof AggregateError && current.errors.length > 0 ? current.errors[0] : current.cause;
    if (!(inner instanceof Error)) break;
    if (inner.message) message = inner.message;
    else if ((inner as NodeJS.ErrnoException).code) message = String((inner as NodeJS.ErrnoException).code);
    current = inner;
  }
  // A URL with credentials in it (which fetch refuses) must not carry them into a log line.
  return message.replace(/\/\/[^/@\s]+@/g, '//');
}

/** Where the SDK's errors point an operator: what to fix, by status. */
export function statusHint(status: number, setting: { key: string; model: string; modelKey: string }): string {
  if (status === 401) return ` (check ${setting.key})`;
  if (status === 403) return ` (the key in ${setting.key} may not use ${setting.model})`;
  if (status === 404)
    return ` (is the model "${setting.model}" (${setting.modelKey}) served there, and the base URL right?)`;
  return '';
}

/** Whether an SDK error is the endpoint answering "this prompt does not fit my context" (llama.cpp, vLLM, OpenAI). */
export function isContextOverflow(err: unknown): boolean {
  if (!(err instanceof openai().APIError) || err.status !== 400) return false;
  const body = err.error as { type?: unknown; code?: unknown } | undefined;
  const kind = `${String(body?.type ?? '')} ${String(body?.code ?? err.code ?? '')}`;
  return (
    /exceed_context_size|context_length_exceeded/.test(kind) ||
    /context (size|length|window)|maximum context|too many tokens|prompt is too long/i.test(err.message)
  );
}
