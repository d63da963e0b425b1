import { describe, expect, it } from 'vitest';
import { applyDisclaimers, checkGrounding } from '../../src/grounding/gate.ts';
import { defaultGroundingPolicy, groundingPolicySchema } from '../../src/grounding/policy.ts';
import type { SourceDoc } from '../../src/llm/types.ts';

const source: SourceDoc = {
  id: 's1',
  kind: 'markdown',
  title: 'Grants',
  url: null,
  text:
    'In the United Kingdom, the Boiler Upgrade Scheme pays 7,500 pounds towards ' +
    'a heat pump. It opened in May 2022. The minister said "heat pumps are ' +
    'the future of home heating" at the launch.',
};
const check = (markdown: string, policy = defaultGroundingPolicy, citationCount = 1) =>
  checkGrounding({ markdown, citationCount, sources: [source], policy });

describe('the grounding gate', () => {
  it('passes a post whose figures, dates, names and quotations are all in the sources', () => {
    const result = check(
      'The Boiler Upgrade Scheme pays 7500 pounds towards a heat pump in the ' +
        'United Kingdom [1].\n\n## Since when\n\nIt opened in May 2022, and the ' +
        'minister said "heat pumps are the future of home heating" [1].\n\n## Sources\n\n1. ' +
        'Grants\n',
    );
    expect(result).toMatchObject({ passed: true, failingSentences: [], problems: [] });
  });

  it('names each sentence with an untraceable figure, date, name or quotation', () => {
    const result = check(
      'The scheme pays 9,000 pounds [1]. It opened in June 2021 [1]. Ofgem runs ' +
        'it from Glasgow [1]. Critics said "it is far too small to matter" [1].',
    );
    expect(result.passed).toBe(false);
    expect(result.failingSentences.map((f) => [f.sentence, f.reasons])).toEqual([
      ['The scheme pays 9,000 pounds.', ['the figure "9,000 pounds" is not in any source']],
      ['It opened in June 2021.', ['the date "June 2021" is not in any source']],
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
      'The scheme pays 7,500 pounds [1].\n\n## Uncited\n\nIt opened in May 2022.\n\n## ' +
        'Wrong\n\nIt opened in May 2022 [4].',
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
      'Acme Heat notes the scheme pays 7,500 pounds [1]. Guaranteed savings follow ' +
        '[1]. The minister said "heat pumps are the future of home heating" [1].',
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

describe('the grounding gate on the title, headings and meta description', () => {
  const body = 'The Boiler Upgrade Scheme pays 7500 pounds towards a heat pump in the United Kingdom [1].\n';
  const gate = (markdown: string, fields: { title?: string; metaDescription?: string }) =>
    checkGrounding({ markdown, citationCount: 1, sources: [source], policy: defaultGroundingPolicy, fields });

  it('holds a figure, date or quotation the sources do not give, wherever the reader sees it first', () => {
    const result = gate(`${body}\n## Why 73% of Homes Switched in 2019\n\nIt opened in May 2022 [1].\n`, {
      title: 'Heat Pump Grants Cut Bills by 40 Percent',
      metaDescription: 'The scheme pays 7,500 pounds towards a heat pump. Ofgem says it doubled installations.',
    });
    expect(result.passed).toBe(false);
    expect(result.failingSentences.map((f) => [f.field, f.sentence, f.reasons])).toEqual([
      ['title', 'Heat Pump Grants Cut Bills by 40 Percent', ['the figure "40 Percent" is not in any source']],
      [
        'heading',
        'Why 73% of Homes Switched in 2019',
        ['the figure "73%" is not in any source', 'the figure "2019" is not in any source'],
      ],
      ['metaDescription', 'Ofgem says it doubled installations.', ['the name "Ofgem" is not in any source']],
    ]);
  });

  it('passes title-case headings, structural counts and a title taken from a source title', () => {
    const result = gate(`${body}\n## Step 2: What The Boiler Upgrade Scheme Pays\n\nIt opened in May 2022 [1].\n`, {
      title: 'Grants',
      metaDescription: 'In the United Kingdom, the Boiler Upgrade Scheme pays 7,500 pounds towards a heat pump.',
    });
    expect(result).toMatchObject({ passed: true, failingSentences: [] });
  });
});

describe('the grounding gate on real text', () => {
  const src = (text: string, id = 's1'): SourceDoc => ({ id, kind: 'url', title: 'Source', url: null, text });
  const gate = (markdown: string, sources: SourceDoc[], language?: string) =>
    checkGrounding({ markdown, citationCount: sources.length, sources, policy: defaultGroundingPolicy, language });

  describe('does not hold grounded text', () => {
    it('reads names as spans that stop at punctuation', () => {
      const sources = [
        src(
          'Severe storms moved across Mississippi, Kentucky and Tennessee on Friday. ' +
            'Oxy Pure opened oxygen bars across Delhi-NCR last year. The NYAG Letitia ' +
            'James said the office would appeal.',
        ),
      ];
      const result = gate(
        'The storms hit Mississippi, Kentucky and Tennessee [1]. In Delhi-NCR, ' +
          'Oxy Pure runs oxygen bars [1]. The appeal comes from New York Attorney ' +
          'General Letitia James (the NYAG) [1].',
        sources,
      );
      expect(result.failingSentences.flatMap((f) => f.reasons)).toEqual([
        'the name "New York Attorney General Letitia James" is not in any source',
      ]);
    });

    it('passes a copied sentence whatever it contains, links and emphasis included', () => {
      const sources = [
        src(
          'Attorney General [Letitia James](https://ag.ny.gov/) and the **NYAG** ' +
            'office said on Monday that the settlement of $4.5 million covers 2,300 ' +
            'tenants in Buffalo, Rochester and Syracuse.',
        ),
      ];
      const copied =
        'Attorney General [Letitia James](https://ag.ny.gov/) and the **NYAG** ' +
        'office said on Monday that the settlement of $4.5 million covers 2,300 ' +
        'tenants in Buffalo, Rochester and Syracuse. [1]';
      expect(gate(copied, sources)).toMatchObject({ passed: true, failingSentences: [] });
    });

    it('reads German text: nouns are not names, figures and dates in German formats', () => {
      const sources = [
        src(
          'Es reicht, wenn ihr auf einfache Kohlenhydrate weitestgehend verzichtet, ' +
            'wie sie in Weißbrot, Kuchen, Chips, Fast Food oder Süßigkeiten stecken. ' +
            'Für das Programm stehen 4,5 Mrd. Euro bereit. Das Gesetz gilt seit dem ' +
            '3. Oktober 2024. Im Jahr 2023 wurden 356.000 Geräte verkauft.',
        ),
      ];
      const result = gate(
        'Kuchen und Chips solltet ihr meiden [1]. Das Programm hat 4,5 Milliarden ' +
          'Euro [1]. Seit dem 03.10.2024 gilt das Gesetz, und 2023 wurden 356.000 ' +
          'Geräte verkauft [1].',
        sources,
        'de',
      );
      expect(result).toMatchObject({ passed: true, failingSentences: [] });
    });
  });

  describe('holds ungrounded text', () => {
    it('matches figures with their scale and unit: "4 million euros" is not the 4 of "Raspberry Pi 4"', () => {
      const sources = [src('The Raspberry Pi 4 is a small computer that costs 35 dollars and uses 15 watts.')];
      const result = gate('The Raspberry Pi 4 project received 4 million euros [1]. It costs 35 euros [1].', sources);
      expect(result.failingSentences.map((f) => f.reasons)).toEqual([
        ['the figure "4 million euros" is not in any source'],
        ['the figure "35 euros" is not in any source'],
      ]);
    });

    it('reads a date as a date: "May 2023" is not grounded by "May 2021" and "2,023 people"', () => {
      const sources = [src('The plant employs 2,023 people and opened in May 2021.')];
      const result = gate('The plant opened in May 2023 [1].', sources);
      expect(result.failingSentences.map((f) => f.reasons)).toEqual([['the date "May 2023" is not in any source']]);
    });

    it('splits a run-on and names the clause that is not grounded', () => {
      const sources = [src('The pump moves heat. The compressor ramps up and down. The installer sizes each room.')];
      // Sentences run together without spaces, then one long sentence of clauses.
      const runOn =
        'The pump moves heat.The compressor ramps up and down.It was built by Siemens ' +
        'in Munich [1]. The installer sizes each room, the pump moves heat, the ' +
        'compressor ramps up and down, the installer sizes each room again, the ' +
        'pump moves heat once more, and Bosch tested it in Stuttgart, the compressor ' +
        'ramps up and down all winter long without any trouble at all [1].';
      const result = gate(runOn, sources);
      expect(result.checkedSentences).toBeGreaterThanOrEqual(9);
      expect(result.failingSentences.map((f) => [f.sentence, f.reasons])).toEqual([
        [
          'It was built by Siemens in Munich.',
          ['the name "Siemens" is not in any source', 'the name "Munich" is not in any source'],
        ],
        [
          'and Bosch tested it in Stuttgart,',
          ['the name "Bosch" is not in any source', 'the name "Stuttgart" is not in any source'],
        ],
      ]);
    });
  });
});

describe('the grounding gate on names beside figures', () => {
  it('does not join the words around a figure into one name', () => {
    const android: SourceDoc = {
      id: 'a1',
      kind: 'markdown',
      title: null,
      url: null,
      text: 'Por esta razón desde Android 6.0 Marshmallow, Google desarrolló un sistema llamado Doze.',
    };
    const result = checkGrounding({
      markdown: 'Desde Android 6.0 Marshmallow existe Doze [1].',
      citationCount: 1,
      sources: [android],
      policy: defaultGroundingPolicy,
      language: 'es',
    });
    expect(result.failingSentences).toEqual([]);
  });
});
