// Article extraction on real pages: the project's `extractArticle` beside plain Readability on linkedom (and any
// candidate extractor that is installed), all measured in the same run on the same pages.
//
// The corpus is trafilatura's evaluation set as laid out in /work/shared/corpus/extraction (pages/<id>.html.gz,
// expectations.json with "with"/"without" snippets per page, score.mjs). It is never copied into the repository:
//
//   BP_CORPUS_DIR=/path/to/corpus npm run bench:extract      (default: <repo>/../shared/corpus/extraction)
//
// Scoring mirrors the corpus's score.mjs (trafilatura's metric): whitespace normalised the way Python's re `\s+`
// does, case-sensitive substring matches, counts summed over the corpus; F1 = 2TP / (2TP + FP + FN).
//
// Options (environment):
//   BENCH_EXTRACTORS=project,readability,...   which extractors to run (default: all that load)
//   BENCH_CANDIDATES_DIR=/tmp/cands            a folder with node_modules holding candidate extractors
//                                              (defuddle, @extractus/article-extractor, unfluff) to compare
//   BENCH_FILTER=substring   BENCH_LIMIT=N     a subset of the pages
//   BENCH_JSON=out.json                        per-page results (missing "with", present "without" snippets)
//   BENCH_SPLIT=dev|holdout                    half of the pages by a hash of their id (default: all)
//   BENCH_SPEED_ROUNDS=2                       rounds of the speed runs (each extractor alone in its own process)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { extractArticle } from '../src/ingest/extract.ts';

// Without BP_CORPUS_DIR: <repo>/../shared/corpus/extraction, or the nearest such folder further up (a git worktree
// of the repository lives one level deeper than the checkout the corpus sits beside).
function defaultCorpusDir(): string {
  const first = resolve(import.meta.dirname, '../../shared/corpus/extraction');
  for (let dir = resolve(import.meta.dirname, '..'); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'shared/corpus/extraction');
    if (existsSync(join(candidate, 'expectations.json'))) return candidate;
  }
  return first;
}
const corpusDir = resolve(process.env.BP_CORPUS_DIR ?? defaultCorpusDir());
if (!existsSync(join(corpusDir, 'expectations.json'))) {
  console.error(
    `No extraction corpus at ${corpusDir} (expected expectations.json and pages/). Set BP_CORPUS_DIR to the folder.`,
  );
  process.exit(2);
}

type Expectation = { id: string; url: string | null; with: string[]; without: string[] };
type Extractor = { name: string; run: (html: string, url: string) => Promise<string> | string };

// ---------- the metric, as score.mjs computes it ----------
// Python's `\s` on str, which differs from JavaScript's (\x1c-\x1f and \x85 are space, \ufeff is not).
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's whitespace includes these controls
const PY_WS = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;
const norm = (s: string) => s.replace(PY_WS, ' ').replace(/^ | $/g, '');

type Counts = { tp: number; fp: number; fn: number; tn: number };
function countItem(item: Expectation, output: string | null): Counts & { missing: string[]; present: string[] } {
  const missing: string[] = [];
  const present: string[] = [];
  if (output === null) return { tp: 0, fp: 0, fn: item.with.length, tn: item.without.length, missing, present };
  const text = norm(output);
  let tp = 0;
  let fp = 0;
  for (const w of item.with) text.includes(norm(w)) ? tp++ : missing.push(w);
  for (const w of item.without) {
    if (!text.includes(norm(w))) continue;
    fp++;
    present.push(w);
  }
  return { tp, fp, fn: item.with.length - tp, tn: item.without.length - fp, missing, present };
}

/** Page bytes decoded as score.mjs does: BOM, else valid UTF-8, else the declared charset, else windows-1252. */
function decodeHtml(buf: Buffer): string {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return new TextDecoder('utf-8').decode(buf.subarray(3));
  if (buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf.subarray(2));
  if (buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {}
  const head = buf.subarray(0, 4096).toString('latin1');
  const declared = /<meta[^>]+charset\s*=\s*["']?\s*([-\w:]+)/i.exec(head)?.[1];
  if (declared) {
    try {
      return new TextDecoder(declared.toLowerCase()).decode(buf);
    } catch {}
  }
  return new TextDecoder('windows-1252').decode(buf);
}

// ---------- extractors ----------
const textOf = (html: string): string =>
  (parseHTML(`<!doctype html><html><body>${html}</body></html>`).document.body?.textContent as string) ?? '';

const extractors: Extractor[] = [
  { name: 'project: extractArticle (markdown)', run: (html, url) => extractArticle(html, url).markdown },
  {
    name: 'plain Readability 0.6 on linkedom (textContent)',
    run: (html) => {
      const { document } = parseHTML(html);
      return new Readability(document as never).parse()?.textContent ?? '';
    },
  },
];

const candidatesDir = process.env.BENCH_CANDIDATES_DIR;
if (candidatesDir) {
  const require = createRequire(join(resolve(candidatesDir), 'package.json'));
  // An ESM-only export ("import" condition) is not found by require.resolve: read the package's exports then.
  const resolveImport = (specifier: string): string => {
    try {
      return require.resolve(specifier);
    } catch {
      const [name, sub] = specifier.startsWith('@')
        ? [specifier.split('/').slice(0, 2).join('/'), specifier.split('/').slice(2).join('/')]
        : [specifier.split('/')[0]!, specifier.split('/').slice(1).join('/')];
      const dir = join(resolve(candidatesDir), 'node_modules', name);
      const exports = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports;
      const target = exports[sub ? `./${sub}` : '.'];
      return join(dir, typeof target === 'string' ? target : target.import);
    }
  };
  const load = async (specifier: string) => import(pathToFileURL(resolveImport(specifier)).href);
  const version = (name: string) => {
    try {
      return JSON.parse(readFileSync(join(resolve(candidatesDir), 'node_modules', name, 'package.json'), 'utf8'))
        .version as string;
    } catch {
      return '?';
    }
  };
  const tryLoad = async (name: string, make: () => Promise<Extractor>) => {
    try {
      extractors.push(await make());
    } catch (err) {
      console.error(`candidate ${name} not loaded: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  await tryLoad('defuddle', async () => {
    const { Defuddle } = await load('defuddle/node');
    return {
      name: `defuddle ${version('defuddle')} on linkedom (content, as text)`,
      run: async (html, url) => {
        const { document } = parseHTML(html);
        const result = await Defuddle(document, url, {});
        return textOf(result.content ?? '');
      },
    };
  });
  await tryLoad('@extractus/article-extractor', async () => {
    const { extractFromHtml } = await load('@extractus/article-extractor');
    return {
      name: `@extractus/article-extractor ${version('@extractus/article-extractor')} (content, as text)`,
      run: async (html, url) => textOf((await extractFromHtml(html, url))?.content ?? ''),
    };
  });
  await tryLoad('unfluff', async () => {
    const unfluff = (await load('unfluff')).default;
    return { name: `unfluff ${version('unfluff')} (text)`, run: (html) => unfluff(html).text ?? '' };
  });
  await tryLoad('readabilitySAX', async () => {
    const sax = (await load('readabilitySAX')).default;
    return {
      name: `readabilitySAX ${version('readabilitySAX')} (text)`,
      run: (html, url) => sax.process(html, { type: 'text', pageURL: url || undefined })?.text ?? '',
    };
  });
}

const only = process.env.BENCH_EXTRACTORS?.split(',').map((s) => s.trim().toLowerCase());
const chosen = only ? extractors.filter((e) => only.some((o) => e.name.toLowerCase().startsWith(o))) : extractors;

// ---------- pages ----------
let items = JSON.parse(readFileSync(join(corpusDir, 'expectations.json'), 'utf8')) as Expectation[];
const filter = process.env.BENCH_FILTER;
if (filter) items = items.filter((e) => e.id.includes(filter) || (e.url ?? '').includes(filter));
const split = process.env.BENCH_SPLIT;
if (split === 'dev' || split === 'holdout') {
  const half = (id: string) => (createHash('sha256').update(id).digest()[0]! & 1 ? 'holdout' : 'dev');
  items = items.filter((e) => half(e.id) === split);
}
items = items.slice(0, Number(process.env.BENCH_LIMIT ?? Infinity));
const pages = items.map((item) => decodeHtml(gunzipSync(readFileSync(join(corpusDir, 'pages', `${item.id}.html.gz`)))));
const bytes = pages.reduce((n, html) => n + Buffer.byteLength(html), 0);

// ---------- speed, one extractor per process ----------
// In one process the extractors share a heap: linkedom keeps a WeakMap entry per node, and the collector's pauses
// fall on whichever call happens to trigger them, so the speed of two extractors timed side by side swings from run
// to run (0.73x to 1.45x seen for the same code). Speed is therefore measured with each extractor alone in a process
// of its own over the same pages, in alternating order, and the CPU time the process spends in its calls compared.
const speedOnly = process.env.BENCH_SPEED_ONLY;
if (speedOnly !== undefined) {
  const extractor = chosen[Number(speedOnly)]!;
  for (const html of pages.slice(0, 10)) await Promise.resolve(extractor.run(html, '')).catch(() => '');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let p = 0; p < items.length; p++) {
    await Promise.resolve(extractor.run(pages[p]!, items[p]!.url ?? '')).catch(() => '');
  }
  const cpu = process.cpuUsage(cpuStarted);
  console.log(`SPEED ${JSON.stringify({ ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 })}`);
  process.exit(0);
}
const ownProcess = chosen.map(() => ({ ms: 0, cpuMs: 0 }));
const speedRounds = Number(process.env.BENCH_SPEED_ROUNDS ?? 2);
for (let round = 0; round < speedRounds; round++) {
  const order = chosen.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  for (const i of order) {
    const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename], {
      env: { ...process.env, BENCH_SPEED_ONLY: String(i) },
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    const line = child.stdout.split('\n').find((l) => l.startsWith('SPEED '));
    if (!line) throw new Error(`speed run of ${chosen[i]!.name} failed: ${child.stderr.slice(-500)}`);
    const { ms, cpuMs } = JSON.parse(line.slice(6)) as { ms: number; cpuMs: number };
    ownProcess[i]!.ms += ms;
    ownProcess[i]!.cpuMs += cpuMs;
  }
}

// ---------- run ----------
// Every page goes through every extractor before the next page, in an order that rotates, so a slower or busier
// stretch of a shared machine weighs on all of them alike.
// Wall time is what a reader of the table expects, but on a shared machine other work steals the CPU for stretches;
// the process's CPU time spent in each call (user + system, GC threads included) is reported beside it.
type Tally = Counts & { ms: number; cpuMs: number; empty: number; errors: number; outputs: Array<string | null> };
const tallies: Tally[] = chosen.map(() => ({
  tp: 0,
  fp: 0,
  fn: 0,
  tn: 0,
  ms: 0,
  cpuMs: 0,
  empty: 0,
  errors: 0,
  outputs: [],
}));
const perPage: Array<Record<string, unknown>> = [];

// Warm-up so the first extractor does not pay for the JIT of the shared libraries.
for (const html of pages.slice(0, 10)) for (const e of chosen) await Promise.resolve(e.run(html, '')).catch(() => '');

for (let p = 0; p < items.length; p++) {
  const item = items[p]!;
  const html = pages[p]!;
  const row: Record<string, unknown> = { id: item.id };
  for (let k = 0; k < chosen.length; k++) {
    const i = (p + k) % chosen.length;
    const extractor = chosen[i]!;
    const tally = tallies[i]!;
    let output: string | null;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    try {
      const result = await extractor.run(html, item.url ?? '');
      output = typeof result === 'string' ? result : null;
    } catch {
      output = null;
      tally.errors++;
    }
    tally.ms += performance.now() - started;
    const cpu = process.cpuUsage(cpuStarted);
    tally.cpuMs += (cpu.user + cpu.system) / 1000;
    if (output !== null && !output.trim()) tally.empty++;
    tally.outputs[p] = output;
    const c = countItem(item, output);
    tally.tp += c.tp;
    tally.fp += c.fp;
    tally.fn += c.fn;
    tally.tn += c.tn;
    row[extractor.name] = {
      tp: c.tp,
      fp: c.fp,
      fn: c.fn,
      chars: output?.length ?? 0,
      missing: c.missing,
      present: c.present,
    };
  }
  perPage.push(row);
}

// ---------- report ----------
const readabilityIndex = chosen.findIndex((e) => e.name.startsWith('plain Readability'));
const timed = items.length * speedRounds;
const ownPps = (i: number) => timed / (ownProcess[i]!.ms / 1000);
const ownCpuPps = (i: number) => timed / (ownProcess[i]!.cpuMs / 1000);
const sideBySideCpuPps = (i: number) => items.length / (tallies[i]!.cpuMs / 1000);
const ratio = (x: number, base: number | null) => (base ? `${(x / base).toFixed(2)}×` : '–');
const f = (x: number) => x.toFixed(3);
console.log(
  `Corpus: ${items.length} pages (${(bytes / 1024 / 1024).toFixed(1)} MB of HTML) from ${corpusDir}; ` +
    `${items.reduce((n, e) => n + e.with.length, 0)} "with" and ${items.reduce((n, e) => n + e.without.length, 0)} ` +
    `"without" snippets; ` +
    `Node ${process.versions.node}; ${new Date().toISOString().slice(0, 10)}.\n`,
);
console.log(
  `Speed: each extractor alone in a process of its own over the pages, ${speedRounds} rounds in alternating order; ` +
    'the last column is the CPU speed of the calls timed side by side in one process, for comparison.\n',
);
console.log(
  '| extractor | precision | recall | F1 | pages/s | speed vs Readability ' +
    '| pages per CPU-s | CPU speed vs Readability | side by side: CPU speed vs Readability | empty ' +
    '| emptied where Readability has text |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const base = readabilityIndex >= 0 ? readabilityIndex : null;
for (let i = 0; i < chosen.length; i++) {
  const t = tallies[i]!;
  const precision = t.tp / (t.tp + t.fp || 1);
  const recall = t.tp / (t.tp + t.fn || 1);
  const f1 = (2 * t.tp) / (2 * t.tp + t.fp + t.fn || 1);
  const emptiedVsReadability =
    readabilityIndex >= 0 && i !== readabilityIndex
      ? String(
          t.outputs.filter((out, p) => !out?.trim() && (tallies[readabilityIndex]!.outputs[p] ?? '').trim().length > 0)
            .length,
        )
      : '–';
  const emptied = t.errors ? `${t.empty} (+${t.errors} errors)` : String(t.empty);
  const vs = ratio(ownPps(i), base === null ? null : ownPps(base));
  const cpuVs = ratio(ownCpuPps(i), base === null ? null : ownCpuPps(base));
  const sideBySide = ratio(sideBySideCpuPps(i), base === null ? null : sideBySideCpuPps(base));
  console.log(
    `| ${chosen[i]!.name} | ${f(precision)} | ${f(recall)} | **${f(f1)}** | ` +
      `${ownPps(i).toFixed(1)} | ${vs} | ${ownCpuPps(i).toFixed(1)} | ${cpuVs} | ${sideBySide} | ${emptied} ` +
      `| ${emptiedVsReadability} |`,
  );
}
if (process.env.BENCH_JSON) {
  writeFileSync(process.env.BENCH_JSON, JSON.stringify(perPage, null, 1));
  console.log(`\nper-page results written to ${process.env.BENCH_JSON}`);
}
