// `npm run bench`: every benchmark of the service, each beside a baseline measured in the same run.
// Prints a Markdown table and writes the raw figures to bench/results/bench-<time>.json.
// Sizes: BENCH_POSTS (default 300) posts per throughput run, BENCH_BURST (default 10000) for the memory burst.
// BENCH_ONLY (comma-separated: webhook, pipeline, work, slow, latency, memory) runs only those parts; `work` counts
// the statements and commands per post alone (pipeline includes it).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { printTable, root, type Row } from './lib.ts';
import { benchPipeline } from './pipeline.ts';
import { benchWebhook } from './webhook.ts';

const posts = Number(process.env.BENCH_POSTS ?? 300);
const burst = Number(process.env.BENCH_BURST ?? 10_000);
const started = new Date();
const rows: Row[] = [];
const data: Record<string, unknown> = {
  startedAt: started.toISOString(),
  cpus: cpus().length,
  node: process.version,
  posts,
  burst,
};

const only = new Set(
  (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const wanted = (part: string) => only.size === 0 || only.has(part);

if (wanted('webhook')) {
  const webhook = await benchWebhook();
  rows.push(...webhook.rows);
  data.webhook = webhook.data;
}
const pipeline = await benchPipeline({ posts, burst, wanted });
rows.push(...pipeline.rows);
data.pipeline = pipeline.data;

printTable(`Blog Poster benchmarks (${cpus().length} cores, Node ${process.version}, ${started.toISOString()})`, rows);
for (const [title, ...lines] of pipeline.tables) console.log(`\n### ${title}\n\n${lines.join('\n')}`);
const dir = join(root, 'bench', 'results');
await mkdir(dir, { recursive: true });
const file = join(dir, `bench-${started.toISOString().replaceAll(':', '')}.json`);
await writeFile(file, JSON.stringify({ ...data, rows }, null, 2));
console.log(`\nraw figures: ${file}`);
process.exit(0);
