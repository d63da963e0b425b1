import type SanitizeHtml from 'sanitize-html';
import { sanitize } from '../heavy-deps.ts';
import { Marked } from 'marked';

const ABSOLUTE_HTTP = /^\s*https?:/i;
const LINK_REL = 'noopener noreferrer nofollow';

const SANITIZE_OPTIONS: SanitizeHtml.IOptions = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'br',
    'hr',
    'div',
    'span',
    'ul',
    'ol',
    'li',
    'dl',
    'dt',
    'dd',
    'blockquote',
    'pre',
    'code',
    'kbd',
    'samp',
    'a',
    'img',
    'figure',
    'figcaption',
    'table',
    'caption',
    'thead',
    'tbody',
    'tfoot',
    'tr',
    'th',
    'td',
    'em',
    'strong',
    'b',
    'i',
    'u',
    's',
    'del',
    'ins',
    'mark',
    'small',
    'sub',
    'sup',
    'abbr',
    'cite',
    'q',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    ol: ['start'],
    th: ['colspan', 'rowspan', 'align'],
    td: ['colspan', 'rowspan', 'align'],
    abbr: ['title'],
    code: ['class'],
  },
  // Only the language hint marked puts on fenced code survives.
  allowedClasses: { code: ['language-*'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  // `//host/path` would silently inherit the page's scheme; require an explicit one.
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => {
      const href = attribs.href;
      if (href !== undefined && ABSOLUTE_HTTP.test(href)) return { tagName, attribs: { ...attribs, rel: LINK_REL } };
      return { tagName, attribs };
    },
  },
};

/** Sanitise untrusted HTML down to an allowlist suited to blog posts. */
export function sanitizeHtml(html: string): string {
  return sanitize()(html, SANITIZE_OPTIONS);
}

// A private instance, so options set elsewhere on the global `marked` cannot change our output.
const markdown = new Marked({ gfm: true, async: false });

/** Render Markdown (GFM) to HTML and sanitise the result; raw HTML inside the Markdown is sanitised too. */
export function markdownToSafeHtml(source: string): string {
  const html = markdown.parse(source, { async: false });
  return sanitizeHtml(html);
}

// Letters that NFKD does not decompose into an ASCII base letter plus combining marks.
const SPECIAL_FOLDS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ı: 'i',
  ŧ: 't',
  ħ: 'h',
};

// German writes a vowel with its umlaut as the vowel and an e when the dots cannot be had:
// "Wärmepumpe" → "waermepumpe". Elsewhere the accent is dropped: "café" → "cafe", "pingüino" → "pinguino".
const UMLAUT_FOLDS: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'Ae', Ö: 'Oe', Ü: 'Ue' };
const UMLAUT_LANGUAGES = new Set(['de', 'gsw', 'lb']);

/**
 * A URL-safe slug: lowercase ASCII letters, digits and single dashes, at most `maxLength`, never empty. Letters
 * are transliterated the way the text's language (a BCP 47 tag) writes them without accents.
 */
export function slugify(text: string, maxLength = 80, lang?: string | null): string {
  const code = lang?.split('-')[0]?.toLowerCase();
  const composed = text.normalize('NFC');
  const folded = (
    code && UMLAUT_LANGUAGES.has(code) ? composed.replace(/[äöüÄÖÜ]/g, (c) => UMLAUT_FOLDS[c]!) : composed
  )
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæœøđðłþıŧħ]/g, (c) => SPECIAL_FOLDS[c] ?? '');
  let slug = folded.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  const limit = Math.max(1, Math.floor(maxLength));
  if (slug.length > limit) {
    // Cut at the last word boundary that fits; a single over-long word is cut hard.
    const cut = slug.slice(0, limit + 1).lastIndexOf('-');
    slug = (cut > 0 ? slug.slice(0, cut) : slug.slice(0, limit)).replace(/-+$/, '');
  }
  return slug === '' ? 'post' : slug;
}

// Markdown text with the markup taken out: for source text and written posts, before they are stored,
// so the Markdown file, feed summaries and excerpts carry no HTML either (the HTML page is sanitised
// by markdownToSafeHtml). Tags are dropped with their text kept, except script-like elements, which go
// whole; links and images keep their text but lose URLs that are not http(s), mailto or relative.

const TEXT_ONLY: SanitizeHtml.IOptions = {
  allowedTags: [],
  allowedAttributes: {},
  disallowedTagsMode: 'discard',
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'iframe',
    'svg',
    'math',
    'object',
    'embed',
    'template',
    'title',
    'head',
  ],
  // `<circle/>` inside an SVG must close itself, or the text after the SVG would be taken for its content.
  parser: { recognizeSelfClosing: true },
};

const SAFE_URL = /^(?:https?:|mailto:|[^:]*$)/i;

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);?/gi, (_m, hex: string) =>
      String.fromCodePoint(Math.min(Number.parseInt(hex, 16), 0x10ffff)),
    )
    .replace(/&#(\d+);?/g, (_m, dec: string) => String.fromCodePoint(Math.min(Number.parseInt(dec, 10), 0x10ffff)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');
}

/** A URL as a Markdown renderer would read it: entities decoded, whitespace and control characters gone. */
function urlIsSafe(url: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a renderer drops from a URL
  return SAFE_URL.test(decodeEntities(url).replace(/[\u0000-\u0020\u007f]+/g, ''));
}

export function markdownWithoutMarkup(markdown: string): string {
  let text = markdown;
  // Entities can spell a tag that only appears once decoded: repeat until nothing changes.
  for (let pass = 0; pass < 3; pass += 1) {
    // Without a '<' or an '&' there is no tag or entity for the sanitiser to take out: it would give the text back.
    const next = (/[<&]/.test(text) ? decodeEntities(sanitize()(text, TEXT_ONLY)) : text)
      // [text](url "title") and ![alt](url): keep the text when the URL is not a safe one.
      .replace(
        /!?\[([^\]\n]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))*)>?(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)/g,
        (whole, label: string, url: string) => (urlIsSafe(url) ? whole : label),
      )
      // Reference definitions: [id]: url
      .replace(/^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$/gm, (whole, url: string) =>
        urlIsSafe(url) ? whole : '',
      );
    if (next === text) break;
    text = next;
  }
  return text;
}
