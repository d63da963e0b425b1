import { splitSentences } from '../text/sentences.ts';
import { cosine } from '../vector/embeddings.ts';
import { createLocalEmbedder } from '../vector/local-embedder.ts';

// Where an editor looks when the grounding gate flags a sentence: the source sentences most like it.
// Computed on read with the offline hashing embedder (the same words and word pieces score high), so it
// costs no model call, works whatever EMBEDDING_PROVIDER is, and is the same on every read.

export type SourceSentence = { sourceId: string; sentence: string; score: number };

const embedder = createLocalEmbedder(384);
/** A source's sentences beyond this many are not compared (a 50 KB article has about 500). */
const MAX_SENTENCES = 5000;

/** A source's prose as sentences: headings, list markers and Markdown link targets taken out. */
export function sourceSentences(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\n\s*\n|\n(?=#{1,6}\s|\s*(?:[-*+]|\d+[.)])\s)/)) {
    const prose = block
      .split('\n')
      .filter((line) => !/^\s*#{1,6}\s/.test(line))
      .map((line) => line.replace(/^\s*(?:[-*+]|\d+[.)]|>)\s+/, ''))
      .join(' ')
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    for (const sentence of splitSentences(prose)) {
      if (sentence.split(/\s+/).length >= 3) out.push(sentence);
    }
  }
  return out;
}

/**
 * For each claim, up to `limit` source sentences scoring at least `minScore` (cosine of the local
 * embeddings), best first.
 */
export async function closestSourceSentences(
  claims: string[],
  sources: { id: string; text: string }[],
  opts: { limit?: number; minScore?: number } = {},
): Promise<SourceSentence[][]> {
  const limit = opts.limit ?? 3;
  const minScore = opts.minScore ?? 0.2;
  if (claims.length === 0) return [];
  const candidates = sources
    .flatMap((s) => sourceSentences(s.text).map((sentence) => ({ sourceId: s.id, sentence })))
    .slice(0, MAX_SENTENCES);
  if (candidates.length === 0) return claims.map(() => []);
  const [claimVectors, sentenceVectors] = await Promise.all([
    embedder.embed(claims.map((c) => c.replace(/\s*\[\d+\]/g, ''))),
    embedder.embed(candidates.map((c) => c.sentence)),
  ]);
  return claimVectors.map((claim) => {
    const seen = new Set<string>();
    return candidates
      .map((c, i) => ({ ...c, score: Math.round(cosine(claim, sentenceVectors[i]!) * 1000) / 1000 }))
      .filter((c) => c.score >= minScore)
      .sort((a, b) => b.score - a.score)
      .filter((c) => {
        if (seen.has(c.sentence)) return false;
        seen.add(c.sentence);
        return true;
      })
      .slice(0, limit);
  });
}
