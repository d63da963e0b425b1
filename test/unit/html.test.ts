import { describe, expect, it } from 'vitest';
import { markdownToSafeHtml, sanitizeHtml, slugify } from '../../src/text/html.ts';

describe('sanitizeHtml', () => {
  it('keeps the blog-post allowlist', () => {
    const html =
      '<h2>Title</h2><p>Some <em>em</em> and <strong>strong</strong> text.</p><ul><li>one</li></ul>' +
      '<blockquote>quote</blockquote><pre><code class="language-ts">let x = 1;</code></pre>' +
      '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>';
    expect(sanitizeHtml(html)).toBe(html);
  });

  it('drops scripts, event handlers, styles and unknown tags', () => {
    const out = sanitizeHtml(
      '<p onclick="steal()" style="color:red" class="x">Hi<script>alert(1)</script><iframe ' +
        'src="https://e.com"></iframe><img src="https://e.com/a.png" onerror="steal()"></p><style>p{}</style>',
    );
    expect(out).toBe('<p>Hi<img src="https://e.com/a.png" /></p>');
  });

  it('allows only http, https and mailto links and http(s) images', () => {
    const out = sanitizeHtml(
      '<a href="javascript:alert(1)">a</a><a href="JaVaScRiPt&#58;alert(1)">b</a><a href="data:text/html,x">c</a>' +
        '<a href="mailto:me@example.com">d</a><a href="/relative">e</a><a href="//evil.example">f</a>' +
        '<img src="data:image/png;base64,AAAA" alt="x"><img src="http://e.com/i.png" alt="ok" title="t">',
    );
    expect(out).toBe(
      '<a>a</a><a>b</a><a>c</a><a href="mailto:me@example.com">d</a><a href="/relative">e</a><a>f</a>' +
        '<img alt="x" /><img src="http://e.com/i.png" alt="ok" title="t" />',
    );
  });

  it('forces rel on absolute links and drops target', () => {
    expect(sanitizeHtml('<a href="https://e.com" rel="opener" target="_blank" title="T">x</a>')).toBe(
      '<a href="https://e.com" rel="noopener noreferrer nofollow" title="T">x</a>',
    );
  });

  it('keeps only language-* classes on code', () => {
    expect(sanitizeHtml('<code class="language-js evil">x</code>')).toBe('<code class="language-js">x</code>');
  });
});

describe('markdownToSafeHtml', () => {
  it('renders GFM', () => {
    const html = markdownToSafeHtml('## Head\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ [link](https://e.com)');
    expect(html).toContain('<h2>Head</h2>');
    expect(html).toContain('<td>1</td>');
    expect(html).toContain('<del>gone</del>');
    expect(html).toContain('<a href="https://e.com" rel="noopener noreferrer nofollow">link</a>');
  });

  it('sanitises raw HTML and dangerous links in the Markdown', () => {
    const html = markdownToSafeHtml(
      'Hello <script>alert(1)</script>\n\n<div onmouseover="x()">hi</div>\n\n[x](javascript:alert(1)) ' +
        '![i](data:image/png;base64,AA)',
    );
    expect(html).not.toMatch(/<script|onmouseover|javascript:|data:/i);
    expect(html).toContain('Hello');
  });
});

describe('slugify', () => {
  it('folds accents and punctuation into dashes', () => {
    expect(slugify('Crème Brûlée — Straße & Œuvre!')).toBe('creme-brulee-strasse-oeuvre');
    expect(slugify('  Hello,   World!  ')).toBe('hello-world');
    expect(slugify('Ünïcödé 2024: the "best" of C++')).toBe('unicode-2024-the-best-of-c');
  });

  it('trims at a word boundary', () => {
    expect(slugify('hello world foo bar', 12)).toBe('hello-world');
    expect(slugify('hello world', 11)).toBe('hello-world');
    expect(slugify('a'.repeat(100))).toHaveLength(80);
    const long = slugify('the quick brown fox jumps over the lazy dog '.repeat(5));
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).not.toMatch(/-$/);
    expect('the quick brown fox jumps over the lazy dog '.repeat(5).replace(/ /g, '-')).toContain(`${long}-`);
  });

  it('is never empty and always matches the slug alphabet', () => {
    expect(slugify('')).toBe('post');
    expect(slugify('!!! ??? 中文')).toBe('post');
    for (const s of ['Ça va?', 'ØÆÅ', 'x'.repeat(300), '--a--b--'])
      expect(slugify(s)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });
});

describe('markdownWithoutMarkup', () => {
  const forbidden = /<script|<iframe|<svg|<img|<a\s|\bon[a-z]+\s*=|javascript:|vbscript:|data:text|style\s*=/i;

  it('drops tags (script-like ones with their content) and unsafe link URLs, and keeps the words', async () => {
    const { markdownWithoutMarkup } = await import('../../src/text/html.ts');
    const out = markdownWithoutMarkup(
      [
        '# Title & more',
        'Before <script>alert(1)</script> after. <img src=x onerror="alert(1)"> Images gone.',
        'A [good link](https://example.com/a?b=1&c=2 "t") and a [bad one](javascript:alert(1)) ' +
          'and [spaced]( jav&#x61;script:alert(2) ).',
        '<a href="javascript:void(0)" onclick="x()">anchor text</a> <div style="position:fixed">overlay words</div>',
        '![pic](data:text/html,<script>alert(3)</script>) <svg onload="alert(4)"><circle/></svg>',
        '[ref]: vbscript:msgbox(1)',
        '&lt;script&gt;alert(5)&lt;/script&gt; is text that spells a tag. 3 < 4 and 5 > 2.',
      ].join('\n\n'),
    );
    expect(out).not.toMatch(forbidden);
    for (const kept of [
      '# Title & more',
      'Before',
      'after.',
      'Images gone.',
      '[good link](https://example.com/a?b=1&c=2 "t")',
      'bad one',
      'anchor text',
      'overlay words',
      '3 < 4 and 5 > 2',
    ]) {
      expect(out).toContain(kept);
    }
    expect(out).not.toContain('alert(1)');
  });

  it('leaves ordinary Markdown as it is', async () => {
    const { markdownWithoutMarkup } = await import('../../src/text/html.ts');
    const md =
      '## Heading\n\n- a list item with `code` and **bold**\n- [relative](./other.html) ' +
      'and [mail](mailto:a@example.com)\n\n> a quote\n\n1. first\n2. second';
    expect(markdownWithoutMarkup(md)).toBe(md);
  });
});
