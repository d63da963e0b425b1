import type { Brief } from '../llm/brief.ts';
import {
  countWords,
  META_DESCRIPTION_MAX,
  META_DESCRIPTION_MIN,
  META_TITLE_MAX,
  META_TITLE_MIN,
  readableBody,
  TAGS_MAX,
  TITLE_MAX,
} from '../llm/post.ts';
import { language } from '../text/language.ts';
import { readability } from './readability.ts';

export type SeoViolation = { rule: string; severity: 'error' | 'warning'; message: string; penalty: number };

export type SeoReport = {
  score: number;
  violations: SeoViolation[];
  /** Rules that could not be applied, and why (a language without a readability formula). */
  notes: string[];
  measures: {
    words: number;
    h1Count: number;
    keywordDensity: number | null;
    internalLinks: number;
    externalLinks: number;
    images: number;
    /** Reading ease on the Flesch scale by the language's formula (named in `readabilityFormula`), or null. */
    readingEase: number | null;
    readabilityFormula: string | null;
    /** School grade by `gradeFormula`, or null where no formula fits the language. */
    grade: number | null;
    gradeFormula: string | null;
  };
};

export type SeoInput = {
  title: string;
  metaTitle: string;
  metaDescription: string;
  slug: string;
  /** Body Markdown without the H1 (the title is rendered as the page's H1). */
  markdown: string;
  tags: string[];
  heroImage: { alt: string } | null;
  brief: Pick<Brief, 'primaryKeyword' | 'minWords' | 'maxWords'>;
  /** Where the site lives: links to it count as internal. */
  siteUrl?: string | null;
  /** The post's language (a BCP 47 tag): it chooses the readability formulas. English when not given. */
  language?: string;
};

export const KEYWORD_DENSITY_MIN = 0.005;
export const KEYWORD_DENSITY_MAX = 0.025;
/** Below this the language's reading ease reads as hard (the INFLESZ scale of Spanish is stricter). */
export const READING_EASE_MIN: Record<string, number> = { en: 30, de: 30, fr: 30, es: 40 };
export const GRADE_MAX = 14;
/** This far outside its bound, readability is an error: the text does not read as prose. */
const READING_EASE_FAR = 30;
const GRADE_FAR = 6;

function occurrences(haystack: string, needle: string): number {
  const words = needle.toLowerCase().match(/[\p{L}\p{N}]+/gu);
  if (!words?.length) return 0;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // Singular and plural count alike ("index fund" matches "index funds").
  const last = escaped.pop()!;
  escaped.push(`${last.length > 3 ? last.replace(/(?:es|s)$/, '') : last}(?:s|es)?`);
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escaped.join('[\\s\\-]+')}(?![\\p{L}\\p{N}])`, 'giu');
  return haystack.match(pattern)?.length ?? 0;
}

/**
 * Lints a post's on-page SEO and scores it 0–100: 100 less the penalty of every violation. Every violation is
 * listed with its rule, so the score can always be explained.
 */
export function lintSeo(post: SeoInput): SeoReport {
  const violations: SeoViolation[] = [];
  const notes: string[] = [];
  const add = (rule: string, severity: SeoViolation['severity'], message: string, penalty?: number): void => {
    violations.push({ rule, severity, message, penalty: penalty ?? (severity === 'error' ? 10 : 4) });
  };
  const body = post.markdown.replace(/```[\s\S]*?```/g, '');
  const page = `# ${post.title}\n\n${body}`;
  const headings = [...page.matchAll(/^(#{1,6})\s+(.+)$/gm)].map((m) => ({ level: m[1]!.length, text: m[2]!.trim() }));

  const h1Count = headings.filter((h) => h.level === 1).length;
  if (h1Count !== 1) add('single-h1', 'error', `the page has ${h1Count} H1 headings; it needs exactly one (the title)`);
  for (let i = 1; i < headings.length; i++) {
    if (headings[i]!.level > headings[i - 1]!.level + 1) {
      add(
        'heading-order',
        'warning',
        `"${headings[i]!.text}" (H${headings[i]!.level}) follows an H${headings[i - 1]!.level}; ` +
          `heading levels should not skip`,
      );
    }
  }

  if (!post.title.trim()) add('title-length', 'error', 'the title is empty');
  else if (post.title.length > TITLE_MAX)
    add('title-length', 'error', `the title has ${post.title.length} characters; at most ${TITLE_MAX}`);
  // Results cut a longer title, with an ellipsis, and a shorter one merely leaves room unused: both are warnings. A
  // long headline with no shorter main part stays whole rather than cut mid-phrase (../llm/post.ts).
  if (!post.metaTitle.trim() || post.metaTitle.length > TITLE_MAX) {
    add(
      'meta-title-length',
      'error',
      `the meta title has ${post.metaTitle.length} characters; ${META_TITLE_MIN}–${META_TITLE_MAX} wanted`,
    );
  } else if (post.metaTitle.length > META_TITLE_MAX) {
    add(
      'meta-title-length',
      'warning',
      `the meta title has ${post.metaTitle.length} characters; results show about ${META_TITLE_MAX} and cut the rest`,
    );
  } else if (post.metaTitle.length < META_TITLE_MIN) {
    add(
      'meta-title-length',
      'warning',
      `the meta title has ${post.metaTitle.length} characters; results show up to ${META_TITLE_MAX}`,
    );
  }
  if (post.metaDescription.length < META_DESCRIPTION_MIN || post.metaDescription.length > META_DESCRIPTION_MAX) {
    add(
      'meta-description-length',
      'error',
      `the meta description has ${post.metaDescription.length} characters; ` +
        `${META_DESCRIPTION_MIN}–${META_DESCRIPTION_MAX} wanted`,
    );
  }
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(post.slug))
    add('slug-format', 'error', `the slug "${post.slug}" must be lowercase letters, digits and single hyphens`);
  if (post.tags.length > TAGS_MAX) add('tag-count', 'warning', `${post.tags.length} tags; at most ${TAGS_MAX}`);

  const text = readableBody(body)
    .replace(/^#{1,6}\s+.*$/gm, '')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`>]/g, '');
  const words = countWords(text);
  if (words < post.brief.minWords)
    add('length', 'warning', `${words} words; the brief asks for at least ${post.brief.minWords}`);
  if (words > post.brief.maxWords)
    add('length', 'warning', `${words} words; the brief asks for at most ${post.brief.maxWords}`);

  let keywordDensity: number | null = null;
  const keyword = post.brief.primaryKeyword;
  if (keyword) {
    const kwWords = keyword.match(/[\p{L}\p{N}]+/gu)?.length ?? 1;
    const count = occurrences(text, keyword);
    keywordDensity = words ? Math.round(((count * kwWords) / words) * 10_000) / 10_000 : 0;
    if (!occurrences(post.title, keyword)) add('keyword-in-title', 'error', `the title does not contain "${keyword}"`);
    const firstParagraph = body.split(/\n{2,}/).find((p) => p.trim() && !p.trim().startsWith('#')) ?? '';
    if (!occurrences(firstParagraph, keyword))
      add('keyword-in-first-paragraph', 'warning', `the first paragraph does not contain "${keyword}"`);
    if (!occurrences(post.metaDescription, keyword))
      add('keyword-in-meta-description', 'warning', `the meta description does not contain "${keyword}"`);
    if (!occurrences(post.metaTitle, keyword))
      add('keyword-in-meta-title', 'warning', `the meta title does not contain "${keyword}"`);
    if (keywordDensity < KEYWORD_DENSITY_MIN || keywordDensity > KEYWORD_DENSITY_MAX) {
      add(
        'keyword-density',
        'warning',
        `"${keyword}" makes up ${(keywordDensity * 100).toFixed(2)}% of the words; ` +
          `${KEYWORD_DENSITY_MIN * 100}–${KEYWORD_DENSITY_MAX * 100}% wanted`,
      );
    }
  }

  const siteHost = post.siteUrl ? safeHost(post.siteUrl) : null;
  let internalLinks = 0;
  let externalLinks = 0;
  for (const m of body.matchAll(/(?<!!)\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
    const host = /^https?:\/\//i.test(m[1]!) ? safeHost(m[1]!) : null;
    if (host === null || host === siteHost) internalLinks++;
    else externalLinks++;
  }
  if (externalLinks === 0) add('external-links', 'warning', 'no external links; link the sources the post draws on');
  if (internalLinks === 0) add('internal-links', 'warning', 'no internal links to other posts on the site');

  const images = [...body.matchAll(/!\[([^\]]*)\]\([^)]*\)/g)];
  for (const image of images) if (!image[1]!.trim()) add('image-alt', 'error', 'an image has no alt text');
  if (post.heroImage && !post.heroImage.alt.trim()) add('image-alt', 'error', 'the hero image has no alt text');

  const lang = language(post.language ?? 'en');
  const r = readability(text, lang.tag);
  if (r.readingEase === null) {
    notes.push(`reading-ease: no readability formula for ${lang.name} (${lang.tag}); the rule was skipped`);
  } else {
    const min = READING_EASE_MIN[r.language!]!;
    if (r.readingEase < min - READING_EASE_FAR)
      // Far outside: run-on or garbled text, which no other rule catches; it weighs twice an error.
      add(
        'reading-ease',
        'error',
        `${r.readingEaseFormula} ${r.readingEase}: far below ${min}; the text does not read as prose`,
        20,
      );
    else if (r.readingEase < min)
      add('reading-ease', 'warning', `${r.readingEaseFormula} ${r.readingEase}; ${min} or more reads comfortably`);
  }
  if (r.grade === null) {
    if (r.readingEase !== null)
      notes.push(`reading-grade: no grade formula for ${lang.name} (${lang.tag}); the rule was skipped`);
  } else if (r.grade > GRADE_MAX + GRADE_FAR) {
    add('reading-grade', 'error', `${r.gradeFormula} ${r.grade}: far above ${GRADE_MAX}`);
  } else if (r.grade > GRADE_MAX) {
    add('reading-grade', 'warning', `${r.gradeFormula} ${r.grade}; ${GRADE_MAX} or lower wanted`);
  }

  return {
    score: Math.max(0, 100 - violations.reduce((n, v) => n + v.penalty, 0)),
    violations,
    notes,
    measures: {
      words,
      h1Count,
      keywordDensity,
      internalLinks,
      externalLinks,
      images: images.length,
      readingEase: r.readingEase,
      readabilityFormula: r.readingEaseFormula,
      grade: r.grade,
      gradeFormula: r.gradeFormula,
    },
  };
}

function safeHost(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}
