// Keywords for a topic brief: a RAKE-style extractor (candidate phrases are the runs of words
// between stop words and punctuation; a word scores degree / frequency; a phrase scores the sum of
// its words). Cheap, deterministic and language-light, which is what a brief needs.

const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between both but by can
  could did do does doing down during each even few for from further had has have having he her here hers herself him himself his how
  i if in into is it its itself just let like made make many may me might more most much must my myself new no nor not now of off on
  once one only or other ought our ours ourselves out over own per said same see she should since so some still such than that the
  their theirs them themselves then there these they this those through to too two under until up upon us use used using very via
  want was way we well were what when where which while who whom why will with within without would yet you your yours yourself
  yourselves get gets got every first last next three four five year years time times day days`.split(/\s+/),
);

export function extractKeywords(text: string, max = 8): string[] {
  const phrases = candidatePhrases(text);
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

function candidatePhrases(text: string): string[][] {
  const phrases: string[][] = [];
  for (const fragment of text.toLowerCase().split(/[.,;:!?()[\]{}"“”«»\n\t|/\\]+|\s[-–—]\s/)) {
    let current: string[] = [];
    for (const raw of fragment.split(/\s+/)) {
      const word = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
      if (!word || STOP_WORDS.has(word) || /^\d+$/.test(word) || word.length < 3) {
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
export function keywordTerms(keywords: readonly string[]): Set<string> {
  return new Set(
    keywords.flatMap((k) => k.toLowerCase().split(/[\s-]+/)).filter((w) => w.length >= 3 && !STOP_WORDS.has(w)),
  );
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
