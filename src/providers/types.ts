// Contracts between the processors and the providers. Each concern has an offline default
// (see ../../README.md, "Providers") and may gain networked alternatives behind the same shape.

/** A source as the generate stage sees it: already fetched and reduced to text. */
export interface SourceDoc {
  id: string;
  kind: 'text' | 'markdown' | 'url';
  title: string | null;
  url: string | null;
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
}

export interface WriterInput {
  sources: SourceDoc[];
  keywords?: string[];
}

export interface Writer {
  readonly provider: string;
  readonly model: string;
  write(input: WriterInput): Promise<Draft>;
}

export interface Embedder {
  readonly model: string;
  readonly dimension: number;
  embed(texts: string[]): Promise<number[][]>;
}

export interface Chunk {
  position: number;
  heading: string | null;
  text: string;
  tokenCount: number;
}

/** What a publisher receives: the post as stored, nothing more. */
export interface PublishablePost {
  id: string;
  tenantId: string;
  title: string;
  slug: string;
  markdown: string;
  metaDescription: string;
  tags: string[];
  citations: Citation[];
  publishedAt: Date;
}

export interface PublishResult {
  /** Where a reader finds it: a file path for the files publisher, a URL elsewhere. */
  location: string;
  url: string | null;
  externalId: string;
  details: Record<string, unknown>;
}
