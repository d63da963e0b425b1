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
  /** The page's `<title>` (45–60 characters), when generate wrote one; else the title. */
  metaTitle?: string | null;
  tags: string[];
  citations: Citation[];
  publishedAt: Date;
  /** The BCP 47 tag of the language it is written in, when known. */
  language?: string | null;
  /** The schema.org BlogPosting generate wrote, embedded in the page as JSON-LD. */
  jsonLd?: Record<string, unknown> | null;
  /** The featured image: written beside the page, shown with its size, and the social cards' image. */
  image?: {
    data: Uint8Array;
    contentType: string;
    filename: string;
    alt: string;
    width: number;
    height: number;
    credit: { text: string; url: string } | null;
  } | null;
}

export interface PublishResult {
  /** Where a reader finds it: a file path for the files publisher, a URL elsewhere. */
  location: string;
  url: string | null;
  externalId: string;
  details: Record<string, unknown>;
}
