import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { markdownLiteral } from '../../src/text/plain-text.ts';

// The Sources list puts untrusted titles after "1. ": whatever a title holds, it renders as its own text.
const rendered = (title: string): string => marked.parse(`1. ${markdownLiteral(title)}\n`, { async: false, gfm: true });
const asText = (title: string): string =>
  `<ol>\n<li>${title.trim().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</li>\n</ol>\n`;

describe('markdownLiteral', () => {
  it('leaves ordinary punctuation as written', () => {
    expect(markdownLiteral('Why queue-first pipelines survive bad days | The Ops Desk (2024)')).toBe(
      'Why queue-first pipelines survive bad days | The Ops Desk (2024)',
    );
    expect(markdownLiteral("C'est l'été: 5 % de plus, vraiment?")).toBe("C'est l'été: 5 % de plus, vraiment?");
  });

  it('renders every hostile title as its own text, never as markup, a link or a nested block', () => {
    for (const title of [
      '<img src=x onerror=alert(1)>',
      '**bold** _em_ `code` ~~gone~~',
      '[click](javascript:alert(1))',
      '![x](http://127.0.0.1/t.png)',
      'see http://127.0.0.1/x and www.example.org and a@b.example',
      '- a nested list',
      '# a heading',
      '+ plus',
      '1984. A year',
      '2) second',
      '> quoted',
      'Q&A &amp; &#60;b&#62;',
      'back\\slash \\* star',
      '    indented code',
      'a | b | c',
    ]) {
      expect(rendered(title), title).toBe(asText(title));
    }
  });
});
