import { FURNITURE_LINE } from './boilerplate.ts';
import type { ExtractedArticle } from './extract.ts';

// Whether what extraction found on a page is an article a post can be written from. A page can yield text that is
// not one: a copyright line, a cookie notice, a menu, a "subscribe to read" box, a list of links. Such a source fails
// with the reason instead of becoming a post about a footer.

/** Less article text than this (letters, digits, punctuation) is short... */
const SHORT_TEXT = 400;
/** ...and then too short for its page when the page holds this many times more text. */
const PAGE_RATIO = 10;
/** One sentence of its own (this many words, besides the boilerplate lines) is enough for an article, however short. */
const SENTENCE_WORDS = 5;

function visible(text: string): number {
  return text.replace(/\s+/g, '').length;
}

/**
 * Why extracted text is not an article, or null when it is one: empty, mostly links, made only of copyright,
 * consent, navigation or subscription lines, or too short for the page it came from.
 */
export function notAnArticle(article: Pick<ExtractedArticle, 'markdown' | 'measure'>): string | null {
  const text = article.markdown.trim();
  if (!text) return 'the page has no text';
  const measure = article.measure;
  if (measure && measure.text > 0 && measure.links * 2 > measure.text) return 'its text is mostly links';

  // A line that is neither page furniture nor a bare label (a few words, no sentence).
  const own = text.split('\n').some((line) => {
    const plain = line.replace(/^(#{1,6}|[-*+>]|\d+[.)])\s+/, '').trim();
    return !FURNITURE_LINE.test(plain) && plain.split(/\s+/).length >= SENTENCE_WORDS;
  });
  if (!own) return 'its only text is copyright, consent, navigation or subscription lines';

  const length = measure?.text ?? visible(text);
  if (measure && length < SHORT_TEXT && measure.page > PAGE_RATIO * length)
    return `its text (${length} characters) is too short for the page (${measure.page})`;
  return null;
}
