// Pages extracted per second on a corpus of realistic article pages (navigation, cookie banner,
// ads, share bars, comments, related stories, footer), printed next to the bare parse time of the
// same pages (linkedom building the DOM, nothing else) as the baseline. Run: npm run bench:extract
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { extractArticle } from '../src/ingest/extract.ts';

const PAGES = Number(process.env.BENCH_PAGES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const topics = [
  'tidal power',
  'wave farms',
  'subsea cables',
  'harbour grids',
  'kelp forests',
  'hydrogen ferries',
  'salt marshes',
  'offshore wind',
];
const template = readFileSync(join(import.meta.dirname, '../test/fixtures/ingest/article.html'), 'utf8');

/** A page per index: the fixture's chrome around an article of varying length and topic. */
function page(i: number): string {
  const topic = topics[i % topics.length]!;
  const paragraphs = Array.from(
    { length: 6 + (i % 14) },
    (_, p) =>
      `<p>Report ${i}, part ${p}: engineers working on ${topic} found that maintenance windows, vessel costs and weather shaped the results of season ${p + 1} more than any single component. Their notes on ${topic} list ${p + 3} lessons for operators.</p>`,
  ).join('\n');
  const comments = Array.from(
    { length: i % 20 },
    (_, c) => `<div class="comment"><p>Comment ${c} on ${topic}: I disagree with point ${c}.</p></div>`,
  ).join('');
  return template
    .replace('<h1>Why Tidal Power Is Finally Getting Cheaper</h1>', `<h1>${topic} report ${i}</h1>${paragraphs}`)
    .replace('<h2>42 comments</h2>', `<h2>${i % 20} comments</h2>${comments}`);
}

const corpus = Array.from({ length: PAGES }, (_, i) => page(i));
const bytes = corpus.reduce((n, html) => n + Buffer.byteLength(html), 0);

function time(fn: (html: string, i: number) => unknown): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    corpus.forEach((html, i) => fn(html, i));
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

// Warm up the JIT on both paths before measuring.
for (const html of corpus.slice(0, 20)) {
  parseHTML(html);
  extractArticle(html, 'https://bench.example/');
}
let words = 0;
const parseMs = time((html) => parseHTML(html).document);
const extractMs = time((html, i) => {
  words += extractArticle(html, `https://bench.example/${i}`).markdown.split(/\s+/).length;
});

const row = (name: string, ms: number) =>
  `| ${name} | ${PAGES} | ${ms.toFixed(0)} | ${(PAGES / (ms / 1000)).toFixed(1)} | ${(ms / PAGES).toFixed(2)} | ${(ms / parseMs).toFixed(2)}× |`;
console.log(
  `Corpus: ${PAGES} pages, ${(bytes / 1024 / 1024).toFixed(1)} MB of HTML; best of ${ROUNDS} rounds; Node ${process.versions.node}.\n`,
);
console.log('| step | pages | total ms | pages/s | ms/page | time vs bare parse |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
console.log(row('bare parse (linkedom DOM only, baseline)', parseMs));
console.log(row('extract (boilerplate removal + Readability + Markdown + metadata)', extractMs));
if (words === 0) throw new Error('extraction produced no text');
