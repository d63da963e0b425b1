/**
 * A local stand-in for an OpenAI-compatible API, speaking the real wire format on 127.0.0.1.
 *
 *   const fake = await startFakeOpenAI();           // base URL for the SDK: fake.url (ends in /v1)
 *   fake.enqueueChat(chatCompletion('{"a":1}'), rateLimited(2), serverError());   // answered in order
 *   fake.onChat((req) => chatCompletion(...));       // answers whatever the queue does not
 *   fake.enqueueEmbeddings(...) / fake.onEmbeddings(...)   // the same for POST /v1/embeddings
 *   fake.requests                                    // every request: { path, headers, body, at }
 *   fake.chatRequests() / fake.embeddingRequests()
 *   fake.reset(); await fake.close();
 *
 * Like the real servers it stands in for (llama.cpp, Ollama, vLLM on a small machine), it can be told to
 *
 *   startFakeOpenAI({ slots: 1 })           serve one chat completion at a time (llama.cpp's --parallel 1): the
 *                                           others wait in arrival order, without headers, and one whose client
 *                                           hung up meanwhile is dropped; `chatLatencyMs` is how long each
 *                                           holds its slot
 *   startFakeOpenAI({ contextTokens: n })   have a context of n tokens (llama.cpp's --ctx-size): a longer prompt
 *                                           is answered 400 `exceed_context_size_error`, as llama.cpp does, and
 *                                           a completion stops where the context ends
 *   { delayMs } / { bodyDelayMs }           stall the headers, or send the headers and stall the body
 *
 * Every completion is held to the request's `max_completion_tokens` (or `max_tokens`): a longer reply is cut
 * there and answered with `finish_reason: "length"`. Tokens are counted as characters / `charsPerToken` (4).
 *
 * Endpoints: POST /v1/chat/completions and POST /v1/embeddings (plus GET /v1/models). Anything else is 404 in
 * OpenAI's error shape. Replies are built with the helpers below:
 *
 *   chatCompletion(content, { finishReason, promptTokens, completionTokens, model })   200, `choices[0].message`
 *   refusal(text)            200, `message.refusal` set and `content` null (what structured outputs do)
 *   truncated(content)       200, `finish_reason: "length"`
 *   rateLimited(seconds)     429 with `Retry-After` (and `retry-after-ms`) and an OpenAI error body
 *   serverError(status)      500 (or the status given) with an OpenAI error body
 *   malformed()              200 whose body is not valid JSON
 *   hang()                   never answers (until the client gives up or the server closes)
 *   embeddingsFor(body)      the default embeddings reply: deterministic unit vectors per input, `dimensions`
 *                            honoured (default 8), base64 little-endian float32 when `encoding_format: "base64"`
 *                            (the SDK's default), `usage.prompt_tokens` ≈ characters / 4
 *
 * The default chat reply is `chatCompletion("ok")`; usage tokens default to characters / 4 of the messages and of
 * the content. A handler may be async and may return any `FakeReply`; a reply's `body` may also be a function of
 * the recorded request (that is how `chatCompletion` echoes the requested model).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RecordedRequest = {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (null when it was not JSON). */
  body: any;
  /** Date.now() when the request arrived. */
  at: number;
  /** The server's tokenizer: characters per token. */
  charsPerToken: number;
};

export type FakeReply = {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as it is (so it may be invalid JSON); anything else is JSON-encoded. */
  body?: unknown;
  /** Never answer. */
  hang?: boolean;
  /** Wait this long before answering (no headers meanwhile). */
  delayMs?: number;
  /** Send the headers and the first bytes of the body, then wait this long before the rest. */
  bodyDelayMs?: number;
};

export type Handler = (req: RecordedRequest) => FakeReply | Promise<FakeReply>;

export type FakeOpenAI = {
  /** Base URL for the SDK, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  requests: RecordedRequest[];
  chatRequests(): RecordedRequest[];
  embeddingRequests(): RecordedRequest[];
  enqueueChat(...replies: FakeReply[]): void;
  enqueueEmbeddings(...replies: FakeReply[]): void;
  onChat(handler: Handler): void;
  onEmbeddings(handler: Handler): void;
  /** The most chat completions the server had at once, answered or waiting for a slot, since the last reset. */
  peakChats(): number;
  /** Forgets recorded requests, queued replies and handlers. */
  reset(): void;
  close(): Promise<void>;
};

let counter = 0;

const estimateTokens = (text: string, charsPerToken = 4): number => Math.max(1, Math.ceil(text.length / charsPerToken));

function promptText(body: any): string {
  const messages: unknown[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages
    .map((m: any) => (typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content ?? '')))
    .join('\n');
}

/** A successful chat completion; `content` objects are JSON-encoded (as a structured-output reply is). */
export function chatCompletion(
  content: string | object,
  opts: {
    finishReason?: 'stop' | 'length' | 'content_filter';
    promptTokens?: number;
    completionTokens?: number;
    model?: string;
    refusal?: string | null;
  } = {},
): FakeReply {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  return {
    status: 200,
    body: (req: RecordedRequest) => ({
      id: `chatcmpl-fake-${++counter}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: opts.model ?? req.body?.model ?? 'fake-model',
      system_fingerprint: 'fp_fake',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: opts.refusal ? null : text,
            refusal: opts.refusal ?? null,
            annotations: [],
          },
          logprobs: null,
          finish_reason: opts.finishReason ?? 'stop',
        },
      ],
      usage: usage(
        opts.promptTokens ?? estimateTokens(promptText(req.body), req.charsPerToken),
        opts.completionTokens ?? estimateTokens(text, req.charsPerToken),
      ),
    }),
  };
}

function usage(prompt: number, completion: number) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function refusal(text = "I'm sorry, I can't help with that."): FakeReply {
  return chatCompletion('', { refusal: text });
}

export function truncated(
  content = 'This answer stops in the mid',
  opts: { completionTokens?: number } = {},
): FakeReply {
  return chatCompletion(content, { finishReason: 'length', ...opts });
}

export function rateLimited(retryAfterSeconds = 1): FakeReply {
  return {
    status: 429,
    headers: {
      'retry-after': String(retryAfterSeconds),
      'retry-after-ms': String(Math.round(retryAfterSeconds * 1000)),
    },
    body: {
      error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    },
  };
}

export function serverError(status = 500): FakeReply {
  return {
    status,
    body: {
      error: {
        message: 'The server had an error while processing your request.',
        type: 'server_error',
        param: null,
        code: null,
      },
    },
  };
}

export function malformed(): FakeReply {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: '{"id": "chatcmpl-broken", "choices": [{"message": {"content": "unterminated',
  };
}

export function hang(): FakeReply {
  return { hang: true };
}

/** Deterministic unit vector for a text: the same text always embeds the same way. */
export function fakeEmbedding(text: string, dimension: number): number[] {
  const out: number[] = [];
  let block = 0;
  while (out.length < dimension) {
    const digest = createHash('sha256').update(`${block++}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && out.length < dimension; i += 2) out.push(digest.readInt16LE(i) / 32768);
  }
  const norm = Math.hypot(...out) || 1;
  return out.map((v) => v / norm);
}

export function embeddingsFor(body: any, defaultDimension = 8): FakeReply {
  const inputs: string[] = Array.isArray(body?.input) ? body.input.map(String) : [String(body?.input ?? '')];
  const dimension = Number.isInteger(body?.dimensions) && body.dimensions > 0 ? body.dimensions : defaultDimension;
  const base64 = body?.encoding_format === 'base64';
  return {
    status: 200,
    body: {
      object: 'list',
      model: body?.model ?? 'fake-embedding',
      data: inputs.map((text, index) => {
        const vector = fakeEmbedding(text, dimension);
        return {
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
        };
      }),
      usage: {
        prompt_tokens: inputs.reduce((n, t) => n + estimateTokens(t), 0),
        total_tokens: inputs.reduce((n, t) => n + estimateTokens(t), 0),
      },
    },
  };
}

export type FakeServerOptions = {
  embeddingDimension?: number;
  /** Chat completions served at once; the others queue. Unlimited when unset. */
  slots?: number;
  /** How long each chat completion holds its slot before it is answered. */
  chatLatencyMs?: number;
  /** The model's context in tokens: longer prompts get llama.cpp's 400, completions stop at its end. */
  contextTokens?: number;
  /** The fake tokenizer: characters per token (4). */
  charsPerToken?: number;
};

/** llama.cpp's answer to a prompt beyond its context (tools/server/server-common.cpp). */
export function contextExceeded(promptTokens: number, contextTokens: number): FakeReply {
  return {
    status: 400,
    body: {
      error: {
        code: 400,
        message: 'the request exceeds the available context size, try increasing it',
        type: 'exceed_context_size_error',
        n_prompt_tokens: promptTokens,
        n_ctx: contextTokens,
      },
    },
  };
}

/** Holds a chat completion to `max_completion_tokens` and to the context left after the prompt. */
function limitCompletion(payload: any, request: RecordedRequest, contextTokens: number | undefined): any {
  const choice = payload?.object === 'chat.completion' ? payload.choices?.[0] : null;
  const content = choice?.message?.content;
  if (typeof content !== 'string') return payload;
  const asked = Number(request.body?.max_completion_tokens ?? request.body?.max_tokens);
  let limit = Number.isFinite(asked) && asked > 0 ? asked : Infinity;
  const cpt = request.charsPerToken;
  if (contextTokens) limit = Math.min(limit, contextTokens - estimateTokens(promptText(request.body), cpt));
  if (estimateTokens(content, cpt) <= limit) return payload;
  const cut = content.slice(0, Math.max(0, Math.floor(limit * cpt)));
  return {
    ...payload,
    choices: [{ ...choice, message: { ...choice.message, content: cut }, finish_reason: 'length' }],
    usage: usage(payload.usage?.prompt_tokens ?? 0, Math.max(0, limit)),
  };
}

export async function startFakeOpenAI(opts: FakeServerOptions = {}): Promise<FakeOpenAI> {
  const charsPerToken = opts.charsPerToken ?? 4;
  const requests: RecordedRequest[] = [];
  let chatQueue: FakeReply[] = [];
  let embeddingQueue: FakeReply[] = [];
  let chatHandler: Handler | null = null;
  let embeddingHandler: Handler | null = null;
  const hanging = new Set<ServerResponse>();
  // The slots of a one-request-at-a-time server: a chain of promises, one link per waiting completion.
  let busy = 0;
  const waiting: (() => void)[] = [];
  let openChats = 0;
  let peakChats = 0;
  async function takeSlot(res: ServerResponse): Promise<boolean> {
    if (!opts.slots) return true;
    if (busy >= opts.slots) await new Promise<void>((resolve) => waiting.push(resolve));
    else busy++;
    // Its client hung up while it waited (a timeout): the server drops it, as llama.cpp cancels the task.
    if (res.destroyed || !res.socket || res.socket.destroyed) {
      releaseSlot();
      return false;
    }
    return true;
  }
  function releaseSlot(): void {
    if (!opts.slots) return;
    const next = waiting.shift();
    if (next) next();
    else busy--;
  }

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = null;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      at: Date.now(),
      charsPerToken,
    };
    requests.push(recorded);

    let reply: FakeReply;
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      peakChats = Math.max(peakChats, ++openChats);
      res.on('close', () => openChats--);
      if (!(await takeSlot(res))) return;
      try {
        const promptTokens = estimateTokens(promptText(body), charsPerToken);
        reply =
          opts.contextTokens && promptTokens > opts.contextTokens
            ? contextExceeded(promptTokens, opts.contextTokens)
            : (chatQueue.shift() ?? (chatHandler ? await chatHandler(recorded) : chatCompletion('ok')));
        if (opts.chatLatencyMs) await new Promise((r) => setTimeout(r, opts.chatLatencyMs));
        await send(res, reply, recorded);
      } finally {
        releaseSlot();
      }
      return;
    } else if (req.method === 'POST' && path === '/v1/embeddings') {
      reply =
        embeddingQueue.shift() ??
        (embeddingHandler ? await embeddingHandler(recorded) : embeddingsFor(body, opts.embeddingDimension));
    } else if (req.method === 'GET' && path === '/v1/models') {
      reply = { body: { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }] } };
    } else {
      reply = {
        status: 404,
        body: {
          error: {
            message: `Unknown request URL: ${req.method} ${path}`,
            type: 'invalid_request_error',
            param: null,
            code: 'unknown_url',
          },
        },
      };
    }
    await send(res, reply, recorded);
  });

  async function send(res: ServerResponse, reply: FakeReply, recorded: RecordedRequest): Promise<void> {
    if (reply.hang) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const payload = limitCompletion(
      typeof reply.body === 'function' ? (reply.body as (r: RecordedRequest) => unknown)(recorded) : reply.body,
      recorded,
      opts.contextTokens,
    );
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload ?? {});
    if (res.destroyed) return;
    res.writeHead(reply.status ?? 200, {
      'content-type': 'application/json',
      'x-request-id': `req_fake_${++counter}`,
      ...reply.headers,
    });
    if (reply.bodyDelayMs) {
      res.write(text.slice(0, 1));
      await new Promise((r) => setTimeout(r, reply.bodyDelayMs));
      if (res.destroyed) return;
      res.end(text.slice(1));
    } else res.end(text);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => requests.filter((r) => r.path === '/v1/chat/completions'),
    embeddingRequests: () => requests.filter((r) => r.path === '/v1/embeddings'),
    enqueueChat: (...replies) => void chatQueue.push(...replies),
    enqueueEmbeddings: (...replies) => void embeddingQueue.push(...replies),
    onChat: (handler) => {
      chatHandler = handler;
    },
    onEmbeddings: (handler) => {
      embeddingHandler = handler;
    },
    peakChats: () => peakChats,
    reset() {
      peakChats = openChats;
      requests.length = 0;
      chatQueue = [];
      embeddingQueue = [];
      chatHandler = null;
      embeddingHandler = null;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
