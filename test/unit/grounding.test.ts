import { describe, expect, it } from 'vitest';
import { applyDisclaimers, checkGrounding } from '../../src/grounding/gate.ts';
import { defaultGroundingPolicy, groundingPolicySchema } from '../../src/grounding/policy.ts';
import type { SourceDoc } from '../../src/llm/types.ts';

const source: SourceDoc = {
  id: 's1',
  kind: 'markdown',
  title: 'Grants',
  url: null,
  text: 'In the United Kingdom, the Boiler Upgrade Scheme pays 7,500 pounds towards a heat pump. It opened in May 2022. The minister said "heat pumps are the future of home heating" at the launch.',
};
const check = (markdown: string, policy = defaultGroundingPolicy, citationCount = 1) =>
  checkGrounding({ markdown, citationCount, sources: [source], policy });

describe('the grounding gate', () => {
  it('passes a post whose figures, dates, names and quotations are all in the sources', () => {
    const result = check(
      'The Boiler Upgrade Scheme pays 7500 pounds towards a heat pump in the United Kingdom [1].\n\n## Since when\n\nIt opened in May 2022, and the minister said "heat pumps are the future of home heating" [1].\n\n## Sources\n\n1. Grants\n',
    );
    expect(result).toMatchObject({ passed: true, failingSentences: [], problems: [] });
  });

  it('names each sentence with an untraceable figure, date, name or quotation', () => {
    const result = check(
      'The scheme pays 9,000 pounds [1]. It opened in June 2021 [1]. Ofgem runs it from Glasgow [1]. Critics said "it is far too small to matter" [1].',
    );
    expect(result.passed).toBe(false);
    expect(result.failingSentences.map((f) => [f.sentence, f.reasons])).toEqual([
      ['The scheme pays 9,000 pounds.', ['the figure "9000" is not in any source']],
      ['It opened in June 2021.', ['the figure "2021" is not in any source', 'the name "June" is not in any source']],
      [
        'Ofgem runs it from Glasgow.',
        ['the name "Ofgem" is not in any source', 'the name "Glasgow" is not in any source'],
      ],
      [
        'Critics said "it is far too small to matter".',
        ['the quotation "it is far too small to matter" is not in any source'],
      ],
    ]);
  });

  it('requires a citation in every section and a known source number', () => {
    const result = check(
      'The scheme pays 7,500 pounds [1].\n\n## Uncited\n\nIt opened in May 2022.\n\n## Wrong\n\nIt opened in May 2022 [4].',
    );
    expect(result.problems).toEqual(['the section "Uncited" cites no source', 'the section "Wrong" cites no source']);
    expect(result.failingSentences[0]!.reasons).toEqual(['cites [4], which is not in the source list']);
  });

  it('applies the tenant policy: banned phrases and patterns, minimum citations, allowed terms', () => {
    const policy = groundingPolicySchema.parse({
      bannedClaims: ['the future of home heating', '/guaranteed? savings/'],
      minCitations: 2,
      allowedTerms: ['Acme Heat'],
    });
    const result = check(
      'Acme Heat notes the scheme pays 7,500 pounds [1]. Guaranteed savings follow [1]. The minister said "heat pumps are the future of home heating" [1].',
      policy,
    );
    expect(result.failingSentences.map((f) => f.reasons)).toEqual([
      ['makes a banned claim (/guaranteed? savings/)'],
      ['makes a banned claim (the future of home heating)'],
    ]);
    expect(result.problems).toEqual(['the post cites 1 source; the policy asks for at least 2']);
    expect(() => groundingPolicySchema.parse({ bannedClaims: ['/unclosed(/'] })).toThrow(/regular expression/);
  });

  it('appends a disclaimer once, before the sources, when its topic appears', () => {
    const policy = groundingPolicySchema.parse({
      disclaimers: [
        { keywords: ['heat pump'], text: 'Check with a qualified installer.' },
        { keywords: ['mortgage'], text: 'Not advice.' },
      ],
    });
    const { markdown, added } = applyDisclaimers('A heat pump saves energy [1].\n\n## Sources\n\n1. Grants\n', policy);
    expect(added).toEqual(['Check with a qualified installer.']);
    expect(markdown).toBe(
      'A heat pump saves energy [1].\n\n*Check with a qualified installer.*\n\n## Sources\n\n1. Grants\n',
    );
  });
});
