import { isStopWord } from '../text/stop-words.ts';
import { countWords, readableBody, stripSources, truncateAtWord } from './post.ts';

// What a model returns, normalised and bounded before it becomes a post. Small local models in particular answer
// with a paragraph marked as a heading, dozens of blank lines, their JSON's braces and keys in the Markdown, a
// field's name inside its value, tags such as "." or "the", and titles padded to a length. What cleaning cannot
// save is reported (draftProblem, a thrown error), and the writer asks for another reply.

const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/g;
const SPACES = /[\s\u00A0\u2000-\u200A\u202F\u205F\u3000]+/g;
/** A heading longer than this is a paragraph a model marked as one. */
const HEADING_MAX_CHARS = 100;
const HEADING_MAX_WORDS = 16;
/** The deepest heading a post gets (the title is the H1, sections H2). */
const HEADING_DEEPEST = 4;

/** Tags that say nothing about a post. */
const GENERIC_TAGS = new Set(
  (
    'post posts blog blog-post article articles tag tags misc miscellaneous ' +
    'general other others uncategorized sources content'
  ).split(' '),
);

/** JSON in a reply that may have a code fence or a sentence around it. */
export function replyJson(content: string): unknown {
  const text = content
    .trim()
    .replace(/^```(?:json)?\s*|\s*```$/g, '')
    .trim();
  try {
    return JSON.parse(text);
  } catch (err) {
    const start = text.indexOf('{');
    const end = text.lastIndexOf('}');
    if (start < 0 || end <= start) throw err;
    return JSON.parse(text.slice(start, end + 1));
  }
}

const FIELD_LABEL =
  /^["']?(?:meta[ _-]?title|meta[ _-]?description|title|description|summary|category|slug|tags?|alt(?:[ _-]?text)?|hero[ _-]?image[ _-]?(?:prompt|alt)|heading)["']?\s*[:=]\s*/i;

/**
 * A one-line field as a model may return it: its name repeated inside it, JSON's quotes, braces and escapes,
 * Markdown emphasis, zero-width and odd spaces, padding (ellipses, trailing separators, a part repeated as in
 * "Heat pumps | Heat pumps | Blog"). Null when nothing of it is left.
 */
export function cleanLine(value: unknown, opts: { title?: boolean } = {}): string | null {
  if (typeof value !== 'string') return null;
  let text = jsonValue(value.trim())
    .replace(ZERO_WIDTH, '')
    .replace(/\\[nrt]/g, ' ')
    .replace(/\\"/g, '"')
    .replace(SPACES, ' ')
    .trim();
  for (let i = 0; i < 4; i++) {
    const before = text;
    text = unbrace(text)
      .replace(/^[,;]+\s*|\s*[,;]+$/g, '')
      .replace(FIELD_LABEL, '')
      .replace(/^#+\s+/, '')
      .replace(/\*\*|__|`/g, '')
      // Padding: an ellipsis, trailing separators.
      .replace(/(\s*(?:\.{2,}|…))+$/, '')
      .replace(/[\s|–—:;,·•-]+$/, '')
      .trim();
    const quoted = /^(["'“‘`])(.*)(["'”’`])$/.exec(text);
    if (quoted?.[2] && !/["“”]/.test(quoted[2])) text = quoted[2].trim();
    // A quote left over at one end only (the JSON's), not a quotation inside the text.
    if ((text.match(/"/g)?.length ?? 0) % 2 === 1) text = text.replace(/^"\s*|\s*"$/, '');
    if (text === before) break;
  }
  text = text.replace(/([!?])\1+$/, '$1');
  if (opts.title) text = dedupeParts(text).replace(/\.$/, '');
  return /[\p{L}\p{N}]/u.test(text) ? text : null;
}

/** `{"metaDescription": "…"}` or `"…"`, a field sent as JSON inside the JSON: its one string. */
function jsonValue(text: string): string {
  if (!/^[{"]/.test(text)) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string') return parsed;
    const values = parsed && typeof parsed === 'object' ? Object.values(parsed) : [];
    return values.length === 1 && typeof values[0] === 'string' ? values[0] : text;
  } catch {
    return text;
  }
}

/** A brace or bracket at either end that nothing closes or opens: JSON's, not the text's. */
function unbrace(text: string): string {
  let out = text;
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ] as const) {
    const count = (c: string) => out.split(c).length - 1;
    if (out.startsWith(open) && count(open) > count(close)) out = out.slice(1).trim();
    if (out.endsWith(close) && count(close) > count(open)) out = out.slice(0, -1).trim();
  }
  return out;
}

/** "A | b | A | Blog" → "A | b": parts of a title said twice, or saying nothing, are padding. */
function dedupeParts(text: string): string {
  const pieces = text.split(/(\s+[|–—·•-]\s+)/);
  const seen = new Set<string>();
  let out = '';
  for (let i = 0; i < pieces.length; i += 2) {
    const part = pieces[i]!.trim();
    const key = part.toLowerCase();
    if (!part || seen.has(key) || (i > 0 && GENERIC_TAGS.has(key.replace(/\s+/g, '-')))) continue;
    seen.add(key);
    out += out ? `${pieces[i - 1] ?? ' | '}${part}` : part;
  }
  return out;
}

/** A heading's text: no emphasis, closing hashes, trailing colon or wrapping quotes. */
export function cleanHeading(text: string): string {
  return (cleanLine(text) ?? '').replace(/\s*:$/, '');
}

/**
 * Tags a reader could browse by: no punctuation-only or stop-word tags ("." or "the"), none that say nothing
 * ("post", "blog"), none longer than a short phrase, no hash signs, each once.
 */
export function cleanTags(tags: unknown[], lang?: string | null): string[] {
  const out: string[] = [];
  for (const raw of tags) {
    const tag = cleanLine(raw)?.replace(/^#+/, '').trim();
    if (!tag || tag.length < 2 || tag.length > 40) continue;
    const words = tag.toLowerCase().split(/[\s-]+/);
    if (words.length > 4 || words.every((w) => isStopWord(w, lang) || !/[\p{L}\p{N}]/u.test(w))) continue;
    // Not stopwords-iso's long English list of general words: it holds tags such as "AI".
    if (GENERIC_TAGS.has(words.join('-'))) continue;
    if (out.some((t) => t.toLowerCase() === tag.toLowerCase())) continue;
    out.push(tag);
  }
  return out;
}

/** A reply that should be Markdown but came as JSON (`{"markdown": "…"}`) or as a JSON string. */
function unwrapJson(text: string): string {
  if (!/^[{"]/.test(text)) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string') return parsed;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      for (const key of ['markdown', 'content', 'body', 'post', 'article', 'draft', 'text'])
        if (typeof record[key] === 'string') return record[key];
      const strings = Object.values(record).filter((v): v is string => typeof v === 'string');
      const longest = strings.sort((a, b) => b.length - a.length)[0];
      if (longest && longest.length > 200) return longest;
    }
  } catch {
    // A JSON wrapper that was cut or broken: its opening and closing, and its escapes, go.
    const opened = /^\{\s*"[\w ]+"\s*:\s*"/.exec(text);
    if (opened)
      return text
        .slice(opened[0].length)
        .replace(/"\s*}?\s*$/, '')
        .replace(/\\n/g, '\n')
        .replace(/\\"/g, '"');
  }
  return text;
}

/** A line that is JSON's punctuation or a JSON key, left in Markdown. */
const JSON_DEBRIS = /^\s*(?:[{}[\],"]+|"[\w ]{1,40}"\s*:\s*[[{"]?)\s*$/;

/**
 * A draft as a post body: no fences or JSON around it, no H1 (the title is the post's H1), headings of H2 to H4
 * that never skip a level, a heading too long to be one turned back into the paragraph it is, no JSON debris
 * lines, one blank line at most between blocks, no Sources list of the model's own (it is built from the
 * citations). Code blocks are left as they are.
 */
export function cleanDraft(content: string): string {
  let text = content.replace(ZERO_WIDTH, '').replace(/\r\n?/g, '\n').trim();
  text = text.replace(/^```(?:markdown|md)?[ \t]*\n([\s\S]*?)\n```$/i, '$1').trim();
  text = unwrapJson(text).trim();
  const out: string[] = [];
  let fence: string | null = null;
  let level = 1;
  let titleSeen = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[ \t]+$/, '');
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === null || fence === marker)) fence = fence === null ? marker : null;
    if (fence !== null || marker) {
      out.push(line);
      continue;
    }
    if (JSON_DEBRIS.test(line)) continue;
    const heading = /^(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?$/.exec(line);
    if (!heading) {
      out.push(line);
      continue;
    }
    const words = cleanHeading(heading[2]!);
    if (!words) continue;
    if (heading[1]!.length === 1 && !titleSeen) {
      // The model's own title: the post's title is its H1.
      titleSeen = true;
      continue;
    }
    if (words.length > HEADING_MAX_CHARS || countWords(words) > HEADING_MAX_WORDS) {
      out.push('', heading[2]!.trim(), '');
      continue;
    }
    level = Math.max(2, Math.min(heading[1]!.length, level + 1, HEADING_DEEPEST));
    out.push('', `${'#'.repeat(level)} ${words}`, '');
  }
  return stripSources(out.join('\n'))
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Why a cleaned draft cannot be a post, or null when it can. */
export function draftProblem(markdown: string): string | null {
  const body = readableBody(markdown).trim();
  if (/^[{[]/.test(body)) return 'the reply is JSON, not Markdown';
  const prose = body
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  const words = countWords(prose);
  if (words < 20) return `the reply has ${words} word${words === 1 ? '' : 's'} of prose`;
  return null;
}

/** An outline's heading: a short phrase (a long one is cut at a word). */
export function cleanOutlineHeading(text: string): string | null {
  const heading = cleanHeading(text);
  return heading ? truncateAtWord(heading, HEADING_MAX_CHARS) : null;
}
