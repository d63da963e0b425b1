import { PermanentError } from '../errors.ts';
import { slugify } from '../text/html.ts';
import { countWords, readableBody, sourceLine, sourceTitle } from './post.ts';
import { splitSentences } from '../text/sentences.ts';
import type { Citation, Draft, SourceDoc, Writer, WriterInput } from './types.ts';

/**
 * The offline writer: an extractive, attributed draft. It never writes a sentence of its own; every sentence of
 * the body is copied from a source and followed by the number of that source in the `## Sources` list. Sentences
 * are ranked with TextRank (PageRank over a graph whose edges are the word overlap between sentences) with a small
 * bonus for sentences near the start of their source.
 */
export function createLocalWriter(): Writer {
  return {
    provider: 'local',
    model: 'extractive-v1',
    async write(input: LocalWriterInput): Promise<Draft> {
      return writeDraft(input);
    },
  };
}

// --- text helpers --------------------------------------------------------------------------------------------

const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between
  both but by can could did do does doing down during each even ever every few for from further had has have having
  he her here hers herself him himself his how however i if in into is it its itself just let like many may me might
  more most much must my myself no nor not now of off on once one only or other our ours ourselves out over own per
  rather same she should since so some such than that the their theirs them themselves then there these they this
  those though through thus to too under until up upon us very was we well were what when where whether which while
  who whom whose why will with within without would yet you your yours yourself yourselves new use used using make
  makes made get gets got says said way ways still often even much really two three first second`.split(/\s+/),
);

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? [];
}

/** Content words of a text: lowercase, no stop words, no bare numbers, at least three characters. */
function contentWords(text: string): string[] {
  return words(text)
    .map((w) => w.replace(/['’]s$/, ''))
    .filter((w) => w.length >= 3 && !STOP_WORDS.has(w) && !/^\d+$/.test(w));
}

/** A crude stem so that "pump" and "pumps" count as the same word in the similarity graph. */
function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is'))
    return word.slice(0, -1);
  return word;
}

function titleCase(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max + 1).lastIndexOf(' ');
  return (cut > 0 ? text.slice(0, cut) : text.slice(0, max)).replace(/[\s,;:–—-]+$/, '');
}

/** Markdown inline syntax reduced to its text, for the meta description. */
function plainText(markdown: string): string {
  return markdown
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// --- reading the sources -------------------------------------------------------------------------------------

interface Sentence {
  index: number;
  source: number;
  /** Order of the sentence within its source. */
  position: number;
  /** The nearest `##` (or deeper) heading above it in its source, if any. */
  heading: string | null;
  text: string;
  terms: Set<string>;
  /** `terms` plus any numbers: two sentences that differ only in their figures state different facts. */
  identity: Set<string>;
  score: number;
}

const MAX_SENTENCES_PER_SOURCE = 200;
const MAX_SENTENCES = 600;

/** The paragraphs of a Markdown or plain-text source, each with its heading; code, tables and HTML are skipped. */
function paragraphs(text: string): { heading: string | null; text: string }[] {
  const out: { heading: string | null; text: string }[] = [];
  let heading: string | null = null;
  let lines: string[] = [];
  let inFence = false;
  const end = (): void => {
    const joined = lines.join(' ').replace(/\s+/g, ' ').trim();
    if (joined) out.push({ heading, text: joined });
    lines = [];
  };
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trim();
    if (/^(```|~~~)/.test(line)) {
      end();
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const h = /^(#{1,6})\s+(.*?)(?:\s+#+)?$/.exec(line);
    if (h) {
      end();
      // The H1 is the source's title, not a section of it.
      if (h[1]!.length >= 2) heading = h[2]!.trim() || null;
      continue;
    }
    if (line === '' || /^([-*_]\s*){3,}$/.test(line)) {
      end();
      continue;
    }
    if (/^(\||<|!\[)/.test(line)) {
      end();
      continue;
    }
    const item = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      end();
      lines.push(item[1]!);
      continue;
    }
    lines.push(line.replace(/^>\s?/, ''));
  }
  end();
  return out;
}

function readSentences(sources: SourceDoc[]): Sentence[] {
  const all: Sentence[] = [];
  const seen = new Set<string>();
  sources.forEach((source, sourceIndex) => {
    let position = 0;
    for (const para of paragraphs(source.text)) {
      for (const text of splitSentences(para.text)) {
        if (position >= MAX_SENTENCES_PER_SOURCE) return;
        const key = text.toLowerCase();
        position++;
        // The same sentence syndicated across sources is ranked (and cited) once, from its first source.
        if (seen.has(key)) continue;
        seen.add(key);
        all.push({
          index: 0,
          source: sourceIndex,
          position: position - 1,
          heading: para.heading,
          text,
          terms: new Set(contentWords(text).map(stem)),
          identity: new Set([...contentWords(text).map(stem), ...(text.match(/\d+(?:[.,]\d+)*/g) ?? [])]),
          score: 0,
        });
      }
    }
  });
  const isProse = (s: Sentence): boolean => {
    const count = words(s.text).length;
    return count >= 5 && count <= 60 && !/:$/.test(s.text) && s.terms.size > 0;
  };
  // Prefer prose-like sentences; a very short source may have nothing else, and then it is all we have.
  const prose = all.filter(isProse);
  const chosen = (prose.length ? prose : all).slice(0, MAX_SENTENCES);
  chosen.forEach((s, i) => (s.index = i));
  return chosen;
}

// --- ranking -------------------------------------------------------------------------------------------------

const DAMPING = 0.85;
const ITERATIONS = 50;

/** TextRank: weighted PageRank over sentence similarity, times a position bonus and a keyword bonus. */
function rank(sentences: Sentence[], keywords: string[]): void {
  const n = sentences.length;
  if (n === 0) return;
  const weights = new Float64Array(n * n);
  const outSum = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = sentences[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = sentences[j]!;
      let overlap = 0;
      const [small, large] = a.terms.size <= b.terms.size ? [a.terms, b.terms] : [b.terms, a.terms];
      for (const term of small) if (large.has(term)) overlap++;
      if (overlap === 0) continue;
      const w = overlap / Math.max(1, Math.log(a.terms.size) + Math.log(b.terms.size));
      weights[i * n + j] = w;
      weights[j * n + i] = w;
      outSum[i]! += w;
      outSum[j]! += w;
    }
  }
  let pr = new Float64Array(n).fill(1 / n);
  for (let iter = 0; iter < ITERATIONS; iter++) {
    const next = new Float64Array(n).fill((1 - DAMPING) / n);
    for (let j = 0; j < n; j++) {
      if (outSum[j] === 0) continue;
      const share = (DAMPING * pr[j]!) / outSum[j]!;
      for (let i = 0; i < n; i++) {
        const w = weights[j * n + i]!;
        if (w !== 0) next[i]! += w * share;
      }
    }
    let delta = 0;
    for (let i = 0; i < n; i++) delta += Math.abs(next[i]! - pr[i]!);
    pr = next;
    if (delta < 1e-10) break;
  }
  const keywordTerms = keywords.map((k) => contentWords(k).map(stem)).filter((t) => t.length > 0);
  for (const s of sentences) {
    const positionBonus = 1 + 0.3 * Math.max(0, 1 - s.position / 10);
    const matches = keywordTerms.filter((terms) => terms.every((t) => s.terms.has(t))).length;
    s.score = pr[s.index]! * n * positionBonus * (1 + 0.3 * matches);
  }
}

/** Highest score first; ties broken by source order so the result is deterministic. */
function byScore(a: Sentence, b: Sentence): number {
  return b.score - a.score || a.source - b.source || a.position - b.position;
}

function byOrder(a: Sentence, b: Sentence): number {
  return a.source - b.source || a.position - b.position;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Ranked sentences with near-duplicates of better-ranked ones dropped, one at a time (the rest is rarely needed). */
function diverseStream(ranked: Sentence[]): () => Sentence | undefined {
  const picked: Sentence[] = [];
  let i = 0;
  return () => {
    while (i < ranked.length) {
      const s = ranked[i++]!;
      if (picked.some((p) => jaccard(p.identity, s.identity) >= 0.8)) continue;
      picked.push(s);
      return s;
    }
    return undefined;
  };
}

// --- terms ---------------------------------------------------------------------------------------------------

const frequencies = new WeakMap<Sentence[], Map<string, number>>();

/** In how many sentences each term occurs; computed once per set of sentences (sections are renamed often). */
function documentFrequencies(all: Sentence[]): Map<string, number> {
  let df = frequencies.get(all);
  if (!df) {
    df = new Map<string, number>();
    for (const s of all) for (const t of s.terms) df.set(t, (df.get(t) ?? 0) + 1);
    frequencies.set(all, df);
  }
  return df;
}

/**
 * Content terms of some sentences, most characteristic first: frequency in the group times inverse sentence
 * frequency over all sentences. Each term is reported in its most frequent surface form.
 */
function topTerms(group: Sentence[], all: Sentence[], limit: number): string[] {
  const df = documentFrequencies(all);
  const tf = new Map<string, number>();
  const surface = new Map<string, Map<string, number>>();
  for (const s of group) {
    for (const w of contentWords(s.text)) {
      const t = stem(w);
      tf.set(t, (tf.get(t) ?? 0) + 1);
      const forms = surface.get(t) ?? new Map<string, number>();
      forms.set(w, (forms.get(w) ?? 0) + 1);
      surface.set(t, forms);
    }
  }
  const scored = [...tf].map(([t, f]) => ({ t, score: f * Math.log(1 + all.length / (df.get(t) ?? 1)) }));
  // Ties (common in small groups, where most terms occur once) go to longer words, which tend to say more.
  scored.sort((a, b) => b.score - a.score || b.t.length - a.t.length || (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  return scored.slice(0, limit).map(({ t }) => {
    const forms = [...surface.get(t)!].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return forms[0]![0];
  });
}

// --- composing -----------------------------------------------------------------------------------------------

/** The writer's input; `minWords` and `maxWords` (the brief's) bound the body, see {@link withLengthBounds}. */
export interface LocalWriterInput extends WriterInput {
  /** Expand with further ranked source sentences until the body has this many words or the sources run out. */
  minWords?: number;
  /** Stop expanding below this, and trim the lowest-ranked sentences of a draft above it. */
  maxWords?: number;
}

/**
 * A writer that passes the brief's word bounds to the local writer on every call (the `Writer` contract carries
 * only sources and keywords). Writers that do not know the bounds ignore them.
 */
export function withLengthBounds(writer: Writer, bounds: { minWords?: number; maxWords?: number }): Writer {
  return {
    provider: writer.provider,
    model: writer.model,
    write(input: WriterInput): Promise<Draft> {
      const bounded: LocalWriterInput = { ...input, minWords: bounds.minWords, maxWords: bounds.maxWords };
      return writer.write(bounded);
    },
  };
}

interface Group {
  /** The source heading the section is named after, when its sentences share one. */
  heading: string | null;
  /** Where its sentences come from: `h:<heading>` or `s:<source>`; expansion adds sentences of the same origin. */
  keys: Set<string>;
  sentences: Sentence[];
  name: string;
}

interface Layout {
  intro: Sentence[];
  groups: Group[];
  takeaways: Sentence[];
  conclusion: Sentence[];
}

const RESERVED_HEADINGS = new Set(['key takeaways', 'sources', 'introduction', 'conclusion']);
/** Sections the expansion may grow the post to; beyond that, sentences join the closest existing section. */
const MAX_SECTIONS = 8;
/** Sentences of one source in one paragraph before a new paragraph starts. */
const PARAGRAPH_SENTENCES = 4;
const CONCLUSION_SENTENCES = 2;
const CONCLUSION_CANDIDATES = 8;

function groupKey(s: Sentence): string {
  return s.heading ? `h:${s.heading.toLowerCase()}` : `s:${s.source}`;
}

const sentenceWords = new WeakMap<Sentence, { prose: number; raw: number }>();

/**
 * Words of the composed body, summed over its sentences and headings instead of composing the Markdown on every
 * step. `prose` counts as the SEO lint's length rule does (no headings, Sources list, citation markers or link
 * targets); `all` counts as the post's stored word count does (`countWords(readableBody(markdown))`, headings
 * included). Expansion aims `prose` at minWords and keeps `all` under maxWords, so both end up within the brief.
 */
function bodyWords(layout: Layout): { prose: number; all: number } {
  let prose = 0;
  let all = 0;
  const add = (list: Sentence[]): void => {
    for (const s of list) {
      let count = sentenceWords.get(s);
      if (!count) {
        const raw = readableBody(s.text);
        const text = raw
          .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
          .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
          .replace(/[*_`>]/g, '');
        sentenceWords.set(s, (count = { prose: countWords(text), raw: countWords(raw) }));
      }
      prose += count.prose;
      all += count.raw;
    }
  };
  add(layout.intro);
  for (const g of layout.groups) {
    if (g.sentences.length === 0) continue;
    add(g.sentences);
    all += countWords(g.name);
  }
  add(layout.takeaways);
  if (layout.takeaways.length) all += countWords('Key takeaways');
  add(layout.conclusion);
  if (layout.conclusion.length) all += countWords('Conclusion');
  return { prose, all };
}

function writeDraft(input: LocalWriterInput): Draft {
  const sources = input.sources;
  if (sources.length === 0) throw new PermanentError('the local writer needs at least one source');
  const keywords = (input.keywords ?? []).map((k) => k.trim()).filter(Boolean);
  const sentences = readSentences(sources);
  if (sentences.length === 0) throw new PermanentError('the sources contain no sentences to write from');
  rank(sentences, keywords);

  // The best sentences open the post, the next best become the takeaways and the rest fill the sections, so no
  // sentence is printed twice unless there is too little material for all three.
  const stream = diverseStream([...sentences].sort(byScore));
  const ranked: Sentence[] = [];
  for (let s = stream(); s; s = ranked.length < 20 ? stream() : undefined) ranked.push(s);
  const n = ranked.length;
  const introCount = n >= 9 ? 3 : n >= 3 ? 2 : n;
  let intro = ranked.slice(0, introCount);
  const rest = ranked.slice(introCount);
  const takeawayCount = rest.length >= 12 ? 5 : rest.length >= 9 ? 4 : rest.length >= 3 ? 3 : 0;
  // With very little material the takeaways repeat the best sentences rather than go missing.
  const takeaways = takeawayCount > 0 ? rest.slice(0, takeawayCount) : ranked.slice(0, Math.min(3, n));
  let body = rest.slice(takeawayCount);
  if (body.length < 2) {
    intro = [...intro, ...body];
    body = [];
  }
  const groups = makeGroups(body.slice(0, 12), sentences);
  const core = [...intro, ...takeaways, ...groups.flatMap((g) => g.sentences)];

  // Sentences not printed yet, best first: the ranked ones left over, then the rest of the sources.
  const used = new Set(core);
  const spare = ranked.filter((s) => !used.has(s));
  const next = (): Sentence | undefined => spare.shift() ?? stream();

  const layout: Layout = { intro, groups, takeaways, conclusion: [] };
  layout.conclusion = pickConclusion(next, spare, sentences, layout);
  const measure = (): { prose: number; all: number } => {
    nameGroups(layout.groups, sentences);
    return bodyWords(layout);
  };
  if (input.maxWords !== undefined) trimTo(layout, input.maxWords, measure);
  if (input.minWords !== undefined) expandTo(layout, input.minWords, input.maxWords ?? Infinity, next, measure);

  nameGroups(layout.groups, sentences);
  const { markdown, citations } = compose(layout, sources);
  const title = makeTitle(sources, sentences, [...intro, ...body, ...takeaways], keywords);
  const printed = [...layout.takeaways, ...layout.groups.flatMap((g) => g.sentences), ...layout.conclusion];
  return {
    title,
    slug: slugify(title),
    markdown,
    // The post's own sentences first; the core selection only when a trimmed post is too short for a description.
    metaDescription: metaDescription([...layout.intro].sort(byOrder), [...printed, ...core]),
    tags: makeTags(keywords, ranked, sentences),
    citations,
    wordCount: (markdown.match(/[\p{L}\p{N}]+/gu) ?? []).length,
  };
}

/**
 * One or two sentences to close the post: the best of the next unused ranked sentences, preferring those late in
 * their source (where sources sum up). The candidates not chosen go back, in rank order, for the expansion. With
 * nothing unused left, a sentence moves from a section that keeps others (or from more than three takeaways);
 * only when there is none is a printed sentence repeated.
 */
function pickConclusion(
  next: () => Sentence | undefined,
  spare: Sentence[],
  all: Sentence[],
  layout: Omit<Layout, 'conclusion'>,
): Sentence[] {
  const last = new Map<number, number>();
  for (const s of all) last.set(s.source, Math.max(last.get(s.source) ?? 0, s.position));
  const closing = (s: Sentence): number => s.score * (0.6 + 0.8 * (s.position / Math.max(1, last.get(s.source)!)));
  const byClosing = (a: Sentence, b: Sentence): number => closing(b) - closing(a) || byOrder(a, b);

  const candidates: Sentence[] = [];
  for (let s = next(); s; s = candidates.length < CONCLUSION_CANDIDATES ? next() : undefined) candidates.push(s);
  if (candidates.length > 0) {
    const chosen = [...candidates].sort(byClosing).slice(0, CONCLUSION_SENTENCES);
    spare.unshift(...candidates.filter((s) => !chosen.includes(s)));
    return chosen.sort(byOrder);
  }
  const movable = [
    ...layout.groups.filter((g) => g.sentences.length > 1).flatMap((g) => g.sentences),
    ...(layout.takeaways.length > 3 ? layout.takeaways : []),
  ].filter((s) => !layout.intro.includes(s));
  const moved = [...movable].sort(byClosing)[0];
  if (moved) {
    for (const g of layout.groups) g.sentences = g.sentences.filter((s) => s !== moved);
    layout.takeaways = layout.takeaways.filter((s) => s !== moved);
    return [moved];
  }
  const printed = [...layout.takeaways, ...layout.groups.flatMap((g) => g.sentences)].filter(
    (s) => !layout.intro.includes(s),
  );
  return [...(printed.length ? printed : layout.intro)].sort(byClosing).slice(0, 1);
}

/**
 * Above `maxWords`: drop the lowest-ranked section sentences, then takeaways, then the extra conclusion and
 * introduction sentences, until the body fits. The introduction and conclusion keep one sentence each.
 */
function trimTo(layout: Layout, maxWords: number, measure: () => { all: number }): void {
  const lowest = (list: Sentence[]): Sentence => [...list].sort(byScore).at(-1)!;
  while (measure().all > maxWords) {
    const inSections = layout.groups.flatMap((g) => g.sentences);
    if (inSections.length > 0) {
      const drop = lowest(inSections);
      for (const g of layout.groups) g.sentences = g.sentences.filter((s) => s !== drop);
      layout.groups = layout.groups.filter((g) => g.sentences.length > 0);
    } else if (layout.takeaways.length > 0) {
      const drop = lowest(layout.takeaways);
      layout.takeaways = layout.takeaways.filter((s) => s !== drop);
    } else if (layout.conclusion.length > 1) {
      const drop = lowest(layout.conclusion);
      layout.conclusion = layout.conclusion.filter((s) => s !== drop);
    } else if (layout.intro.length > 1) {
      const drop = lowest(layout.intro);
      layout.intro = layout.intro.filter((s) => s !== drop);
    } else {
      return; // As short as it gets; the SEO lint reports the length.
    }
  }
}

/**
 * Below `minWords`: add the next ranked unused sentences, each to the section of its origin (its source heading,
 * or its source), a new section for a new origin, or the closest section once there are {@link MAX_SECTIONS} —
 * until the body reaches `minWords` or the sources run out. A sentence that would pass `maxWords` is skipped.
 */
function expandTo(
  layout: Layout,
  minWords: number,
  maxWords: number,
  next: () => Sentence | undefined,
  measure: () => { prose: number; all: number },
): void {
  let words = measure().prose;
  for (let s = words < minWords ? next() : undefined; s; s = words < minWords ? next() : undefined) {
    const undo = place(layout, s);
    const after = measure();
    if (after.all > maxWords) undo();
    else words = after.prose;
  }
}

/** Adds a sentence to the layout's sections; returns how to take it out again. */
function place(layout: Layout, s: Sentence): () => void {
  const key = groupKey(s);
  const same = layout.groups.filter((g) => g.keys.has(key)).sort((a, b) => byOrder(earliest(a), earliest(b)));
  let group: Group;
  if (same.length > 0) {
    // A source split into parts: the part whose material comes before the sentence.
    group = same.filter((g) => byOrder(earliest(g), s) <= 0).at(-1) ?? same[0]!;
  } else if (layout.groups.length < MAX_SECTIONS) {
    group = { heading: s.heading, keys: new Set([key]), sentences: [], name: '' };
    layout.groups.push(group);
  } else {
    // The closest section among those already drawing on the same source, else among all.
    const overlap = (g: Group): number =>
      g.sentences.reduce((sum, t) => sum + [...s.terms].filter((w) => t.terms.has(w)).length, 0);
    const near = layout.groups.filter((g) => g.sentences.some((t) => t.source === s.source));
    group = (near.length ? near : layout.groups).reduce((best, g) => (overlap(g) > overlap(best) ? g : best));
  }
  group.sentences.push(s);
  return () => {
    group.sentences = group.sentences.filter((t) => t !== s);
    layout.groups = layout.groups.filter((g) => g.sentences.length > 0);
  };
}

/** The Markdown of a layout and the citations it uses; sources are numbered in input order among those cited. */
function compose(layout: Layout, sources: SourceDoc[]): { markdown: string; citations: Citation[] } {
  const { intro, groups, takeaways, conclusion } = layout;
  const used = new Set<number>(
    [...intro, ...takeaways, ...conclusion, ...groups.flatMap((g) => g.sentences)].map((s) => s.source),
  );
  const order = sources.map((_, i) => i).filter((i) => used.has(i));
  const number = new Map(order.map((sourceIndex, k) => [sourceIndex, k + 1]));
  const cite = (s: Sentence): string => `[${number.get(s.source)}]`;
  const citations: Citation[] = order.map((i) => ({
    sourceId: sources[i]!.id,
    title: sourceTitle(sources[i]!, i),
    url: sources[i]!.url,
  }));

  const parts: string[] = [];
  if (intro.length) parts.push(paragraph([...intro].sort(byOrder), cite));
  // Sections follow the order of the material in the sources.
  for (const group of [...groups].sort((a, b) => byOrder(earliest(a), earliest(b)))) {
    if (group.sentences.length === 0) continue;
    parts.push(`## ${group.name}`);
    const sorted = [...group.sentences].sort(byOrder);
    // One paragraph per source within a section, split when it grows long.
    for (const sourceIndex of [...new Set(sorted.map((s) => s.source))]) {
      const own = sorted.filter((s) => s.source === sourceIndex);
      for (let i = 0; i < own.length; i += PARAGRAPH_SENTENCES)
        parts.push(paragraph(own.slice(i, i + PARAGRAPH_SENTENCES), cite));
    }
  }
  if (takeaways.length) parts.push('## Key takeaways', takeaways.map((s) => `- ${s.text} ${cite(s)}`).join('\n'));
  if (conclusion.length) parts.push('## Conclusion', paragraph([...conclusion].sort(byOrder), cite));
  parts.push('## Sources', citations.map((c, k) => `${k + 1}. ${sourceLine(c)}`).join('\n'));
  return { markdown: `${parts.join('\n\n')}\n`, citations };
}

/** Sentences in order, each run from one source followed by that source's citation marker. */
function paragraph(sentences: Sentence[], cite: (s: Sentence) => string): string {
  let out = '';
  sentences.forEach((s, i) => {
    out += (out ? ' ' : '') + s.text;
    const next = sentences[i + 1];
    if (!next || next.source !== s.source) out += ` ${cite(s)}`;
  });
  return out;
}

function earliest(g: Group): Sentence {
  return g.sentences.reduce((a, b) => (byOrder(a, b) <= 0 ? a : b));
}

/**
 * Two to four sections: the sources' own headings when the sentences have them, otherwise one section per source,
 * and a single group is split in source order so that the post still has sections. They are named by
 * {@link nameGroups}.
 */
function makeGroups(body: Sentence[], all: Sentence[]): Group[] {
  if (body.length === 0) return [];
  const byKey = new Map<string, Group>();
  for (const s of body) {
    const key = groupKey(s);
    const group = byKey.get(key) ?? { heading: s.heading, keys: new Set([key]), sentences: [], name: '' };
    group.sentences.push(s);
    byKey.set(key, group);
  }
  const total = (g: Group): number => g.sentences.reduce((sum, s) => sum + s.score, 0);
  let groups = [...byKey.values()]
    .sort((a, b) => total(b) - total(a) || byOrder(a.sentences[0]!, b.sentences[0]!))
    .slice(0, 4);
  for (const g of groups) g.sentences = [...g.sentences].sort(byScore).slice(0, 4);

  if (groups.length === 1) {
    const only = groups[0]!;
    const ordered = [...only.sentences].sort(byOrder);
    const parts = ordered.length >= 6 ? 3 : 2;
    const size = Math.ceil(ordered.length / parts);
    groups = [];
    for (let i = 0; i < ordered.length; i += size)
      groups.push({ heading: null, keys: only.keys, sentences: ordered.slice(i, i + size), name: '' });
  }
  groups.sort((a, b) => byOrder(earliest(a), earliest(b)));
  nameGroups(groups, all);
  return groups;
}

/** Sections keep their source heading when it is free; the others are named after their top terms. */
function nameGroups(groups: Group[], all: Sentence[]): void {
  const taken = new Set<string>(RESERVED_HEADINGS);
  [...groups]
    .sort((a, b) => byOrder(earliest(a), earliest(b)))
    .forEach((group, i) => {
      let name = group.heading && !taken.has(group.heading.toLowerCase()) ? group.heading : null;
      if (!name) {
        const terms = topTerms(group.sentences, all, 4).map(titleCase);
        for (let k = Math.min(2, terms.length); k <= terms.length && !name; k++) {
          const candidate = joinTerms(terms.slice(0, k));
          if (candidate && !taken.has(candidate.toLowerCase())) name = candidate;
        }
        name ??= `Part ${i + 1}`;
      }
      taken.add(name.toLowerCase());
      group.name = name;
    });
}

function joinTerms(terms: string[]): string {
  if (terms.length <= 1) return terms[0] ?? '';
  return `${terms.slice(0, -1).join(', ')} and ${terms[terms.length - 1]}`;
}

const TITLE_MAX = 60;

/** The given keywords lead when there are any; otherwise the title of the source the post draws on most. */
function makeTitle(sources: SourceDoc[], all: Sentence[], used: Sentence[], keywords: string[]): string {
  const weight = new Map<number, number>();
  for (const s of used) weight.set(s.source, (weight.get(s.source) ?? 0) + s.score);
  const candidates = [...weight].filter(([i]) => sources[i]!.title?.trim()).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const top = candidates[0];
  const sourceTitle = top ? stripSiteName(sources[top[0]]!.title!.replace(/\s+/g, ' ').trim()) : null;

  let title: string;
  const keyword = keywords[0];
  if (keyword && sourceTitle) {
    title = sourceTitle.toLowerCase().includes(keyword.toLowerCase())
      ? sourceTitle
      : `${keyword.split(/\s+/).map(titleCase).join(' ')}: ${sourceTitle}`;
  } else if (sourceTitle) {
    title = sourceTitle;
  } else if (keywords.length) {
    title = joinTerms(keywords.slice(0, 3).map((k) => k.split(/\s+/).map(titleCase).join(' ')));
  } else {
    title = joinTerms(topTerms(used, all, 3).map(titleCase)) || 'Untitled post';
  }
  return truncateAtWord(title, TITLE_MAX);
}

/** "How X works | Site" → "How X works", when what remains is still a real title. */
function stripSiteName(title: string): string {
  const m = /^(.{20,}?)\s+[|–—·]\s+[^|–—·]{2,40}$/.exec(title);
  return m ? m[1]! : title;
}

/**
 * 140–160 characters of the post's own sentences: whole sentences when they land in that range, otherwise cut
 * at a word boundary with an ellipsis. Shorter only when the sources hold less text than that.
 */
function metaDescription(lead: Sentence[], more: Sentence[]): string {
  const texts: string[] = [];
  const seen = new Set<number>();
  for (const s of [...lead, ...more]) {
    if (seen.has(s.index)) continue;
    seen.add(s.index);
    texts.push(plainText(s.text));
  }
  let text = '';
  for (const t of texts) {
    const next = text ? `${text} ${t}` : t;
    if (next.length > 160) {
      if (text.length >= 140) return text;
      text = next;
      break;
    }
    text = next;
    if (text.length >= 140) return text;
  }
  if (text.length <= 160) return text;
  const cut = text.slice(0, 160).lastIndexOf(' ');
  const trimmed = (cut > 100 ? text.slice(0, cut) : text.slice(0, 159)).replace(/[\s,;:.–—-]+$/, '');
  return `${trimmed}…`;
}

/** The given keywords first, then the post's most characteristic terms; at most five, lower case. */
function makeTags(keywords: string[], ranked: Sentence[], all: Sentence[]): string[] {
  const tags: string[] = [];
  const add = (tag: string): void => {
    const t = tag.toLowerCase().replace(/\s+/g, ' ').trim();
    if (t && !tags.includes(t) && tags.length < 5) tags.push(t);
  };
  keywords.forEach(add);
  topTerms(ranked, all, 10).forEach(add);
  return tags;
}
