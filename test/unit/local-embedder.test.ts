import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../../src/vector/local-embedder.ts';

const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const norm = (a: number[]): number => Math.sqrt(dot(a, a));

describe('createLocalEmbedder', () => {
  const embedder = createLocalEmbedder();

  it('describes itself', () => {
    expect(embedder.model).toBe('local-hash-v1');
    expect(embedder.dimension).toBe(384);
    expect(createLocalEmbedder(64).dimension).toBe(64);
    expect(() => createLocalEmbedder(0)).toThrow(RangeError);
  });

  it('gives unit vectors of the right dimension, one per text, in order', async () => {
    const texts = ['Heat pumps work in cold climates.', 'Ein Wärmepumpe-Test: ÄÖÜ!', 'x'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toHaveLength(384);
      expect(norm(v)).toBeCloseTo(1, 10);
    }
    expect((await embedder.embed([texts[1]!]))[0]).toEqual(vectors[1]);
  });

  it('is deterministic, and case and punctuation do not matter', async () => {
    const [a, b, c] = await embedder.embed(['The quick brown fox.', 'The quick brown fox.', 'the QUICK, brown fox!!']);
    expect(a).toEqual(b);
    expect(a).toEqual(c);
  });

  it('gives the same vector in another process', async () => {
    const moduleUrl = new URL('../../src/vector/local-embedder.ts', import.meta.url).href;
    const script = `const { createLocalEmbedder } = await import(${JSON.stringify(moduleUrl)});
      const [v] = await createLocalEmbedder(32).embed(['determinism across processes']);
      process.stdout.write(JSON.stringify(v));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    const [here] = await createLocalEmbedder(32).embed(['determinism across processes']);
    expect(JSON.parse(out.toString())).toEqual(here);
  });

  it('gives a zero vector for text without words', async () => {
    for (const v of await embedder.embed(['', '   ', '!!! ---'])) {
      expect(v).toHaveLength(384);
      expect(v.every((x) => x === 0)).toBe(true);
    }
  });

  it('ranks similar texts above unrelated ones', async () => {
    const [query, similar, morph, unrelated] = await embedder.embed([
      'Heat pumps keep homes warm in cold winters.',
      'A heat pump can keep a home warm even in a cold winter.',
      'heating pumped homely',
      'The stock market fell sharply after the central bank raised interest rates.',
    ]);
    expect(dot(query!, similar!)).toBeGreaterThan(0.5);
    expect(dot(query!, similar!)).toBeGreaterThan(dot(query!, unrelated!) + 0.3);
    // Character trigrams give partial credit to related word forms.
    expect(dot(query!, morph!)).toBeGreaterThan(dot(query!, unrelated!));
  });

  it('weights repeated words sublinearly', async () => {
    const [once, many, other] = await createLocalEmbedder(4096).embed([
      'solar battery',
      'solar solar solar solar battery',
      'battery',
    ]);
    // With tf 4 the word "solar" weighs 1 + ln 4 ≈ 2.39 times as much, not 4 times: still close to the original.
    expect(dot(once!, many!)).toBeGreaterThan(0.85);
    expect(dot(many!, other!)).toBeLessThan(dot(once!, other!));
  });
});
