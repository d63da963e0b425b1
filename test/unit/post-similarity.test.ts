import { describe, expect, it } from 'vitest';
import { embeddingInput } from '../../src/vector/embeddings.ts';
import { coverage, postSimilarity, snippet } from '../../src/vector/similarity.ts';

const chunk = (vector: number[], tokenCount = 10) => ({ postId: 'p', position: 0, tokenCount, vector });

describe('post similarity', () => {
  it('is 1 for the same chunks and symmetric', () => {
    const a = [chunk([1, 0, 0]), chunk([0, 1, 0])];
    const b = [chunk([0, 1, 0]), chunk([1, 0, 0])];
    expect(postSimilarity(a, b)).toBeCloseTo(1, 10);
    const c = [chunk([1, 1, 0]), chunk([0, 0, 1])];
    expect(postSimilarity(a, c)).toBeCloseTo(postSimilarity(c, a), 10);
  });

  it('weights chunks by their tokens, so short shared boilerplate counts little', () => {
    const boilerplate = [0, 0, 1];
    const a = [chunk([1, 0, 0], 100), chunk(boilerplate, 3)];
    const b = [chunk([0, 1, 0], 100), chunk(boilerplate, 3)];
    expect(coverage(a, b)).toBeCloseTo(3 / 103, 10);
  });

  it('is low when only part of a post is covered in one direction', () => {
    const small = [chunk([1, 0, 0])];
    const large = [chunk([1, 0, 0]), chunk([0, 1, 0]), chunk([0, 0, 1])];
    expect(coverage(small, large)).toBeCloseTo(1, 10);
    expect(coverage(large, small)).toBeCloseTo(1 / 3, 10);
    expect(postSimilarity(small, large)).toBeCloseTo(2 / 3, 10);
  });

  it('embeds a chunk with its heading, and cuts snippets at a word', () => {
    expect(embeddingInput({ heading: 'Costs', text: 'Body.' })).toBe('Costs\n\nBody.');
    expect(embeddingInput({ heading: null, text: 'Body.' })).toBe('Body.');
    const s = snippet('word '.repeat(100), 30);
    expect(s.endsWith('…')).toBe(true);
    expect(s.length).toBeLessThanOrEqual(31);
    expect(s).not.toMatch(/wor…$/);
    expect(snippet('  short\n\n text ')).toBe('short text');
  });
});
