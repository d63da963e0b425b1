import type { SourceDoc } from '../llm/types.ts';
import { language, monthOf, sourcesLanguage } from '../text/language.ts';
import { splitSentences, withoutFootnoteMarks } from '../text/sentences.ts';
import { stopWords } from '../text/stop-words.ts';
import { insertBeforeSources, stripSources } from '../llm/post.ts';
import { bannedMatcher, type GroundingPolicy } from './policy.ts';
import { quantitiesIn, quantityGrounded, type Quantity } from './quantities.ts';

export type FailingSentence = {
  sentence: string;
  section: string | null;
  reasons: string[];
  /** Where the text is when it is not a body sentence: the title, a heading or the meta description. */
  field?: 'title' | 'heading' | 'metaDescription';
};

export type GroundingResult = {
  passed: boolean;
  failingSentences: FailingSentence[];
  /** Post-wide failures: sections without a citation, too few sources cited. */
  problems: string[];
  citedSources: number;
  checkedSentences: number;
};

// Capitalised words that begin sentences without naming anything.
const COMMON_OPENERS = new Set(
  `a an the this that these those it its in on at by for from with without as if when while after before during
  but and or so yet because although though however therefore thus also still then there here some many most
  more less few each every all both either neither no not one two three four five six seven eight nine ten
  first second third next finally today now instead meanwhile overall even only just what why how who which
  where we you they he she i our your their his her my key`.split(/\s+/),
);
const ORDINARY_ENDING = /\p{Ll}(?:s|ly|ed|ing|tion|sion|ment|ness|ers?|ful|able|ible|ive|al|ous|ity|ise|ize)$/u;
// Lower-case words that may join the parts of a name ("Bank of England", "Leonardo da Vinci").
const NAME_JOINERS = new Set(['of', 'de', 'da', 'la', 'le', 'von', 'van', 'der', 'den', 'du', 'del', '&']);

/** Lower case, plain quotes and dashes, single spaces, no Markdown emphasis: how text is compared. */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[‘’‛′]/g, "'")
    .replace(/[“”„″]/g, '"')
    .replace(/[‐‑‒–—]/g, '-')
    .replace(/[*_`]/g, '')
    .replace(/\s+/g, ' ')
    .toLowerCase()
    .trim();
}

/** Markdown reduced to the text a reader sees: no list or quote markers, links and images as their text. */
function visibleText(line: string): string {
  return line
    .replace(/^\s*#{1,6}\s+/, '')
    .replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '')
    .replace(/^\s*>\s?/, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\((?:<[^>]*>|[^)]*)\)/g, '$1');
}

/** Sentences longer than this are also judged clause by clause, so that a finding names the clause. */
const LONG_SENTENCE_WORDS = 40;

type Block = { section: string | null; text: string };

/** The post's prose and list items by section, without the Sources list, headings, links' URLs or markers. */
function blocks(markdown: string): { blocks: Block[]; sections: { heading: string | null; cites: number[] }[] } {
  const out: Block[] = [];
  const sections: { heading: string | null; cites: number[] }[] = [{ heading: null, cites: [] }];
  let inFence = false;
  for (const raw of stripSources(markdown).split('\n')) {
    const line = raw.trim();
    if (/^(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence || !line) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      sections.push({ heading: heading[1]!.trim(), cites: [] });
      continue;
    }
    const current = sections.at(-1)!;
    current.cites.push(...[...line.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
    out.push({ section: current.heading, text: visibleText(line) });
  }
  // The introduction counts as a section only when there is one.
  return { blocks: out, sections: sections.filter((_s, i) => i > 0 || out.some((b) => b.section === null)) };
}

/**
 * The grounding gate. Every figure, date, quotation and named entity of the post must be found in a source;
 * every section must cite a source; the tenant's banned claims must not appear; at least `minCitations`
 * sources must be cited. Markers naming no source fail too. A sentence copied from a source is grounded as it
 * stands (it is still checked for banned claims and its markers). Figures are compared with their scale and unit,
 * dates whatever their format, both as the post's language writes them.
 */
export function checkGrounding(input: {
  markdown: string;
  citationCount: number;
  sources: SourceDoc[];
  policy: GroundingPolicy;
  /** Terms that need no source (the brief's keywords, the tenant's allowed terms). */
  allowedTerms?: string[];
  /** The post's language (a BCP 47 tag); told from the sources when not given. */
  language?: string;
  /** The title and meta description: what readers and search engines see first states facts too. */
  fields?: { title?: string | null; metaDescription?: string | null };
}): GroundingResult {
  const lang = language(input.language ?? sourcesLanguage(input.sources) ?? 'en').tag;
  // A source's title is the source's too: a post title taken from it is grounded.
  const sourceText = input.sources
    .map((s) => [s.title ?? '', ...withoutFootnoteMarks(s.text).split('\n').map(visibleText)].join('\n'))
    .join('\n');
  const haystack = normalise(sourceText);
  const sourceQuantities = quantitiesIn(sourceText.replace(/\s+/g, ' '), lang);
  const allowed = [...input.policy.allowedTerms, ...(input.allowedTerms ?? [])].map(normalise);
  const allowedQuantities = allowed.flatMap((a) => quantitiesIn(a, lang));
  const banned = input.policy.bannedClaims.map((claim) => ({ claim, matches: bannedMatcher(claim) }));
  // Whole words only: "Ford" is not found in "Oxford".
  const inText = (text: string, phrase: string): boolean =>
    new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(phrase)}([^\\p{L}\\p{N}]|$)`, 'u').test(text);
  const known = (phrase: string): boolean => {
    const p = normalise(phrase);
    return inText(haystack, p) || allowed.some((a) => a === p || inText(a, p));
  };
  const lowercaseInSources = (word: string): boolean => inText(haystack, word.toLowerCase());
  const figure = (q: Quantity): string =>
    `the ${q.kind === 'date' ? 'date' : 'figure'} "${q.text}" is not in any source`;

  const { blocks: parts, sections } = blocks(input.markdown);
  const failing: FailingSentence[] = [];
  const problems: string[] = [];
  let checked = 0;

  /** Why a piece of text is not grounded; nothing when it is copied from a source. */
  // Titles and headings are written in title case, so capitalised words say nothing of names there, and a small bare
  // count numbers the structure ("Step 2", "5 ways to …", "More from source 1"): only their facts are checked.
  const findings = (text: string, kind: 'prose' | 'heading' = 'prose'): string[] => {
    if (haystack.includes(normalise(text))) return [];
    const reasons: string[] = [];
    // Figures and dates are judged whole; their words ("Milliarden Euro", "Oktober") are no names.
    let rest = text;
    for (const q of quantitiesIn(text, lang)) {
      const structural =
        kind === 'heading' &&
        q.kind === 'number' &&
        q.unit === null &&
        !q.scaled &&
        Number.isInteger(q.value) &&
        q.value <= 12;
      if (!structural && !quantityGrounded(q, sourceQuantities) && !quantityGrounded(q, allowedQuantities))
        reasons.push(figure(q));
      // Blanked with punctuation, so the words on either side do not join into one name ("Android 6.0 Marshmallow").
      rest = rest.replace(q.text, ','.repeat(q.text.length));
    }
    for (const q of text.matchAll(/["“„«]\s*([^"“”„«»]+?)\s*["”“»]/g)) {
      const quoted = q[1]!.trim();
      if (quoted.split(/\s+/).length >= 3 && !known(quoted))
        reasons.push(`the quotation "${quoted}" is not in any source`);
    }
    if (kind === 'prose')
      for (const name of namesIn(rest, lowercaseInSources, lang)) {
        if (!known(name)) reasons.push(`the name "${name}" is not in any source`);
      }
    return [...new Set(reasons)];
  };
  const claimsIn = (text: string): string[] =>
    banned.filter(({ matches }) => matches(text)).map(({ claim }) => `makes a banned claim (${claim})`);

  for (const part of parts) {
    for (const raw of splitSentences(part.text, lang)) {
      const markers: string[] = [];
      for (const m of raw.matchAll(/\[(\d+)\]/g)) {
        const n = Number(m[1]);
        if (n < 1 || n > input.citationCount) markers.push(`cites [${n}], which is not in the source list`);
      }
      const sentence = raw.replace(/\s*\[\d+\]/g, '').trim();
      if (!sentence) continue;
      // A run-on is judged clause by clause, so that a finding points at the clause that makes it.
      const pieces =
        sentence.split(/\s+/).length > LONG_SENTENCE_WORDS && !haystack.includes(normalise(sentence))
          ? sentence.split(/(?<=[,;:])\s+|\s+[–—]\s+/).filter((c) => /[\p{L}\p{N}]/u.test(c))
          : [sentence];
      const claims = claimsIn(sentence);
      for (const [i, piece] of pieces.entries()) {
        checked++;
        const reasons = [...(i === 0 ? markers : []), ...findings(piece), ...(i === 0 ? claims : [])];
        if (reasons.length) failing.push({ sentence: piece, section: part.section, reasons: [...new Set(reasons)] });
      }
    }
  }
  const title = input.fields?.title?.trim();
  if (title) {
    const reasons = [...findings(title, 'heading'), ...claimsIn(title)];
    if (reasons.length) failing.push({ sentence: title, section: null, reasons, field: 'title' });
  }
  for (const section of sections) {
    if (section.heading) {
      const reasons = findings(section.heading, 'heading');
      if (reasons.length)
        failing.push({ sentence: section.heading, section: section.heading, reasons, field: 'heading' });
    }
  }
  const meta = input.fields?.metaDescription?.trim();
  if (meta) {
    for (const sentence of splitSentences(meta, lang)) {
      const reasons = [...findings(sentence), ...claimsIn(sentence)];
      if (reasons.length) failing.push({ sentence, section: null, reasons, field: 'metaDescription' });
    }
  }
  for (const section of sections) {
    for (const { claim, matches } of banned) {
      if (section.heading && matches(section.heading))
        failing.push({
          sentence: section.heading,
          section: section.heading,
          reasons: [`makes a banned claim (${claim})`],
        });
    }
    const hasText = parts.some((p) => p.section === section.heading);
    if (hasText && !section.cites.some((n) => n >= 1 && n <= input.citationCount)) {
      problems.push(
        section.heading ? `the section "${section.heading}" cites no source` : 'the introduction cites no source',
      );
    }
  }
  const cited = new Set(sections.flatMap((s) => s.cites).filter((n) => n >= 1 && n <= input.citationCount));
  if (cited.size < input.policy.minCitations) {
    problems.push(
      `the post cites ${cited.size} source${cited.size === 1 ? '' : 's'}; the ` +
        `policy asks for at least ${input.policy.minCitations}`,
    );
  }
  return {
    passed: failing.length === 0 && problems.length === 0,
    failingSentences: failing,
    problems,
    citedSources: cited.size,
    checkedSentences: checked,
  };
}

/**
 * Runs of capitalised words, taken as names. A run never crosses punctuation ("in Mississippi, Kentucky" is two
 * names). A capitalised first word is only a name when it is not a common opener and the sources never use it in
 * lower case. German capitalises every noun, so there a single capitalised word counts as a name only when it
 * looks like one (an acronym, inner capitals or digits: "BMW", "iPhone", "A4").
 */
export function namesIn(
  sentence: string,
  lowercaseInSources: (word: string) => boolean,
  lang: string = 'en',
): string[] {
  const rules = language(lang).supported;
  const stop = stopWords(lang);
  const text = sentence.replace(/[*_`]/g, ' ');
  const tokens = [...text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’.&-]*/gu)].map((m) => {
    const word = m[0].replace(/['’]s$|['’-]+$/u, '').replace(/(?<=\p{L}{2,})\.+$/u, '');
    return { word, index: m.index!, end: m.index! + word.length };
  });
  const names: string[] = [];
  let run: typeof tokens = [];
  const flush = (): void => {
    while (run.length && NAME_JOINERS.has(run.at(-1)!.word)) run.pop();
    if (run.length) {
      const name = text.slice(run[0]!.index, run.at(-1)!.end).replace(/\s+/g, ' ');
      const single = run.length === 1;
      if (!(rules === 'de' && single && !/^\p{Lu}{2,}|\p{Ll}\p{Lu}|\d/u.test(name))) names.push(name);
    }
    run = [];
  };
  tokens.forEach((token, i) => {
    // Punctuation between two words ends a name: "Delhi-NCR, Oxy Pure" are two.
    const previous = tokens[i - 1];
    if (run.length && previous && /[^\s]/u.test(text.slice(previous.end, token.index))) flush();
    const capitalised = /^\p{Lu}/u.test(token.word);
    if (capitalised) {
      const first =
        i === 0 || /[:;"“„«(]\s*$/.test(text.slice(0, token.index)) || /[.!?]\s+$/.test(text.slice(0, token.index));
      // A sentence's first word is capitalised anyway; it is taken for a name only when it does not look like
      // an ordinary word (a common opener, a word the sources use in lower case, a usual English ending).
      const lower = token.word.toLowerCase();
      const ordinary =
        first &&
        (COMMON_OPENERS.has(lower) ||
          stop.has(lower) ||
          lowercaseInSources(token.word) ||
          ((rules ?? 'en') === 'en' && ORDINARY_ENDING.test(token.word)));
      // A month is part of a date, which is checked as one.
      if (ordinary || monthOf(token.word, rules ?? 'en') !== null) {
        flush();
        return;
      }
      run.push(token);
    } else if (run.length && NAME_JOINERS.has(token.word)) {
      run.push(token);
    } else {
      flush();
    }
  });
  flush();
  return names.filter((n) => !/^\d/.test(n));
}

/** Appends each disclaimer whose topic keywords appear in the post, once, before the Sources list. */
export function applyDisclaimers(markdown: string, policy: GroundingPolicy): { markdown: string; added: string[] } {
  const body = normalise(stripSources(markdown));
  const added: string[] = [];
  let out = markdown;
  for (const disclaimer of policy.disclaimers) {
    const hit = disclaimer.keywords.some((k) =>
      new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(normalise(k))}([^\\p{L}\\p{N}]|$)`, 'u').test(body),
    );
    if (hit && !added.includes(disclaimer.text)) {
      added.push(disclaimer.text);
      out = insertBeforeSources(out, `*${disclaimer.text}*`);
    }
  }
  return { markdown: out, added };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
