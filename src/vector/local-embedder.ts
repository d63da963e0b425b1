import type { Embedder } from './types.ts';

const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.5;

/**
 * An offline, deterministic embedder: the hashing trick over lowercase words and their character trigrams
 * (`^word$` padded), signed so that collisions cancel out on average, with sublinear term frequency and L2
 * normalisation. Similar wording gives similar vectors; it knows nothing of synonyms.
 */
export function createLocalEmbedder(dimension = 384): Embedder {
  if (!Number.isInteger(dimension) || dimension < 1)
    throw new RangeError(`embedding dimension must be a positive integer, got ${dimension}`);
  return {
    model: 'local-hash-v1',
    dimension,
    async embed(texts: string[]): Promise<number[][]> {
      return texts.map((text) => embedOne(text, dimension));
    },
  };
}

function embedOne(text: string, dimension: number): number[] {
  const weights = new Map<string, number>();
  const counts = new Map<string, number>();
  const add = (feature: string, weight: number): void => {
    counts.set(feature, (counts.get(feature) ?? 0) + 1);
    weights.set(feature, weight);
  };
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    add(`w:${word}`, WORD_WEIGHT);
    const padded = `^${word}$`;
    const chars = Array.from(padded);
    for (let i = 0; i + 3 <= chars.length; i++) add(`t:${chars[i]}${chars[i + 1]}${chars[i + 2]}`, TRIGRAM_WEIGHT);
  }

  const vector = new Array<number>(dimension).fill(0);
  for (const [feature, count] of counts) {
    const hash = fnv1a(feature);
    const index = hash % dimension;
    // The sign comes from a remix of the hash, so it is independent of the bucket even when dimension is not a
    // power of two.
    const sign = (mix32(hash) & 1) === 0 ? 1 : -1;
    vector[index]! += sign * weights.get(feature)! * (1 + Math.log(count));
  }

  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/** 32-bit FNV-1a over the string's UTF-16 code units, as an unsigned integer. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finaliser. */
function mix32(value: number): number {
  let h = value ^ (value >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
