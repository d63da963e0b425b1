// Text from outside (source titles, a model's fields, page headings) ends up in titles, slugs, tags,
// headings, meta tags, YAML front matter and Atom/sitemap XML. Control characters break XML 1.0 (a BEL
// in one title makes the whole feed unreadable) and mean nothing in any of those places, so they are
// taken out: C0 controls (a single line also loses tab, CR and LF, which become spaces), DEL, C1
// controls, lone UTF-16 surrogates, and the noncharacters U+FFFE, U+FFFF and U+FDD0–U+FDEF.

const CONTROLS_SINGLE_LINE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the control characters it removes
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const LINE_BREAKS = /[\t\n\r]+/g;

/** Text for a single-line field (title, tag, meta, feed field): controls removed, line breaks as spaces. */
export function plainLine(text: string): string {
  return text.replace(CONTROLS_SINGLE_LINE, '').replace(LINE_BREAKS, ' ');
}

/** Text that keeps its lines (a Markdown body): controls removed, tab, CR and LF kept. */
export function plainText(text: string): string {
  return text.replace(CONTROLS_SINGLE_LINE, '');
}

/**
 * One line of Markdown inline text shown as itself (CommonMark with GFM): the characters that open inline markup,
 * HTML or strikethrough are backslash-escaped everywhere, an entity's ampersand too; those that open a block only at
 * the start; and URLs and e-mail addresses are kept from becoming links. Ordinary punctuation stays as written, so
 * the Markdown reads as plainly as it renders ("queue-first", "Title | Site"). A single line cannot hold a table.
 */
export function markdownLiteral(text: string): string {
  return plainLine(text)
    .trim()
    .replace(/[\\`*_[\]<>~@]|&(?=#?\w+;)/g, '\\$&')
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/\b(www)\./gi, '$1\\.')
    .replace(/^([#+=-]|\d+(?=[.)]))/, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`));
}
