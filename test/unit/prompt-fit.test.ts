import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import {
  ContextTooSmallError,
  DEFAULT_LIMITS,
  fitSources,
  limitsFor,
  promptTokens,
  sourceRoom,
} from '../../src/llm/prompt-fit.ts';
import type { SourceDoc } from '../../src/llm/types.ts';
import { articles } from '../support/source-articles.ts';

const doc = (id: string, text: string, title = id): SourceDoc => ({ id, kind: 'text', title, url: null, text });
const filler = articles
  .slice(2)
  .flatMap((a) => a.text.split('\n\n').filter((p) => !p.startsWith('#')))
  .map((p) => p.trim());

describe('limits per model', () => {
  it('takes the model entry, then "*", field by field over the defaults', () => {
    const config = loadConfig({
      LLM_MODEL_LIMITS: JSON.stringify({
        '*': { contextTokens: 32_000 },
        'llama3.1:8b': { contextTokens: 8192, draftTokens: 3000 },
      }),
    });
    expect(limitsFor(config.LLM_MODEL_LIMITS, 'llama3.1:8b')).toEqual({
      ...DEFAULT_LIMITS,
      contextTokens: 8192,
      draftTokens: 3000,
    });
    expect(limitsFor(config.LLM_MODEL_LIMITS, 'other')).toEqual({ ...DEFAULT_LIMITS, contextTokens: 32_000 });
    expect(limitsFor({}, 'gpt-4o-mini')).toEqual(DEFAULT_LIMITS);
  });

  it('refuses a malformed setting, naming it', () => {
    expect(() => loadConfig({ LLM_MODEL_LIMITS: '{"m": {"contextTokens": 100}}' })).toThrow(/LLM_MODEL_LIMITS/);
    expect(() => loadConfig({ LLM_MODEL_LIMITS: '{"m": {"context": 8192}}' })).toThrow(/LLM_MODEL_LIMITS/);
    expect(() => loadConfig({ LLM_MODEL_LIMITS: 'not json' })).toThrow(/LLM_MODEL_LIMITS: must be JSON/);
  });
});

describe('fitting the sources into the context', () => {
  it('sends everything when it fits', () => {
    const block = fitSources([doc('a', 'One.\n\nTwo.'), doc('b', 'Three.')], 10_000, []);
    expect(block).toBe('[1] a\nOne.\n\nTwo.\n\n---\n\n[2] b\nThree.');
  });

  it('keeps within the budget, in order, every source represented, the topical passages first', () => {
    const topical = 'Geothermal heat pumps draw on the stable temperature of the ground below the frost line.';
    const sources = [
      doc('a', [...filler.slice(0, 20), topical].join('\n\n')),
      doc('b', filler.slice(5, 25).join('\n\n')),
      doc('c', filler.slice(10, 30).join('\n\n')),
    ];
    const budget = 5_000;
    const block = fitSources(sources, budget, ['geothermal heat pumps']);
    const parts = block.split('\n\n---\n\n');
    expect(parts.map((p) => p.split('\n')[0])).toEqual(['[1] a', '[2] b', '[3] c']);
    const text = parts.map((p) => p.split('\n').slice(1).join('\n').replace(/\[…\]/g, '')).join('');
    expect(text.replace(/\n/g, '').length).toBeLessThanOrEqual(budget);
    expect(block).toContain(topical);
    expect(block).toContain('[…]');
    // Kept passages stay in their source's order.
    for (const [i, part] of parts.entries()) {
      const kept = part
        .split('\n\n')
        .slice(1)
        .filter((p) => p !== '[…]');
      const positions = kept.map((p) => sources[i]!.text.indexOf(p));
      expect(positions.every((pos) => pos >= 0)).toBe(true);
      expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    }
  });

  it('refuses to write from a sliver of the sources', () => {
    expect(() => fitSources([doc('a', filler.join('\n\n'))], 500, [])).toThrow(ContextTooSmallError);
  });

  it('leaves room for the reply and the rest of the prompt', () => {
    const fixed = [{ role: 'system' as const, content: 'x'.repeat(300) }];
    expect(promptTokens(fixed)).toBe(108);
    // 95 % of 4,096 tokens, less 1,000 for the reply and 108 for the prompt, at three characters a token.
    expect(sourceRoom(4096, 1000, fixed)).toBe((3891 - 1000 - 108) * 3);
    expect(sourceRoom(1_000_000, 1000, fixed)).toBe(48_000);
    expect(sourceRoom(2048, 2000, fixed)).toBe(0);
  });
});
