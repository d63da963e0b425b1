import { detectLanguage } from '../text/language.ts';
import { stem } from '../text/stem.ts';
import { genericWords, stopWords } from '../text/stop-words.ts';

// Keywords for a topic brief: a RAKE-style extractor (candidate phrases are the runs of words
// between stop words and punctuation; a word scores degree / frequency; a phrase scores the sum of
// its words). Cheap, deterministic and language-light, which is what a brief needs. The stop words are
// the text's language's (given, or told from the text).

export function extractKeywords(text: string, max = 8, lang?: string | null): string[] {
  const phrases = candidatePhrases(text, stopWords(lang ?? detectLanguage(text) ?? 'en'));
  const frequency = new Map<string, number>();
  const degree = new Map<string, number>();
  for (const phrase of phrases) {
    for (const word of phrase) {
      frequency.set(word, (frequency.get(word) ?? 0) + 1);
      degree.set(word, (degree.get(word) ?? 0) + phrase.length);
    }
  }
  const wordScore = (w: string) => (degree.get(w) ?? 0) / (frequency.get(w) ?? 1);
  const scored = new Map<string, number>();
  for (const phrase of phrases) {
    const key = phrase.join(' ');
    // A phrase seen several times is a topic, not an accident: count its repeats.
    scored.set(key, (scored.get(key) ?? 0) + phrase.reduce((sum, w) => sum + wordScore(w), 0));
  }
  return [...scored]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([phrase]) => phrase)
    .slice(0, max);
}

/** Runs of up to three words between stop words and punctuation, lower case. */
export function candidatePhrases(text: string, stop: ReadonlySet<string>): string[][] {
  const phrases: string[][] = [];
  for (const fragment of text.toLowerCase().split(/[.,;:!?()[\]{}"“”«»\n\t|/\\]+|\s[-–—]\s/)) {
    let current: string[] = [];
    for (const raw of fragment.split(/\s+/)) {
      const word = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
      if (!word || stop.has(word.replace(/’/g, "'")) || /^\d+$/.test(word) || word.length < 3) {
        if (current.length) phrases.push(current);
        current = [];
      } else {
        current.push(word);
        if (current.length === 3) {
          phrases.push(current);
          current = [];
        }
      }
    }
    if (current.length) phrases.push(current);
  }
  return phrases;
}

/** The set of single words in some keywords, for overlap measures. */
export function keywordTerms(keywords: readonly string[], lang?: string | null): Set<string> {
  const stop = stopWords(lang ?? detectLanguage(keywords.join(' ')) ?? 'en');
  return new Set(keywords.flatMap((k) => k.toLowerCase().split(/[\s-]+/)).filter((w) => w.length >= 3 && !stop.has(w)));
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Share of `brief`'s terms found in `other`: how much of a brief a covering text already says. */
export function coverage(brief: ReadonlySet<string>, other: ReadonlySet<string>): number {
  if (brief.size === 0) return 0;
  let shared = 0;
  for (const x of brief) if (other.has(x)) shared++;
  return shared / brief.size;
}

/**
 * Groups items whose keyword terms overlap by at least `threshold` (Jaccard), greedily and in order,
 * so items that arrive together about one topic become one brief.
 */
export function groupBySimilarity<T>(
  items: readonly T[],
  termsOf: (item: T) => ReadonlySet<string>,
  threshold: number,
  maxGroupSize = 5,
): T[][] {
  return assignToGroups([], items, termsOf, threshold, maxGroupSize).groups;
}

/** A group formed earlier (a brief still open for entries), with its terms and how many items it holds. */
export type OpenGroup<K> = { key: K; terms: ReadonlySet<string>; size: number };

/**
 * The same rule as groupBySimilarity, with groups formed earlier tried first (in the order given):
 * an item joins the first open group or new group it overlaps by at least `threshold`, while that
 * group holds fewer than `maxGroupSize` items; an item joining a group widens its terms.
 */
export function assignToGroups<T, K>(
  open: ReadonlyArray<OpenGroup<K>>,
  items: readonly T[],
  termsOf: (item: T) => ReadonlySet<string>,
  threshold: number,
  maxGroupSize = 5,
): { joined: Map<K, T[]>; groups: T[][] } {
  type Group = { open: K | null; size: number; members: T[]; terms: Set<string> };
  const all: Group[] = open.map((g) => ({ open: g.key, size: g.size, members: [], terms: new Set(g.terms) }));
  for (const item of items) {
    const terms = termsOf(item);
    const home = all.find((g) => g.size < maxGroupSize && jaccard(g.terms, terms) >= threshold);
    if (home) {
      home.members.push(item);
      home.size++;
      for (const t of terms) home.terms.add(t);
    } else {
      all.push({ open: null, size: 1, members: [item], terms: new Set(terms) });
    }
  }
  const joined = new Map<K, T[]>();
  const groups: T[][] = [];
  for (const g of all) {
    if (g.open !== null) {
      if (g.members.length > 0) joined.set(g.open, g.members);
    } else {
      groups.push(g.members);
    }
  }
  return { joined, groups };
}

// Words that join the parts of a phrase, kept inside it: "pompe à chaleur", "bomba de calor", "bank of England".
const CONNECTORS: Record<string, Set<string>> = {
  en: new Set(['of']),
  fr: new Set(['de', 'à', 'du', 'des', "d'"]),
  es: new Set(['de', 'del']),
};

/**
 * Key phrases of a text for tags, headings and titles: phrases of one to three words between stop words and
 * punctuation, counted wherever they occur inside such runs (so "heat pump" counts in "air source heat pump"),
 * ranked by how often they occur with longer phrases weighted up, and without phrases that repeat a better one.
 * A phrase must occur twice unless the text is too short for any to. Each is given in the form the text writes
 * it most often away from the start of a sentence: "Grafana", "heat pumps", "erneuerbare Energien".
 */
export function keyPhrases(text: string, max = 10, lang?: string | null): string[] {
  const code = lang ?? detectLanguage(text) ?? 'en';
  const stop = stopWords(code);
  type Entry = {
    count: number;
    /** Content words (connectors are not counted). */
    size: number;
    words: string[];
    forms: Map<string, number>;
    /** Forms seen at the start of a sentence, used only when the phrase occurs nowhere else. */
    initialForms: Map<string, number>;
    first: number;
  };
  const entries = new Map<string, Entry>();
  let order = 0;
  const connectors = CONNECTORS[code.split('-')[0]!] ?? new Set<string>();
  /** `stem` is the word's stem, or the connector itself: taken once per word, not once per phrase it is in. */
  type Token = { word: string; key: string; stem: string; initial: boolean; connector: boolean };
  const surface = (part: Token[]): string =>
    part.map((t, i) => (i > 0 && !part[i - 1]!.word.endsWith("'") ? ' ' : '') + t.word).join('');
  for (const sentence of text.split(/(?<=[.!?])\s+|\n+/)) {
    let wordIndex = 0;
    for (const fragment of sentence.split(/[.,;:!?()[\]{}"“”„«»\t|/\\]+|\s[-–—]\s/)) {
      let run: Token[] = [];
      const flush = (): void => {
        // Phrases start and end on a content word and hold one to three of them; a connector may join them
        // ("pompe à chaleur", "bomba de calor").
        for (let i = 0; i < run.length; i++) {
          if (run[i]!.connector) continue;
          let content = 0;
          for (let j = i; j < run.length && content < 3; j++) {
            if (run[j]!.connector) {
              if (run[j - 1]!.connector) break;
              continue;
            }
            content++;
            const part = run.slice(i, j + 1);
            const key = part.map((w) => w.stem).join(' ');
            const entry = entries.get(key) ?? {
              count: 0,
              size: content,
              words: part.filter((w) => !w.connector).map((w) => w.key),
              forms: new Map<string, number>(),
              initialForms: new Map<string, number>(),
              first: order++,
            };
            entry.count++;
            // A sentence's capitalised first word says little of how the phrase is written.
            const forms = part[0]!.initial ? entry.initialForms : entry.forms;
            const form = surface(part);
            forms.set(form, (forms.get(form) ?? 0) + 1);
            entries.set(key, entry);
          }
        }
        // A run never ends on a connector.
        run = [];
      };
      for (const raw of fragment.split(/\s+/)) {
        let word = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '').replace(/’/g, "'");
        const initial = wordIndex === 0;
        if (word) wordIndex++;
        // French elision: "d'énergie" is a connector and a word; "l'Europe" an article and a word.
        const elided = /^(\p{L})'(\p{L}.*)$/u.exec(word);
        if (elided) {
          if (connectors.has(`${elided[1]!.toLowerCase()}'`) && run.length > 0) {
            const key = `${elided[1]!.toLowerCase()}'`;
            run.push({ word: `${elided[1]}'`, key, stem: key, initial, connector: true });
          } else flush();
          word = elided[2]!;
        }
        const key = word.toLowerCase();
        if (word && connectors.has(key) && run.length > 0 && !run.at(-1)!.connector) {
          run.push({ word, key, stem: key, initial, connector: true });
          continue;
        }
        if (!word || stop.has(key) || !/\p{L}/u.test(word) || [...key].length < 3) {
          flush();
          continue;
        }
        run.push({ word, key, stem: stem(key, code), initial, connector: false });
      }
      flush();
    }
  }
  const generic = genericWords(code);
  const german = code === 'de' || code.startsWith('de-');
  const formOf = (e: Entry): string => {
    const usual = [...e.forms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    if (usual) return usual;
    // Only ever at a sentence's start: as written there, less the capital of an ordinary first word.
    const initial = [...e.initialForms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? '';
    const rest = initial.split(' ').slice(1);
    return german || rest.some((w) => /^\p{Lu}/u.test(w))
      ? initial
      : initial.charAt(0).toLowerCase() + initial.slice(1);
  };
  const usable = (e: Entry): boolean => {
    const form = formOf(e);
    const words = form.split(' ');
    // Boilerplate shouts in capitals ("NEWSLETTER ANMELDUNG"); acronyms are short.
    if (words.some((w) => w.length >= 6 && w === w.toUpperCase())) return false;
    if (form.length > 40) return false;
    const only = e.words[0]!;
    if (e.size === 1 && (generic.has(only) || generic.has(`${only}s`) || generic.has(only.replace(/s$/, ''))))
      return false;
    // German capitalises its nouns: a tag is a noun, or ends in one.
    if (german && !/^\p{Lu}/u.test(words.at(-1)!)) return false;
    return true;
  };
  const all = [...entries.values()].filter(usable);
  const minCount = all.some((e) => e.count >= 2) ? 2 : 1;
  const score = (e: Entry): number => e.count * e.size;
  const ranked = all
    .filter((e) => e.count >= minCount)
    .sort((a, b) => score(b) - score(a) || b.size - a.size || a.first - b.first);
  const chosen: Entry[] = [];
  const keysOf = (e: Entry): string[] => e.words.map((w) => stem(w, code));
  for (const entry of ranked) {
    if (chosen.length >= max) break;
    const keys = keysOf(entry);
    // A phrase inside a chosen one, or around one, says the same thing again; a longer phrase that occurs at
    // least half as often as a chosen word of it says it better ("heat pump" for "heat").
    const inside = (small: string[], large: string[]): boolean => small.every((k) => large.includes(k));
    const around = chosen.findIndex((c) => inside(keysOf(c), keys));
    if (around !== -1) {
      if (chosen[around]!.size < entry.size && entry.count * 2 >= chosen[around]!.count) chosen[around] = entry;
      continue;
    }
    if (!chosen.some((c) => inside(keys, keysOf(c)))) chosen.push(entry);
  }
  return chosen.map(formOf);
}
