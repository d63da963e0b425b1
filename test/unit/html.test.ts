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
      '<p onclick="steal()" style="color:red" class="x">Hi<script>alert(1)</script><iframe src="https://e.com"></iframe><img src="https://e.com/a.png" onerror="steal()"></p><style>p{}</style>',
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
    const html = markdownToSafeHtml('Hello <script>alert(1)</script>\n\n<div onmouseover="x()">hi</div>\n\n[x](javascript:alert(1)) ![i](data:image/png;base64,AA)');
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
    for (const s of ['Ça va?', 'ØÆÅ', 'x'.repeat(300), '--a--b--']) expect(slugify(s)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });
});
