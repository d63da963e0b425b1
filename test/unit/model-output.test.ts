import { describe, expect, it } from 'vitest';
import { cleanDraft, cleanLine, cleanTags, draftProblem, replyJson } from '../../src/llm/model-output.ts';

// The replies are the kinds small local models gave through llama.cpp and Ollama (grammar-constrained JSON or
// not): each case is one of the defects the model path used to accept.

describe('a draft reply as a post body', () => {
  it('turns a "heading" of 500 characters back into the paragraph it is', () => {
    const paragraph =
      `Heat pumps move heat rather than make it, ${'which is why they reach efficiencies above 300 percent in mild weather and still manage well over 200 percent in a Nordic winter, '.repeat(3)}according ` +
      `to the field trials.`;
    const body = cleanDraft(
      `Intro sentence about heat pumps [1].\n\n## ${paragraph}\n\n## Costs\n\nThey cost more to install [1].`,
    );
    expect(body).toBe(
      `Intro sentence about heat pumps [1].\n\n${paragraph}\n\n## Costs\n\nThey cost more to install [1].`,
    );
  });

  it('keeps headings between H2 and H4, never skipping a level, and drops the model own H1 title', () => {
    const body = cleanDraft(
      '# The Title\n\nIntro.\n\n#### Deep first\n\nText.\n\n# Another top\n\nText.\n\n##### ' +
        'Five\n\nText.\n\n## **Bold:** ##\n\nText.',
    );
    expect(body.match(/^#+ .*$/gm)).toEqual(['## Deep first', '## Another top', '### Five', '## Bold']);
  });

  it('collapses runs of blank lines and drops JSON debris lines, leaving code blocks alone', () => {
    const reply =
      `{\n"markdown":\n\nIntro line [1].${'\n'.repeat(40)}## Section\n\n\n\nBody ` +
      `[1].\n\n\`\`\`json\n{\n}\n\`\`\`\n"}\n}`;
    expect(cleanDraft(reply)).toBe('Intro line [1].\n\n## Section\n\nBody [1].\n\n```json\n{\n}\n```');
  });

  it('unwraps a draft sent as JSON, whole or cut short', () => {
    const text = `Heat pumps move heat [1].\n\n## How\n\n${'They use a refrigerant cycle to carry heat indoors [1]. '.repeat(5)}`;
    expect(cleanDraft(JSON.stringify({ markdown: text }))).toBe(text.trim());
    expect(cleanDraft(JSON.stringify({ markdown: text }).slice(0, -2))).toBe(text.trim());
    expect(cleanDraft(JSON.stringify(text))).toBe(text.trim());
  });

  it('drops a Sources list of the model own (the post builds its list from the citations)', () => {
    expect(cleanDraft('Body [1].\n\n## Sources\n\n1. Some page')).toBe('Body [1].');
  });

  it('says why a draft is still unusable after cleaning', () => {
    expect(draftProblem(cleanDraft('## Heading\n\n## Another\n\n- one'))).toBe('the reply has 1 word of prose');
    expect(draftProblem('[{"section": 1}]')).toBe('the reply is JSON, not Markdown');
    expect(draftProblem(cleanDraft(`Intro. ${'Heat pumps move heat from outside to inside. '.repeat(4)}`))).toBeNull();
  });
});

describe('one-line fields', () => {
  it('removes a field name, JSON quotes and braces, Markdown and odd spaces from a value', () => {
    const expected = 'Heat pumps work in cold climates, and field trials in Norway show how well.';
    for (const value of [
      expected,
      `"${expected}"`,
      `{"metaDescription": "${expected}"}`,
      `metaDescription: "${expected}",`,
      `Meta description: ${expected}`,
      `**${expected}**`,
      `  ${expected.replace(/ /g, '\u00a0')}\u200b `,
    ])
      expect(cleanLine(value)).toBe(expected);
  });

  it('keeps what belongs to the text: a parenthesis, a colon inside, a quotation', () => {
    expect(cleanLine('Heat pumps (2024): what changed')).toBe('Heat pumps (2024): what changed');
    expect(cleanLine('"Heat pumps" in the cold')).toBe('"Heat pumps" in the cold');
  });

  it('takes the padding off a title: ellipses, trailing separators, repeated and empty parts', () => {
    expect(cleanLine('Heat Pumps in Cold Climates | Heat Pumps in Cold Climates | Blog', { title: true })).toBe(
      'Heat Pumps in Cold Climates',
    );
    expect(cleanLine('Heat Pumps Explained - - - ...', { title: true })).toBe('Heat Pumps Explained');
    expect(cleanLine('Heat Pumps Explained……', { title: true })).toBe('Heat Pumps Explained');
    expect(cleanLine('Do Heat Pumps Work?!?!', { title: true })).toBe('Do Heat Pumps Work?!?!');
    expect(cleanLine('Heat Pumps | A Guide | Post', { title: true })).toBe('Heat Pumps | A Guide');
  });

  it('is null when nothing is left', () => {
    expect(cleanLine('"",')).toBeNull();
    expect(cleanLine('{}')).toBeNull();
    expect(cleanLine('...')).toBeNull();
    expect(cleanLine(42)).toBeNull();
  });
});

describe('tags', () => {
  it('drops punctuation-only, stop-word, generic and overlong tags, hash signs and repeats', () => {
    expect(
      cleanTags([
        '.',
        '—',
        'the',
        'of the',
        'Post',
        'blog',
        '#HeatPumps',
        'heatpumps',
        'heat pumps',
        'Heat Pumps',
        'AI',
        'a very long tag that is really a whole sentence about heating',
        'cold climate',
        42,
      ]),
    ).toEqual(['HeatPumps', 'heat pumps', 'AI', 'cold climate']);
  });
});

describe('JSON replies', () => {
  it('reads JSON inside a code fence or after a sentence', () => {
    expect(replyJson('```json\n{"a": 1}\n```')).toEqual({ a: 1 });
    expect(replyJson('Here is the outline:\n{"a": {"b": 2}}\nHope this helps!')).toEqual({ a: { b: 2 } });
    expect(() => replyJson('no JSON here')).toThrow(SyntaxError);
  });
});
