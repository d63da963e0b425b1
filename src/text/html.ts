import sanitize from 'sanitize-html';
import { Marked } from 'marked';

const ABSOLUTE_HTTP = /^\s*https?:/i;
const LINK_REL = 'noopener noreferrer nofollow';

const SANITIZE_OPTIONS: sanitize.IOptions = {
  allowedTags: [
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
    'p', 'br', 'hr', 'div', 'span',
    'ul', 'ol', 'li', 'dl', 'dt', 'dd',
    'blockquote', 'pre', 'code', 'kbd', 'samp',
    'a', 'img', 'figure', 'figcaption',
    'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td',
    'em', 'strong', 'b', 'i', 'u', 's', 'del', 'ins', 'mark', 'small', 'sub', 'sup', 'abbr', 'cite', 'q',
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
  return sanitize(html, SANITIZE_OPTIONS);
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
  ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ı: 'i', ŧ: 't', ħ: 'h',
};

/** A URL-safe slug: lowercase ASCII letters, digits and single dashes, at most `maxLength`, never empty. */
export function slugify(text: string, maxLength = 80): string {
  const folded = text
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
