import { describe, expect, it } from 'vitest';
import { exactFingerprint, hammingDistance, simhash64, simhashBands } from '../../src/ingest/fingerprint.ts';
import { coverage, extractKeywords, groupBySimilarity, keywordTerms } from '../../src/ingest/keywords.ts';

const text = `Harbour masters in Stromness have started to log every tidal turbine maintenance visit in a shared \
register.
The register shows which vessels were used, how long each repair took and what the weather was like at the time.
After two years the data suggests that most repairs can wait for the calm neap tides, which saves both fuel and money.
Other harbours in the north of Scotland plan to adopt the same register before the next winter season begins.
The harbour board says the register costs almost nothing to keep, because the crews already write the same notes by \
hand.
Insurers have asked for copies, since a record of every visit makes it easier to price the risk of working at sea.
Some skippers worry that the data could be used against them, but the board has promised to publish only totals.
A second register for cable inspections is planned, and the two will share the same format so they can be compared.`;

describe('fingerprints', () => {
  it('treats case, punctuation and spacing as the same text', () => {
    expect(exactFingerprint(`  ${text.toUpperCase().replace(/\n/g, '\n\n')} `)).toBe(exactFingerprint(text));
    expect(exactFingerprint(text.replace('two years', 'three years'))).not.toBe(exactFingerprint(text));
  });

  it('puts a one-word edit of an article-length text within three bits and an unrelated text far away', () => {
    const base = simhash64(text);
    expect(hammingDistance(base, simhash64(text.replace('two years', 'three years')))).toBeLessThanOrEqual(3);
    expect(
      hammingDistance(
        base,
        simhash64('Kirkwall airport will trial electric planes on the short hop to Westray next spring.'),
      ),
    ).toBeGreaterThan(10);
  });

  it('bands share a value whenever two hashes are within three bits', () => {
    const a = simhash64(text);
    const flipped = BigInt.asIntN(64, a ^ (1n << 3n) ^ (1n << 20n) ^ (1n << 63n));
    const shared = simhashBands(a).filter((band) => simhashBands(flipped).includes(band));
    expect(shared.length).toBeGreaterThanOrEqual(1);
  });
});

describe('topic briefs', () => {
  it('extracts the repeated key phrases', () => {
    const keywords = extractKeywords(
      `${text}\nThe tidal turbine register is now used in other harbours. Tidal turbine crews welcome it.`,
      5,
    );
    expect(keywords.join(' ')).toMatch(/tidal turbine/);
  });

  it('groups entries about one topic and keeps others apart', () => {
    const items = [
      'Tidal turbine repairs in Orkney harbours',
      'Orkney tidal turbine repairs wait for neap tides',
      'Electric planes fly to Westray',
    ];
    const groups = groupBySimilarity(items, (s) => keywordTerms(extractKeywords(s, 8)), 0.3);
    expect(groups).toEqual([[items[0], items[1]], [items[2]]]);
    expect(
      coverage(keywordTerms(['tidal turbine repairs']), keywordTerms(['orkney tidal turbine repairs', 'harbours'])),
    ).toBe(1);
  });
});
