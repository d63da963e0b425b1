// Internal links written into a post's Markdown by the index stage. The block is fenced by HTML comments so a
// re-run replaces it instead of adding a second one, and so the embed stage can leave it out of the chunks.

import type { Queryable } from '../db/pool.ts';
import { SOURCES_HEADINGS } from '../text/language.ts';

const START = '<!-- related-posts:start -->';
const END = '<!-- related-posts:end -->';
const BLOCK = /\n*<!-- related-posts:start -->[\s\S]*?<!-- related-posts:end -->\n*/g;
/** A closing references section (in any of the post languages) stays last: links go in front of it. */
const SOURCES_HEADING = new RegExp(
  `^#{2,3}[ \\t]+(${['references', ...SOURCES_HEADINGS].join('|')})[ \\t]*#*[ \\t]*$`,
  'im',
);

export type InternalLink = { title: string; href: string };

export function stripRelatedLinks(markdown: string): string {
  if (!markdown.includes(START)) return markdown;
  return `${markdown.replace(BLOCK, '\n\n').replace(/^\n+/, '').trimEnd()}\n`;
}

export function withRelatedLinks(markdown: string, links: InternalLink[], heading = 'Related posts'): string {
  if (links.length === 0) return stripRelatedLinks(markdown);
  const body = stripRelatedLinks(markdown).trimEnd();
  const block = [
    START,
    `## ${escapeText(heading)}`,
    '',
    ...links.map((l) => `- [${escapeText(l.title)}](<${l.href.replace(/[<>\s]/g, encodeURIComponent)}>)`),
    END,
  ].join('\n');
  const sources = SOURCES_HEADING.exec(body);
  if (!sources) return `${body}\n\n${block}\n`;
  return `${body.slice(0, sources.index).trimEnd()}\n\n${block}\n\n${body.slice(sources.index)}\n`;
}

/** The href of a related post: its published URL, else its slug page beside this one (the files layout). */
export function relatedHref(post: { url: string | null; slug: string | null; postId: string }): string {
  return post.url ?? `./${post.slug ?? post.postId}.html`;
}

function escapeText(text: string): string {
  return text
    .replace(/[\\[\]*_`<>]/g, (c) => `\\${c}`)
    .replace(/\s+/g, ' ')
    .trim();
}

/** Whether post `p` has related-post suggestions, as a column of another query. */
export const hasRelatedColumn = 'EXISTS (SELECT 1 FROM post_links l WHERE l.post_id = p.id) AS has_related';

/**
 * Replaces the post's related-post suggestions (post_links) with `related`, ranked in order; `linked` says whether
 * they were written into the post's body.
 */
export async function saveRelatedPosts(
  db: Queryable,
  postId: string,
  embeddingModel: string,
  linked: boolean,
  related: Array<{ postId: string; score: number }>,
): Promise<void> {
  await db.query('DELETE FROM post_links WHERE post_id = $1', [postId]);
  if (related.length === 0) return;
  await db.query(
    `INSERT INTO post_links (post_id, related_post_id, rank, score, embedding_model, linked)
     SELECT $1, u.id, u.rank, u.score, $2, $3 FROM unnest($4::uuid[], $5::int[], $6::real[]) AS u(id, rank, score)`,
    [
      postId,
      embeddingModel,
      linked,
      related.map((r) => r.postId),
      related.map((_, i) => i + 1),
      related.map((r) => r.score),
    ],
  );
}
