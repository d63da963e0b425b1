import { describe, expect, it } from 'vitest';
import { approxTokens, chunkMarkdown } from '../../src/text/chunk.ts';

const words = (n: number, prefix = 'w'): string => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
const wordCount = (text: string): number => text.split(/\s+/).filter(Boolean).length;

describe('approxTokens', () => {
  it('is words × 1.3 rounded up, without float error', () => {
    expect(approxTokens(0)).toBe(0);
    expect(approxTokens(1)).toBe(2);
    expect(approxTokens(10)).toBe(13);
    expect(approxTokens(100)).toBe(130);
    expect(approxTokens(196)).toBe(255);
  });
});

describe('chunkMarkdown', () => {
  it('keeps sections apart and records the nearest heading', () => {
    const md =
      `Lead paragraph before any heading.\n\n# Title\n\nFirst section text.\n\n## ` +
      `Second\n\nSecond section text.\n\nMore of it.\n\n### Empty\n\n## Third ` +
      `##\n\nThird text.`;
    const chunks = chunkMarkdown(md);
    expect(chunks.map((c) => [c.position, c.heading, c.text])).toEqual([
      [0, null, 'Lead paragraph before any heading.'],
      [1, 'Title', 'First section text.'],
      [2, 'Second', 'Second section text.\n\nMore of it.'],
      [3, 'Third', 'Third text.'],
    ]);
    expect(chunks[2]!.tokenCount).toBe(approxTokens(6));
  });

  it('bounds every chunk by maxTokens and overlaps within a section', () => {
    const md = `## Long\n\n${words(500)}\n\n## Next\n\n${words(10, 'n')}`;
    const chunks = chunkMarkdown(md, { maxTokens: 100, overlapTokens: 20 });
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(100);
      expect(c.tokenCount).toBe(approxTokens(wordCount(c.text)));
    }
    const long = chunks.filter((c) => c.heading === 'Long');
    expect(long.length).toBeGreaterThan(5);
    // 20 tokens of overlap are 15 words, carried from the end of the previous chunk.
    for (let i = 1; i < long.length; i++) {
      const prev = long[i - 1]!.text.split(' ');
      expect(long[i]!.text.split(' ').slice(0, 15)).toEqual(prev.slice(-15));
    }
    // Every word of the section is covered, in order.
    const covered = new Set(long.flatMap((c) => c.text.split(' ')));
    expect(covered.size).toBe(500);
    // No overlap across the section boundary.
    const next = chunks.find((c) => c.heading === 'Next')!;
    expect(next.text).toBe(words(10, 'n'));
    expect(chunks.map((c) => c.position)).toEqual(chunks.map((_, i) => i));
  });

  it('prefers paragraph and sentence boundaries', () => {
    const para = (n: number, tag: string): string => `${words(n, tag)}.`;
    const md = [para(60, 'a'), para(60, 'b'), para(60, 'c')].join('\n\n');
    const chunks = chunkMarkdown(md, { maxTokens: 200, overlapTokens: 0 });
    expect(chunks.map((c) => c.text)).toEqual([`${para(60, 'a')}\n\n${para(60, 'b')}`, para(60, 'c')]);

    const sentences = Array.from({ length: 6 }, (_, i) => `${words(30, `s${i}x`)}.`).join(' ');
    const split = chunkMarkdown(sentences, { maxTokens: 100, overlapTokens: 0 });
    for (const c of split) expect(c.text).toMatch(/^s\dx0 .*\.$/);
  });

  it('does not treat # inside fenced code as a heading', () => {
    const md = '## Code\n\nIntro.\n\n```sh\n# not a heading\necho hi\n```\n\nAfter.';
    const chunks = chunkMarkdown(md);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.heading).toBe('Code');
    expect(chunks[0]!.text).toContain('# not a heading');
  });

  it('skips empty text and is deterministic', () => {
    expect(chunkMarkdown('')).toEqual([]);
    expect(chunkMarkdown('# Only a heading\n\n   \n\n## Another')).toEqual([]);
    const md = `# A\n\n${words(700)}\n\n## B\n\n${words(300, 'b')}`;
    expect(chunkMarkdown(md)).toEqual(chunkMarkdown(md));
    for (const c of chunkMarkdown(md)) expect(c.tokenCount).toBeLessThanOrEqual(256);
  });

  it('still advances when the overlap is as large as the chunk', () => {
    const chunks = chunkMarkdown(words(100), { maxTokens: 20, overlapTokens: 50 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(20);
    expect(chunks.at(-1)!.text.endsWith('w99')).toBe(true);
  });
});
