// Posts per second of the offline writer on sources of 2, 10 and 50 KB: the writer alone, and the whole
// CPU side of the generate stage (writer, SEO fields, grounding gate, SEO lint). The 2 KB run is the baseline
// every ratio is measured against, in the same run. No network, no database.
import { checkGrounding } from '../src/grounding/gate.ts';
import { defaultGroundingPolicy } from '../src/grounding/policy.ts';
import { resolveBrief } from '../src/llm/brief.ts';
import { writeLocally } from '../src/llm/index.ts';
import { createLocalWriter } from '../src/llm/local-writer.ts';
import type { SourceDoc } from '../src/llm/types.ts';
import { lintSeo } from '../src/seo/lint.ts';
import { articles } from '../test/support/source-articles.ts';

const SIZES_KB = [2, 10, 50];
const SECONDS_PER_CASE = Number(process.env.BENCH_SECONDS ?? 4);

/** About `kb` kilobytes of distinct prose: the sample articles, then copies whose sentences name their copy. */
function sourceOfSize(kb: number): SourceDoc {
  const parts: string[] = [];
  let size = 0;
  for (let copy = 0; size < kb * 1024; copy++) {
    const article = articles[copy % articles.length]!;
    const round = Math.floor(copy / articles.length);
    const text =
      round === 0
        ? article.text
        : article.text
            .replace(/\.(\s|$)/g, ` in case ${round}.$1`)
            .replace(/^# .*$/m, `## ${article.title} (${round})`);
    const piece = text.slice(0, kb * 1024 - size + 200);
    parts.push(piece);
    size += piece.length;
  }
  return {
    id: `bench-${kb}`,
    kind: 'markdown',
    title: `Benchmark source of ${kb} KB`,
    url: 'https://bench.example/source',
    text: parts.join('\n\n').slice(0, kb * 1024),
  };
}

async function measure(run: () => Promise<unknown>): Promise<{ perSecond: number; runs: number }> {
  for (let i = 0; i < 3; i++) await run(); // warm-up
  let runs = 0;
  const started = performance.now();
  const deadline = started + SECONDS_PER_CASE * 1000;
  while (performance.now() < deadline) {
    await run();
    runs++;
  }
  return { perSecond: runs / ((performance.now() - started) / 1000), runs };
}

const writer = createLocalWriter();
const brief = resolveBrief(undefined, { primaryKeyword: 'heat pumps' });
const rows: string[] = [];
let baseline: { writer: number; stage: number } | null = null;

for (const kb of SIZES_KB) {
  const sources = [sourceOfSize(kb)];
  const writerOnly = await measure(() => writer.write({ sources }));
  const stage = await measure(async () => {
    const post = await writeLocally(writer, sources, brief);
    checkGrounding({
      markdown: post.markdown,
      citationCount: post.citations.length,
      sources,
      policy: defaultGroundingPolicy,
    });
    lintSeo({ ...post, brief });
  });
  baseline ??= { writer: writerOnly.perSecond, stage: stage.perSecond };
  rows.push(
    `| ${kb} KB | ${writerOnly.perSecond.toFixed(1)} | ${(writerOnly.perSecond / baseline.writer).toFixed(2)} ` +
      `| ${stage.perSecond.toFixed(1)} | ${(stage.perSecond / baseline.stage).toFixed(2)} ` +
      `| ${writerOnly.runs + stage.runs} |`,
  );
}

console.log(`Offline writer throughput (one process, ${SECONDS_PER_CASE} s per case, Node ${process.version})\n`);
console.log('| source size | writer posts/s | ratio vs 2 KB | generate CPU path posts/s | ratio vs 2 KB | runs |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) console.log(row);
