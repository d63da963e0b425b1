import type { Db } from '../db/pool.ts';
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

/** Store what the page said about its article on the source (a re-run overwrites it). */
export async function saveArticleFacts(db: Db, sourceId: string, facts: ArticleFacts): Promise<void> {
  await db.query(
    `UPDATE sources SET author = $2, published_at = $3, modified_at = $4, canonical_url = $5, lang = $6, site_name = $7,
            lead_image = $8 WHERE id = $1`,
    [
      sourceId,
      facts.author,
      facts.publishedAt,
      facts.modifiedAt,
      facts.canonicalUrl,
      facts.lang,
      facts.siteName,
      facts.leadImage ? JSON.stringify(facts.leadImage) : null,
    ],
  );
}

/** The assignments saveArticleFacts makes, for another UPDATE of the source, its values appended to `params`. */
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
