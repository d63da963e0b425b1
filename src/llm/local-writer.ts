import { PermanentError } from '../errors.ts';
import { keyPhrases } from '../ingest/keywords.ts';
import { dependsOnContext } from '../text/context.ts';
import { slugify } from '../text/html.ts';
import { language, sectionLabels, sourcesLanguage } from '../text/language.ts';
import { closesQuote, quoteOpen, splitSentences, withoutFootnoteMarks } from '../text/sentences.ts';
import { stem } from '../text/stem.ts';
import { stopWords } from '../text/stop-words.ts';
import {
  composeMetaDescription,
  countWords,
  fitTitle,
  leadSentences,
  readableBody,
  sourceHeadline,
  sourceLine,
  sourceTitle,
  TITLE_MAX,
} from './post.ts';
import type { Citation, Draft, SourceDoc, Writer, WriterInput } from './types.ts';

/**
 * The offline writer: an extractive, attributed draft. It never writes a sentence of its own; every sentence of
 * the body is copied from a source and followed by the number of that source in the Sources list. Sentences
 * are ranked with TextRank (PageRank over a graph whose edges are the word overlap between sentences) with a small
 * bonus for sentences near the start of their source. A sentence that leans on the one before it ("This means…",
 * "However, …") is only printed right after it: the writer picks passages (a sentence that stands alone and the
 * sentences that lean on it), never a sentence twice, and gives every section at least two sentences.
 */
export function createLocalWriter(): Writer {
  return {
    provider: 'local',
    model: 'extractive-v2',
    async write(input: LocalWriterInput): Promise<Draft> {
      return writeDraft(input);
    },
  };
}

// --- text helpers --------------------------------------------------------------------------------------------

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? [];
}

/** Content words of a text, stemmed: lowercase, no stop words, no bare numbers, at least three characters. */
function contentTerms(text: string, lang: string): string[] {
  const stop = stopWords(lang);
  return words(text)
    .map((w) => w.replace(/['’]s$/, ''))
    .filter((w) => w.length >= 3 && !stop.has(w) && !/^\d+$/.test(w))
    .map((w) => stem(w, lang));
}

// --- reading the sources -------------------------------------------------------------------------------------

interface Sentence {
  index: number;
  source: number;
  /** Order of the sentence within its source. */
  position: number;
  /** Order of its paragraph within its source. */
  paragraph: number;
  /** The nearest `##` (or deeper) heading above it in its source, if any. */
  heading: string | null;
  text: string;
  terms: Set<string>;
  /** `terms` plus any numbers: two sentences that differ only in their figures state different facts. */
  identity: Set<string>;
  score: number;
}

/**
 * A passage: a sentence that stands on its own, followed by the sentences of its source that lean on it
 * ("However, …", "This means …"), in order. Passages are what the writer picks and places; its first sentence can
 * also be used alone (as a takeaway), and then the rest of the passage is used up with it.
 */
interface Passage {
  sentences: Sentence[];
  score: number;
  identity: Set<string>;
}

const MAX_SENTENCES_PER_SOURCE = 200;
const MAX_SENTENCES = 600;
/** A sentence and at most this many followers leaning on it; a longer chain is cut there. */
const MAX_PASSAGE_SENTENCES = 3;

/** A paragraph of a source, or one item of a list (which may run on over several lines). */
type Paragraph = { heading: string | null; text: string; item?: 'bullet' | 'number' };

/** The paragraphs of a Markdown or plain-text source, each with its heading; code, tables and HTML are skipped. */
function paragraphs(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let heading: string | null = null;
  let lines: string[] = [];
  let item: Paragraph['item'];
  let inFence = false;
  // Under "References", "Weblinks" and the like come citations and links, not the article's prose.
  let apparatus = false;
  const end = (): void => {
    const joined = lines.join(' ').replace(/\s+/g, ' ').trim();
    if (joined && !apparatus) out.push(item ? { heading, text: joined, item } : { heading, text: joined });
    lines = [];
    item = undefined;
  };
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    // A quotation's lines are read as text (a heading quoted in a pull quote is still a heading).
    const line = raw.trim().replace(/^(?:>\s?)+/, '');
    if (/^(```|~~~)/.test(line)) {
      end();
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const h = /^(#{1,6})\s+(.*?)(?:\s+#+)?$/.exec(line);
    if (h) {
      end();
      // The H1 is the source's title, not a section of it. A wiki's "[edit]" and a heading's full stop go.
      if (h[1]!.length >= 2) {
        heading =
          h[2]!
            .replace(/\s*\[(?:edit|bearbeiten|modifier|editar)[^\]]*\]\s*/gi, '')
            .replace(/(?<=\p{L})\.$/u, '')
            .trim() || null;
        // Only after the article's prose: a page may put its category ("Literatur") above the article.
        apparatus = heading !== null && out.length > 0 && APPARATUS_HEADINGS.test(heading);
      }
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
    const listed = /^(?:([-*+])|\d+[.)])\s+(.*)$/.exec(line);
    if (listed) {
      end();
      lines.push(listed[2]!);
      item = listed[1] ? 'bullet' : 'number';
      continue;
    }
    lines.push(line);
  }
  end();
  return out;
}

/** Whether a list item and a sentence are the same text, or one holds the other, whatever ends them. */
function sameText(item: string, sentence: string): boolean {
  const bare = (text: string): string => text.replace(/[\s.!?:;…]+$/u, '');
  const a = bare(item);
  const b = bare(sentence);
  return a.includes(b) || (a.length >= 20 && b.includes(a));
}

/** A list of a source kept whole: a recipe's ingredients, a guide's steps. */
interface SourceList {
  source: number;
  /** Its heading in the source, without a number of its own ("3. Zutaten"). */
  heading: string;
  /** The sentence the list completes ("Bei der Einreise ist vorzulegen:"), printed before it. */
  lead: string | null;
  ordered: boolean;
  items: string[];
  words: number;
  /** Its first item's paragraph in the source, as {@link Sentence.paragraph} counts: where it goes among sections. */
  paragraph: number;
}

const LIST_ITEMS = { min: 3, max: 20 };
const LIST_ITEM_WORDS = 30;
const LIST_WORDS = 250;

/**
 * The first list under a heading of the source that reads as the article's own: three to twenty items of at most
 * thirty words each, none a teaser cut short, not the source's own headings (a table of contents), and at most a
 * quarter of the post's length. Items are rarely sentences, so a writer that copies sentences would otherwise leave
 * out a recipe's ingredients or a guide's steps, which are what the article is for.
 */
function pickList(source: SourceDoc, sourceIndex: number, maxWords: number, lang: string): SourceList | null {
  const paras = paragraphs(source.text);
  const headings = new Set(paras.map((p) => p.heading?.toLowerCase()).filter((h) => h));
  const runs: { lead: Paragraph | undefined; items: Paragraph[]; at: number }[] = [];
  paras.forEach((p, i) => {
    const run = runs.at(-1)?.items;
    if (p.item && run?.[0]?.item === p.item && run[0].heading === p.heading && paras[i - 1]?.item) run.push(p);
    else if (p.item) runs.push({ lead: paras[i - 1], items: [p], at: i });
  });
  for (const { lead: before, items: run, at } of runs) {
    const heading = run[0]?.heading?.replace(/^\d+[.):]\s+/, '').replace(/\s*:$/, '');
    if (!heading || run.length < LIST_ITEMS.min || run.length > LIST_ITEMS.max) continue;
    // Invisible separators (U+2063 after each of a recipe's items) are not text.
    const items = run.map((p) =>
      withoutFootnoteMarks(p.text)
        .replace(/[\u200B-\u200D\u2060-\u2064\uFEFF]/g, '')
        .trim(),
    );
    const counts = items.map((item) => words(item).length);
    const total = counts.reduce((a, b) => a + b, 0);
    if (items.some((item, i) => counts[i] === 0 || counts[i]! > LIST_ITEM_WORDS || /\.\.\.$|…$/.test(item))) continue;
    if (items.filter((item) => headings.has(item.toLowerCase())).length >= 2) continue;
    // A gallery's credits ("Radfahren in Salzburg © …"), often with the same picture twice, are no list to read.
    if (new Set(items).size < items.length || items.some((item) => item.includes('©'))) continue;
    // Links alone are a page's "read more", not the article's list.
    if (items.filter((item) => /^\[[^\]]*\]\([^)]*\)$/.test(item)).length * 3 > items.length) continue;
    const lead =
      before && !before.item && before.heading === run[0]!.heading && /:$/.test(before.text)
        ? withoutFootnoteMarks(before.text)
        : null;
    // A list completing a sentence that is a fragment ("mit:") or leans on one before it is left out whole.
    if (lead && (!/^[\p{Lu}\p{N}]/u.test(lead) || dependsOnContext(splitSentences(lead, lang)[0] ?? lead, lang)))
      continue;
    const length = total + (lead ? words(lead).length : 0);
    if (length > Math.min(LIST_WORDS, maxWords / 4)) continue;
    return {
      source: sourceIndex,
      heading,
      lead,
      ordered: run[0]!.item === 'number',
      items,
      words: length,
      paragraph: at,
    };
  }
  return null;
}

const APPARATUS_HEADINGS =
  /^(?:references?|notes|footnotes|sources|bibliography|further reading|external links|see also|einzelnachweise|anmerkungen|quellen|literatur|weblinks|siehe auch|références|notes et références|bibliographie|liens externes|voir aussi|referencias|notas|bibliografía|enlaces externos|véase también)$/i;

/**
 * Whether a sentence reads as a statement of prose: five to sixty words, ending as a sentence ends. Questions are
 * left out: copied without their answer, or as a heading's echo, they read as an interview's leftovers.
 */
function isProse(text: string, terms: Set<string>): boolean {
  const count = words(text).length;
  // A teaser cut short ("…mit optimiertem Wartungskonzept m...") is not a sentence of the article, nor is a
  // bibliographic reference.
  if (/\.\.\.|…/.test(text)) return false;
  if (/\b(?:doi:|arXiv:|ISBN|ISSN)|\bpp?\. \d/.test(text)) return false;
  return count >= 5 && count <= 60 && /[.!]["'“”’»)\]]*$/u.test(text) && terms.size > 0;
}

/** A statement of three or four words that ends as a sentence ends, with something to say (content terms). */
function isShortStatement(text: string, terms: Set<string>): boolean {
  const count = words(text).length;
  return count >= 3 && count < 5 && /^\p{Lu}/u.test(text) && /[.!]["'“”’»)\]]*$/u.test(text) && terms.size > 0;
}

/**
 * The sources' sentences and the passages they form. A sentence that leans on another joins the passage of the
 * sentence before it, when that one is in the same part of the source and usable; otherwise it is left out, as are
 * sentences that are not prose (captions, headings run into text, list fragments) and sentences seen in an
 * earlier source.
 */
function readPassages(sources: SourceDoc[], lang: string, proseOnly: boolean): Passage[] {
  const passages: Passage[] = [];
  const seen = new Set<string>();
  let total = 0;
  sources.forEach((source, sourceIndex) => {
    let position = 0;
    let current: Passage | null = null;
    let heading: string | null | undefined;
    const close = (): void => {
      if (current) passages.push(current);
      current = null;
    };
    let paragraphIndex = -1;
    for (const para of paragraphs(source.text)) {
      paragraphIndex++;
      if (para.heading !== heading) close();
      heading = para.heading;
      // The passage open since a sentence of this paragraph, if any: a short sentence may only join that one.
      let openHere: Passage | null = null;
      for (const text of splitSentences(withoutFootnoteMarks(para.text), lang)) {
        if (position >= MAX_SENTENCES_PER_SOURCE || total >= MAX_SENTENCES) {
          close();
          return;
        }
        position++;
        const key = text.toLowerCase();
        const duplicate = seen.has(key);
        seen.add(key);
        const terms = contentTerms(text, lang);
        const sentence: Sentence = {
          index: 0,
          source: sourceIndex,
          position: position - 1,
          paragraph: paragraphIndex,
          heading: para.heading,
          text,
          terms: new Set(terms),
          identity: new Set([...terms, ...(text.match(/\d+(?:[.,]\d+)*/g) ?? [])]),
          score: 0,
        };
        // A short statement inside a paragraph of prose ("Generate writes the draft." in a list of stages written
        // as sentences) goes with the sentence before it: left out, it would leave a gap in what the paragraph
        // lists; alone, it says too little to be picked.
        if (
          !duplicate &&
          proseOnly &&
          openHere !== null &&
          current === openHere &&
          isShortStatement(text, sentence.terms)
        ) {
          if (current.sentences.length < MAX_PASSAGE_SENTENCES) {
            total++;
            current.sentences.push(sentence);
          } else close();
          continue;
        }
        const usable = !duplicate && (proseOnly ? isProse(text, sentence.terms) : /[\p{L}]/u.test(text));
        if (!usable) {
          close();
          continue;
        }
        total++;
        const open = current as Passage | null;
        // Inside a quotation spoken over several sentences, each leans on the one before, like an anaphor.
        const quoted = open !== null && quoteOpen(open.sentences.map((s) => s.text).join(' '));
        if (quoted || dependsOnContext(text, lang) || closesQuote(text)) {
          if (open && open.sentences.length < MAX_PASSAGE_SENTENCES) open.sentences.push(sentence);
          else {
            // A passage cut off inside its quotation would print half of it.
            if (open && quoted) current = null;
            close();
          }
          continue;
        }
        close();
        current = { sentences: [sentence], score: 0, identity: new Set() };
        openHere = current;
      }
    }
    close();
  });
  for (const p of passages) p.identity = new Set(p.sentences.flatMap((s) => [...s.identity]));
  return passages;
}

// --- ranking -------------------------------------------------------------------------------------------------

const DAMPING = 0.85;
const ITERATIONS = 50;

/** TextRank: weighted PageRank over sentence similarity, times a position bonus and a keyword bonus. */
function rank(sentences: Sentence[], keywordTerms: string[][]): void {
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
  for (const s of sentences) {
    const positionBonus = 1 + 0.3 * Math.max(0, 1 - s.position / 10);
    const matches = keywordTerms.filter((terms) => terms.every((t) => s.terms.has(t))).length;
    s.score = pr[s.index]! * n * positionBonus * (1 + 0.3 * matches);
  }
}

function byOrder(a: Sentence, b: Sentence): number {
  return a.source - b.source || a.position - b.position;
}

const head = (p: Passage): Sentence => p.sentences[0]!;
const byPassageOrder = (a: Passage, b: Passage): number => byOrder(head(a), head(b));
const byPassageScore = (a: Passage, b: Passage): number => b.score - a.score || byPassageOrder(a, b);

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Ranked passages with near-duplicates of better-ranked ones dropped, one at a time (the rest is rarely needed). */
function diverseStream(ranked: Passage[]): () => Passage | undefined {
  const picked: Passage[] = [];
  let i = 0;
  return () => {
    while (i < ranked.length) {
      const p = ranked[i++]!;
      if (picked.some((q) => jaccard(q.identity, p.identity) >= 0.8)) continue;
      picked.push(p);
      return p;
    }
    return undefined;
  };
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
 * only sources, keywords and the language). Writers that do not know the bounds ignore them.
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
  /** The source heading the section is named after, when its passages share one. */
  heading: string | null;
  /** Where its passages come from: `h:<heading>` or `s:<source>`; expansion adds passages of the same origin. */
  keys: Set<string>;
  passages: Passage[];
  name: string;
}

interface Layout {
  intro: Passage[];
  groups: Group[];
  /** Sentences that stand alone, one per bullet. */
  takeaways: Passage[];
  conclusion: Passage[];
  /** A list of the main source printed whole, in the section of its heading or as one of its own. */
  list: SourceList | null;
}

/** Sections the expansion may grow the post to; beyond that, passages join the closest existing section. */
const MAX_SECTIONS = 12;
/** Sentences of one source in one paragraph before a new paragraph starts (a passage is never split). */
const PARAGRAPH_SENTENCES = 4;
const CONCLUSION_CANDIDATES = 8;
/** A conclusion's passages start this far into their source, at least (a share of its sentences). */
const CLOSING_PART = 2 / 3;
/** Passages ranked before the layout is drawn up; expansion draws on the rest. */
const RANKED_PASSAGES = 24;

function groupKey(p: Passage): string {
  const s = head(p);
  return s.heading ? `h:${s.heading.toLowerCase()}` : `s:${s.source}`;
}

const sentenceCount = (list: Passage[]): number => list.reduce((n, p) => n + p.sentences.length, 0);
const sentenceWords = new WeakMap<Sentence, { prose: number; raw: number }>();

/**
 * Words of the composed body, summed over its sentences and headings instead of composing the Markdown on every
 * step. `prose` counts as the SEO lint's length rule does (no headings, Sources list, citation markers or link
 * targets); `all` counts as the post's stored word count does (`countWords(readableBody(markdown))`, headings
 * included). Expansion aims `prose` at minWords and keeps `all` under maxWords, so both end up within the brief.
 */
function bodyWords(layout: Layout, labels: { takeaways: string; conclusion: string }): { prose: number; all: number } {
  let prose = 0;
  let all = 0;
  const add = (list: Passage[]): void => {
    for (const s of list.flatMap((p) => p.sentences)) {
      let count = sentenceWords.get(s);
      if (!count) {
        const raw = readableBody(s.text);
        const text = raw
          .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
          .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
          .replace(/[*_`>]/g, '');
        count = { prose: countWords(text), raw: countWords(raw) };
        sentenceWords.set(s, count);
      }
      prose += count.prose;
      all += count.raw;
    }
  };
  add(layout.intro);
  for (const g of layout.groups) {
    if (g.passages.length === 0) continue;
    add(g.passages);
    // Named at the end; until then a source heading's words, or a key phrase's usual two.
    all += g.name ? countWords(g.name) : g.heading ? countWords(g.heading) : 2;
  }
  add(layout.takeaways);
  if (layout.takeaways.length) all += countWords(labels.takeaways);
  add(layout.conclusion);
  if (layout.conclusion.length) all += countWords(labels.conclusion);
  if (layout.list) {
    prose += layout.list.words;
    all += layout.list.words + countWords(layout.list.heading);
  }
  return { prose, all };
}

/** A sentence that can open the post or stand as a takeaway: a statement of eight to forty words. */
function isStatement(s: Sentence): boolean {
  const count = words(s.text).length;
  return count >= 8 && count <= 40 && /[.!…]["'”’»)\]]*$/u.test(s.text);
}

function writeDraft(input: LocalWriterInput): Draft {
  const sources = input.sources;
  if (sources.length === 0) throw new PermanentError('the local writer needs at least one source');
  const lang = language(input.language ?? sourcesLanguage(sources) ?? 'en').tag;
  const labels = sectionLabels(lang);
  const keywords = (input.keywords ?? []).map((k) => k.trim()).filter(Boolean);
  // Prose sentences when the sources have them; a very short or list-like source may have nothing else.
  let passages = readPassages(sources, lang, true);
  if (passages.length === 0) passages = readPassages(sources, lang, false);
  const sentences = passages.flatMap((p) => p.sentences);
  if (sentences.length === 0) throw new PermanentError('the sources contain no sentences to write from');
  sentences.forEach((s, i) => {
    s.index = i;
  });
  const keywordTerms = keywords.map((k) => contentTerms(k, lang)).filter((t) => t.length > 0);
  rank(sentences, keywordTerms);
  for (const p of passages) p.score = Math.max(...p.sentences.map((s) => s.score));
  const mentions = (p: Passage, terms: string[]): boolean =>
    p.sentences.some((s) => terms.every((t) => s.terms.has(t)));

  const stream = diverseStream([...passages].sort(byPassageScore));
  const ranked: Passage[] = [];
  for (let p = stream(); p; p = ranked.length < RANKED_PASSAGES ? stream() : undefined) ranked.push(p);
  const used = new Set<Passage>();
  const take = (p: Passage): Passage => {
    used.add(p);
    return p;
  };

  // The introduction states the topic: the best-placed passage near the top of the source the post draws on most,
  // and the brief's primary keyword when the sources mention it.
  const weight = new Map<number, number>();
  for (const p of ranked.slice(0, 10)) weight.set(head(p).source, (weight.get(head(p).source) ?? 0) + p.score);
  const main = [...weight].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  // Its list, printed whole, takes its items: none is printed again as a sentence.
  const list = pickList(sources[main]!, main, input.maxWords ?? Number.POSITIVE_INFINITY, lang);
  if (list)
    for (const p of passages)
      if (
        head(p).source === main &&
        p.sentences.some((s) => [...list.items, list.lead ?? ''].some((item) => item && sameText(item, s.text)))
      )
        used.add(p);
  // The source's first statement, unless a later one near the top ranks at least three times as high.
  const top = passages.filter(
    (p) => !used.has(p) && head(p).source === main && head(p).position < 10 && isStatement(head(p)),
  );
  const best = [...top].sort(byPassageScore)[0];
  const lead = top.find((p) => best && p.score * 3 >= best.score) ?? ranked[0]!;
  const intro = [take(lead)];
  const primary = keywordTerms[0];
  if (primary && !mentions(lead, primary)) {
    const withKeyword = [...passages].sort(byPassageScore).find((p) => !used.has(p) && mentions(p, primary));
    if (withKeyword) intro.push(take(withKeyword));
  }
  // A one-sentence lead is followed by what follows it in its source, when that stands as a statement too.
  if (sentenceCount(intro) < 2 && countWords(intro.map((p) => head(p).text).join(' ')) < 30) {
    const after = passages.find(
      (p) =>
        head(p).source === head(lead).source &&
        head(p).heading === head(lead).heading &&
        head(p).position === lead.sentences.at(-1)!.position + 1,
    );
    if (after && !used.has(after) && isStatement(head(after))) intro.push(take(after));
  }

  // The sections take the best material; the takeaways and the conclusion what is left.
  const body: Passage[] = [];
  for (const p of ranked) {
    if (used.has(p) || sentenceCount(body) >= 12) continue;
    body.push(take(p));
  }
  const groups = makeGroups(body);
  // What the sections could not hold goes back for the conclusion and the expansion.
  const grouped = new Set(groups.flatMap((g) => g.passages));
  for (const p of body) if (!grouped.has(p)) used.delete(p);

  // Takeaways: the best remaining statements, each alone (a passage's followers are used up with it), from
  // passages of one sentence first, so that longer passages stay whole for the expansion.
  const rest = ranked.filter((p) => !used.has(p));
  const takeawayCount = rest.length >= 10 ? 5 : rest.length >= 7 ? 4 : rest.length >= 4 ? 3 : 0;
  const takeaways: Passage[] = [];
  const candidates = [...rest.filter((p) => p.sentences.length === 1), ...rest.filter((p) => p.sentences.length > 1)];
  for (const p of candidates) {
    if (takeaways.length >= takeawayCount) break;
    if (!isStatement(head(p))) continue;
    take(p);
    takeaways.push({ sentences: [head(p)], score: p.score, identity: head(p).identity });
  }
  takeaways.sort(byPassageScore);

  // Passages not printed yet, best first: the ranked ones left over, then the rest of the sources.
  const spare = ranked.filter((p) => !used.has(p));
  const next = (): Passage | undefined => {
    for (let p = spare.shift() ?? stream(); p; p = spare.shift() ?? stream()) if (!used.has(p)) return take(p);
    return undefined;
  };

  const layout: Layout = { intro, groups, takeaways, conclusion: [], list };
  layout.conclusion = pickConclusion(next, spare, used, passages);
  const measure = (): { prose: number; all: number } => bodyWords(layout, labels);
  if (input.maxWords !== undefined) trimTo(layout, input.maxWords, measure);
  // A new section opens with two passages of its origin: the next unused one of the same heading or source.
  const companion = (p: Passage): Passage | undefined => {
    const q = [...passages].sort(byPassageScore).find((c) => c !== p && !used.has(c) && groupKey(c) === groupKey(p));
    return q && take(q);
  };
  const fits = (): boolean => measure().all <= (input.maxWords ?? Infinity);
  settle(layout, passages, used, fits, lang);
  // Settling may leave out a section of one sentence; the expansion then goes on with the material left.
  for (let round = 0; round < 4 && input.minWords !== undefined && measure().prose < input.minWords; round++) {
    expandTo(layout, input.minWords, input.maxWords ?? Infinity, next, measure, companion);
    settle(layout, passages, used, fits, lang);
  }

  nameGroups(layout.groups, lang, labels);
  const { markdown, citations } = compose(layout, sources, labels);
  const printed = [
    ...layout.intro,
    ...layout.takeaways,
    ...layout.groups.flatMap((g) => g.passages),
    ...layout.conclusion,
  ];
  const phrases = keyPhrases(sourceText(sources), 10, lang);
  // The brief's keywords the sources mention (any inflection: "index funds" in "an index fund").
  const supported = keywords.filter((k) => {
    const terms = contentTerms(k, lang);
    return terms.length > 0 && passages.some((p) => mentions(p, terms));
  });
  const title = makeTitle(sources, printed, supported, phrases, lang);
  return {
    title,
    slug: slugify(title, 80, lang),
    markdown,
    // The post's paragraphs as printed, the introduction first, then its takeaways, each alone; then runs of
    // sentences next to each other in the source, best first, should the post's own not make 140–160 characters.
    metaDescription: composeMetaDescription(
      [
        ...leadSentences(markdown, lang),
        ...layout.takeaways.map((p) => [head(p).text]),
        ...sourceRuns(passages).slice(0, 20),
      ],
      lang,
    ),
    tags: makeTags(supported, phrases),
    citations,
    wordCount: (markdown.match(/[\p{L}\p{N}]+/gu) ?? []).length,
    language: lang,
  };
}

/**
 * The passages' sentences in runs of sentences next to each other in a paragraph of their source (no sentence left out
 * between them), the run of the best passage first: sentences a reader finds together.
 */
function sourceRuns(passages: Passage[]): string[][] {
  const runs: { sentences: Sentence[]; score: number }[] = [];
  const owner = new Map<Sentence, Passage>();
  for (const p of passages) for (const s of p.sentences) owner.set(s, p);
  let run: { sentences: Sentence[]; score: number } | null = null;
  for (const s of [...owner.keys()].sort(byOrder)) {
    const last = run?.sentences.at(-1);
    if (
      !run ||
      !last ||
      last.source !== s.source ||
      last.position + 1 !== s.position ||
      last.paragraph !== s.paragraph
    ) {
      run = { sentences: [], score: 0 };
      runs.push(run);
    }
    run.sentences.push(s);
    run.score = Math.max(run.score, owner.get(s)!.score);
  }
  return runs.sort((a, b) => b.score - a.score).map((r) => r.sentences.map((s) => s.text));
}

/** The sources' prose, without Markdown headings, code and tables: what key phrases are taken from. */
function sourceText(sources: SourceDoc[]): string {
  return sources
    .map((s) =>
      paragraphs(s.text)
        .map((p) => p.text)
        .join('\n'),
    )
    .join('\n');
}

/**
 * The close of the post: the best of the next unused ranked passages from the last third of their source (where
 * sources sum up), preferring the latest, two sentences at least. A passage from earlier in the source is no
 * conclusion, whatever its rank ("In the center of the screen, there was a fixed point and a clock." from a study's
 * method). The candidates not chosen go back, in rank order, for the expansion. With less than two closing sentences
 * to spare there is no conclusion: no sentence is printed twice.
 */
function pickConclusion(
  next: () => Passage | undefined,
  spare: Passage[],
  used: Set<Passage>,
  all: Passage[],
): Passage[] {
  const last = new Map<number, number>();
  for (const p of all) for (const s of p.sentences) last.set(s.source, Math.max(last.get(s.source) ?? 0, s.position));
  const closing = (p: Passage): number =>
    p.score * (0.6 + 0.8 * (head(p).position / Math.max(1, last.get(head(p).source)!)));
  const byClosing = (a: Passage, b: Passage): number => closing(b) - closing(a) || byPassageOrder(a, b);

  const candidates: Passage[] = [];
  for (let p = next(); p; p = candidates.length < CONCLUSION_CANDIDATES ? next() : undefined) candidates.push(p);
  const chosen: Passage[] = [];
  // One source closes the post: a second passage comes from the first one's source.
  for (const p of [...candidates].sort(byClosing)) {
    if (sentenceCount(chosen) >= 2) break;
    const closes = head(p).position >= CLOSING_PART * last.get(head(p).source)!;
    if (closes && isStatement(head(p)) && (chosen.length === 0 || head(p).source === head(chosen[0]!).source))
      chosen.push(p);
  }
  const keep = sentenceCount(chosen) >= 2 ? chosen : [];
  const back = candidates.filter((p) => !keep.includes(p));
  for (const p of back) used.delete(p);
  spare.unshift(...back);
  return keep.sort(byPassageOrder);
}

/**
 * Above `maxWords`: drop the lowest-ranked section passages, then takeaways, then the conclusion and the extra
 * introduction passages, until the body fits. The introduction keeps one passage.
 */
function trimTo(layout: Layout, maxWords: number, measure: () => { all: number }): void {
  const lowest = (list: Passage[]): Passage => [...list].sort(byPassageScore).at(-1)!;
  while (measure().all > maxWords) {
    const inSections = layout.groups.flatMap((g) => g.passages);
    if (inSections.length > 0) {
      const drop = lowest(inSections);
      for (const g of layout.groups) g.passages = g.passages.filter((p) => p !== drop);
      layout.groups = layout.groups.filter((g) => g.passages.length > 0);
    } else if (layout.takeaways.length > 0) {
      layout.takeaways = layout.takeaways.filter((p) => p !== lowest(layout.takeaways));
    } else if (layout.conclusion.length > 0) {
      layout.conclusion = [];
    } else if (layout.intro.length > 1) {
      layout.intro = layout.intro.filter((p) => p !== lowest(layout.intro));
    } else {
      return; // As short as it gets; the SEO lint reports the length.
    }
  }
}

/**
 * Below `minWords`: add the next ranked unused passages, each to the section of its origin (its source heading,
 * or its source), a new section for a new origin (with a second passage of that origin when there is one), or,
 * once there are {@link MAX_SECTIONS}, the closest section on the same source — until the body reaches `minWords`
 * or the sources run out. A passage that would pass `maxWords`, or has no section to go to, is skipped.
 */
function expandTo(
  layout: Layout,
  minWords: number,
  maxWords: number,
  next: () => Passage | undefined,
  measure: () => { prose: number; all: number },
  companion: (p: Passage) => Passage | undefined,
): void {
  let words = measure().prose;
  for (let p = words < minWords ? next() : undefined; p; p = words < minWords ? next() : undefined) {
    const undo = place(layout, p, companion);
    if (!undo) continue;
    const after = measure();
    if (after.all > maxWords) undo();
    else words = after.prose;
  }
}

/** Adds a passage (and, for a new section, a companion of the same origin) to the sections; returns an undo. */
function place(layout: Layout, p: Passage, companion: (p: Passage) => Passage | undefined): (() => void) | null {
  let group: Group;
  const added = [p];
  const own = ownGroup(layout, p);
  if (own) {
    group = own;
  } else {
    const room = layout.groups.length < MAX_SECTIONS;
    const second = room ? companion(p) : undefined;
    const near = layout.groups.filter((g) => g.passages.some((q) => head(q).source === head(p).source));
    if (room) {
      // Alone for now, a new section may still get a second passage of its source; else it is left out later.
      group = { heading: head(p).heading, keys: new Set([groupKey(p)]), passages: [], name: '' };
      layout.groups.push(group);
      if (second) added.push(second);
    } else if (near.length > 0) {
      group = closestGroup(near, p);
    } else {
      return null;
    }
  }
  group.passages.push(...added);
  return () => {
    group.passages = group.passages.filter((q) => !added.includes(q));
    layout.groups = layout.groups.filter((g) => g.passages.length > 0);
  };
}

/** The section closest to a passage: among those drawing on its source, else among all, the most words shared. */
function closestGroup(groups: Group[], p: Passage): Group {
  const terms = new Set(p.sentences.flatMap((s) => [...s.terms]));
  const overlap = (g: Group): number =>
    g.passages.flatMap((q) => q.sentences).reduce((sum, t) => sum + [...terms].filter((w) => t.terms.has(w)).length, 0);
  const near = groups.filter((g) => g.passages.some((q) => head(q).source === head(p).source));
  return (near.length ? near : groups).reduce((best, g) => (overlap(g) > overlap(best) ? g : best));
}

/**
 * Every section ends up with two sentences at least: a shorter one takes the next unused passage of its origin (its
 * source heading or source), else joins a section of the same source that has no heading of its own, else is
 * dropped (or, when it is the only section, joins the introduction). A single takeaway, and a conclusion of one
 * sentence, join the sections.
 */
function settle(layout: Layout, all: Passage[], used: Set<Passage>, fits: () => boolean, lang: string): void {
  // Counted as a reader counts them in the printed text: two source lines ("… seconds." / "2-faire …") can read as
  // one sentence once they share a paragraph.
  const printedCount = (list: Passage[]): number =>
    splitSentences(
      [...list]
        .sort(byPassageOrder)
        .flatMap((p) => p.sentences.map((x) => x.text))
        .join(' '),
      lang,
    ).length;
  const lone = (list: Passage[]): boolean => list.length > 0 && printedCount(list) < 2;
  if (lone(layout.takeaways)) {
    for (const p of layout.takeaways) placeAnywhere(layout, p);
    layout.takeaways = [];
  }
  if (lone(layout.conclusion)) {
    for (const p of layout.conclusion) placeAnywhere(layout, p);
    layout.conclusion = [];
  }
  for (;;) {
    const short = layout.groups.find((g) => printedCount(g.passages) < 2);
    if (!short) break;
    const more = all.find((p) => !used.has(p) && short.keys.has(groupKey(p)));
    if (more) {
      used.add(more);
      short.passages.push(more);
      if (fits()) continue;
      short.passages.pop();
      used.delete(more);
    }
    const others = layout.groups.filter((g) => g !== short);
    if (others.length === 0) {
      layout.intro.push(...short.passages);
      layout.groups = [];
      break;
    }
    // Joined to a section of another heading it would read out of place: a section of the same source without a
    // heading of its own takes it, otherwise it is left out (and can still be used by nothing else).
    const source = head(short.passages[0]!).source;
    const near = others.filter((g) => g.heading === null && g.passages.some((q) => head(q).source === source));
    if (near.length > 0) {
      const target = closestGroup(near, short.passages[0]!);
      target.passages.push(...short.passages);
      for (const k of short.keys) target.keys.add(k);
    }
    layout.groups = others;
  }
}

/**
 * A passage that must be printed somewhere: the section of its own part of the source (the one whose material comes
 * before it), else the closest section, or the introduction when there is none. Words shared with another part's
 * section would put it among sentences it does not follow.
 */
function placeAnywhere(layout: Layout, p: Passage): void {
  if (layout.groups.length === 0) {
    layout.intro.push(p);
    return;
  }
  (ownGroup(layout, p) ?? closestGroup(layout.groups, p)).passages.push(p);
}

/**
 * The section of the passage's own part of the source (its heading, or its source without one); when a source is split
 * into several such sections, the one whose material comes before the passage.
 */
function ownGroup(layout: Layout, p: Passage): Group | undefined {
  const key = groupKey(p);
  const same = layout.groups.filter((g) => g.keys.has(key)).sort((a, b) => byOrder(earliest(a), earliest(b)));
  return same.filter((g) => byOrder(earliest(g), head(p)) <= 0).at(-1) ?? same[0];
}

/** The Markdown of a layout and the citations it uses; sources are numbered in input order among those cited. */
function compose(
  layout: Layout,
  sources: SourceDoc[],
  labels: { takeaways: string; conclusion: string; sources: string },
): { markdown: string; citations: Citation[] } {
  const { intro, groups, takeaways, conclusion, list } = layout;
  const used = new Set<number>(
    [...intro, ...takeaways, ...conclusion, ...groups.flatMap((g) => g.passages)].map((p) => head(p).source),
  );
  if (list) used.add(list.source);
  const order = sources.map((_, i) => i).filter((i) => used.has(i));
  const number = new Map(order.map((sourceIndex, k) => [sourceIndex, k + 1]));
  const cite = (s: Sentence): string => `[${number.get(s.source)}]`;
  // One marker after the last item: the list is one source's, and a marker on every item would crowd it.
  const printList = (l: SourceList): string =>
    (l.lead ? `${l.lead}\n\n` : '') +
    l.items
      .map(
        (item, i) =>
          `${l.ordered ? `${i + 1}.` : '-'} ${item}${i === l.items.length - 1 ? ` [${number.get(l.source)}]` : ''}`,
      )
      .join('\n');
  // The list goes in the section of its heading when there is one, else in a section of its own after the others.
  const home = list
    ? groups.find(
        (g) =>
          g.passages.length > 0 &&
          (g.heading?.toLowerCase() === list.heading.toLowerCase() ||
            g.name.toLowerCase() === list.heading.toLowerCase()),
      )
    : undefined;
  const citations: Citation[] = order.map((i) => ({
    sourceId: sources[i]!.id,
    title: sourceTitle(sources[i]!, i),
    url: sources[i]!.url,
  }));

  const parts: string[] = [];
  if (intro.length) parts.push(...printParagraphs([...intro].sort(byPassageOrder), cite));
  // Sections follow the order of the material in the sources.
  // A list of its own goes where it is in its source: a recipe's ingredients before its method.
  let listDue = list !== null && home === undefined;
  const listBefore = (s: Sentence): boolean =>
    list !== null && (s.source > list.source || (s.source === list.source && s.paragraph > list.paragraph));
  for (const group of [...groups].sort((a, b) => byOrder(earliest(a), earliest(b)))) {
    if (group.passages.length === 0) continue;
    if (listDue && listBefore(earliest(group))) {
      parts.push(`## ${list!.heading}`, printList(list!));
      listDue = false;
    }
    parts.push(`## ${group.name}`, ...printParagraphs([...group.passages].sort(byPassageOrder), cite));
    if (list && group === home) parts.push(printList(list));
  }
  if (listDue) parts.push(`## ${list!.heading}`, printList(list!));
  if (takeaways.length)
    parts.push(`## ${labels.takeaways}`, takeaways.map((p) => `- ${head(p).text} ${cite(head(p))}`).join('\n'));
  if (conclusion.length)
    parts.push(`## ${labels.conclusion}`, ...printParagraphs([...conclusion].sort(byPassageOrder), cite));
  parts.push(`## ${labels.sources}`, citations.map((c, k) => `${k + 1}. ${sourceLine(c)}`).join('\n'));
  return { markdown: `${parts.join('\n\n')}\n`, citations };
}

/**
 * Passages in order as paragraphs: one per source, a new one after {@link PARAGRAPH_SENTENCES} sentences but never
 * inside a passage; each run of one source's sentences is followed by that source's citation marker.
 */
function printParagraphs(passages: Passage[], cite: (s: Sentence) => string): string[] {
  const out: Sentence[][] = [];
  let current: Sentence[] = [];
  for (const p of passages) {
    const last = current.at(-1);
    const switching = last !== undefined && head(p).source !== last.source;
    // A fragment (a list item, a caption: no full stop) stands on a line of its own.
    const fragment = last !== undefined && !/[.!?…]["'“”„’»)\]]*$/u.test(last.text);
    if (switching || fragment || current.length >= PARAGRAPH_SENTENCES) {
      out.push(current);
      current = [];
    }
    current.push(...p.sentences);
  }
  if (current.length) out.push(current);
  return out.map((sentences) => {
    let text = '';
    sentences.forEach((s, i) => {
      text += (text ? ' ' : '') + s.text;
      const after = sentences[i + 1];
      if (!after || after.source !== s.source) text += ` ${cite(s)}`;
    });
    return text;
  });
}

function earliest(g: Group): Sentence {
  return g.passages.map(head).reduce((a, b) => (byOrder(a, b) <= 0 ? a : b));
}

/**
 * Two to four sections: the sources' own headings when the passages have them, otherwise one section per source,
 * and a single group is split in source order so that the post still has sections. They are named by
 * {@link nameGroups}.
 */
function makeGroups(body: Passage[]): Group[] {
  if (body.length === 0) return [];
  const byKey = new Map<string, Group>();
  for (const p of body) {
    const key = groupKey(p);
    const group = byKey.get(key) ?? { heading: head(p).heading, keys: new Set([key]), passages: [], name: '' };
    group.passages.push(p);
    byKey.set(key, group);
  }
  const total = (g: Group): number => g.passages.reduce((sum, p) => sum + p.score, 0);
  let groups = [...byKey.values()].sort((a, b) => total(b) - total(a) || byOrder(earliest(a), earliest(b))).slice(0, 4);
  for (const g of groups) g.passages = [...g.passages].sort(byPassageScore).slice(0, 4);

  if (groups.length === 1) {
    const only = groups[0]!;
    const ordered = [...only.passages].sort(byPassageOrder);
    const parts = sentenceCount(ordered) >= 6 ? 3 : 2;
    const size = Math.max(1, Math.ceil(ordered.length / parts));
    groups = [];
    for (let i = 0; i < ordered.length; i += size)
      groups.push({ heading: null, keys: only.keys, passages: ordered.slice(i, i + size), name: '' });
  }
  return groups.sort((a, b) => byOrder(earliest(a), earliest(b)));
}

/** Sections keep their source heading when it is free; the others are named after a key phrase of their text. */
function nameGroups(
  groups: Group[],
  lang: string,
  labels: { takeaways: string; conclusion: string; sources: string },
): void {
  const taken = new Set<string>([labels.takeaways, labels.conclusion, labels.sources].map((l) => l.toLowerCase()));
  [...groups]
    .sort((a, b) => byOrder(earliest(a), earliest(b)))
    .forEach((group, i) => {
      // A source's numbered heading ("7. Sport treiben") loses its number: the post has its own order.
      const heading = group.heading?.replace(/^\d+[.):]\s+/, '') || null;
      let name = heading && !taken.has(heading.toLowerCase()) ? heading : null;
      if (!name) {
        const text = group.passages.flatMap((p) => p.sentences.map((s) => s.text)).join(' ');
        const phrases = keyPhrases(text, 10, lang).map(capitalise);
        // Every phrase taken (rare): a repeated heading still says what the section is about.
        name = phrases.find((k) => !taken.has(k.toLowerCase())) ?? heading ?? phrases[0] ?? `${i + 1}`;
      }
      taken.add(name.toLowerCase());
      group.name = name;
    });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The title of the source the post draws on most (without the site's name), led by the brief's primary keyword
 * (when the sources mention it) if the title lacks it; without a source title, the sources' key phrase.
 */
function makeTitle(sources: SourceDoc[], used: Passage[], keywords: string[], phrases: string[], lang: string): string {
  const weight = new Map<number, number>();
  for (const p of used) weight.set(head(p).source, (weight.get(head(p).source) ?? 0) + p.score);
  const candidates = [...weight].filter(([i]) => sources[i]!.title?.trim()).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const top = candidates[0];
  const fromSource = top ? sourceHeadline(sources[top[0]]!) : null;
  const keyword = keywords[0];

  let title: string;
  if (keyword && fromSource && !fromSource.toLowerCase().includes(keyword.toLowerCase())) {
    const lead = capitalise(keyword);
    title = `${lead}: ${fitTitle(fromSource, TITLE_MAX - lead.length - 2, lang)}`;
  } else if (fromSource) {
    title = fromSource;
  } else if (keyword) {
    title = capitalise(keyword);
  } else {
    title = capitalise(phrases[0] ?? head(used[0]!).text);
  }
  return fitTitle(title, TITLE_MAX, lang);
}

/** The brief's keywords the sources mention, then the sources' key phrases; at most five. */
function makeTags(keywords: string[], phrases: string[]): string[] {
  const tags: string[] = [];
  for (const tag of [...keywords, ...phrases]) {
    const t = tag.replace(/\s+/g, ' ').trim();
    if (t && !tags.some((x) => x.toLowerCase() === t.toLowerCase()) && tags.length < 5) tags.push(t);
  }
  return tags;
}
