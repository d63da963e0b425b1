import { describe, expect, it } from 'vitest';
import { markdownToSafeHtml } from '../../src/text/html.ts';
import { relatedHref, stripRelatedLinks, withRelatedLinks } from '../../src/vector/internal-links.ts';

const body = 'Lead paragraph.\n\n## Details\n\nMore text.\n\n## Sources\n\n1. Source 1\n';
const links = [
  { title: 'Heat pumps [in] *cold* climates', href: './heat-pumps.html' },
  { title: 'Grants', href: 'https://blog.example/grants page.html' },
];

describe('internal links', () => {
  it('inserts the links before the sources list, escaping titles', () => {
    const md = withRelatedLinks(body, links);
    expect(md.indexOf('## Related posts')).toBeGreaterThan(md.indexOf('More text.'));
    expect(md.indexOf('## Related posts')).toBeLessThan(md.indexOf('## Sources'));
    expect(md).toContain('- [Heat pumps \\[in\\] \\*cold\\* climates](<./heat-pumps.html>)');
    expect(md).toContain('(<https://blog.example/grants%20page.html>)');
    const html = markdownToSafeHtml(md);
    expect(html).toContain('<a href="./heat-pumps.html">Heat pumps [in] *cold* climates</a>');
    expect(html).toContain('<h2>Related posts</h2>');
  });

  it('appends when there is no sources section, and uses the heading given', () => {
    const md = withRelatedLinks('Just text.\n', links.slice(0, 1), 'Read next');
    expect(md).toMatch(/^Just text\.\n\n<!-- related-posts:start -->\n## Read next\n\n- \[/);
    expect(md.endsWith('<!-- related-posts:end -->\n')).toBe(true);
  });

  it('is idempotent and can be removed again', () => {
    const once = withRelatedLinks(body, links);
    expect(withRelatedLinks(once, links)).toBe(once);
    expect(withRelatedLinks(once, links.slice(1)).match(/related-posts:start/g)).toHaveLength(1);
    expect(stripRelatedLinks(once)).toBe(body);
    expect(withRelatedLinks(once, [])).toBe(body);
  });

  it('leaves Markdown without a block untouched', () => {
    const odd = 'A\n\n\n\n```\ncode\n\n\n```\n  ';
    expect(stripRelatedLinks(odd)).toBe(odd);
    expect(withRelatedLinks(odd, [])).toBe(odd);
  });

  it('links to the published URL, else to the slug page beside the post', () => {
    expect(relatedHref({ url: 'https://blog.example/a.html', slug: 'a', postId: 'p' })).toBe(
      'https://blog.example/a.html',
    );
    expect(relatedHref({ url: null, slug: 'a', postId: 'p' })).toBe('./a.html');
  });
});
