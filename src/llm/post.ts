import type { Citation, SourceDoc } from './types.ts';
import { slugify } from '../text/html.ts';
import { markdownLiteral, plainLine, plainText } from '../text/plain-text.ts';
import type { Brief } from './brief.ts';

/** Everything generate stores about a post, whichever writer produced it. */
export type GeneratedPost = {
  title: string;
  metaTitle: string;
  metaDescription: string;
  slug: string;
  /** Markdown body without the H1, ending with the `## Sources` list. */
  markdown: string;
  tags: string[];
  category: string;
  readingTimeMinutes: number;
  heroImage: { prompt: string; alt: string };
  jsonLd: Record<string, unknown>;
  citations: Citation[];
  wordCount: number;
  /** `provider/model` */
  writer: string;
};

export const TITLE_MAX = 60;
export const META_TITLE_MIN = 45;
export const META_TITLE_MAX = 60;
export const META_DESCRIPTION_MIN = 140;
export const META_DESCRIPTION_MAX = 160;
export const TAGS_MAX = 10;
export const WORDS_PER_MINUTE = 230;

export function countWords(markdown: string): number {
  return (markdown.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? []).length;
}

/** The body a reader reads: no Sources list, no citation markers. */
export function readableBody(markdown: string): string {
  return stripSources(markdown).replace(/\s?\[\d+\]/g, '');
}

export function stripSources(markdown: string): string {
  const at = markdown.search(/^## Sources\s*$/m);
  return at === -1 ? markdown : markdown.slice(0, at);
}

export function truncateAtWord(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max + 1).lastIndexOf(' ');
  return (cut > 0 ? clean.slice(0, cut) : clean.slice(0, max)).replace(/[\s,;:–—|-]+$/, '');
}

function titleCase(text: string): string {
  return text.replace(/(^|\s)(\p{Ll})/gu, (_, space: string, c: string) => space + c.toUpperCase());
}

/** A meta title of 45–60 characters: the title, lengthened with the category and tags when it is short. */
export function fitMetaTitle(candidate: string | null, title: string, extras: string[]): string {
  const given = candidate?.replace(/\s+/g, ' ').trim();
  if (given && given.length >= META_TITLE_MIN && given.length <= META_TITLE_MAX) return given;
  let text = truncateAtWord(given || title, META_TITLE_MAX);
  const additions = [...new Set(extras.map((e) => titleCase(e.trim())).filter(Boolean))];
  for (const addition of additions) {
    if (text.length >= META_TITLE_MIN) break;
    if (text.toLowerCase().includes(addition.toLowerCase())) continue;
    const next = text.includes(' | ') ? `${text}, ${addition}` : `${text} | ${addition}`;
    if (next.length <= META_TITLE_MAX) text = next;
  }
  // Still short: a plain descriptor rather than invented content.
  for (const filler of [' | Guide and Sources', ' | A Sourced Overview', ' | Key Facts Explained', ' | Overview']) {
    if (text.length >= META_TITLE_MIN) break;
    if (text.length + filler.length <= META_TITLE_MAX) text += filler;
  }
  return text.length > META_TITLE_MAX ? truncateAtWord(text, META_TITLE_MAX) : text;
}

/**
 * A meta description of 140–160 characters: the candidate when it fits, else whole sentences of the post's own
 * text, cut at a word with an ellipsis when they overrun.
 */
export function fitMetaDescription(candidate: string | null, sentences: string[]): string {
  const given = candidate?.replace(/\s+/g, ' ').trim() ?? '';
  if (given.length >= META_DESCRIPTION_MIN && given.length <= META_DESCRIPTION_MAX) return given;
  let text = given.length > META_DESCRIPTION_MAX ? '' : given;
  for (const sentence of sentences) {
    if (text.length >= META_DESCRIPTION_MIN) break;
    const clean = sentence
      .replace(/\s?\[\d+\]/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (!clean || text.includes(clean)) continue;
    text = text ? `${text} ${clean}` : clean;
  }
  if (!text) text = given;
  if (text.length <= META_DESCRIPTION_MAX) return text;
  const cut = text.slice(0, META_DESCRIPTION_MAX - 1).lastIndexOf(' ');
  return `${text.slice(0, cut > 100 ? cut : META_DESCRIPTION_MAX - 1).replace(/[\s,;:.–—-]+$/, '')}…`;
}

export function fitSlug(candidate: string | null, title: string): string {
  const slug =
    candidate && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(candidate) && candidate.length <= 80 ? candidate : slugify(title, 80);
  return slug;
}

export function fitTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    const t = tag.toLowerCase().replace(/\s+/g, ' ').trim().slice(0, 50);
    if (t && !out.includes(t)) out.push(t);
    if (out.length >= TAGS_MAX) break;
  }
  return out;
}

/** Schema.org BlogPosting for the page head; the publisher adds dates and URLs it alone knows. */
export function blogPostingJsonLd(post: {
  title: string;
  metaDescription: string;
  tags: string[];
  category: string;
  wordCount: number;
  language: string;
  heroImage: { alt: string };
  citations: Citation[];
}): Record<string, unknown> {
  return {
    '@context': 'https://schema.org',
    '@type': 'BlogPosting',
    headline: post.title,
    description: post.metaDescription,
    inLanguage: post.language,
    articleSection: post.category,
    keywords: post.tags.join(', '),
    wordCount: post.wordCount,
    image: { '@type': 'ImageObject', caption: post.heroImage.alt },
    citation: post.citations.map((c) =>
      c.url ? { '@type': 'CreativeWork', name: c.title, url: c.url } : { '@type': 'CreativeWork', name: c.title },
    ),
  };
}

/** Assembles the stored post from what a writer produced, holding every field to its bounds. */
export function finalizePost(input: {
  title: string;
  markdown: string;
  metaTitle?: string | null;
  metaDescription?: string | null;
  slug?: string | null;
  tags: string[];
  category?: string | null;
  heroImage?: { prompt: string; alt: string } | null;
  citations: Citation[];
  brief: Brief;
  writer: string;
  /** Sentences of the post, best first, for a meta description when the writer's does not fit. */
  leadSentences: string[];
}): GeneratedPost {
  // Every field comes from sources or a model: control characters out before they reach a title, a
  // tag, a meta tag, front matter or a feed (see ../text/plain-text.ts).
  const title = truncateAtWord(plainLine(input.title), TITLE_MAX) || 'Untitled post';
  const tags = fitTags(input.tags.map(plainLine));
  const category = plainLine(input.category?.trim() || (input.brief.primaryKeyword ?? tags[0] ?? 'General')).slice(
    0,
    80,
  );
  const markdown = plainText(input.markdown);
  const citations = input.citations.map((c) => ({ ...c, title: plainLine(c.title), url: c.url && plainLine(c.url) }));
  const wordCount = countWords(readableBody(markdown));
  const metaDescription = fitMetaDescription(
    input.metaDescription == null ? null : plainLine(input.metaDescription),
    input.leadSentences.map(plainLine),
  );
  const heroImage =
    input.heroImage?.prompt && input.heroImage.alt
      ? {
          prompt: plainLine(input.heroImage.prompt).trim().slice(0, 1000),
          alt: plainLine(input.heroImage.alt).trim().slice(0, 250),
        }
      : {
          prompt: `An editorial illustration for a blog post titled "${title}"${tags.length ? `, showing ${tags.slice(0, 3).join(', ')}` : ''}; no text in the image.`,
          alt: truncateAtWord(`Illustration for ${title}`, 125),
        };
  const post = {
    title,
    metaTitle: fitMetaTitle(input.metaTitle == null ? null : plainLine(input.metaTitle), title, [category, ...tags]),
    metaDescription,
    slug: fitSlug(input.slug ?? null, title),
    markdown,
    tags,
    category,
    readingTimeMinutes: Math.max(1, Math.round(wordCount / WORDS_PER_MINUTE)),
    heroImage,
    citations,
    wordCount,
    writer: input.writer,
  };
  return { ...post, jsonLd: blogPostingJsonLd({ ...post, language: input.brief.language }) };
}

/**
 * One entry of the Sources list. A source's title and URL come from outside (a page's <title>, a feed):
 * the title is Markdown text shown as itself (no markup, no link of its own), the URL a link destination.
 */
export function sourceLine(c: Citation): string {
  const title = markdownLiteral(c.title);
  return c.url ? `[${title}](<${plainLine(c.url).replace(/[<>\s\\]/g, encodeURIComponent)}>)` : title;
}

/** Markdown for the Sources list, numbered as the citations are. */
export function sourcesSection(citations: Citation[]): string {
  return `## Sources\n\n${citations.map((c, i) => `${i + 1}. ${sourceLine(c)}`).join('\n')}\n`;
}

/** Inserts a paragraph just before the Sources list (or at the end when there is none). */
export function insertBeforeSources(markdown: string, paragraph: string): string {
  const at = markdown.search(/^## Sources\s*$/m);
  if (at === -1) return `${markdown.trimEnd()}\n\n${paragraph}\n`;
  return `${markdown.slice(0, at)}${paragraph}\n\n${markdown.slice(at)}`;
}

export function sourceTitle(source: SourceDoc, index: number): string {
  const title = source.title?.replace(/\s+/g, ' ').trim();
  if (title) return title;
  if (source.url) {
    try {
      return new URL(source.url).hostname;
    } catch {
      return source.url;
    }
  }
  return `Source ${index + 1}`;
}

/** The body's own prose sentences, first paragraph first, markers removed: material for a meta description. */
export function leadSentences(markdown: string): string[] {
  return stripSources(markdown)
    .split(/\n{2,}/)
    .filter((p) => p.trim() && !/^(#|- |\* |\d+\. |>)/.test(p.trim()))
    .flatMap((p) =>
      p
        .replace(/\s?\[\d+\]/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .split(/(?<=[.!?])\s+/),
    );
}
