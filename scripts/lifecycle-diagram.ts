import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lifecycleDiagram } from '../src/posts/lifecycle.ts';

// Writes the post lifecycle's state diagram, generated from the transition table, into the README between its
// markers (npm run docs:lifecycle). test/unit/lifecycle.test.ts fails when the README's copy is out of date.

export const README_MARKERS = {
  start: '<!-- lifecycle-diagram:start (npm run docs:lifecycle writes this block) -->',
  end: '<!-- lifecycle-diagram:end -->',
};

/** The README with the diagram block between the markers made anew. */
export function withDiagram(readme: string): string {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  if (start < 0 || end < start) throw new Error('the README has no lifecycle-diagram markers');
  const block = `${README_MARKERS.start}\n\`\`\`mermaid\n${lifecycleDiagram()}\n\`\`\`\n`;
  return readme.slice(0, start) + block + readme.slice(end);
}

if (import.meta.main) {
  const path = join(import.meta.dirname, '../README.md');
  writeFileSync(path, withDiagram(readFileSync(path, 'utf8')));
}
