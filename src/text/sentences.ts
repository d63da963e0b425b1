// Sentence splitting shared by the offline writer and the grounding gate.

const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'vs',
  'etc',
  'e.g',
  'i.e',
  'inc',
  'ltd',
  'co',
  'corp',
  'no',
  'fig',
  'approx',
  'dept',
  'est',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'u.s',
  'u.k',
  'a.m',
  'p.m',
  'cf',
  'al',
  'vol',
  'p',
  'pp',
  'ch',
]);

/** Split a paragraph into sentences at `.`, `!` or `?` followed by a space, not after common abbreviations. */
export function splitSentences(paragraph: string): string[] {
  const text = paragraph.replace(/\s+/g, ' ').trim();
  const sentences: string[] = [];
  const boundary = /[.!?]+["'”’)\]]*\s+/g;
  let start = 0;
  for (let match = boundary.exec(text); match; match = boundary.exec(text)) {
    const end = match.index + match[0].trimEnd().length;
    const next = text.charAt(match.index + match[0].length);
    const before = /(\S+)$/.exec(text.slice(start, match.index))?.[1] ?? '';
    const token = before.toLowerCase().replace(/^[("'“‘[]+/, '');
    // Not a boundary: an abbreviation, an initial ("J. Smith"), or a continuation in lower case ("approx. five").
    if (
      text.charAt(match.index) === '.' &&
      (ABBREVIATIONS.has(token) || /^\p{Lu}$/u.test(before) || /^\p{Ll}/u.test(next))
    )
      continue;
    sentences.push(text.slice(start, end));
    start = match.index + match[0].length;
  }
  if (start < text.length) sentences.push(text.slice(start));
  return sentences.map((s) => s.trim()).filter((s) => /[\p{L}\p{N}]/u.test(s));
}
