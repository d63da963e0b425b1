import type { LeadImage } from './page-metadata.ts';

// Queries of the sources table for what ingest learns about a page's article.

export type ArticleFacts = {
  author: string | null;
  publishedAt: string | null;
  modifiedAt: string | null;
  canonicalUrl: string | null;
  lang: string | null;
  siteName: string | null;
  leadImage: LeadImage | null;
};

/**
 * What the page said about its article, as assignments for an UPDATE of its source (a re-run overwrites them), its
 * values appended to `params`.
 */
export function articleFactsSet(facts: ArticleFacts, params: unknown[]): string {
  const n = params.push(
    facts.author,
    facts.publishedAt,
    facts.modifiedAt,
    facts.canonicalUrl,
    facts.lang,
    facts.siteName,
    facts.leadImage ? JSON.stringify(facts.leadImage) : null,
  );
  return `, author = $${n - 6}, published_at = $${n - 5}, modified_at = $${n - 4}, canonical_url = $${n - 3},
            lang = $${n - 2}, site_name = $${n - 1}, lead_image = $${n}`;
}
