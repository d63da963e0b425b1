import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBrief } from '../../src/llm/brief.ts';
import { countWords, readableBody } from '../../src/llm/post.ts';
import { createLocalWriter, withLengthBounds, type LocalWriterInput } from '../../src/llm/local-writer.ts';
import { splitSentences } from '../../src/text/sentences.ts';
import type { Draft, SourceDoc } from '../../src/llm/types.ts';
import { articles } from '../support/source-articles.ts';

const HEAT_PUMPS: SourceDoc = {
  id: 'src-heat',
  kind: 'url',
  title: 'How Heat Pumps Work in Cold Climates | The Energy Desk',
  url: 'https://energy.example/heat-pumps',
  text: `# How Heat Pumps Work in Cold Climates

Heat pumps move heat instead of making it, which is why they can deliver three units of heat for every unit of \
electricity they use. For years, installers warned that the technology struggled once the outdoor temperature fell \
below freezing.

That advice is now out of date. Modern cold-climate models use variable-speed compressors and improved refrigerants \
that keep extracting heat from outdoor air at minus twenty degrees Celsius.

## What changed in the hardware

The biggest change is the inverter-driven compressor. Instead of switching on and off at full power, it ramps up and \
down to match the heat the house needs, which saves energy and reduces wear.

- Vapour injection raises the capacity of a heat pump at low temperatures.
- Better defrost controls waste less energy melting ice from the outdoor coil.

## Installing one well

Sizing matters more than the brand of the heat pump. An installer should calculate the heat loss of each room rather \
than copying the size of the old boiler. An oversized heat pump cycles more often and runs less efficiently.

Good insulation and larger radiators let the system run at a lower flow temperature, which is where heat pumps are \
most efficient.`,
};

const GRANTS: SourceDoc = {
  id: 'src-grants',
  kind: 'text',
  title: 'Heat pump grants in 2024',
  url: null,
  text:
    `Government grants now cover a large part of the cost of installing a heat ` +
    `pump in many European countries. In the United Kingdom, the Boiler Upgrade ` +
    `Scheme pays seven thousand five hundred pounds towards an air source heat ` +
    `pump. Households usually need a valid energy performance certificate before ` +
    `they can apply for the grant. The installer applies for the grant on behalf ` +
    `of the household and deducts it from the final invoice.`,
};

const BAKING: SourceDoc = {
  id: 'src-bread',
  kind: 'markdown',
  title: 'Sourdough basics',
  url: 'https://bread.example/sourdough',
  text:
    `A sourdough starter is a mixture of flour and water that hosts wild yeast ` +
    `and lactic acid bacteria. Feed the starter twice a day with equal weights ` +
    `of flour and water to keep the yeast active. The dough needs a long, slow ` +
    `fermentation, often twelve hours or more, to develop flavour.`,
};

/** Body paragraphs and bullets with headings, the Sources list and citation markers removed. */
function bodyTexts(draft: Draft): string[] {
  const beforeSources = draft.markdown.split('\n## Sources\n')[0]!;
  return beforeSources
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/^- /, ''))
    .flatMap((line) => line.split(/\s*\[\d+\]\s*/))
    .map((segment) => segment.trim())
    .filter(Boolean);
}

const normalise = (text: string): string => text.replace(/\s+/g, ' ');

function expectVerbatim(draft: Draft, sources: SourceDoc[]): void {
  // Sentences are compared with whitespace normalised and list markers dropped, as the writer reads them.
  const haystacks = sources.map((s) => normalise(s.text.replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, '')));
  const texts = bodyTexts(draft);
  expect(texts.length).toBeGreaterThan(0);
  for (const segment of texts) {
    for (const sentence of splitSentences(segment)) {
      expect(
        haystacks.some((h) => h.includes(sentence)),
        `not in any source: ${sentence}`,
      ).toBe(true);
    }
  }
}

function citedNumbers(draft: Draft): Set<number> {
  const body = draft.markdown.split('\n## Sources\n')[0]!;
  return new Set([...body.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
}

function sourcesList(draft: Draft): string[] {
  return draft.markdown.split('\n## Sources\n')[1]!.trim().split('\n');
}

describe('createLocalWriter', () => {
  const writer = createLocalWriter();

  it('describes itself', () => {
    expect(writer.provider).toBe('local');
    expect(writer.model).toBe('extractive-v2');
  });

  it('writes an attributed, extractive draft from several sources', async () => {
    const sources = [HEAT_PUMPS, GRANTS];
    const draft = await writer.write({ sources });
    expectVerbatim(draft, sources);

    expect(draft.markdown).not.toMatch(/^# /m);
    const sections = draft.markdown.match(/^## .+$/gm)!;
    expect(sections.at(-1)).toBe('## Sources');
    const own = sections.filter((s) => !['## Key takeaways', '## Conclusion', '## Sources'].includes(s));
    expect(own.length).toBeGreaterThanOrEqual(2);
    expect(own.length).toBeLessThanOrEqual(4);
    // The source's own headings name sections when they have been used.
    expect(sections.some((s) => s === '## What changed in the hardware' || s === '## Installing one well')).toBe(true);

    // Takeaways, when material is left for them: three to five bullets, one cited sentence each.
    if (draft.markdown.includes('## Key takeaways')) {
      const takeaways = draft.markdown.split('## Key takeaways\n\n')[1]!.split('\n\n')[0]!.split('\n');
      expect(takeaways.length).toBeGreaterThanOrEqual(3);
      expect(takeaways.length).toBeLessThanOrEqual(5);
      for (const line of takeaways) expect(line).toMatch(/^- .+ \[\d\]$/);
    }

    // Every paragraph ends with a citation marker.
    const paragraphs = draft.markdown
      .split('\n## Sources\n')[0]!
      .trim()
      .split('\n\n')
      .filter((p) => !p.startsWith('#') && !p.startsWith('- '));
    for (const p of paragraphs) expect(p).toMatch(/\[\d+\]$/);

    expect(draft.citations).toEqual([
      {
        sourceId: 'src-heat',
        title: 'How Heat Pumps Work in Cold Climates | The Energy Desk',
        url: 'https://energy.example/heat-pumps',
      },
      { sourceId: 'src-grants', title: 'Heat pump grants in 2024', url: null },
    ]);
    expect(sourcesList(draft)).toEqual([
      // A source title is Markdown text shown as itself: what could open markup is escaped, plain punctuation is not.
      '1. [How Heat Pumps Work in Cold Climates | The Energy Desk](<https://energy.example/heat-pumps>)',
      '2. Heat pump grants in 2024',
    ]);
    expect(citedNumbers(draft)).toEqual(new Set([1, 2]));
  });

  it('fills the SEO fields', async () => {
    const draft = await writer.write({ sources: [HEAT_PUMPS, GRANTS] });
    expect(draft.title).toBe('How Heat Pumps Work in Cold Climates');
    expect(draft.slug).toBe('how-heat-pumps-work-in-cold-climates');
    expect(draft.metaDescription.length).toBeGreaterThanOrEqual(140);
    expect(draft.metaDescription.length).toBeLessThanOrEqual(160);
    expect(draft.metaDescription).not.toMatch(/\[\d+\]|\s$/);
    expect(draft.tags.length).toBeGreaterThan(0);
    expect(draft.tags.length).toBeLessThanOrEqual(5);
    // Key phrases of the sources, never stop-like words.
    expect(draft.tags[0]).toBe('heat pump');
    const sourceText = [HEAT_PUMPS, GRANTS].map((s) => s.text.toLowerCase()).join(' ');
    for (const tag of draft.tags) {
      expect(['the', 'and', 'of', 'for', 'with', 'that', 'which', 'post', 'answers']).not.toContain(tag);
      expect(sourceText).toContain(tag.toLowerCase());
    }
    expect(draft.wordCount).toBe(draft.markdown.match(/[\p{L}\p{N}]+/gu)!.length);
  });

  it("keeps a paragraph's short sentences, a description's sentences together and a passage in its own section", async () => {
    const text = readFileSync(join(import.meta.dirname, '../../samples/sample-article.md'), 'utf8');
    // As the generate stage runs it, within the default brief's length.
    const draft = await withLengthBounds(writer, resolveBrief(undefined, {})).write({
      sources: [
        { id: 'sample', kind: 'markdown', title: 'Why queue-first pipelines survive bad days', url: null, text },
      ],
    });
    const body = draft.markdown.split('\n## Sources\n')[0]!;
    const prose = body.replace(/\s?\[\d+\]/g, '').replace(/\s+/g, ' ');
    // A four-word sentence in a list of stages written as sentences is not left out of it.
    expect(prose).toContain(
      'Ingest fetches and cleans the source. Generate writes the draft. Embed and index make the post searchable.',
    );
    // The description's sentences are printed together in the post (the last one may end at a clause).
    expect(draft.metaDescription.length).toBeLessThanOrEqual(160);
    expect(prose).toContain(draft.metaDescription.replace(/\.$/, ''));
    // A lone passage goes to the section of its part of the source, after the sentence it follows there.
    const retries = body.indexOf('## Retries that know what they are retrying');
    const operators = body.indexOf('Operators see the reason on the post');
    expect(retries).toBeGreaterThan(-1);
    expect(operators).toBeGreaterThan(body.indexOf('Telling the two apart'));
    expect(operators).toBeLessThan(body.indexOf('## Measure what matters'));
  });

  it('uses the keywords for the title and tags', async () => {
    const draft = await writer.write({ sources: [GRANTS], keywords: ['boiler upgrade scheme'] });
    expect(draft.title).toBe('Boiler upgrade scheme: Heat pump grants in 2024');
    expect(draft.tags[0]).toBe('boiler upgrade scheme');
    expect(draft.title.length).toBeLessThanOrEqual(60);
  });

  it('cites only the sources it used', async () => {
    const sources = [
      HEAT_PUMPS,
      GRANTS,
      BAKING,
      { id: 'empty', kind: 'text', title: 'Nothing', url: null, text: '   ' } satisfies SourceDoc,
    ];
    const draft = await writer.write({ sources });
    expectVerbatim(draft, sources);
    const usedIds = draft.citations.map((c) => c.sourceId);
    expect(usedIds).not.toContain('empty');
    expect(sourcesList(draft)).toHaveLength(draft.citations.length);
    expect(citedNumbers(draft)).toEqual(new Set(draft.citations.map((_, i) => i + 1)));
    // Each cited number's sentences really come from that source.
    const body = draft.markdown.split('\n## Sources\n')[0]!;
    for (const [k, citation] of draft.citations.entries()) {
      const source = sources.find((s) => s.id === citation.sourceId)!;
      const text = normalise(source.text.replace(/^\s*[-*+]\s+/gm, ''));
      for (const m of body.matchAll(new RegExp(`([^\\]\\n]+?) \\[${k + 1}\\]`, 'g'))) {
        const last = splitSentences(m[1]!.replace(/^- /, '')).at(-1)!;
        expect(text).toContain(last);
      }
    }
  });

  it('handles a single very short source', async () => {
    const sources: SourceDoc[] = [
      { id: 'tiny', kind: 'text', title: null, url: null, text: 'Solar panels work on cloudy days' },
    ];
    const draft = await writer.write({ sources });
    expectVerbatim(draft, sources);
    // Printed once: with one sentence there are no sections, takeaways or conclusion to repeat it in.
    expect(draft.markdown).toBe('Solar panels work on cloudy days [1]\n\n## Sources\n\n1. Source 1\n');
    expect(draft.title.length).toBeGreaterThan(0);
    expect(draft.slug).toMatch(/^[a-z0-9-]+$/);
    expect(draft.metaDescription).toBe('Solar panels work on cloudy days');
    expect(draft.citations).toEqual([{ sourceId: 'tiny', title: 'Source 1', url: null }]);
  });

  it('handles many sources and stays within its shape', async () => {
    const topics = [
      'solar',
      'wind',
      'hydro',
      'nuclear',
      'geothermal',
      'biomass',
      'tidal',
      'hydrogen',
      'battery',
      'grid',
      'coal',
      'gas',
    ];
    const sources: SourceDoc[] = topics.map((topic, i) => ({
      id: `s${i}`,
      kind: 'text',
      title: `${topic} power explained`,
      url: `https://example.org/${topic}`,
      text: Array.from(
        { length: 8 },
        (_, j) =>
          `Fact ${j + 1} about ${topic} power is that ${topic} plants supply electricity ` +
          `to the grid in region ${j + i}.`,
      ).join(' '),
    }));
    const draft = await writer.write({ sources });
    expectVerbatim(draft, sources);
    const headings = draft.markdown.match(/^## .+$/gm)!;
    expect(headings.length - 3).toBeLessThanOrEqual(4);
    expect(draft.citations.length).toBeLessThanOrEqual(sources.length);
    expect(citedNumbers(draft)).toEqual(new Set(draft.citations.map((_, i) => i + 1)));
    expect(draft.title.length).toBeLessThanOrEqual(60);
  });

  it('is deterministic', async () => {
    const a = await writer.write({ sources: [HEAT_PUMPS, GRANTS, BAKING] });
    const b = await createLocalWriter().write({ sources: [HEAT_PUMPS, GRANTS, BAKING] });
    expect(a).toEqual(b);
  });

  it('refuses to write from nothing', async () => {
    await expect(writer.write({ sources: [] })).rejects.toThrow(/at least one source/);
    await expect(
      writer.write({ sources: [{ id: 'x', kind: 'text', title: null, url: null, text: ' \n ' }] }),
    ).rejects.toThrow(/no sentences/);
  });
});

describe("a source's list", () => {
  const writer = createLocalWriter();
  const recipe = (list: string): SourceDoc => ({
    id: 'src-soup',
    kind: 'url',
    title: 'Red lentil soup for a cold evening',
    url: 'https://food.example/lentil-soup',
    text: `# Red lentil soup for a cold evening

Red lentil soup is the quickest warming dinner we know, ready in half an hour from a handful of pantry staples. \
The lentils fall apart as they cook, so the soup turns creamy without any cream at all.

We have made this soup every winter for ten years, and it has never failed to please a tired family. \
It keeps for three days in the fridge and tastes even better on the second day.

${list}

## Method

Soften the onion and the carrot in the olive oil over a low heat for ten minutes, stirring now and then. \
Add the cumin and cook for one more minute until the kitchen smells of it.

Stir in the rinsed lentils and the stock, bring the soup to the boil and let it simmer for twenty minutes. \
Blend half of the soup and stir it back in, then season it with salt and a squeeze of lemon juice.`,
  });

  it("prints a recipe's ingredients whole, in order, where the source has them, cited once", async () => {
    const list = `## Ingredients

- 250 g red lentils
- 1 onion, chopped⁣
- 1 carrot, diced
- 2 tbsp olive oil
- 1 tsp ground cumin
- 1 litre vegetable stock`;
    const draft = await writer.write({ sources: [recipe(list)] });
    expect(draft.markdown).toContain(
      '## Ingredients\n\n- 250 g red lentils\n- 1 onion, chopped\n- 1 carrot, diced\n- 2 tbsp olive oil\n' +
        '- 1 tsp ground cumin\n- 1 litre vegetable stock [1]',
    );
    // Before the method, as in the source; the invisible separator after an item is gone.
    expect(draft.markdown.indexOf('## Ingredients')).toBeLessThan(draft.markdown.indexOf('## Method'));
    expect(draft.markdown).not.toContain('\u2063');
  });

  it('prints the sentence a list completes before it, and numbers a numbered list', async () => {
    const list = `## Before you start

To make the soup you will need the following:

1. a large pot with a lid
2. a stick blender or a jug blender
3. a sharp knife and a board`;
    const draft = await writer.write({ sources: [recipe(list)] });
    expect(draft.markdown).toContain(
      'To make the soup you will need the following:\n\n1. a large pot with a lid\n' +
        '2. a stick blender or a jug blender\n3. a sharp knife and a board [1]',
    );
  });

  it("leaves out a list that completes a fragment, a page's links, or a table of its own headings", async () => {
    const fragment = `## Equipment

with:

- a large pot
- a blender
- a knife`;
    const links = `## Read more

- [Ten soups for winter](<https://food.example/ten>)
- [Our best bread](<https://food.example/bread>)
- Lentils explained`;
    const contents = `## On this page

- Serving
- Storing
- Method

## Serving

Serve the soup hot with a spoonful of yoghurt and some warm flatbread on the side. \
A few chilli flakes on top make it look as good as it tastes.

## Storing

Let the soup cool before it goes into the fridge, where it keeps for three days. \
It also freezes well for up to three months in portions.`;
    for (const list of [fragment, links, contents]) {
      const draft = await writer.write({ sources: [recipe(list)] });
      expect(draft.markdown, list).not.toMatch(/^- (?:a large pot|\[Ten soups|Serving$)/m);
    }
  });
});

describe("the conclusion and the brief's word bounds", () => {
  const writer = createLocalWriter();
  const write = (input: LocalWriterInput): Promise<Draft> => writer.write(input);
  /** Words as the post's word count has them: no Sources list, no citation markers. */
  const words = (draft: Draft): number => countWords(readableBody(draft.markdown));
  /** Words as the SEO lint's length rule counts them: the same without headings. */
  const proseWords = (draft: Draft): number => countWords(readableBody(draft.markdown).replace(/^#{1,6}\s+.*$/gm, ''));
  const section = (draft: Draft, heading: string): string =>
    draft.markdown.split(`\n## ${heading}\n\n`)[1]!.split('\n\n')[0]!;
  /** Every sentence of the body outside the given section. */
  const sentencesOutside = (draft: Draft, heading: string): string[] =>
    draft.markdown
      .split('\n## Sources\n')[0]!
      .split(/\n\n(?=## )/)
      .filter((part) => !part.startsWith(`## ${heading}\n`))
      .flatMap((part) => part.split('\n').filter((line) => line.trim() && !line.startsWith('#')))
      .flatMap((line) => splitSentences(line.replace(/^- /, '').replace(/\s*\[\d+\]/g, '')));
  const many: SourceDoc[] = articles
    .slice(0, 6)
    .map((a, i) => ({ id: `a${i}`, kind: 'markdown', title: a.title, url: a.url, text: a.text }));

  it(
    'ends with a conclusion of two or more source sentences from the close of one source, ' +
      'cited, that the post has not already used',
    async () => {
      for (const sources of [[HEAT_PUMPS, GRANTS], [HEAT_PUMPS, GRANTS, BAKING], many]) {
        const draft = await write({ sources });
        expectVerbatim(draft, sources);
        // With material to spare there is a conclusion; without, none rather than a repeated sentence.
        if (sources === many) expect(draft.markdown).toContain('\n## Conclusion\n');
        if (!draft.markdown.includes('\n## Conclusion\n')) continue;
        expect(draft.markdown).toMatch(/\n## Key takeaways\n[\s\S]+\n## Conclusion\n\n.+\n\n## Sources\n/);
        const conclusion = section(draft, 'Conclusion');
        expect(conclusion).toMatch(/^[^[]+ \[\d+\]$/);
        const sentences = splitSentences(conclusion.replace(/\s*\[\d+\]/g, ''));
        expect(sentences.length).toBeGreaterThanOrEqual(2);
        // Each cited number's sentences come from that source.
        for (const m of conclusion.matchAll(/([^\]]+?) \[(\d+)\]/g)) {
          const source = sources.find((s) => s.id === draft.citations[Number(m[2]) - 1]!.sourceId)!;
          for (const sentence of splitSentences(m[1]!))
            expect(normalise(source.text.replace(/^\s*[-*+]\s+/gm, ''))).toContain(sentence);
        }
        const elsewhere = sentencesOutside(draft, 'Conclusion');
        for (const sentence of sentences) expect(elsewhere, sentence).not.toContain(sentence);
        // It closes its source: it starts in the last third of the source's sentences, where a source sums up.
        const cited = /\[(\d+)\]/.exec(conclusion)!;
        const source = sources.find((s) => s.id === draft.citations[Number(cited[1]) - 1]!.sourceId)!;
        const all = source.text
          .split('\n')
          .filter((line) => line.trim() && !line.startsWith('#'))
          .flatMap((line) => splitSentences(normalise(line.replace(/^\s*[-*+]\s+/, ''))));
        const at = all.indexOf(sentences[0]!);
        expect(at, sentences[0]).toBeGreaterThanOrEqual(0);
        expect(at / all.length, sentences[0]).toBeGreaterThanOrEqual(0.6);
      }
    },
  );

  it('takes no conclusion from the first two thirds of its source, however well it ranks', async () => {
    // Thirty sentences on heat pumps, then six on a museum: what the sections and takeaways leave of the heat pumps is
    // from the middle of the source, the best-ranked material left, and no conclusion of it.
    const cities = [
      ...['Oslo', 'Munich', 'Lyon', 'Toronto', 'Krakow', 'Vienna', 'Helsinki', 'Zurich', 'Prague', 'Dublin'],
      ...['Riga', 'Tallinn', 'Bergen', 'Graz', 'Turin', 'Porto', 'Ghent', 'Aarhus', 'Basel', 'Leeds'],
      ...['Malmo', 'Lille', 'Bremen', 'Innsbruck', 'Linz', 'Bologna', 'Utrecht', 'Tampere', 'Gdansk', 'Brno'],
    ];
    const text = [
      ...cities.map(
        (city, i) =>
          `Heat pumps in ${city} kept older houses warm through a cold winter, and the heat pump owners there paid ` +
          `${20 + i} percent less for heating than with gas boilers.`,
      ),
      'The museum café opens at nine on weekdays.',
      'Its garden has a small pond with goldfish.',
      'Visitors may bring their dogs on a lead.',
      'A bus stops at the gate every twenty minutes.',
      'Tickets for children under twelve are free.',
      'The shop sells postcards of the old town hall.',
    ].join(' ');
    const draft = await write({
      sources: [{ id: 's1', kind: 'text', title: 'Heat pumps in cold cities', url: null, text }],
    });
    expect(draft.markdown).toContain('\n## Key takeaways\n');
    expect(draft.markdown).not.toContain('\n## Conclusion\n');
  });

  it('expands a draft under minWords with further source sentences, cited, until it reaches minWords', async () => {
    const base = await write({ sources: many });
    expect(words(base)).toBeLessThan(700);
    const draft = await write({ sources: many, minWords: 700, maxWords: 2500 });
    expect(proseWords(draft)).toBeGreaterThanOrEqual(700);
    expect(proseWords(draft)).toBeLessThan(700 + 60); // it stops once it is there
    expectVerbatim(draft, many);
    // Every paragraph still ends with a citation marker, and no body sentence is printed twice.
    const paragraphs = draft.markdown
      .split('\n## Sources\n')[0]!
      .trim()
      .split('\n\n')
      .filter((p) => !p.startsWith('#') && !p.startsWith('- '));
    for (const p of paragraphs) expect(p).toMatch(/\[\d+\]$/);
    const all = sentencesOutside(draft, 'none');
    expect(new Set(all).size).toBe(all.length);
    expect(citedNumbers(draft)).toEqual(new Set(draft.citations.map((_, i) => i + 1)));
    // The unexpanded draft's sections are still there; new material gets sections of its own.
    const headings = (d: Draft): string[] => d.markdown.match(/^## .+$/gm)!;
    expect(headings(draft).slice(-3)).toEqual(['## Key takeaways', '## Conclusion', '## Sources']);
    expect(headings(draft).length).toBeGreaterThan(headings(base).length);
    expect(await write({ sources: many, minWords: 700, maxWords: 2500 })).toEqual(draft);
  });

  it('keeps the body under maxWords, trimming the lowest-ranked sentences first', async () => {
    for (const maxWords of [80, 150, 250]) {
      const draft = await write({ sources: many, minWords: 50, maxWords });
      expect(words(draft), `maxWords ${maxWords}`).toBeLessThanOrEqual(maxWords);
      expectVerbatim(draft, many);
      // Trimming never leaves a section of one sentence.
      for (const part of draft.markdown
        .split('\n## Sources\n')[0]!
        .split(/\n\n(?=## )/)
        .slice(1)) {
        const lines = part.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
        const sentences = lines.flatMap((l) => splitSentences(l.replace(/^- /, '').replace(/\s*\[\d+\]/g, '')));
        expect(sentences.length, part).toBeGreaterThanOrEqual(2);
      }
      expect(citedNumbers(draft)).toEqual(new Set(draft.citations.map((_, i) => i + 1)));
      expect(sourcesList(draft)).toHaveLength(draft.citations.length);
    }
    // Expansion stops short of maxWords even when minWords is out of reach below it.
    const capped = await write({ sources: many, minWords: 2000, maxWords: 500 });
    expect(words(capped)).toBeLessThanOrEqual(500);
    expect(words(capped)).toBeGreaterThan(400);
  });

  it('stops when the sources run out: no loop, no invented text, the rest left to the SEO lint', async () => {
    const base = await write({ sources: [BAKING] });
    const draft = await write({ sources: [BAKING], minWords: 5000, maxWords: 20_000 });
    expect(draft).toEqual(base);
    expect(words(draft)).toBeLessThan(5000);
    expectVerbatim(draft, [BAKING]);
    const tiny: SourceDoc[] = [
      { id: 'tiny', kind: 'text', title: null, url: null, text: 'Solar panels work on cloudy days' },
    ];
    const short = await write({ sources: tiny, minWords: 1000 });
    expectVerbatim(short, tiny);
    expect(short.markdown).toBe('Solar panels work on cloudy days [1]\n\n## Sources\n\n1. Source 1\n');
  });

  it('takes the bounds from withLengthBounds, which the generate stage wraps around the writer', async () => {
    const bounded = withLengthBounds(writer, { minWords: 700, maxWords: 2500 });
    expect([bounded.provider, bounded.model]).toEqual(['local', 'extractive-v2']);
    expect(await bounded.write({ sources: many })).toEqual(
      await write({ sources: many, minWords: 700, maxWords: 2500 }),
    );
  });
});

describe('splitSentences', () => {
  it('splits at sentence ends but not at abbreviations or initials', () => {
    expect(
      splitSentences('Dr. Smith met J. R. Tolkien in the U.S. on Monday. It rained! Did it? Yes, e.g. twice.'),
    ).toEqual(['Dr. Smith met J. R. Tolkien in the U.S. on Monday.', 'It rained!', 'Did it?', 'Yes, e.g. twice.']);
    expect(splitSentences('He said "stop." Then he left.')).toEqual(['He said "stop."', 'Then he left.']);
  });
});
