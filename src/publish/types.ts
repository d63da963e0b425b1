// What every publisher receives and returns.

import type { Citation } from '../llm/types.ts';

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
  /** The BCP 47 tag of the language it is written in, when known. */
  language?: string | null;
}

export interface PublishResult {
  /** Where a reader finds it: a file path for the files publisher, a URL elsewhere. */
  location: string;
  url: string | null;
  externalId: string;
  details: Record<string, unknown>;
}
