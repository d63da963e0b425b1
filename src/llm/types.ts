// One interface for every chat model: the gateway (./gateway.ts) adds budgets, limits, caching and
// retries around it, so a provider only has to turn a request into one HTTP call.

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** The generation steps; each model call is recorded under one of them. */
export type LlmStep = 'outline' | 'draft' | 'metadata' | 'expansion';

export type ChatRequest = {
  step: LlmStep;
  messages: ChatMessage[];
  /** Structured output: the reply must be JSON matching this schema. */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  maxTokens: number;
  temperature?: number;
  /** Sent only when set: a retry asks for another sample with another seed. */
  seed?: number;
};

export type ChatReply = {
  content: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** `refusal` and `length` replies are still paid for, so the gateway records them before refusing them. */
  finishReason: 'stop' | 'length' | 'refusal' | 'content_filter';
  refusal?: string;
};

export interface ChatProvider {
  /** Label for metrics, breakers and the llm_calls table, e.g. `openai`. */
  readonly name: string;
  readonly model: string;
  /** Distinguishes endpoints in cache keys (two base URLs may serve different models under one name). */
  readonly endpoint: string;
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply>;
  /** Whether the endpoint answers (GET /models): cheap enough for every readiness probe. */
  check?(): Promise<EndpointReport>;
  /** `check` and one completion of one token: the configured model answers (`blog-poster doctor`). */
  probe?(): Promise<EndpointReport>;
}

/** What an endpoint check found; `listed` is null when the server does not list its models. */
export type EndpointReport = { endpoint: string; model: string; listed: boolean | null; answered?: boolean };

// The writer contract: the offline extractive writer (./local-writer.ts) and the model writer (./model-writer.ts).

/** A source as the generate stage sees it: already fetched and reduced to text. */
export interface SourceDoc {
  id: string;
  kind: 'text' | 'markdown' | 'url';
  title: string | null;
  url: string | null;
  /** The site's own name for itself (`og:site_name`), when the page gave one. */
  siteName?: string | null;
  /** Plain text or Markdown; headings (`#`, `##`) are kept when the source had them. */
  text: string;
}

export interface Citation {
  sourceId: string;
  title: string;
  url: string | null;
}

export interface Draft {
  title: string;
  slug: string;
  /** Markdown body, without the H1 (the title is the H1 of every rendering). */
  markdown: string;
  metaDescription: string;
  tags: string[];
  citations: Citation[];
  wordCount: number;
  /** The language the draft is written in (a BCP 47 tag). */
  language?: string;
}

export interface WriterInput {
  sources: SourceDoc[];
  keywords?: string[];
  /** The language to write in (a BCP 47 tag); the offline writer tells it from the sources when not given. */
  language?: string;
}

export interface Writer {
  readonly provider: string;
  readonly model: string;
  write(input: WriterInput): Promise<Draft>;
}
