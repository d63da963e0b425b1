import { describe, expect, it } from 'vitest';
import { extractArticle, extractFromText } from '../../src/ingest/extract.ts';

const ARTICLE_PAGE = `
<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>How Heat Pumps Work in Cold Climates | The Energy Desk</title>
  <meta name="author" content="Jane Doe">
  <meta name="description" content="Modern heat pumps keep working far below freezing. Here is how.">
  <script>window.dataLayer = [];function gtag(){dataLayer.push(arguments)}; var TRACKING_SECRET = \
"tracking-code";</script>
  <style>.ad { color: red }</style>
</head>
<body>
  <header class="site-header">
    <nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li>\
<a href="/subscribe">Subscribe now</a></li></ul></nav>
  </header>
  <div class="ad-banner advertisement" id="top-ad"><a href="https://ads.example.net/click">BUY CHEAP WIDGETS TODAY</a>\
</div>
  <main>
    <article class="post">
      <h1>How Heat Pumps Work in Cold Climates</h1>
      <p class="byline">By <span class="author">Jane Doe</span></p>
      <p>Heat pumps move heat instead of making it, which is why they can deliver three units of heat for every unit \
of electricity they use. For years, installers warned that the technology struggled once the outdoor temperature fell \
below freezing, and many homeowners in colder regions kept a gas boiler as a backup.</p>
      <p>That advice is now out of date. Modern cold-climate models use <a href="/glossary/inverter">variable-speed \
compressors</a> and improved refrigerants that keep extracting heat from outdoor air at minus twenty degrees Celsius. \
Field trials in Norway, Canada and the northern United States have shown seasonal efficiencies well above two, even \
through long winters.</p>
      <h2>What changed in the hardware</h2>
      <p>The biggest change is the <strong>inverter-driven compressor</strong>. Instead of switching on and off at \
full power, it ramps up and down to match the heat the house needs, which saves energy and reduces wear.</p>
      <ul>
        <li>Vapour injection raises capacity at low temperatures.</li>
        <li>Better defrost controls waste less energy melting ice from the outdoor coil.</li>
      </ul>
      <blockquote><p>The cold-climate units we tested kept every home comfortable through the coldest week of the \
year.</p></blockquote>
      <h2>Installing one well</h2>
      <p>Sizing matters more than the brand. An installer should calculate the heat loss of each room rather than \
copying the size of the old boiler, because an oversized heat pump cycles more often and runs less efficiently.</p>
      <pre><code>heat_loss = area * u_value * delta_t</code></pre>
      <p>Good insulation and larger radiators let the system run at a lower flow temperature, which is where heat \
pumps are most efficient.</p>
      <div class="inline-ad sponsored"><p>Sponsored: Get 50% off smart thermostats with code WINTER!</p></div>
    </article>
  </main>
  <aside class="sidebar"><h3>Most popular</h3><ul><li><a href="/a">Ten celebrity kitchens</a></li><li>\
<a href="/b">Why your cat ignores you</a></li></ul></aside>
  <footer class="site-footer"><p>Copyright 2024 The Energy Desk. All rights reserved.</p><p>\
<a href="/privacy">Privacy policy</a> · <a href="/cookies">Cookie settings</a></p></footer>
  <script src="https://cdn.example.net/analytics.js"></script>
  <script>document.write('<div>injected</div>');</script>
</body>
</html>
`;

describe('extractArticle', () => {
  const article = extractArticle(ARTICLE_PAGE, 'https://energy.example/heat-pumps');

  it('reads the metadata', () => {
    expect(article.title).toBe('How Heat Pumps Work in Cold Climates');
    expect(article.byline).toBe('Jane Doe');
    expect(article.lang).toBe('en-GB');
    expect(article.excerpt).toBe('Modern heat pumps keep working far below freezing. Here is how.');
  });

  it('keeps the article as simple Markdown', () => {
    const md = article.markdown;
    expect(md).toContain(
      'That advice is now out of date. Modern cold-climate models use variable-speed ' +
        'compressors and improved refrigerants',
    );
    expect(md).toContain('\n\n## What changed in the hardware\n\n');
    expect(md).toContain('\n\n## Installing one well\n\n');
    expect(md).toContain(
      '- Vapour injection raises capacity at low temperatures.\n- Better defrost ' +
        'controls waste less energy melting ice from the outdoor coil.',
    );
    expect(md).toContain(
      '> The cold-climate units we tested kept every home comfortable through the coldest week of the year.',
    );
    expect(md).toContain('```\nheat_loss = area * u_value * delta_t\n```');
    // Links and emphasis keep only their text.
    expect(md).toContain('The biggest change is the inverter-driven compressor. Instead');
    expect(md).not.toMatch(/\]\(|<\/?[a-z]/);
  });

  it('drops navigation, ads, sidebars, footers and scripts', () => {
    for (const noise of [
      'Subscribe now',
      'BUY CHEAP WIDGETS',
      'Sponsored',
      'Most popular',
      'celebrity',
      'Copyright',
      'Privacy policy',
      'dataLayer',
      'tracking-code',
      'injected',
      'color: red',
    ]) {
      expect(article.markdown).not.toContain(noise);
    }
  });

  it('falls back to the body text when there is no article, still without scripts', () => {
    const page =
      '<html lang="fr"><head><title>Tiny page</title><style>b{}</style></head><body><nav>Menu</nav><div>Hello ' +
      '<b>there</b>.<br>Second line.</div><script>var secret = 1;</script><ul><li>one</li></ul></body></html>';
    const result = extractArticle(page, 'https://e.example/');
    expect(result.title).toBe('Tiny page');
    expect(result.markdown).toContain('Hello there.\nSecond line.');
    expect(result.markdown).toContain('- one');
    expect(result.markdown).not.toMatch(/secret|Menu|b\{\}/);
  });

  it('survives an empty document', () => {
    expect(extractArticle('', 'https://e.example/').markdown).toBe('');
  });
});

describe('extractFromText', () => {
  it('normalises whitespace and newlines', () => {
    const result = extractFromText(
      '\ufeff  Intro   line\r\nsecond\tline   \r\n\r\n\r\n\r\n- item\n  - nested\n\n```\n  keep   this\n```\n\n\n',
    );
    expect(result.markdown).toBe('Intro line\nsecond line\n\n- item\n  - nested\n\n```\n  keep   this\n```');
    expect(result.title).toBe('Intro line');
  });

  it('takes the title from the first # heading, else the first line, unless given', () => {
    expect(extractFromText('Some preface\n\n# The Real Title\n\nBody.').title).toBe('The Real Title');
    expect(extractFromText('## Section one\n\nBody.').title).toBe('Section one');
    expect(extractFromText('# Heading\n\nBody.', 'Given title').title).toBe('Given title');
    expect(extractFromText('# Heading\n\nBody.', '   ').title).toBe('Heading');
    expect(extractFromText('   \n\n').title).toBeNull();
  });

  it('gives the first paragraph as the excerpt', () => {
    expect(extractFromText('# Title\n\nFirst paragraph\nof text.\n\nSecond.').excerpt).toBe('First paragraph of text.');
  });
});

describe('extractArticle on fragments', () => {
  it('accepts HTML without <html>/<body>', () => {
    expect(extractArticle('<p>Just a paragraph.</p>', 'https://e.example/').markdown).toBe('Just a paragraph.');
    const noBody = extractArticle(
      '<html lang="de"><head><title>Titel</title></head><p>Hallo Welt.</p></html>',
      'https://e.example/',
    );
    expect(noBody.markdown).toBe('Hallo Welt.');
    expect(noBody.title).toBe('Titel');
    expect(noBody.lang).toBe('de');
  });
});
