import type { Chunk } from '../vector/types.ts';

export interface ChunkOptions {
  /** Upper bound of a chunk's approximate token count. Default 256. */
  maxTokens?: number;
  /** Tokens carried over from the end of the previous chunk of the same section. Default 32. */
  overlapTokens?: number;
}

/** Approximate token count of `words` words: words × 1.3, rounded up (in integers, to avoid 1.3's float error). */
export function approxTokens(words: number): number {
  return Math.ceil((words * 13) / 10);
}

/** The largest number of words whose approximate token count stays within `tokens`. */
function wordsWithin(tokens: number): number {
  return Math.floor((tokens * 10) / 13);
}

interface Section {
  heading: string | null;
  paragraphs: string[];
}

/** A run of words that is kept together when it fits; `breakBefore` marks a paragraph start. */
interface Unit {
  words: string[];
  breakBefore: boolean;
}

/**
 * Split Markdown into chunks for embedding. A chunk never spans two sections (a heading starts a new one) and
 * records its section's heading; chunks break at paragraphs, then sentences, then words, and the next chunk of
 * the same section repeats the last `overlapTokens` worth of words of the previous one.
 */
export function chunkMarkdown(markdown: string, opts: ChunkOptions = {}): Chunk[] {
  const maxTokens = Math.max(2, Math.floor(opts.maxTokens ?? 256));
  const maxWords = Math.max(1, wordsWithin(maxTokens));
  // The overlap must leave room for new words in every chunk, or chunking would never advance.
  const overlapWords = Math.min(
    wordsWithin(Math.max(0, Math.floor(opts.overlapTokens ?? 32))),
    Math.floor(maxWords / 2),
  );
  const unitWords = maxWords - overlapWords;

  const chunks: Chunk[] = [];
  for (const section of splitSections(markdown)) {
    const units = section.paragraphs.flatMap((paragraph) => splitParagraph(paragraph, unitWords));
    let current: Unit[] = [];
    let currentWords = 0;
    let carried: string[] = [];
    const emit = (): void => {
      if (!current.length) return;
      const text = render(carried, current);
      const count = carried.length + currentWords;
      chunks.push({ position: chunks.length, heading: section.heading, text, tokenCount: approxTokens(count) });
      const all = [...carried, ...current.flatMap((u) => u.words)];
      carried = overlapWords > 0 ? all.slice(-overlapWords) : [];
      current = [];
      currentWords = 0;
    };
    for (const unit of units) {
      if (current.length && carried.length + currentWords + unit.words.length > maxWords) emit();
      current.push(unit);
      currentWords += unit.words.length;
    }
    emit();
  }
  return chunks;
}

function render(carried: string[], units: Unit[]): string {
  let text = carried.join(' ');
  for (const unit of units) {
    const words = unit.words.join(' ');
    text = text === '' ? words : `${text}${unit.breakBefore ? '\n\n' : ' '}${words}`;
  }
  return text;
}

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(```|~~~)/;

function splitSections(markdown: string): Section[] {
  const sections: Section[] = [];
  let section: Section = { heading: null, paragraphs: [] };
  let paragraph: string[] = [];
  let inFence = false;
  const endParagraph = (): void => {
    const text = paragraph.join('\n').trim();
    if (text) section.paragraphs.push(text);
    paragraph = [];
  };
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (FENCE.test(line)) {
      // A fenced block is one paragraph, so its lines are not mistaken for headings.
      if (!inFence) endParagraph();
      inFence = !inFence;
      paragraph.push(line);
      if (!inFence) endParagraph();
      continue;
    }
    const heading = inFence ? null : HEADING.exec(line);
    if (heading) {
      endParagraph();
      if (section.paragraphs.length) sections.push(section);
      section = { heading: heading[2]!.trim() || null, paragraphs: [] };
    } else if (!inFence && line.trim() === '') {
      endParagraph();
    } else {
      paragraph.push(line);
    }
  }
  endParagraph();
  if (section.paragraphs.length) sections.push(section);
  return sections;
}

/** A paragraph as one unit if it fits, else its sentences, else fixed windows of words. */
function splitParagraph(paragraph: string, limit: number): Unit[] {
  const words = paragraph.split(/\s+/).filter(Boolean);
  if (words.length <= limit) return [{ words, breakBefore: true }];
  const units: Unit[] = [];
  const sentences = paragraph.split(/(?<=[.!?]["')\]]*)\s+/).filter((s) => s.trim() !== '');
  for (const sentence of sentences) {
    const sentenceWords = sentence.split(/\s+/).filter(Boolean);
    for (let i = 0; i < sentenceWords.length; i += limit) {
      units.push({ words: sentenceWords.slice(i, i + limit), breakBefore: units.length === 0 });
    }
  }
  return units;
}
