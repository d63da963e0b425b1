// The offline writer on real articles: the extracted text of the pages of the extraction corpus
// (BP_CORPUS_DIR, default <repo>/../shared/corpus/extraction), written into posts by today's writer and by the
// baseline (the writer, post fitting and grounding gate of BASELINE_COMMIT, extracted from git into a temporary
// folder and run from there), and measured the same way: sentences that open with an anaphor or connective the post
// does not resolve, cut meta descriptions, one-sentence sections, tags the sources do not contain, repeated
// sentences, posts the grounding gate holds, and the language's reading ease. Run: npm run bench:quality
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeBody } from '../src/fetch/charset.ts';
import { checkGrounding } from '../src/grounding/gate.ts';
import { defaultGroundingPolicy } from '../src/grounding/policy.ts';
import { extractArticle } from '../src/ingest/extract.ts';
import { resolveBrief } from '../src/llm/brief.ts';
import { writeLocally } from '../src/llm/index.ts';
import { createLocalWriter, withLengthBounds } from '../src/llm/local-writer.ts';
import { continuesList, type GeneratedPost } from '../src/llm/post.ts';
import type { SourceDoc } from '../src/llm/types.ts';
import { readability } from '../src/seo/readability.ts';
import { dependsOnContext } from '../src/text/context.ts';
import { detectLanguage, SUPPORTED_LANGUAGES } from '../src/text/language.ts';
import { splitSentences } from '../src/text/sentences.ts';
import { genericWords } from '../src/text/stop-words.ts';
import { root } from './lib.ts';

/** The writer as it was before the context-keeping rework: the baseline every figure is compared with. */
const BASELINE_COMMIT = 'a0f067363523aab8f661642f03e88e2f37156166';
const CORPUS = resolve(process.env.BP_CORPUS_DIR ?? join(root, '..', 'shared', 'corpus', 'extraction'));
const LIMIT = Number(process.env.BENCH_ARTICLES ?? Infinity);
/** Print each post of today's writer that misses a target, with what misses it. */
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const MIN_WORDS = 150;

type Post = Pick<GeneratedPost, 'title' | 'metaTitle' | 'metaDescription' | 'markdown' | 'tags' | 'citations'>;
type Writer = (sources: SourceDoc[], lang: string) => Promise<{ post: Post; held: boolean }>;

/**
 * The baseline's sources, extracted from git once into a temporary folder whose node_modules is a link to the
 * repository's, so that its imports resolve (Node strips types only outside node_modules).
 */
async function baselineWriter(): Promise<Writer> {
  const dir = join(tmpdir(), `bp-bench-quality-${BASELINE_COMMIT.slice(0, 12)}`);
  if (!existsSync(join(dir, 'src', 'llm', 'index.ts'))) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const archive = execFileSync('git', ['-C', root, 'archive', '--format=tar', BASELINE_COMMIT, 'src'], {
      maxBuffer: 64 << 20,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  }
  const load = (path: string) => import(pathToFileURL(join(dir, 'src', path)).href);
  const [{ writeLocally: write }, { createLocalWriter: create, withLengthBounds: bound }, gate, brief] =
    await Promise.all([
      load('llm/index.ts'),
      load('llm/local-writer.ts'),
      load('grounding/gate.ts'),
      load('llm/brief.ts'),
    ]);
  const b = brief.resolveBrief(undefined, {});
  const writer = bound(create(), b);
  return async (sources) => {
    const post = (await write(writer, sources, b)) as Post;
    const verdict = gate.checkGrounding({
      markdown: post.markdown,
      citationCount: post.citations.length,
      sources,
      policy: defaultGroundingPolicy,
    });
    return { post, held: !verdict.passed };
  };
}

function currentWriter(): Writer {
  const brief = resolveBrief(undefined, {});
  const writer = withLengthBounds(createLocalWriter(), brief);
  return async (sources, lang) => {
    const post = await writeLocally(writer, sources, brief, lang);
    const verdict = checkGrounding({
      markdown: post.markdown,
      citationCount: post.citations.length,
      sources,
      policy: defaultGroundingPolicy,
      language: post.language,
      fields: { title: post.title, metaDescription: post.metaDescription },
    });
    return { post, held: !verdict.passed };
  };
}

// --- measuring a post ----------------------------------------------------------------------------------------

const squash = (text: string): string =>
  text
    .replace(/[*_`\u200B-\u200D\u2060-\u2064\uFEFF]/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();

type Measures = {
  sentences: number;
  unresolved: number;
  metaCut: boolean;
  /** A meta description that joins sentences not next to each other in the post or the source. */
  metaJoined: boolean;
  /** A meta description that ends at a comma of its source sentence, and one whose comma was inside a list. */
  metaCommaCut: boolean;
  metaListCut: boolean;
  metaInRange: boolean;
  metaTitleInRange: boolean;
  /** A meta title that is its title cut at a word, not at a colon, a dash, a comma or a sentence's end. */
  metaTitleWordCut: boolean;
  sections: number;
  oneSentenceSections: number;
  tags: number;
  tagsAbsent: number;
  /** Tags that are one stop word or one word too common to say anything ("answers", "post", "und"). */
  tagsGeneric: number;
  repeated: number;
  held: boolean;
  readingEase: number | null;
};

/** Whether `metaTitle` is `title` cut at a word: the title goes on with a word, not after a separator or a sentence. */
function wordCut(metaTitle: string, title: string): boolean {
  if (metaTitle === title || !title.startsWith(metaTitle) || /[.!?]$/.test(metaTitle)) return false;
  const rest = title.slice(metaTitle.length);
  return /^\s+\S/u.test(rest) && !/^\s+[-–—|·»:]\s/u.test(rest);
}

type Section = {
  heading: string | null;
  paragraphs: string[] /** Which paragraphs are list items. */;
  items: Set<number>;
};

/** The body's sections (the introduction first), each a list of paragraphs (a list item is one), without Sources. */
function sectionsOf(markdown: string): Section[] {
  const sections: Section[] = [{ heading: null, paragraphs: [], items: new Set() }];
  for (const block of markdown.split(/\n{2,}/)) {
    const heading = /^#{2,6}\s+(.*)$/.exec(block.trim());
    if (heading) {
      sections.push({ heading: heading[1]!.trim(), paragraphs: [], items: new Set() });
      continue;
    }
    for (const line of block.split('\n')) {
      const item = /^\s*(?:[-*+]|\d+[.)])\s+/.test(line);
      const text = line
        .replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '')
        .replace(/\s*\[\d+\]/g, '')
        .trim();
      if (!text) continue;
      if (item) sections.at(-1)!.items.add(sections.at(-1)!.paragraphs.length);
      sections.at(-1)!.paragraphs.push(text);
    }
  }
  // The Sources list is the last section; the list of sources is not prose.
  return sections.slice(0, -1).filter((s) => s.heading !== null || s.paragraphs.length > 0);
}

function measure(post: Post, held: boolean, source: SourceDoc, lang: string): Measures {
  const sourceFlat = squash(source.text.replace(/^\s*(?:#{1,6}|[-*+]|\d+[.)]|>)\s+/gm, ''));
  const sections = sectionsOf(post.markdown);
  let sentences = 0;
  let unresolved = 0;
  const seen = new Map<string, number>();
  let oneSentence = 0;
  const bodyText: string[] = [];
  for (const section of sections) {
    let inSection = 0;
    let previous: string | undefined;
    for (const [p, paragraph] of section.paragraphs.entries()) {
      bodyText.push(paragraph);
      const list = splitSentences(paragraph, lang);
      // A list's item may lean on what is printed before it (the item before, the sentence it completes), as a
      // paragraph's sentence on the one before.
      const itemBefore = section.items.has(p) ? previous : undefined;
      previous = list.at(-1);
      // An item repeats as a whole: two of a recipe's items both hold the "sentence" "1 Pck.".
      if (section.items.has(p)) seen.set(squash(paragraph), (seen.get(squash(paragraph)) ?? 0) + 1);
      list.forEach((sentence, i) => {
        sentences++;
        inSection++;
        const key = squash(sentence);
        if (!section.items.has(p)) seen.set(key, (seen.get(key) ?? 0) + 1);
        if (!dependsOnContext(sentence, lang)) return;
        // Resolved: printed right after the sentence it follows in the source.
        const before = i > 0 ? list[i - 1] : itemBefore;
        if (!before || !sourceFlat.includes(`${squash(before)} ${key}`)) unresolved++;
      });
    }
    if (section.heading !== null && inSection === 1) {
      oneSentence++;
      if (VERBOSE) console.error(`  one-sentence section "${section.heading}": ${section.paragraphs.join(' / ')}`);
    }
  }
  const headed = sections.filter((s) => s.heading !== null).length;
  const meta = post.metaDescription.trim();
  const wordsOfSource = ` ${squash(source.text).replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
  const tagsAbsent = post.tags.filter(
    (t) =>
      !wordsOfSource.includes(
        ` ${squash(t)
          .replace(/[^\p{L}\p{N}]+/gu, ' ')
          .trim()} `,
      ),
  ).length;
  const generic = genericWords(lang);
  const tagsGeneric = post.tags.filter((t) => !/\s/.test(t.trim()) && generic.has(t.trim().toLowerCase())).length;
  const ease = readability(bodyText.join('\n'), lang).readingEase;
  // Next to each other: the second starts after the first with no whole sentence between them (the first may be
  // printed cut at a clause, the second too).
  const stem = (sentence: string): string => squash(sentence).replace(/[.!?…]["'“”„’»)]*$/u, '');
  const follows = (text: string, a: string, b: string): boolean => {
    const at = text.indexOf(a);
    if (at < 0) return false;
    const next = text.indexOf(b, at + a.length);
    return next >= 0 && (text.slice(at + a.length, next).match(/[.!?]["'“”„’»)]*\s/gu)?.length ?? 0) <= 1;
  };
  const texts = [...bodyText.map(squash), sourceFlat];
  const metaSentences = splitSentences(meta, lang).map(stem);
  const metaJoined = metaSentences.slice(1).some((b, i) => !texts.some((text) => follows(text, metaSentences[i]!, b)));
  // What follows the description's last sentence where the source prints it: a comma means the sentence was cut
  // there; the list's next item after it (the writer's own rule, src/llm/post.ts), that the cut fell inside a list.
  const lastStem = metaSentences.at(-1) ?? '';
  const at = lastStem ? sourceFlat.indexOf(lastStem) : -1;
  const after = at >= 0 ? sourceFlat.slice(at + lastStem.length, at + lastStem.length + 80) : '';
  const metaCommaCut = after.startsWith(',');
  const metaListCut = metaCommaCut && continuesList(after.slice(1));
  return {
    sentences,
    unresolved,
    metaCut: /(?:…|\.\.\.)$/.test(meta) || !/[.!?…]["'“”„’»)]*$/u.test(meta),
    metaJoined,
    metaCommaCut,
    metaListCut,
    metaInRange: meta.length >= 140 && meta.length <= 160,
    metaTitleInRange: post.metaTitle.length >= 45 && post.metaTitle.length <= 60,
    metaTitleWordCut: wordCut(post.metaTitle, post.title),
    sections: headed,
    oneSentenceSections: oneSentence,
    tags: post.tags.length,
    tagsAbsent,
    tagsGeneric,
    repeated: [...seen.values()].reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0),
    held,
    readingEase: ease,
  };
}

// --- the corpus ----------------------------------------------------------------------------------------------

type Article = { id: string; lang: string; source: SourceDoc };

function readCorpus(): Article[] {
  const entries = JSON.parse(readFileSync(join(CORPUS, 'expectations.json'), 'utf8')) as { id: string; url: string }[];
  const articles: Article[] = [];
  for (const entry of entries) {
    if (articles.length >= LIMIT) break;
    const bytes = gunzipSync(readFileSync(join(CORPUS, 'pages', `${entry.id}.html.gz`)));
    const html = decodeBody(bytes, 'text/html').text;
    let extracted: ReturnType<typeof extractArticle>;
    try {
      extracted = extractArticle(html, entry.url || 'https://corpus.invalid/');
    } catch {
      continue;
    }
    const words = extracted.markdown.split(/\s+/).filter(Boolean).length;
    const lang = detectLanguage(extracted.markdown) ?? extracted.lang?.slice(0, 2).toLowerCase() ?? '';
    if (words < MIN_WORDS || !(SUPPORTED_LANGUAGES as readonly string[]).includes(lang)) continue;
    articles.push({
      id: entry.id,
      lang,
      source: {
        id: entry.id,
        kind: 'url',
        title: extracted.title,
        url: entry.url || null,
        siteName: extracted.siteName ?? null,
        text: extracted.markdown,
      },
    });
  }
  return articles;
}

type Totals = { posts: number; failed: number } & { [K in keyof Measures]: number };

function add(totals: Totals, m: Measures): void {
  totals.posts++;
  totals.sentences += m.sentences;
  totals.unresolved += m.unresolved;
  totals.metaCut += Number(m.metaCut);
  totals.metaJoined += Number(m.metaJoined);
  totals.metaCommaCut += Number(m.metaCommaCut);
  totals.metaListCut += Number(m.metaListCut);
  totals.metaInRange += Number(m.metaInRange);
  totals.metaTitleInRange += Number(m.metaTitleInRange);
  totals.metaTitleWordCut += Number(m.metaTitleWordCut);
  totals.sections += m.sections;
  totals.oneSentenceSections += m.oneSentenceSections;
  totals.tags += m.tags;
  totals.tagsAbsent += m.tagsAbsent;
  totals.tagsGeneric += m.tagsGeneric;
  totals.repeated += Number(m.repeated > 0);
  totals.held += Number(m.held);
  totals.readingEase += m.readingEase ?? 0;
}

const empty = (): Totals => ({
  posts: 0,
  failed: 0,
  sentences: 0,
  unresolved: 0,
  metaCut: 0,
  metaJoined: 0,
  metaCommaCut: 0,
  metaListCut: 0,
  metaInRange: 0,
  metaTitleInRange: 0,
  metaTitleWordCut: 0,
  sections: 0,
  oneSentenceSections: 0,
  tags: 0,
  tagsAbsent: 0,
  tagsGeneric: 0,
  repeated: 0,
  held: 0,
  readingEase: 0,
});

const pct = (part: number, whole: number): string => (whole ? `${((100 * part) / whole).toFixed(1)}%` : 'n/a');

const started = performance.now();
const articles = readCorpus();
if (articles.length === 0) throw new Error(`no articles found in ${CORPUS} (set BP_CORPUS_DIR)`);
// BENCH_BASELINE=0 measures today's writer alone (for a quick look; the README's figures have both).
const writers: [string, Writer][] = [
  ...(process.env.BENCH_BASELINE === '0'
    ? []
    : ([[`baseline (${BASELINE_COMMIT.slice(0, 7)})`, await baselineWriter()]] as [string, Writer][])),
  ['today', currentWriter()],
];
const results = new Map<string, Map<string, Totals>>();
for (const [name, write] of writers) {
  const byLang = new Map<string, Totals>([['all', empty()]]);
  for (const article of articles) {
    const totals = byLang.get(article.lang) ?? empty();
    byLang.set(article.lang, totals);
    try {
      const { post, held } = await write([article.source], article.lang);
      const m = measure(post, held, article.source, article.lang);
      if (
        VERBOSE &&
        name === 'today' &&
        (m.metaCut || m.metaJoined || m.metaListCut || m.oneSentenceSections || m.held || m.unresolved || m.tagsAbsent)
      )
        console.error(JSON.stringify({ id: article.id, lang: article.lang, ...m, meta: post.metaDescription }));
      add(totals, m);
      add(byLang.get('all')!, m);
    } catch (err) {
      if (VERBOSE) console.error(JSON.stringify({ id: article.id, failed: String(err) }));
      totals.failed++;
      byLang.get('all')!.failed++;
    }
  }
  results.set(name, byLang);
}

const languages = ['all', ...SUPPORTED_LANGUAGES.filter((l) => articles.some((a) => a.lang === l))];
const rows: [string, (t: Totals) => string][] = [
  ['posts written (failed)', (t) => `${t.posts} (${t.failed})`],
  ['sentences opening with an unresolved anaphor or connective', (t) => pct(t.unresolved, t.sentences)],
  ['meta descriptions cut (ellipsis or mid-sentence)', (t) => pct(t.metaCut, t.posts)],
  [
    'meta descriptions joining sentences not next to each other in the post or the source',
    (t) => pct(t.metaJoined, t.posts),
  ],
  ['meta descriptions ending at a comma of their source sentence', (t) => pct(t.metaCommaCut, t.posts)],
  ['meta descriptions ending inside a list of their source sentence', (t) => pct(t.metaListCut, t.posts)],
  ['meta descriptions within 140–160 characters', (t) => pct(t.metaInRange, t.posts)],
  ['meta titles within 45–60 characters', (t) => pct(t.metaTitleInRange, t.posts)],
  ['meta titles cut at a word of the title', (t) => pct(t.metaTitleWordCut, t.posts)],
  ['one-sentence sections', (t) => pct(t.oneSentenceSections, t.sections)],
  ['tags absent from the sources', (t) => pct(t.tagsAbsent, t.tags)],
  ['tags that are one stop word or common word', (t) => pct(t.tagsGeneric, t.tags)],
  ['posts repeating a sentence', (t) => pct(t.repeated, t.posts)],
  ['posts held by the grounding gate', (t) => pct(t.held, t.posts)],
  ['mean reading ease (language formula)', (t) => (t.posts ? (t.readingEase / t.posts).toFixed(1) : 'n/a')],
];

console.log(
  `Offline writer on ${articles.length} corpus articles; ${((performance.now() - started) / 1000).toFixed(0)} ` +
    `s; Node ${process.versions.node}\n`,
);
// One column per language; with the baseline, each cell reads "baseline → today".
const names = writers.map(([n]) => n);
const count = (l: string): number => (l === 'all' ? articles.length : articles.filter((a) => a.lang === l).length);
console.log(`| measure (${names.join(' → ')}) | ${languages.map((l) => `${l} (${count(l)})`).join(' | ')} |`);
console.log(`| --- | ${languages.map(() => '---:').join(' | ')} |`);
for (const [label, value] of rows) {
  const cells = languages.map((l) => names.map((n) => value(results.get(n)!.get(l) ?? empty())).join(' → '));
  console.log(`| ${label} | ${cells.join(' | ')} |`);
}
