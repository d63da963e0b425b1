import type { Citation, SourceDoc } from './types.ts';
import { slugify } from '../text/html.ts';
import { markdownLiteral, plainLine, plainText } from '../text/plain-text.ts';
import { dependsOnContext } from '../text/context.ts';
import { rulesFor, sectionLabels, SOURCES_HEADINGS } from '../text/language.ts';
import { quoteOpen, singleQuoteOpen, splitSentences } from '../text/sentences.ts';
import { stopWords } from '../text/stop-words.ts';
import type { Brief } from './brief.ts';

/** Everything generate stores about a post, whichever writer produced it. */
export type GeneratedPost = {
  title: string;
  metaTitle: string;
  metaDescription: string;
  slug: string;
  /** Markdown body without the H1, ending with the `## Sources` list. */
  markdown: string;
  tags: string[];
  category: string;
  readingTimeMinutes: number;
  heroImage: { prompt: string; alt: string };
  jsonLd: Record<string, unknown>;
  citations: Citation[];
  wordCount: number;
  /** `provider/model` */
  writer: string;
  /** The BCP 47 tag of the language the post is written in. */
  language: string;
};

// The headline (the page's h1) keeps a source's headline whole: a third of the corpus's are over 60 characters, and
// cut there they stop mid-phrase ("Family seeks funds to treat rising tennis star sidelined"). What search results
// show is the meta title, the page's <title>, aimed at 45–60 (fitMetaTitle).
export const TITLE_MAX = 100;
export const META_TITLE_MIN = 45;
export const META_TITLE_MAX = 60;
export const META_DESCRIPTION_MIN = 140;
export const META_DESCRIPTION_MAX = 160;
export const TAGS_MAX = 10;
export const WORDS_PER_MINUTE = 230;

export function countWords(markdown: string): number {
  return (markdown.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? []).length;
}

/** The body a reader reads: no Sources list, no citation markers. */
export function readableBody(markdown: string): string {
  return stripSources(markdown).replace(/\s?\[\d+\]/g, '');
}

const SOURCES_HEADING = new RegExp(`^## (?:${SOURCES_HEADINGS.join('|')})\\s*$`, 'm');

/** The body without its Sources list (headed in any of the post languages). */
export function stripSources(markdown: string): string {
  const at = markdown.search(SOURCES_HEADING);
  return at === -1 ? markdown : markdown.slice(0, at);
}

export function truncateAtWord(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max + 1).lastIndexOf(' ');
  return (cut > 0 ? clean.slice(0, cut) : clean.slice(0, max)).replace(/[\s,;:–—|-]+$/, '');
}

// A clause that the clause before the comma needs ("Erfahren Sie, wie …", "Find out, how …", "Das passiert mit
// Ihrem Gehirn, wenn Sie Angst haben"): cut there, the headline asks for what it dropped, or says something else.
const OBJECT_CLAUSE_START =
  /^\s*(?:how|what|that|whether|why|where|who|if|unless|wie|dass|ob|was|warum|wo|wer|wenn|falls|sofern|que|comment|pourquoi|où|qui|si|quand|cómo|qué|por qué|dónde|quién|cuando)\s/iu;
/**
 * The main part of a title longer than `max` that fits in it: before a colon, a dash or a bar ("Main: subtitle"), or a
 * long clause before a comma; null when there is none.
 */
function mainPart(clean: string, max: number): string | null {
  let main: string | null = null;
  for (const m of clean.matchAll(/(?<=[?!])\s|\s*(?::|\s[-–—|·]\s)|,\s/g)) {
    const part = clean.slice(0, m.index).trim();
    if (part.length > max) break;
    // A clause before a comma, when it is most of a headline: "'Parasite' scores historic upset at SAG awards". Not
    // inside a list or a quotation, nor a leading subordinate clause or phrase ("When you take a multivitamin every
    // day", "Tras una semana de acoso a la prensa").
    if (
      m[0].startsWith(',') &&
      (part.length < 30 ||
        continuesList(clean.slice(m.index + 1)) ||
        LIST_BEFORE.test(part) ||
        quoteOpen(part) ||
        SENTENCE_OPENING.test(part) ||
        OBJECT_CLAUSE_START.test(clean.slice(m.index + 1)))
    )
      continue;
    if (part.length >= 15) main = part;
  }
  return main;
}

/**
 * A title of at most `max` characters that is still a phrase: a title of two parts ("Main: subtitle") keeps its
 * main part, a long clause before a comma is one; otherwise whole words, without a dangling article, preposition or
 * conjunction at the end.
 */
export function fitTitle(text: string, max = TITLE_MAX, lang?: string | null): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const main = mainPart(clean, max);
  if (main) return main;
  const stop = stopWords(lang ?? 'en');
  const words = truncateAtWord(clean, max).split(' ');
  while (
    words.length > 1 &&
    stop.has(
      words
        .at(-1)!
        .toLowerCase()
        .replace(/[^\p{L}']/gu, ''),
    )
  )
    words.pop();
  return words.join(' ').replace(/[\s,;:–—|-]+$/, '');
}

/**
 * A meta title: the candidate when it has 45–60 characters; else the candidate or the title, its main part when it is
 * longer than 60, and whole when it has none. Cut at a word, a headline stops mid-phrase and often says something else
 * ("Lockdown: Gottesdienste bleiben unter strengen Auflagen" without its last word, "möglich"); results cut a long one
 * themselves, with an ellipsis. A shorter one stays short: it is the page's <title>, and key phrases tacked on to reach
 * 45 characters ("Leasing oder Finanzierung – Fahrzeug und Euro") read as the keyword list they are.
 */
export function fitMetaTitle(candidate: string | null, title: string, lang?: string | null): string {
  const given = candidate?.replace(/\s+/g, ' ').trim();
  if (given && given.length >= META_TITLE_MIN && given.length <= META_TITLE_MAX) return given;
  const text = (given || title).replace(/\s+/g, ' ').trim();
  if (text.length <= META_TITLE_MAX) return text;
  return mainPart(text, META_TITLE_MAX) ?? fitTitle(text, TITLE_MAX, lang);
}

/**
 * A page's <title>: its meta title, and the site's name after a short one when the whole is still within what
 * results show ("Leasing oder Finanzierung – Autoblog"), as sites name themselves in their titles.
 */
export function documentTitle(metaTitle: string, siteName: string): string {
  const site = siteName.trim();
  const withSite = `${metaTitle} – ${site}`;
  return site && metaTitle.length < META_TITLE_MIN && withSite.length <= META_TITLE_MAX ? withSite : metaTitle;
}

/** Markdown inline syntax and citation markers reduced to text. */
function inlineText(markdown: string): string {
  return markdown
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s?\[\d+\]/g, '')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// Words that announce what follows a colon.
const ANNOUNCING =
  /\b(?:takeaways?|following|reasons?|questions?|answers?|things?|points?|lessons?|problems?|this|these|that|is|are|was|were|said|says|Grund|Gründe|Frage|Folgendes|Antwort|dies|das|ist|sind|sagte|suivante?s?|raison|question|voici|dit|siguientes?|razón|pregunta|dijo)$/iu;

// After a comma, a short item followed by another comma or a conjunction; before it, a comma and one or two words.
const LIST_NEXT =
  /^\s*(?:[\p{L}\p{N}'’-]+\s+){0,2}[\p{L}\p{N}'’-]+(?:,\s|\s+(?:and|or|nor|und|oder|sowie|et|ou|ni|y|e|o|u)\s)/iu;

/** Whether the text after a comma goes on with a list's next item ("measure and fix …"). */
export const continuesList = (afterComma: string): boolean => LIST_NEXT.test(afterComma);

const LIST_BEFORE = /,\s*(?:[\p{L}\p{N}'’-]+\s+)?[\p{L}\p{N}'’-]+$/u;

// Items of a list set apart by semicolons ("educación; seguridad y paz; economía; salud"): a short item after the
// semicolon that another semicolon follows, or a short item just before it. A short clause that ends the sentence
// ("…; remove pan.") is a clause, not an item.
const SEMICOLON_LIST_NEXT = /^\s*(?:[^\s;,:]+\s+){0,3}[^\s;,:]+;\s/u;
const SEMICOLON_LIST_BEFORE = /[;:]\s*(?:[^\s;,:]+\s+){0,3}[^\s;,:]+$/u;

// Words a clause never ends with: a comma after one opens an inserted phrase ("para que, en determinadas materias,
// …"), and a cut there or at the comma closing the phrase leaves half a clause.
const OPENS_INSERTION =
  /(?:^|[\s,])(?:and|or|but|that|which|who|because|if|when|while|although|though|since|so|as|of|to|for|with|the|a|an|que|y|e|o|u|pero|porque|si|cuando|aunque|mientras|para|de|del|con|el|la|los|las|un|una|et|ou|mais|car|quand|lorsque|puisque|pour|avec|le|les|une|des)$/iu;

// A sentence opening with a noun phrase and a comma ("El Presidente Gabriel Boric, quien vive …, afirmó …", "The
// company, which …"): the comma opens an apposition or a relative clause, and the verb comes after the comma that
// closes it. Cut at either comma, the description would be a subject with no verb. The phrase is a determiner and up
// to five words, two to five capitalised words (a name), or one word before a relative pronoun.
const SUBJECT_THEN_INSERTION =
  /^(?:(?:The|A|An|This|These|Those|Its|Their|Our|El|La|Los|Las|Un|Una|Este|Esta|Estos|Estas|Le|Les|Une|Ce|Cette|Ces)(?:\s+[\p{L}\p{N}'’.-]+){1,5}|\p{Lu}[\p{L}'’.-]*(?:\s+\p{Lu}[\p{L}'’.-]*){1,4}|[\p{L}\p{N}'’.-]+(?=,\s*(?:who|which|whose|quien|quienes|cuyo|cuya|cuyos|cuyas|donde|qui|dont|où|lequel|laquelle)\s))(?=,)/u;

// What opens a phrase that a main clause must follow: a subordinate clause or a prepositional phrase set before it
// ("When I moved to California five years ago, I planted …", "Tras el hackeo …, el gobierno …"). Later in a
// sentence, after a conjunction or a dash, it opens the next clause ("…, but if you're tight on space, …", "…, and –
// unlike many recipes, …"); after a comma alone it ends the clause before it ("…, in a small flat").
const INTRO_WORD =
  '(?:when|whenever|if|unless|while|although|though|because|since|as|after|before|until|once|whether|for|in|on|at|' +
  'with|without|despite|unlike|like|by|from|during|through|under|among|following|given|to|si|cuando|aunque|mientras|' +
  'porque|como|para|con|sin|según|en|desde|durante|ante|antes|después|pese|tras|al(?=\\s+\\p{Ll})|a\\s+pesar|de|' +
  'hasta|quand|lorsque|puisque|parce|bien|comme|pour|avec|sans|selon|dans|depuis|pendant|après|avant|malgré|dès|à|au|' +
  'par|wenn|falls|als|weil|obwohl|während|nachdem|bevor|sobald)(?=\\s|$)';
const CONJUNCTION = '(?:and|but|or|y|e|pero|o|et|mais|ou)\\s+';
const DASH = '[–—-]\\s+';
const SENTENCE_OPENING = new RegExp(`^(?:${DASH})?${INTRO_WORD}`, 'iu');
const CLAUSE_OPENING = new RegExp(
  `^(?:${CONJUNCTION}(?:${DASH})?${INTRO_WORD}|${CONJUNCTION}[–—-](?=\\s)|${DASH}${INTRO_WORD})`,
  'iu',
);
// What cannot be the main clause that such an opening waits for: a phrase that opens with a conjunction, a preposition,
// a relative pronoun or a participle ("cometido por un grupo …", "founded in 1990"), a name alone ("Eduardo del
// Castillo"), or a short noun phrase that a comma follows (a subject before its apposition: "el ministro de Gobierno").
const NOT_MAIN_START =
  /^(?:and|but|or|nor|so|y|e|pero|o|u|ni|et|mais|ou|of|to|for|in|on|at|with|without|from|by|about|into|including|such|along|amid|which|who|whose|where|that|de|del|en|con|sin|para|por|según|sobre|entre|hacia|junto|bajo|como|que|quien|quienes|cuyo|cuya|donde|dans|avec|sans|pour|par|selon|sur|sous|vers|dont|qui|où|lequel|laquelle|\p{L}{3,}(?:ed|ado|ada|ados|adas|ido|ida|idos|idas|ée|ées|és))(?=\s|$)/iu;
const NAME_ONLY = /^\p{Lu}[\p{L}'’.-]*(?:\s+(?:\p{Lu}[\p{L}'’.-]*|de|del|la|van|von|da|di|le))*$/u;
const SHORT_NOUN_PHRASE =
  /^(?:the|a|an|this|its|their|our|el|la|los|las|un|una|este|esta|le|les|une|ce|cette|der|die|das|ein|eine)(?:\s+[\p{L}\p{N}'’.-]+){1,4}$/iu;

/**
 * Whether a sentence cut after `prefix` ends before the main clause that an opening part waits for ("When I moved
 * to California five years ago."; "Tras el hackeo …, cometido por un grupo …."): read alone, it is a fragment.
 */
function leavesClauseOpen(prefix: string): boolean {
  let open = false;
  for (const [i, part] of prefix.split(/[,;:]\s+|\s+(?=[–—-]\s)/u).entries()) {
    const phrase = part.trim();
    // An object clause may open the same way: "indicó que desde que se ordenó …".
    const objectClause = /\b(?:that|que|qu['’])\s*(.*)$/iu.exec(phrase)?.[1];
    if (
      (i === 0 ? SENTENCE_OPENING : CLAUSE_OPENING).test(phrase) ||
      (objectClause && SENTENCE_OPENING.test(objectClause))
    )
      open = true;
    else if (open && !NOT_MAIN_START.test(phrase) && !NAME_ONLY.test(phrase) && !SHORT_NOUN_PHRASE.test(phrase))
      open = false;
  }
  return open;
}

/**
 * A sentence cut at its clauses' ends (";", ":", a dash, and with `commas` a comma), each ended with a full stop:
 * "A: b; c." → "A.".
 */
function clauses(sentence: string, commas = false): string[] {
  const out: string[] = [];
  const subject = SUBJECT_THEN_INSERTION.exec(sentence);
  const insertionEnd = subject ? sentence.indexOf(',', subject[0].length + 1) : -1;
  const pairedDashes = (sentence.match(/\s[–—]\s/g)?.length ?? 0) >= 2;
  for (const m of sentence.matchAll(commas ? /[,;:]\s|\s[–—]\s/g : /[;:]\s|\s[–—]\s/g)) {
    const prefix = sentence.slice(0, m.index).trim();
    if (subject && (insertionEnd < 0 || m.index <= insertionEnd)) continue;
    // "… para que, en determinadas materias." and "… the study found that." are half a clause.
    if (
      OPENS_INSERTION.test(prefix) ||
      prefix
        .split(',')
        .slice(0, -1)
        .some((part) => OPENS_INSERTION.test(part))
    )
      continue;
    if (leavesClauseOpen(prefix)) continue;
    // A phrase set between two dashes is an insertion, like one between commas.
    if (pairedDashes && /[–—]/.test(m[0])) continue;
    // "X said:" before a quotation, "one important takeaway:" before the point, say nothing without what follows.
    if (/^\s*["“„«‘]/.test(sentence.slice(m.index + m[0].length - 1))) continue;
    if (m[0].startsWith(':') && ANNOUNCING.test(prefix)) continue;
    // A comma between the items of a list ("to find, measure and fix slow queries"): cut there, the description would
    // end mid-list and drop what the list was for.
    if (m[0].startsWith(',') && (continuesList(sentence.slice(m.index + 1)) || LIST_BEFORE.test(prefix))) continue;
    if (
      m[0].startsWith(';') &&
      (SEMICOLON_LIST_NEXT.test(sentence.slice(m.index + 1)) || SEMICOLON_LIST_BEFORE.test(prefix))
    )
      continue;
    // A quotation or bracket left open would be cut in half.
    if (
      (prefix.match(/["“”„«»]/g)?.length ?? 0) % 2 === 1 ||
      singleQuoteOpen(prefix) ||
      (prefix.match(/\(/g)?.length ?? 0) > (prefix.match(/\)/g)?.length ?? 0)
    )
      continue;
    if (prefix.length >= 40) out.push(`${prefix.replace(/[\s,;:–—-]+$/, '')}.`);
  }
  return out;
}

/**
 * A meta description of 140–160 characters made of whole sentences (or a sentence's leading clauses) that follow each
 * other in one of `runs` (a paragraph's sentences, in order), earlier runs first: one sentence, two, a sentence and
 * the leading clauses of the next, a sentence's leading clauses, three sentences. Read alone in a search result, two
 * sentences that the post and its source never print together read as a non sequitur, so no description joins them.
 * Never cut mid-clause or with an ellipsis; when nothing lands in range, the longest such text under 160 characters
 * (the SEO lint reports its length).
 */
export function composeMetaDescription(runs: readonly (readonly string[])[], lang?: string | null): string {
  const seen = new Set<string>();
  const cleanRuns: string[][] = [];
  let budget = 48;
  for (const run of runs) {
    const clean: string[] = [];
    for (const sentence of run) {
      const text = inlineText(sentence);
      if (text) clean.push(text);
    }
    // A run repeated (a passage given again as part of its paragraph) adds nothing.
    const key = clean.join(' ');
    if (clean.length === 0 || seen.has(key) || budget <= 0) continue;
    seen.add(key);
    cleanRuns.push(clean.slice(0, budget));
    budget -= clean.length;
  }
  // A description never opens with a sentence that leans on one it does not print ("Por ende, …", "This means …");
  // the sentence it leans on may come first, in its run.
  const stands = (text: string): boolean => !dependsOnContext(text, lang);
  const standing = cleanRuns.flat().filter(stands);
  const anyStart = standing.length === 0;
  // A description ends where a sentence does: a heading or a quoted title without a full stop is a fragment.
  const whole = (text: string): boolean => /[.!?…]["'“”„’»)]*$/u.test(text);
  const fits = (text: string): boolean =>
    text.length >= META_DESCRIPTION_MIN && text.length <= META_DESCRIPTION_MAX && whole(text);
  const combine = (run: readonly string[], commas: boolean): string[] => {
    const tries: string[][] = [];
    run.forEach((p, i) => {
      if (!anyStart && !stands(p)) return;
      const q = run[i + 1];
      const r = run[i + 2];
      tries.push([p]);
      if (q !== undefined) {
        tries.push([p, q]);
        for (const c of clauses(q, commas)) tries.push([p, c]);
      }
      for (const c of clauses(p, commas)) {
        tries.push([c]);
        // What follows a sentence cut short must not lean on the part cut off.
        if (q !== undefined && stands(q)) tries.push([c, q]);
      }
      if (q !== undefined && r !== undefined) tries.push([p, q, r]);
    });
    return tries.map((t) => t.join(' '));
  };
  // The earliest run that makes one in range of whole sentences and clauses. A sentence cut at a comma (never in
  // German, which sets one before every subordinate clause) often drops what the sentence says: it is tried for the
  // first run (the introduction, what the text is about) before the others, and for the others only when nothing else
  // lands in range.
  const commas = (rulesFor(lang) ?? 'en') !== 'de';
  const joined = cleanRuns.flatMap((run) => combine(run, false));
  const [intro, ...rest] = cleanRuns;
  const hit =
    (intro && (combine(intro, false).find(fits) ?? (commas ? combine(intro, true).find(fits) : undefined))) ??
    joined.find(fits) ??
    (commas ? rest.flatMap((run) => combine(run, true)).find(fits) : undefined);
  if (hit) return hit;
  const under = joined.filter((t) => t.length <= META_DESCRIPTION_MAX && whole(t)).sort((a, b) => b.length - a.length);
  if (under[0]) return under[0];
  // Every sentence runs past 160 characters with no clause end in range: the longest leading clause (up to a comma)
  // that fits, else the first sentence whole, longer than wanted (the SEO lint says so) rather than cut mid-sentence.
  const starts = anyStart ? cleanRuns.flat() : standing;
  const clause = starts
    .flatMap((p) => clauses(p, commas))
    .filter((c) => c.length <= META_DESCRIPTION_MAX && c.length >= 80)
    .sort((a, b) => b.length - a.length)[0];
  if (clause) return clause;
  const first = starts.find(whole) ?? starts[0] ?? '';
  const sentenceEnd = /[.!?…]["'“”„’»)]*(?=\s|$)/u.exec(first);
  return sentenceEnd ? first.slice(0, sentenceEnd.index + sentenceEnd[0].length) : first;
}

/**
 * The candidate when it is 140–160 characters long; otherwise composed from its sentences and then the post's
 * paragraphs (each a run of sentences, in order).
 */
export function fitMetaDescription(
  candidate: string | null,
  paragraphs: readonly (readonly string[])[],
  lang?: string | null,
): string {
  const given = candidate?.replace(/\s+/g, ' ').trim() ?? '';
  if (given.length >= META_DESCRIPTION_MIN && given.length <= META_DESCRIPTION_MAX) return given;
  return composeMetaDescription([...(given ? [splitSentences(given, lang ?? 'en')] : []), ...paragraphs], lang);
}

export function fitSlug(candidate: string | null, title: string, lang?: string | null): string {
  const slug =
    candidate && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(candidate) && candidate.length <= 80
      ? candidate
      : slugify(title, 80, lang);
  return slug;
}

/**
 * At most ten tags of up to 50 characters, as written (German nouns keep their capital), one of each regardless
 * of case; a tag without a letter or digit is dropped.
 */
export function fitTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    const t = tag
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')
      .slice(0, 50)
      .trim();
    if (t && !out.some((o) => o.toLowerCase() === t.toLowerCase())) out.push(t);
    if (out.length >= TAGS_MAX) break;
  }
  return out;
}

/** Schema.org BlogPosting for the page head; the publisher adds dates and URLs it alone knows. */
export function blogPostingJsonLd(post: {
  title: string;
  metaDescription: string;
  tags: string[];
  category: string;
  wordCount: number;
  language: string;
  heroImage: { alt: string };
  citations: Citation[];
}): Record<string, unknown> {
  return {
    '@context': 'https://schema.org',
    '@type': 'BlogPosting',
    headline: post.title,
    description: post.metaDescription,
    inLanguage: post.language,
    articleSection: post.category,
    keywords: post.tags.join(', '),
    wordCount: post.wordCount,
    image: { '@type': 'ImageObject', caption: post.heroImage.alt },
    citation: post.citations.map((c) =>
      c.url ? { '@type': 'CreativeWork', name: c.title, url: c.url } : { '@type': 'CreativeWork', name: c.title },
    ),
  };
}

/** Assembles the stored post from what a writer produced, holding every field to its bounds. */
export function finalizePost(input: {
  title: string;
  markdown: string;
  metaTitle?: string | null;
  metaDescription?: string | null;
  slug?: string | null;
  tags: string[];
  category?: string | null;
  heroImage?: { prompt: string; alt: string } | null;
  citations: Citation[];
  brief: Brief;
  writer: string;
  /** The post's paragraphs as runs of sentences, for a meta description when the writer's does not fit. */
  leadSentences: string[][];
  /** The language the post is written in; the brief's when not given. */
  language?: string;
}): GeneratedPost {
  // Every field comes from sources or a model: control characters out before they reach a title, a
  // tag, a meta tag, front matter or a feed (see ../text/plain-text.ts).
  const lang = input.language ?? input.brief.language;
  const title = fitTitle(plainLine(input.title), TITLE_MAX, lang) || 'Untitled post';
  const tags = fitTags(input.tags.map(plainLine));
  const category = plainLine(input.category?.trim() || (input.brief.primaryKeyword ?? tags[0] ?? 'General')).slice(
    0,
    80,
  );
  const markdown = plainText(input.markdown);
  const citations = input.citations.map((c) => ({ ...c, title: plainLine(c.title), url: c.url && plainLine(c.url) }));
  const wordCount = countWords(readableBody(markdown));
  const metaDescription = fitMetaDescription(
    input.metaDescription == null ? null : plainLine(input.metaDescription),
    input.leadSentences.map((run) => run.map(plainLine)),
    lang,
  );
  const heroImage =
    input.heroImage?.prompt && input.heroImage.alt
      ? {
          prompt: plainLine(input.heroImage.prompt).trim().slice(0, 1000),
          alt: plainLine(input.heroImage.alt).trim().slice(0, 250),
        }
      : {
          prompt:
            `An editorial illustration for a blog post titled "${title}"` +
            `${tags.length ? `, showing ${tags.slice(0, 3).join(', ')}` : ''}; no text in the image.`,
          alt: truncateAtWord(`Illustration for ${title}`, 125),
        };
  const post = {
    title,
    metaTitle: fitMetaTitle(input.metaTitle == null ? null : plainLine(input.metaTitle), title, lang),
    metaDescription,
    slug: fitSlug(input.slug ?? null, title, lang),
    markdown,
    tags,
    category,
    readingTimeMinutes: Math.max(1, Math.round(wordCount / WORDS_PER_MINUTE)),
    heroImage,
    citations,
    wordCount,
    writer: input.writer,
    language: lang,
  };
  return { ...post, jsonLd: blogPostingJsonLd(post) };
}

/**
 * One entry of the Sources list. A source's title and URL come from outside (a page's <title>, a feed):
 * the title is Markdown text shown as itself (no markup, no link of its own), the URL a link destination.
 */
export function sourceLine(c: Citation): string {
  const title = markdownLiteral(c.title);
  return c.url ? `[${title}](<${plainLine(c.url).replace(/[<>\s\\]/g, encodeURIComponent)}>)` : title;
}

/** Markdown for the Sources list, numbered as the citations are, headed in the post's language. */
export function sourcesSection(citations: Citation[], lang?: string | null): string {
  return `## ${sectionLabels(lang).sources}\n\n${citations.map((c, i) => `${i + 1}. ${sourceLine(c)}`).join('\n')}\n`;
}

/** Inserts a paragraph just before the Sources list (or at the end when there is none). */
export function insertBeforeSources(markdown: string, paragraph: string): string {
  const at = markdown.search(SOURCES_HEADING);
  if (at === -1) return `${markdown.trimEnd()}\n\n${paragraph}\n`;
  return `${markdown.slice(0, at)}${paragraph}\n\n${markdown.slice(at)}`;
}

// Subdomains and top-level labels that name no site: "news.example.com" is example's.
const GENERIC_HOST_LABELS = new Set(
  'www www2 m mobile amp blog blogs news wiki shop forum forums archive web www1 com org net info biz co uk de at ch fr es it nl be eu us'.split(
    ' ',
  ),
);
const TITLE_PART = /(\s+[|\-–—»·•~/]\s+)/;
const folded = (text: string): string =>
  text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');

/**
 * A page's title without the site's name that pages put before or after the headline ("Ultium Cells erhöht
 * Gigafactory-Kapazität - Battery-News.de", "SimplyScience - Wie entsteht Erdöl?", "Über André Loibl |"): a part set
 * apart by " - ", " | ", " – ", " » "… that is the page's site name, its host, or one of its host's own labels, or
 * starts with one (a brand: "Python Wiki" on wiki.python.org). The title is kept whole when what would remain is not a
 * headline (a few letters, or lower case after a leading site name).
 */
export function headlineOf(title: string, site: { url?: string | null; siteName?: string | null } = {}): string {
  const text = title
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(?:[|\-–—»·•~/]\s+)+|(?:\s+[|\-–—»·•~/])+$/g, '');
  const parts = text.split(TITLE_PART);
  if (parts.length < 3) return text;
  const host = (site.url && URL.parse(site.url)?.hostname.replace(/^www\d?\./, '')) || '';
  const labels = host.split('.').filter((l) => l.length >= 3 && !GENERIC_HOST_LABELS.has(l));
  // The site's own label ("python" of wiki.python.org), not a subdomain's ("advertising" of advertising.jodel.com).
  const own = labels.at(-1) ? folded(labels.at(-1)!) : null;
  const names = new Set(
    [host, host.replace(/\.[^.]+$/, ''), site.siteName ?? '', ...labels].map(folded).filter((n) => n.length >= 3),
  );
  const isSite = (part: string): boolean => {
    const f = folded(part);
    return names.has(f) || (own !== null && part.split(' ').length <= 3 && f.startsWith(own));
  };
  const headline = (rest: string): boolean => folded(rest).length >= 8;
  const withoutLast = parts.slice(0, -2).join('');
  if (isSite(parts.at(-1)!) && headline(withoutLast)) return withoutLast;
  const withoutFirst = parts.slice(2).join('');
  if (isSite(parts[0]!) && headline(withoutFirst) && /^[\p{Lu}\p{N}"“„«'‘]/u.test(withoutFirst)) return withoutFirst;
  return text;
}

/**
 * A source's headline for a post's title: {@link headlineOf}, and when no part of it names the site, a short last
 * part after " | ", " – " or " · " taken for the site's name ("How X works | Site").
 */
export function sourceHeadline(source: Pick<SourceDoc, 'title' | 'url' | 'siteName'>): string | null {
  const given = source.title?.replace(/\s+/g, ' ').trim();
  if (!given) return null;
  const headline = headlineOf(given, source);
  if (headline !== given) return headline;
  return /^(.{20,}?)\s+[|–—·]\s+[^|–—·]{2,40}$/.exec(given)?.[1] ?? given;
}

export function sourceTitle(source: SourceDoc, index: number): string {
  const title = source.title?.replace(/\s+/g, ' ').trim();
  if (title) return title;
  if (source.url) {
    try {
      return new URL(source.url).hostname;
    } catch {
      return source.url;
    }
  }
  return `Source ${index + 1}`;
}

/** The body's own prose paragraphs, first first, each as its sentences, markers removed: for a meta description. */
export function leadSentences(markdown: string, lang?: string | null): string[][] {
  return stripSources(markdown)
    .split(/\n{2,}/)
    .filter((p) => p.trim() && !/^(#|- |\* |\d+\. |>)/.test(p.trim()))
    .map((p) => splitSentences(p.replace(/\s?\[\d+\]/g, ''), lang ?? 'en'));
}
