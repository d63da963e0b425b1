import type { SourceDoc } from '../llm/types.ts';
import { splitSentences } from '../text/sentences.ts';
import { insertBeforeSources, stripSources } from '../llm/post.ts';
import { bannedMatcher, type GroundingPolicy } from './policy.ts';

export type FailingSentence = { sentence: string; section: string | null; reasons: string[] };

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

/** Numbers as written, without thousands separators: "7,500" and "7500" are the same figure. */
function numbersIn(text: string): string[] {
  return (text.match(/\d+(?:[.,]\d+)*/g) ?? []).map((n) => n.replace(/,(?=\d{3}(?:\D|$))/g, '').replace(/\.$/, ''));
}

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
    const text = line
      .replace(/^(?:[-*+]|\d+[.)])\s+/, '')
      .replace(/^>\s?/, '')
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1');
    out.push({ section: current.heading, text });
  }
  // The introduction counts as a section only when there is one.
  return { blocks: out, sections: sections.filter((s, i) => i > 0 || out.some((b) => b.section === null)) };
}

/**
 * The grounding gate. Every number, date, quotation and named entity of the post must be found in a source;
 * every section must cite a source; the tenant's banned claims must not appear; at least `minCitations`
 * sources must be cited. Markers naming no source fail too.
 */
export function checkGrounding(input: {
  markdown: string;
  citationCount: number;
  sources: SourceDoc[];
  policy: GroundingPolicy;
  /** Terms that need no source (the brief's keywords, the tenant's allowed terms). */
  allowedTerms?: string[];
}): GroundingResult {
  const haystack = input.sources.map((s) => normalise(s.text.replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, ''))).join('\n');
  const sourceNumbers = new Set(numbersIn(haystack));
  const allowed = [...input.policy.allowedTerms, ...(input.allowedTerms ?? [])].map(normalise);
  const banned = input.policy.bannedClaims.map((claim) => ({ claim, matches: bannedMatcher(claim) }));
  // Whole words only: "Ford" is not found in "Oxford".
  const inText = (text: string, phrase: string): boolean =>
    new RegExp(`(^|[^\\p{L}\\p{N}])${escape(phrase)}([^\\p{L}\\p{N}]|$)`, 'u').test(text);
  const known = (phrase: string): boolean => {
    const p = normalise(phrase);
    return inText(haystack, p) || allowed.some((a) => a === p || inText(a, p));
  };
  const lowercaseInSources = (word: string): boolean => inText(haystack, word.toLowerCase());

  const { blocks: parts, sections } = blocks(input.markdown);
  const failing: FailingSentence[] = [];
  const problems: string[] = [];
  let checked = 0;

  for (const part of parts) {
    for (const raw of splitSentences(part.text)) {
      const reasons: string[] = [];
      for (const m of raw.matchAll(/\[(\d+)\]/g)) {
        const n = Number(m[1]);
        if (n < 1 || n > input.citationCount) reasons.push(`cites [${n}], which is not in the source list`);
      }
      const sentence = raw.replace(/\s*\[\d+\]/g, '').trim();
      if (!sentence) continue;
      checked++;

      for (const n of numbersIn(sentence)) {
        if (!sourceNumbers.has(n) && !allowed.some((a) => numbersIn(a).includes(n)))
          reasons.push(`the figure "${n}" is not in any source`);
      }
      for (const q of sentence.matchAll(/["“]([^"“”]+)["”]/g)) {
        const quoted = q[1]!.trim();
        if (quoted.split(/\s+/).length >= 3 && !known(quoted))
          reasons.push(`the quotation "${quoted}" is not in any source`);
      }
      for (const name of namesIn(sentence, lowercaseInSources)) {
        if (!known(name)) reasons.push(`the name "${name}" is not in any source`);
      }
      for (const { claim, matches } of banned) {
        if (matches(sentence)) reasons.push(`makes a banned claim (${claim})`);
      }
      if (reasons.length) failing.push({ sentence, section: part.section, reasons: [...new Set(reasons)] });
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
      `the post cites ${cited.size} source${cited.size === 1 ? '' : 's'}; the policy asks for at least ${input.policy.minCitations}`,
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
 * Runs of capitalised words, taken as names. A capitalised first word is only a name when it is not a common
 * opener and the sources never use it in lower case.
 */
export function namesIn(sentence: string, lowercaseInSources: (word: string) => boolean): string[] {
  const tokens = [...sentence.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’.&-]*/gu)].map((m) => ({
    word: m[0].replace(/['’]s$|[.'’-]+$/u, ''),
    index: m.index!,
  }));
  const names: string[] = [];
  let run: { word: string; index: number }[] = [];
  const flush = (): void => {
    while (run.length && NAME_JOINERS.has(run.at(-1)!.word)) run.pop();
    if (run.length) names.push(run.map((t) => t.word).join(' '));
    run = [];
  };
  tokens.forEach((token, i) => {
    const capitalised = /^\p{Lu}/u.test(token.word);
    if (capitalised) {
      const first = i === 0 || /[:;"“(]\s*$/.test(sentence.slice(0, token.index));
      // A sentence's first word is capitalised anyway; it is taken for a name only when it does not look like
      // an ordinary word (a common opener, a word the sources use in lower case, a usual English ending).
      const ordinary =
        first &&
        (COMMON_OPENERS.has(token.word.toLowerCase()) ||
          lowercaseInSources(token.word) ||
          ORDINARY_ENDING.test(token.word));
      if (ordinary) {
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
      new RegExp(`(^|[^\\p{L}\\p{N}])${escape(normalise(k))}([^\\p{L}\\p{N}]|$)`, 'u').test(body),
    );
    if (hit && !added.includes(disclaimer.text)) {
      added.push(disclaimer.text);
      out = insertBeforeSources(out, `*${disclaimer.text}*`);
    }
  }
  return { markdown: out, added };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
