import { describe, expect, it } from 'vitest';
import { resolveBrief } from '../../src/llm/brief.ts';
import { fitMetaDescription, fitMetaTitle } from '../../src/llm/post.ts';
import { lintSeo, type SeoInput } from '../../src/seo/lint.ts';
import { readability } from '../../src/seo/readability.ts';

const paragraph =
  'Heat pumps move heat from outside air into the house. They work well in cold weather when sized with care. A good installer checks every room first.';
const good: SeoInput = {
  title: 'Heat Pumps in Cold Weather: What Works',
  metaTitle: 'Heat Pumps in Cold Weather: What Works in Practice',
  metaDescription:
    'Heat pumps work in cold weather when they are sized with care. Here is what changed in the hardware and how a good installer plans a heat pump system.',
  slug: 'heat-pumps-in-cold-weather',
  markdown: `${paragraph} See [our guide](/guides/insulation) and [the source](https://energy.example/a).\n\n## Sizing\n\n${'An installer measures each room and picks a unit to match the heat it loses on a cold day. '.repeat(8)}\n\n![A heat pump outside a house](https://img.example/hp.jpg)\n`,
  tags: ['heat pumps'],
  heroImage: { alt: 'A heat pump' },
  brief: resolveBrief(undefined, { primaryKeyword: 'heat pumps', minWords: 100, maxWords: 1000 }),
};

describe('the SEO lint', () => {
  it('scores a well-formed post 100 with no violations', () => {
    const report = lintSeo(good);
    expect(report.violations).toEqual([]);
    expect(report.score).toBe(100);
    expect(report.measures).toMatchObject({ h1Count: 1, internalLinks: 1, externalLinks: 1, images: 1 });
    expect(report.measures.keywordDensity).toBeGreaterThan(0.005);
  });

  it('lists every violation and lowers the score by each', () => {
    const report = lintSeo({
      ...good,
      title: 'A title that is far too long to be shown in full by any search engine result page',
      metaTitle: 'Short',
      metaDescription: 'Too short.',
      slug: 'Bad Slug',
      markdown: `# A second H1\n\nNo keyword here.\n\n#### Skipped levels\n\n![](https://img.example/x.jpg)\n`,
      heroImage: { alt: '' },
    });
    const rules = report.violations.map((v) => v.rule);
    for (const rule of [
      'single-h1',
      'heading-order',
      'title-length',
      'meta-title-length',
      'meta-description-length',
      'slug-format',
      'keyword-in-title',
      'keyword-in-first-paragraph',
      'keyword-in-meta-description',
      'keyword-density',
      'external-links',
      'internal-links',
      'image-alt',
      'length',
    ]) {
      expect(rules).toContain(rule);
    }
    expect(report.score).toBe(Math.max(0, 100 - report.violations.reduce((n, v) => n + v.penalty, 0)));
  });

  it('measures reading ease and grade', () => {
    expect(readability('The cat sat on the mat. It was warm.').fleschReadingEase).toBeGreaterThan(90);
    const hard = readability(
      'Notwithstanding considerable institutional heterogeneity, comprehensive decarbonisation necessitates multidimensional organisational transformation.',
    );
    expect(hard.fleschReadingEase).toBeLessThan(10);
    expect(
      lintSeo({
        ...good,
        markdown: `${good.markdown}\n\n${'Notwithstanding considerable institutional heterogeneity, comprehensive decarbonisation necessitates multidimensional organisational transformation. '.repeat(30)}`,
      }).violations.map((v) => v.rule),
    ).toContain('reading-ease');
  });

  it('fits meta titles and descriptions into their bounds without inventing claims', () => {
    const title = fitMetaTitle(null, 'Sourdough Basics', ['Baking', 'flour', 'starter']);
    expect(title.length).toBeGreaterThanOrEqual(45);
    expect(title.length).toBeLessThanOrEqual(60);
    expect(title.startsWith('Sourdough Basics')).toBe(true);
    const description = fitMetaDescription('Too short.', [paragraph, paragraph.toUpperCase()]);
    expect(description.length).toBeGreaterThanOrEqual(140);
    expect(description.length).toBeLessThanOrEqual(160);
  });
});
