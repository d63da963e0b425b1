import { extractKeywords, keywordTerms } from '../ingest/keywords.ts';
import { PermanentError } from '../errors.ts';
import { sourceTitle } from './post.ts';
import type { ChatMessage, SourceDoc } from './types.ts';

// What a model can take and give (LLM_MODEL_LIMITS), and fitting a prompt into it: the sources are cut into
// passages, ranked by what the post is about, and the best of them sent, so that prompt and reply fit the
// model's context. A local model of 4,096 or 8,192 tokens answers a longer prompt with a 400 (llama.cpp, vLLM)
// or silently forgets its start (Ollama).

export type ModelLimits = {
  /** Prompt and reply together, in tokens. */
  contextTokens: number;
  outlineTokens: number;
  /** The most a draft (or an expansion) may take; a brief's draft asks for less when it is short. */
  draftTokens: number;
  metadataTokens: number;
};

export type ModelLimitsTable = Record<string, Partial<ModelLimits>>;

/** For a model nobody described: OpenAI's current models take 128k tokens and more. */
export const DEFAULT_LIMITS: ModelLimits = {
  contextTokens: 128_000,
  outlineTokens: 1_500,
  draftTokens: 16_000,
  metadataTokens: 800,
};

/** The model's entry in LLM_MODEL_LIMITS, else its `*` entry, field by field over the defaults. */
export function limitsFor(table: ModelLimitsTable, model: string): ModelLimits {
  return { ...DEFAULT_LIMITS, ...table['*'], ...table[model] };
}

/**
 * Prompt tokens as counted for fitting: three characters a token. Tokenizers give about four for English prose,
 * fewer for other languages, figures and URLs, and a prompt that overflows is refused or cut, so the count errs
 * high; if an endpoint still refuses one as too long, the step is tried once more with fewer sources.
 */
const CHARS_PER_TOKEN = 3;
/** The chat template's tokens around each message, and a margin for everything the count misses. */
const MESSAGE_OVERHEAD_TOKENS = 8;
const CONTEXT_MARGIN = 0.05;

export function promptTokens(messages: ChatMessage[]): number {
  return messages.reduce((n, m) => n + Math.ceil(m.content.length / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS, 0);
}

/** Sources above this are not sent however large the context: the cost grows and the post does not improve. */
export const MAX_SOURCE_CHARS = 48_000;
/** Less than this of the sources is not worth writing from. */
export const MIN_SOURCE_CHARS = 1_200;

/**
 * The characters of source text that fit beside a prompt of `fixed` messages (the prompt without the sources)
 * and a reply of `replyTokens`, in `contextTokens`.
 */
export function sourceRoom(contextTokens: number, replyTokens: number, fixed: ChatMessage[]): number {
  const usable = Math.floor(contextTokens * (1 - CONTEXT_MARGIN)) - replyTokens - promptTokens(fixed);
  return Math.min(MAX_SOURCE_CHARS, Math.max(0, usable * CHARS_PER_TOKEN));
}

/** Tokens a reply may take beside a prompt of `messages` in `contextTokens`. */
export function replyRoom(contextTokens: number, messages: ChatMessage[]): number {
  return Math.max(0, Math.floor(contextTokens * (1 - CONTEXT_MARGIN)) - promptTokens(messages));
}

export class ContextTooSmallError extends PermanentError {}

type Passage = { source: number; position: number; text: string; score: number };

/** A source's text as passages: paragraphs (a heading stays with the paragraph after it), long ones in parts. */
function passages(text: string, source: number): Passage[] {
  const out: Passage[] = [];
  let heading = '';
  for (const block of text.split(/\n\s*\n/)) {
    const trimmed = block.trim();
    if (!trimmed) continue;
    if (/^#{1,6}\s/.test(trimmed) && !trimmed.includes('\n')) {
      heading = heading ? `${heading}\n${trimmed}` : trimmed;
      continue;
    }
    const parts: string[] = [];
    let current = '';
    for (const sentence of trimmed.split(/(?<=[.!?])\s+/)) {
      if (current && current.length + sentence.length > 1_200) {
        parts.push(current);
        current = '';
      }
      current = current ? `${current} ${sentence}` : sentence;
    }
    if (current) parts.push(current);
    parts.forEach((part, i) => {
      out.push({ source, position: out.length, text: i === 0 && heading ? `${heading}\n${part}` : part, score: 0 });
    });
    heading = '';
  }
  if (heading) out.push({ source, position: out.length, text: heading, score: 0 });
  return out;
}

const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * How much a passage is about what the post is about: the share of the topic's terms it contains (the brief's
 * keywords count three times), with a little more for the start of a source, where news and reports put the
 * point, and less for a long passage that mentions a term in passing.
 */
function score(passage: Passage, topic: Map<string, number>): number {
  const own = new Set(words(passage.text));
  let hits = 0;
  for (const [term, weight] of topic) if (own.has(term)) hits += weight;
  const length = Math.max(20, own.size);
  return hits / Math.sqrt(length) + 0.5 / (1 + passage.position);
}

/**
 * The numbered sources block of a prompt, at most `budget` characters of source text. When everything fits it
 * is sent whole; otherwise each source first gets its best passages up to an equal share, then the best of the
 * rest fill what is left. Passages keep their order, and a line `[…]` marks text left out.
 */
export function fitSources(sources: SourceDoc[], budget: number, keywords: string[]): string {
  const header = (s: SourceDoc, i: number) => `[${i + 1}] ${sourceTitle(s, i)}${s.url ? ` (${s.url})` : ''}`;
  const total = sources.reduce((n, s) => n + s.text.trim().length, 0);
  if (total <= budget) return sources.map((s, i) => `${header(s, i)}\n${s.text.trim()}`).join('\n\n---\n\n');
  if (budget < MIN_SOURCE_CHARS)
    throw new ContextTooSmallError(
      `the model's context leaves ${budget} characters for the sources, fewer ` +
        `than the ${MIN_SOURCE_CHARS} worth writing from`,
    );

  const topic = new Map<string, number>();
  for (const term of keywordTerms(extractKeywords(sources.map((s) => `${s.title ?? ''}\n${s.text}`).join('\n'), 12)))
    topic.set(term, 1);
  for (const term of keywordTerms(keywords)) topic.set(term, 3);
  const all = sources.map((s, i) => passages(s.text, i));
  for (const list of all) for (const p of list) p.score = score(p, topic);

  const chosen = new Set<Passage>();
  let left = budget;
  const take = (p: Passage): boolean => {
    if (chosen.has(p) || p.text.length > left) return false;
    chosen.add(p);
    left -= p.text.length;
    return true;
  };
  const share = Math.floor(budget / sources.length);
  for (const list of all) {
    let used = 0;
    for (const p of [...list].sort((a, b) => b.score - a.score)) {
      if (used + p.text.length > share) continue;
      if (take(p)) used += p.text.length;
    }
    // A source whose every passage is longer than its share still gives its first one's opening.
    if (used === 0 && list[0]) {
      const cut = list[0].text.slice(0, share);
      const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('\n'));
      const opening = { ...list[0], text: end > share / 3 ? cut.slice(0, end + 1) : cut };
      list[0] = opening;
      take(opening);
    }
  }
  for (const p of all.flat().sort((a, b) => b.score - a.score)) take(p);

  return all
    .map((list, i) => {
      const parts: string[] = [];
      let previous = -1;
      for (const p of list) {
        if (!chosen.has(p)) continue;
        if (p.position !== previous + 1) parts.push('[…]');
        parts.push(p.text);
        previous = p.position;
      }
      if (previous !== list.length - 1) parts.push('[…]');
      return `${header(sources[i]!, i)}\n${parts.join('\n\n')}`;
    })
    .join('\n\n---\n\n');
}
