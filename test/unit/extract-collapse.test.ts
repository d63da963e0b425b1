import { describe, expect, it } from 'vitest';
import { notAnArticle } from '../../src/ingest/article-gate.ts';
import { isChromeName } from '../../src/ingest/boilerplate.ts';
import { extractArticle } from '../../src/ingest/extract.ts';

// Small pages reproducing the ways real pages used to collapse to nothing (or to their footer) under name-based
// cleaning: a wrapper whose class merely contains a chrome word, a <form> around the whole page, a paywall box
// around most of the story, an off-canvas wrapper. Each keeps its whole article now, and still loses its chrome.

const PARAGRAPHS = [
  'The harbour authority in Stromness approved a second berth for the tidal ' +
    'survey vessels on Tuesday, ending a dispute that had delayed the project ' +
    'for almost two years.',
  'Engineers will use the berth to swap turbine nacelles in an afternoon ' +
    'rather than a week, which the operators say will halve the cost of each ' +
    'maintenance campaign.',
  'Fishing crews, who had objected to the loss of mooring space, will be ' +
    'moved to a new pontoon paid for by the developers, with electricity and ' +
    'fresh water on every berth.',
  'The council expects the first vessels to arrive in early spring, once ' +
    'the dredging of the approach channel is finished and the navigation lights ' +
    'have been tested.',
  'Local apprentices trained at the harbour college will crew the workboats, ' +
    'and the developers have promised that at least half of the new jobs go ' +
    'to islanders.',
];
const ARTICLE = `<h1>Stromness approves a berth for tidal survey vessels</h1>${PARAGRAPHS.map((p) => `<p>${p}</p>`).join('')}`;
const CHROME = `
  <nav class="main-nav"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
  <div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
  <div class="related-posts"><h3>Read next</h3><ul><li><a href="/a">Ten lighthouses to visit this summer</a></li><li>\
<a href="/b">Why ferries are late again</a></li></ul></div>
  <div id="comments"><p>First comment: I cannot believe the council finally agreed to this berth.</p></div>`;
const FOOTER = '<footer><p>© 2019 Orkney News Holdings, Inc. All Rights Reserved.</p></footer>';

const page = (body: string) =>
  `<!doctype html><html lang="en"><head><title>Stromness approves a berth ` +
  `for tidal survey vessels | Orkney News</title></head><body>${body}${FOOTER}</body></html>`;

function expectWholeArticle(html: string): void {
  const article = extractArticle(html, 'https://news.example/2024/berth');
  for (const paragraph of PARAGRAPHS) expect(article.markdown).toContain(paragraph);
  for (const chrome of ['Share on Facebook', 'Ten lighthouses', 'First comment', 'All Rights Reserved'])
    expect(article.markdown).not.toContain(chrome);
  expect(notAnArticle(article)).toBeNull();
}

describe('extraction keeps the article whatever its wrapper is called', () => {
  it.each([
    ['a WordPress category class naming advertising', 'post category-news-native-advertising-platform'],
    ['a BEM body beside an overlay handle', 'article__body article-overlay-handle'],
    ['a layout class about ad margins', 'Page-ad-margins'],
    ['a column that is explicitly not an ad', 'non-ad-column'],
    ['a state class for modals', 'modal-enabled'],
    ['an ad_ prefix on the body', 'ad_body'],
    ['an _overlay suffix on the body', 'body_overlay'],
  ])('%s (class="%s")', (_name, className) => {
    expectWholeArticle(page(`${CHROME}<div class="${className}"><div class="story">${ARTICLE}</div></div>`));
  });

  it('an off-canvas wrapper around the whole page, open or hidden', () => {
    expectWholeArticle(
      page(
        `<div class="c-toggler--navigation-overlay-wrapper is-open">` +
          `<div class="off-canvas-content">${CHROME}<main>${ARTICLE}</main></div></div>`,
      ),
    );
    expectWholeArticle(
      page(`<div class="offcanvas-wrap" aria-hidden="true"><div class="page">${CHROME}${ARTICLE}</div></div>`),
    );
  });

  it('a <form> wrapping the entire page (ASP.NET style)', () => {
    expectWholeArticle(
      page(`<form id="aspnetForm" method="post" action="/default.aspx">${CHROME}<div>${ARTICLE}</div></form>`),
    );
  });

  it('a paywall box around most of the article', () => {
    const [first, ...rest] = PARAGRAPHS;
    expectWholeArticle(
      page(
        `${CHROME}<div class="ArticlePage-content"><h1>Stromness approves a berth ` +
          `for tidal survey vessels</h1><p>${first}</p>` +
          `<div class="paywall">${rest.map((p) => `<p>${p}</p>`).join('')}</div></div>`,
      ),
    );
  });

  it('never answers with the footer alone', () => {
    // The article sits in an element named like chrome; removing it would leave the copyright line.
    const html = page(`<div class="ad">${ARTICLE}</div>`);
    const article = extractArticle(html, 'https://news.example/2024/berth');
    expect(article.markdown).toContain(PARAGRAPHS[0]);
    expect(article.markdown).not.toMatch(/^©/);
  });
});

describe('class and id rules match whole names', () => {
  it.each([
    'ad',
    'ads',
    'advertisement',
    'share',
    'related-posts',
    'share_bar',
    'comments-area',
    'article__share',
    'c-post__related-list',
    'newsletter-box',
    'cookie-notice',
    'paywall',
    'sidebar',
  ])('%s names chrome', (name) => {
    expect(isChromeName(name)).toBe(true);
  });

  it.each([
    'category-sponsored-native-advertising-platform',
    'article__body',
    'article-overlay-handle',
    'Page-ad-margins',
    'non-ad-column',
    'modal-enabled',
    'ad_body',
    'body_overlay',
    'has-ad-left',
    'steady-paywall-container',
    'shadow',
    'header-ads-loaded',
    'c-toggler--navigation-overlay-wrapper',
  ])('%s does not', (name) => {
    expect(isChromeName(name)).toBe(false);
  });
});

describe('the ingest gate', () => {
  const measure = (text: number, links: number, page: number) => ({ text, links, paragraphs: text, page });

  it('refuses a footer, a consent box, a link list and a scrap of a big page', () => {
    expect(
      notAnArticle({ markdown: '© 2019 Orkney News Holdings, Inc. All Rights Reserved.', measure: measure(45, 0, 45) }),
    ).toMatch(/only text is copyright/);
    expect(
      notAnArticle({
        markdown: 'We use cookies to improve your experience.\n\nAccept all\n\nManage consent',
        measure: measure(60, 0, 60),
      }),
    ).toMatch(/only text is copyright, consent/);
    expect(notAnArticle({ markdown: '- Home\n- News\n- Sport', measure: measure(300, 280, 400) })).toBe(
      'its text is mostly links',
    );
    expect(
      notAnArticle({
        markdown: 'Loading the latest stories for you, please wait a moment.',
        measure: measure(48, 0, 9000),
      }),
    ).toBe('its text (48 characters) is too short for the page (9000)');
    expect(notAnArticle({ markdown: '  ', measure: measure(0, 0, 100) })).toBe('the page has no text');
  });

  it('accepts a short article on a short page', () => {
    expect(
      notAnArticle({
        markdown: '# Slow page\n\nGraceful shutdown lets this fetch finish before the worker exits.',
        measure: measure(62, 0, 70),
      }),
    ).toBeNull();
  });
});
