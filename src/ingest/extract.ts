import { readability } from '../heavy-deps.ts';
import { markdownWithoutMarkup } from '../text/html.ts';
import {
  FURNITURE_LINE,
  holdsMostText,
  measureText,
  removeBoilerplate,
  removeInvisible,
  type TextMeasure,
} from './boilerplate.ts';
import {
  absoluteUrl,
  clean,
  type DomDocument,
  type DomElement,
  type DomNode,
  isElement,
  parseDocument,
  TEXT_NODE,
} from './dom.ts';
import { firstFigureImage, type LeadImage, normaliseDate, readPageMetadata } from './page-metadata.ts';

export type { LeadImage } from './page-metadata.ts';

export interface ExtractedArticle {
  title: string | null;
  byline: string | null;
  lang: string | null;
  excerpt: string | null;
  /** The article as simple Markdown: headings, paragraphs, `- ` lists, `> ` quotes, fenced code. */
  markdown: string;
  /** `<link rel=canonical>` (or og:url), made absolute. */
  canonicalUrl?: string | null;
  /** ISO 8601, from the page's article metadata, when it has any. */
  publishedAt?: string | null;
  siteName?: string | null;
  /** The article's headings, in order, without their `#` marks. */
  headings?: string[];
  /** Links inside the article, made absolute against the page (or its `<base href>`); http(s) only. */
  links?: Array<{ url: string; text: string }>;
  /** ISO 8601, when the page says when it last changed. */
  modifiedAt?: string | null;
  /** The article's lead image (og:image, twitter:image, JSON-LD, else its first figure), made absolute. */
  leadImage?: LeadImage | null;
  /** How much text the article and its page hold: what the ingest gate judges an article by. */
  measure?: ArticleMeasure;
}

export type ArticleMeasure = {
  /** Visible characters (letters, digits, punctuation) of the article. */
  text: number;
  /** Of those, the characters inside links. */
  links: number;
  /** Of those, the characters inside paragraphs (`p`, `pre`, `blockquote`). */
  paragraphs: number;
  /** Visible characters of the whole page, chrome included. */
  page: number;
};

/**
 * Extract the main article of an HTML page and render it as simple Markdown, with its metadata. Links keep only
 * their text in the Markdown; their targets, made absolute against the page URL, are listed in `links`.
 *
 * The page is parsed once. Its metadata is read first; then what is never text and what is page chrome is removed
 * (never the element holding most of the page's text), Readability finds the article, and what the article still
 * carries of captions, link lists, credit and date lines and headings left with nothing under them is dropped. The
 * title heading and the standfirst, which Readability leaves out, are put back in front. Only when that result looks
 * too thin for the page (or there is none) is a second candidate made on a second parse, the block holding the most
 * paragraph text; the better of the two, judged by its text outside links and its share of paragraphs, is kept.
 */
export function extractArticle(html: string, url: string): ExtractedArticle {
  const document = parseDocument(html);
  const meta = readPageMetadata(document, url);
  removeInvisible(document);
  const measures = document.body ? measureText(document.body) : undefined;
  const page = (document.body && measures?.get(document.body)) || { text: 0, paragraphs: 0, links: 0 };

  removeBoilerplate(document, { measures });
  const header = articleHeader(document, meta.title);
  let best = readArticle(document);
  if (!best || looksThin(best.measure, page)) {
    const fresh = parseDocument(html);
    removeBoilerplate(fresh);
    const dense = densestBlock(fresh);
    if (dense) {
      const image = firstFigureImage(dense, meta.base);
      tidyArticle(dense);
      const measure = measureText(dense).get(dense)!;
      if (!best || quality(measure) > quality(best.measure) * 1.5)
        best = { content: dense, parsed: best?.parsed ?? null, measure, image };
    }
  }
  if (!best) best = wholeBody(parseDocument(html));

  const markdown = best ? withHeader(header, best.content) : '';
  const parsed = best?.parsed;
  // Titles often carry the site's name ("Story – Site"); the article's own H1, when the title starts with it, is the
  // cleaner one.
  const title0 = clean(parsed?.title) ?? meta.title;
  const h1 = /^# (.+)$/m.exec(markdown)?.[1] ?? meta.h1;
  const title = h1 && title0 && title0 !== h1 && title0.startsWith(h1) ? h1 : title0;
  return {
    title,
    byline: personName(parsed?.byline) ?? personName(meta.author),
    lang: clean(parsed?.lang) ?? meta.lang,
    excerpt: clean(parsed?.excerpt) ?? meta.description,
    markdown,
    canonicalUrl: meta.canonicalUrl,
    publishedAt: meta.publishedAt ?? normaliseDate(parsed?.publishedTime),
    modifiedAt: meta.modifiedAt,
    siteName: clean(parsed?.siteName) ?? meta.siteName,
    headings: headingsOf(markdown),
    links: best ? linksIn(best.content, meta.base) : [],
    leadImage: meta.image ?? best?.image ?? null,
    measure: {
      text: best?.measure.text ?? 0,
      links: best?.measure.links ?? 0,
      paragraphs: best?.measure.paragraphs ?? 0,
      page: page.text,
    },
  };
  function wholeBody(doc: DomDocument): Candidate | null {
    removeBoilerplate(doc);
    if (!doc.body) return null;
    const image = firstFigureImage(doc.body, meta.base);
    tidyArticle(doc.body);
    return { content: doc.body, parsed: null, measure: measureText(doc.body).get(doc.body)!, image };
  }
  function readArticle(doc: DomDocument): Candidate | null {
    const candidate = readabilityArticle(doc);
    if (!candidate) return null;
    candidate.image = firstFigureImage(candidate.content, meta.base);
    tidyArticle(candidate.content);
    candidate.measure = measureText(candidate.content).get(candidate.content)!;
    return candidate.measure.text > 0 ? candidate : null;
  }
}

/** A byline that names someone: not a profile URL, not a date or a row of separators. */
function personName(value: string | null | undefined): string | null {
  const name = clean(value);
  if (!name || /^https?:\/\//i.test(name) || !/\p{L}{2,}/u.test(name)) return null;
  if (/^[\d\s/:.,|-]+(am|pm)?\b/i.test(name)) return null;
  return name;
}

type ReadabilityResult = {
  title?: string | null;
  byline?: string | null;
  lang?: string | null;
  excerpt?: string | null;
  siteName?: string | null;
  publishedTime?: string | null;
};
type Candidate = {
  content: DomElement;
  parsed: ReadabilityResult | null;
  measure: TextMeasure;
  image: LeadImage | null;
};

function readabilityArticle(document: DomDocument): Candidate | null {
  try {
    // The serializer hands back the content node itself, so we walk it instead of re-parsing its HTML. Readability
    // starts over (re-parsing the page) with looser rules whenever it finds under `charThreshold` characters; a short
    // result here gets a second opinion anyway (`looksThin`), so it starts over only below 250 rather than 500.
    const parsed = new (readability().Readability)<unknown>(document as never, {
      serializer: (node) => node,
      charThreshold: 250,
    }).parse();
    const content = parsed?.content as DomElement | null | undefined;
    if (!parsed || !content) return null;
    return { content, parsed, measure: { text: 0, paragraphs: 0, links: 0 }, image: null };
  } catch {
    return null;
  }
}

/** The article's title heading and the standfirst between it and the body, which Readability leaves out. */
type ArticleHeader = { title: DomElement; blocks: Array<{ element: DomElement; text: string }> };

const HEADER_BLOCK = new Set([
  'P',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'BLOCKQUOTE',
  'DIV',
  'SPAN',
  'HEADER',
  'SECTION',
  'STRONG',
]);

/**
 * The page's title heading (the `h1` the document title names, or its only `h1`) and the first text blocks after it,
 * read before Readability moves anything. The blocks that come before the article body Readability finds are the
 * standfirst (lead, deck, teaser): they are kept in front of the body.
 */
function articleHeader(document: DomDocument, pageTitle: string | null): ArticleHeader | null {
  const body = document.body;
  if (!body) return null;
  // A heading of a word or two is a logo or a section name, not a story's title.
  const h1s = Array.from(body.querySelectorAll('h1')).filter((h) => (clean(h.textContent) ?? '').length >= 10);
  const title =
    h1s.find((h) => !!pageTitle && pageTitle.includes(clean(h.textContent)!)) ??
    (h1s.length === 1 ? h1s[0] : undefined);
  if (!title || !clean(title.textContent)) return null;
  const blocks: ArticleHeader['blocks'] = [];
  const all = Array.from(body.querySelectorAll('*'));
  let i = all.indexOf(title) + 1;
  let last: DomElement | null = null;
  for (; i < all.length && blocks.length < 12; i++) {
    const element = all[i]!;
    if (title.contains(element) || last?.contains(element)) continue;
    if (!HEADER_BLOCK.has(element.nodeName) || !hasOwnText(element)) continue;
    const text = clean(element.textContent);
    if (!text) continue;
    if (text.length > 1500) break;
    blocks.push({ element, text });
    last = element;
  }
  return { title, blocks };
}

function hasOwnText(element: DomElement): boolean {
  const nodes = element.childNodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.nodeType === TEXT_NODE && /\S/.test(node.textContent ?? '')) return true;
  }
  return false;
}

/** The body as Markdown, after its title and standfirst when Readability left them out. */
function withHeader(header: ArticleHeader | null, content: DomElement): string {
  const body = toMarkdown(content);
  if (!header) return body;
  const text = clean(content.textContent) ?? '';
  const lead: string[] = [];
  let reached = false;
  for (const block of header.blocks) {
    if (text.includes(block.text)) {
      reached = true;
      break;
    }
    const m = measureText(block.element).get(block.element)!;
    // What the body's tidying drops (a disclosure, a credit, a date line) is not put back as the standfirst.
    if (m.text < 50 || m.links * 2 > m.text || isCreditOrDateLine(block.element, m)) continue;
    lead.push(toMarkdown(block.element) || block.text);
  }
  const parts: string[] = [];
  const title = clean(header.title.textContent)!;
  if (!text.startsWith(title) && !body.startsWith(`# ${title}`)) parts.push(`# ${title}`);
  if (reached) parts.push(...lead.filter(Boolean));
  parts.push(body);
  return parts.filter(Boolean).join('\n\n');
}

/**
 * A candidate's worth as an article: its text not inside links, with text in paragraphs counting in full and the
 * rest (lists, table cells, loose lines) at half, since an article is mostly paragraphs.
 */
function quality(m: TextMeasure): number {
  const own = Math.max(0, m.text - m.links);
  const paragraphShare = m.text ? m.paragraphs / m.text : 0;
  return own * (0.5 + 0.5 * paragraphShare);
}

const PARAGRAPH_TAGS = new Set(['P', 'PRE', 'BLOCKQUOTE']);

/**
 * The element whose own paragraphs hold the most text (links not counted), widened to its ancestors while they add
 * paragraphs of comparable weight (an article split into sibling blocks) rather than a few stray ones. A plain
 * second opinion for pages where Readability's scoring settles on a disclosure box or a teaser.
 */
function densestBlock(document: DomDocument): DomElement | null {
  const body = document.body;
  if (!body) return null;
  const measures = measureText(body);
  const own = new Map<DomElement, number>();
  for (const p of Array.from(body.querySelectorAll('p,pre,blockquote'))) {
    const parent = p.parentElement;
    const m = measures.get(p);
    if (!parent || !m || !PARAGRAPH_TAGS.has(p.nodeName)) continue;
    own.set(parent, (own.get(parent) ?? 0) + m.text - m.links);
  }
  let best: DomElement | null = null;
  let bestScore = 0;
  for (const [element, score] of own)
    if (score > bestScore) {
      best = element;
      bestScore = score;
    }
  if (!best) return null;
  // Widen while the parent's paragraphs are mostly article-like text: little of it in links, and enough of it
  // outside the current block to be more of the story rather than a caption or a teaser.
  for (let parent = best.parentElement; parent && best !== body; parent = parent.parentElement) {
    const m = measures.get(parent);
    const current = measures.get(best);
    if (!m || !current) break;
    const added = m.paragraphs - current.paragraphs;
    if (added < 0.3 * current.paragraphs || m.links > 0.25 * m.text || m.text > 1.6 * m.paragraphs) break;
    best = parent;
  }
  return best;
}

/** A result too small for its page, or mostly links, is worth checking against the page as it came. */
function looksThin(m: TextMeasure, page: TextMeasure): boolean {
  if (m.text === 0) return true;
  if (m.links * 2 > m.text) return true;
  // Hardly any paragraphs, on a page that has plenty: a table, a list or a form was taken for the article.
  if (m.paragraphs < 0.2 * m.text && page.paragraphs > 1000) return true;
  return m.text < 0.2 * page.paragraphs || m.text < 500;
}

// What an article still carries after Readability that is not its text: figures and their captions and credits,
// blocks that are mostly links (related stories, tag lists, "read more" lines), share and rating widgets.
const FIGURE_SELECTOR = 'figure,figcaption,picture,img';
const LINK_BLOCKS = 'p,ul,ol,div,section,table,dl,h2,h3,h4,h5,h6';

function tidyArticle(content: DomElement): void {
  for (const element of Array.from(content.querySelectorAll(FIGURE_SELECTOR))) element.remove();
  const measures = measureText(content);
  const whole = measures.get(content)!;
  for (const element of Array.from(content.querySelectorAll(LINK_BLOCKS))) {
    const m = measures.get(element);
    if (!m || m.text === 0 || holdsMostText(m, whole)) continue;
    if (m.links / m.text > 0.6 || isCrossReference(element, m)) {
      removeLabelOf(element, measures);
      element.remove();
    } else if (isCreditOrDateLine(element, m)) element.remove();
  }
  removeMoreToRead(content, measures);
  removeCommentsArea(content);
  trimFurnitureTail(content);
  removeOrphanHeadings(content);
}

function isStoryParagraph(element: DomElement): boolean {
  const m = measureText(element).get(element)!;
  return m.text >= 250 && m.links < 0.2 * m.text;
}

// The caption of what a site offers to read next: "Mehr zum Thema", "Das könnte dich auch interessieren", "Related",
// "Read next", "Vorschau auf den nächsten Artikel", "Schon gelesen?", "Lea también", "Czytaj także"; and of the
// contact or author box under an article ("Kontakt:", "Über den Autor", "About the author"), the label alone.
const MORE_TO_READ =
  /^(?:(?:über den autor|über die autorin|zum autor|zur autorin|about the author|kontakt|contact|ansprechpartner(?:in)?|pressekontakt)(?=[:\s]*$)|mehr (?:zum thema|aus der|zu diesem|dazu|artikel|themen|news|beiträge)|weitere (?:artikel|beiträge|themen|news|meldungen|tipps|\p{L}*tipps|infos?)|noch mehr|auch interessant|das könnte (?:dich|sie) (?:auch )?interessieren|(?:das )?interessiert (?:dich|sie) (?:vielleicht )?auch|schon gelesen|lesen sie (?:auch|mehr)|zum weiterlesen|empfohlene (?:artikel|beiträge)|verwandte (?:artikel|beiträge|themen)|ähnliche (?:artikel|beiträge)|vorschau auf|entdecken sie|entdecke weitere|related(?: (?:articles?|posts?|stories|content|coverage))?|more (?:on this|from|stories|to read|like this)|read (?:next|more|also)|you (?:may|might) also (?:like|enjoy)|recommended(?: for you)?|see also|popular (?:posts|articles|stories)|lea (?:también|además)|te puede interesar|más (?:noticias|información)|lire aussi|à lire aussi|sur le même sujet|czytaj (?:też|także|również)|zobacz (?:też|także|również))\b/iu;

/**
 * A "more to read" caption in the second half of the article, and what follows it in its block, are the site's
 * offer of other stories, not the story: they go. In the first half such a line is more likely a cross-reference
 * inside the text, and stays.
 */
function removeMoreToRead(content: DomElement, measures: Map<DomElement, TextMeasure>): void {
  const whole = clean(content.textContent) ?? '';
  for (const element of Array.from(content.querySelectorAll('h2,h3,h4,h5,h6,p,div,strong,b'))) {
    const m = measures.get(element);
    if (!element.parentElement || !m || m.text > 60) continue;
    const text = clean(element.textContent) ?? '';
    if (text.length < 4 || text.length > 60 || !MORE_TO_READ.test(text)) continue;
    if (whole.lastIndexOf(text) < whole.length / 2) continue;
    // What follows goes up to the next paragraph of the story itself (a long one, little of it links): a box of
    // teasers in the middle of an article is removed without the rest of the article.
    let next = element.nextElementSibling;
    while (next && !isStoryParagraph(next)) {
      const after = next.nextElementSibling;
      next.remove();
      next = after;
    }
    element.remove();
  }
}

// The heading of the comments under an article: "Comments", "3 Kommentare", "Lesermeinungen", "Leave a Reply",
// "Commentaires", "Comentarios (12)".
const COMMENTS_HEADING =
  /^(?:\d+\s+)?(?:comments?|responses?|reader comments|leave a (?:reply|comment)|join the (?:discussion|conversation)|kommentare?|leserkommentare|lesermeinungen|kommentar schreiben|schreibe(?:n sie)? einen kommentar|diskussion|commentaires?|laisser un commentaire|comentarios?|deja un comentario|komentarze)(?:\s*\(\d+\))?\s*:?$/iu;

/**
 * A comments heading in the second half of the article starts the comments area: it and everything after it go
 * (the policy for writing one, "you are not logged in", the comments themselves). Earlier, such a heading is more
 * likely a section of the text, and stays.
 */
function removeCommentsArea(content: DomElement): void {
  const whole = clean(content.textContent) ?? '';
  const heading = Array.from(content.querySelectorAll('h2,h3,h4,h5,h6')).find((element) => {
    const text = clean(element.textContent) ?? '';
    return COMMENTS_HEADING.test(text) && whole.lastIndexOf(text) >= whole.length / 2;
  });
  for (let node: DomElement | null = heading ?? null; node && node !== content; node = node.parentElement) {
    while (node.nextElementSibling) node.nextElementSibling.remove();
  }
  heading?.remove();
}

/** A heading or a "Read also:" line right before a list of links is that list's caption, and goes with it. */
function removeLabelOf(element: DomElement, measures: Map<DomElement, TextMeasure>): void {
  const label = element.previousElementSibling;
  if (!label) return;
  const m = measures.get(label);
  if (!m || m.text === 0 || m.text > 100) return;
  if (/^H[2-6]$/.test(label.nodeName) || /:\s*$/.test(label.textContent ?? '')) label.remove();
}

/**
 * The lines an article ends on that are not its text: calls to subscribe, follow, comment or share, copyright and
 * reprint notices, advertising labels, "more on this:" captions. Short lines are trimmed from the end while they are
 * such furniture; the first line that is not stops the trimming.
 */
function trimFurnitureTail(content: DomElement): void {
  // A line is a block with text of its own, or one whose text sits only in inline elements (`<div><span>…`).
  const blocks = Array.from(content.querySelectorAll('*')).filter(
    (element) =>
      BLOCK.has(element.nodeName) &&
      (hasOwnText(element) ||
        (!Array.from(element.children).some((child) => BLOCK.has(child.nodeName)) && !!clean(element.textContent))),
  );
  // Never more than a few lines, and never most of the text: a short page of short lines stays whole.
  let budget = (clean(content.textContent) ?? '').length / 3;
  for (let i = blocks.length - 1, trimmed = 0; i >= 0 && trimmed < 8; i--, trimmed++) {
    const block = blocks[i]!;
    const text = clean(block.textContent) ?? '';
    if (text.length > 250 || text.length > budget) break;
    // A bare label counts only as a line of its own, not as an item of a list or a table cell (the list's content).
    const label = !LIST_OR_CELL.has(block.nodeName) && isBareLabel(text);
    if (!FURNITURE_LINE.test(text) && !/:$/.test(text) && !label) break;
    budget -= text.length;
    block.remove();
  }
}

const LIST_OR_CELL = new Set(['LI', 'DT', 'DD', 'TD', 'TH']);

/** A few words that are not a sentence: "zurück", "drukuj", "aja/PAP", "Heute empfehlen wir", "- Anzeige -". */
function isBareLabel(text: string): boolean {
  return text.length <= 30 && !/[.!?…"“”»]$|\d/.test(text) && (text.match(/\p{L}+/gu) ?? []).length <= 3;
}

// A line that only credits a picture or dates the page ("Foto: dpa", "Bild: Jahr Media", "23.10.2018", "12. März
// 2021, 14:05 Uhr") is furniture, not a sentence of the article.
const CREDIT_LINE =
  /^[([]?(?:fotos?|bilder?|photos?|images?|quelle|source|credits?|crédits?(?: photos?)?|crédito|fuente|źródło|copyright|©|beitragsbild|titelbild|aufmacherbild|foto(?:grafie)?\s+©)\b\s*[:/©]/i;
// A picture's caption ends on its credit: "… aus der Schweiz. © AFP / MARCO BERTORELLO", "… Foto: Andina", "…
// kilogramów /domena publiczna". A short block that ends so is the caption of a picture that is gone.
const CAPTION_END =
  /(?:(?:^|[\s|(])(?:©|\(c\)|(?:fotos?|photos?|bild|image|crédito|fot\.?|zdjęcie)\s*(?::|©|by\b))\s*[^\s.!?][^!?]{0,80}|\/\s*(?:domena publiczna|getty images|afp|dpa|reuters|ap|imago(?: images)?|picture alliance|shutterstock|istock(?:photo)?|unsplash)[\s)]*)$/i;
const DATE_LINE =
  /^(?:[\p{L}]+:?\s+){0,3}(?:[\p{L}]+,?\s+)?(?:\d{1,2}[./-]\s?\d{1,2}[./-]\s?\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\.?\s+[A-Za-zÄÖÜäöüé]+\.?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4})(?:[,|·\s-]+(?:\d{1,2}[:.]\d{2}(?:\s*(?:uhr|am|pm|h))?))?\s*$/iu;

// What a site asks of its reader, wherever it stands in the article: subscribe, sign up, follow, share, comment, log
// in, support us, get the app. Only a short block that says so is dropped, never a paragraph that mentions it.
const CALL_TO_ACTION = new RegExp(
  [
    '\\b(?:subscribe|sign up|join our|follow us|follow (?:the \\w+|me) on|keep ' +
      'up with me|consider supporting|support our work|download (?:our|the) \\w*\\s*apps?|get ' +
      'the \\w* ?app)\\b',
    '\\b(?:if you (?:enjoyed|liked)|did you (?:enjoy|like) this|we want to hear what you think|submit your letter)\\b',
    '\\b(?:jetzt (?:abonnieren|anmelden|registrieren)|newsletter abonnieren|zum ' +
      'newsletter|folgt? uns|folge uns|gefällt (?:dir|ihnen) (?:unser|der|dieser)|artikel ' +
      'gefallen|nicht zu teilen|teilen sie (?:diesen|den) (?:artikel|beitrag)|kommentar ' +
      '(?:verfassen|schreiben)|kommentare? schreiben|eingeloggt sein|unterstütze(?:n ' +
      'sie)? (?:uns|unsere))',
    // Disclosures that stand apart from the text: "*Werbung. Dieser Beitrag enthält Werbung für …", "This post contains
    // references to products from our advertisers. We may receive compensation …".
    '\\b(?:enthält (?:unbezahlte |bezahlte )?werbung|enthält affiliate|contains ' +
      '(?:affiliate links|references to products)|we may (?:receive|earn) (?:a ' +
      ')?(?:commission|compensation))',
    '\\b(?:suscr[ií]b[ea]te|hazte miembro|s[ií]guenos|seguirnos|puede escribirnos|escr[ií]benos|abonnez-vous|inscrivez-vous|pour ' +
      'lire la suite|zapraszamy (?:też )?do subskrypcji|zasubskrybuj)',
  ].join('|'),
  'i',
);

// The text of a page's controls, left behind when the buttons went: print, rate, show or hide, load more, back to
// top, and the placeholder of an embed that loads on a click.
const WIDGET_LINE =
  /^(?:(?:artikel |rezept |seite )?(?:aus)?drucken|print(?: this)?(?: page| article| recipe)?|imprimer|imprimir|drukuj|stampa)\b|\b(?:bewerten|valora esta|rate this|ausblenden|einblenden|externer inhalt|zum seitenanfang|nach oben|back to top|bild anzeigen|lade weitere|load more|mehr laden|show more)\b|\bklicken sie\b.{0,100}\b(?:laden|anzeigen)\b/i;

// Dates and times as pages print them: 24.03.2004, 2021-10-16, 04/21/2022, 24. März 2004, Feb 6, 2014, 19:49, 3:59 PM.
const DATE_OR_TIME =
  /(?<![\d+-])(?:\d{1,2}[./-]\s?\d{1,2}[./-]\s?\d{2,4}|\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?|\d{1,2}\.?\s+\p{L}{3,}\.?,?\s+\d{4}|\p{L}{3,}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}[:.]\d{2}(?:\s*(?:uhr|am|pm|h)\b)?)(?![\d-])/giu;

/**
 * A line that dates the page and says little else: "24. März 2004, 19:49 | Genesis", "asked Feb 6, 2014 at 20:37",
 * "2021-10-16 | Botschaft", "Aktualisiert am 17.01.2021.". Take the dates out and a few words are left, none of them
 * a sentence ("Am 3. März 2020 starb er." is one).
 */
function isDateStamp(text: string): boolean {
  const rest = text.replace(DATE_OR_TIME, ' # ');
  if (rest === text) return false;
  if (/\p{L}{2,}[.!?]["“”»«']?\s*$/u.test(rest)) return false;
  const words = rest.match(/\p{L}{2,}/gu) ?? [];
  return words.length <= 3;
}

/** "Read also: <link>", "Lea también: <link>": a short line that is a label and a link to another story. */
function isCrossReference(element: DomElement, m: TextMeasure): boolean {
  if (m.text > 200 || m.links * 2 < m.text) return false;
  return /^[^:]{2,40}:/.test(clean(element.textContent) ?? '');
}

function isCreditOrDateLine(element: DomElement, m: TextMeasure): boolean {
  if (m.text > 250) return false;
  const text = clean(element.textContent) ?? '';
  if (CAPTION_END.test(text) || CALL_TO_ACTION.test(text)) return true;
  if (m.text > 100) return false;
  if (WIDGET_LINE.test(text)) return true;
  if (m.text > 80) return false;
  return CREDIT_LINE.test(text) || DATE_LINE.test(text) || isDateStamp(text);
}

/**
 * A heading with no text after it before the next heading of its level (or the end) heads nothing any more: the
 * caption of a related-stories or comments block that has been removed. A "heading" that is a sentence or two (some
 * pages set whole paragraphs in `h3`/`h4`) is text, not a caption, and counts as text following.
 */
function removeOrphanHeadings(content: DomElement): void {
  const all = Array.from(content.querySelectorAll('*'));
  // 0: text follows; n: the next thing is a heading of level n; 7: nothing follows (the heading ends the article)
  let nextTextLevel = 7;
  for (let i = all.length - 1; i >= 0; i--) {
    const element = all[i]!;
    const heading = /^H([1-6])$/.exec(element.nodeName);
    if (heading && isSentence(clean(element.textContent) ?? '')) {
      nextTextLevel = 0;
    } else if (heading) {
      const level = Number(heading[1]);
      if (nextTextLevel === 7 || (nextTextLevel !== 0 && nextTextLevel <= level)) {
        element.remove();
        continue;
      }
      nextTextLevel = level;
    } else if (hasOwnText(element) && !insideHeading(element)) {
      nextTextLevel = 0;
    }
  }
}

/** Longer than a title, or more than one sentence. */
function isSentence(text: string): boolean {
  return text.length > 80 || /[.!?]\s+\p{Lu}/u.test(text);
}

function insideHeading(element: DomElement): boolean {
  for (let e = element.parentElement; e; e = e.parentElement) if (/^H[1-6]$/.test(e.nodeName)) return true;
  return false;
}

/**
 * An HTML fragment (a feed entry's content) as the same simple Markdown, with its links made absolute against
 * `baseUrl`. Nothing of the HTML survives but its text and structure.
 */
export function htmlFragmentToMarkdown(
  html: string,
  baseUrl: string | null,
): { markdown: string; links: Array<{ url: string; text: string }> } {
  const document = parseDocument(`<!doctype html><html><head></head><body>${html}</body></html>`);
  removeBoilerplate(document);
  if (!document.body) return { markdown: '', links: [] };
  return { markdown: toMarkdown(document.body), links: baseUrl ? linksIn(document.body, baseUrl) : [] };
}

function headingsOf(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#{1,6} /, ''));
}

function linksIn(root: DomNode, base: string): Array<{ url: string; text: string }> {
  const links = new Map<string, string>();
  const walk = (node: DomNode): void => {
    if (!isElement(node)) return;
    if (node.nodeName === 'A') {
      const url = absoluteUrl(node.getAttribute('href'), base);
      if (url && !links.has(url) && links.size < 500)
        links.set(url, tidyInline(node.textContent ?? '').replace(/\n/g, ' '));
    }
    for (const child of children(node)) walk(child);
  };
  walk(root);
  return [...links].map(([url, text]) => ({ url, text }));
}

const SKIP = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'SVG',
  'CANVAS',
  'VIDEO',
  'AUDIO',
  'BUTTON',
  'INPUT',
  'SELECT',
  'TEXTAREA',
  'IMG',
  'PICTURE',
  'HEAD',
  'NAV',
]);
const BLOCK = new Set([
  'P',
  'DIV',
  'SECTION',
  'ARTICLE',
  'MAIN',
  'HEADER',
  'FOOTER',
  'ASIDE',
  'FIGURE',
  'FIGCAPTION',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'UL',
  'OL',
  'LI',
  'DL',
  'DT',
  'DD',
  'BLOCKQUOTE',
  'PRE',
  'TABLE',
  'THEAD',
  'TBODY',
  'TFOOT',
  'TR',
  'TD',
  'TH',
  'CAPTION',
  'HR',
  'ADDRESS',
  'DETAILS',
  'SUMMARY',
  'BODY',
]);

function children(node: DomNode): DomNode[] {
  return Array.from(node.childNodes);
}

/** Render a container's content as Markdown blocks separated by blank lines. */
function toMarkdown(root: DomNode): string {
  return blocks(root).join('\n\n');
}

function blocks(container: DomNode): string[] {
  const out: string[] = [];
  let inline = '';
  const flush = (): void => {
    const text = tidyInline(inline);
    if (text) out.push(text);
    inline = '';
  };
  for (const node of children(container)) {
    if (node.nodeType === TEXT_NODE) {
      inline += node.textContent ?? '';
    } else if (isElement(node) && !SKIP.has(node.nodeName)) {
      if (BLOCK.has(node.nodeName)) {
        flush();
        out.push(...block(node));
      } else {
        inline += inlineText(node);
      }
    }
  }
  flush();
  return out;
}

function block(node: DomNode): string[] {
  const name = node.nodeName;
  const heading = /^H([1-6])$/.exec(name);
  if (heading) {
    const text = tidyInline(inlineText(node)).replace(/\n/g, ' ');
    return text ? [`${'#'.repeat(Number(heading[1]))} ${text}`] : [];
  }
  switch (name) {
    case 'UL':
    case 'OL': {
      const items = listItems(node, 0);
      return items.length ? [items.join('\n')] : [];
    }
    case 'BLOCKQUOTE': {
      const inner = blocks(node);
      if (!inner.length) return [];
      return [
        inner
          .join('\n\n')
          .split('\n')
          .map((line) => (line ? `> ${line}` : '>'))
          .join('\n'),
      ];
    }
    case 'PRE': {
      const code = (node.textContent ?? '').replace(/\r\n?/g, '\n').replace(/^\n+|\s+$/g, '');
      return code ? [`\`\`\`\n${code}\n\`\`\``] : [];
    }
    case 'TABLE':
    case 'THEAD':
    case 'TBODY':
    case 'TFOOT': {
      const rows = tableRows(node);
      return rows.length ? [rows.join('\n')] : [];
    }
    case 'TR': {
      const row = tableRow(node);
      return row ? [row] : [];
    }
    case 'HR':
      return [];
    default:
      return blocks(node);
  }
}

/** `- item` lines; nested lists indent by two spaces per level. */
function listItems(list: DomNode, depth: number): string[] {
  const lines: string[] = [];
  const indent = '  '.repeat(depth);
  for (const child of children(list)) {
    if (!isElement(child)) continue;
    if (child.nodeName === 'UL' || child.nodeName === 'OL') {
      lines.push(...listItems(child, depth + 1));
      continue;
    }
    if (child.nodeName !== 'LI') continue;
    let own = '';
    const nested: string[] = [];
    for (const part of children(child)) {
      if (isElement(part) && (part.nodeName === 'UL' || part.nodeName === 'OL'))
        nested.push(...listItems(part, depth + 1));
      else if (part.nodeType === TEXT_NODE) own += part.textContent ?? '';
      else if (isElement(part) && !SKIP.has(part.nodeName)) own += ` ${inlineText(part)} `;
    }
    const text = tidyInline(own).replace(/\n/g, ' ');
    if (text) lines.push(`${indent}- ${text}`);
    lines.push(...nested);
  }
  return lines;
}

function tableRows(node: DomNode): string[] {
  const rows: string[] = [];
  for (const child of children(node)) {
    if (!isElement(child)) continue;
    if (child.nodeName === 'TR') {
      const row = tableRow(child);
      if (row) rows.push(row);
    } else if (child.nodeName === 'CAPTION') {
      const caption = tidyInline(inlineText(child));
      if (caption) rows.push(caption);
    } else {
      rows.push(...tableRows(child));
    }
  }
  return rows;
}

function tableRow(row: DomNode): string {
  const cells = children(row)
    .filter((cell) => isElement(cell) && (cell.nodeName === 'TD' || cell.nodeName === 'TH'))
    .map((cell) => tidyInline(inlineText(cell)).replace(/\n/g, ' '))
    .filter(Boolean);
  return cells.join(' | ');
}

/** Text of an element as it would read inline: links and emphasis reduce to their text, `<br>` to a newline. */
function inlineText(node: DomNode): string {
  if (node.nodeType === TEXT_NODE) return node.textContent ?? '';
  if (!isElement(node) || SKIP.has(node.nodeName)) return '';
  if (node.nodeName === 'BR') return '\n';
  let text = '';
  for (const child of children(node)) text += inlineText(child);
  // Block-level children inside an inline context still separate words.
  return BLOCK.has(node.nodeName) ? ` ${text} ` : text;
}

function tidyInline(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/[\s\u200b\ufeff]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}

/**
 * Normalise raw text or Markdown (line endings, stray whitespace, runs of blank lines) and pick a title:
 * the given one, else the first `# ` heading, else the first line.
 */
export function extractFromText(text: string, title?: string | null): ExtractedArticle {
  // Submitted Markdown may carry raw HTML; none of it (scripts, handlers, script URLs) is kept as text.
  const markdown = markdownWithoutMarkup(normaliseText(text));
  const lines = markdown.split('\n');
  const given = clean(title);
  const heading = lines.find((line) => /^#\s+\S/.test(line));
  const firstLine = lines.find((line) => line.trim() !== '');
  const derived = heading
    ? heading.replace(/^#\s+/, '').replace(/\s+#+\s*$/, '')
    : firstLine?.replace(/^\s*(?:#{1,6}\s+|[-*+]\s+|>\s?|\d+[.)]\s+)/, '');
  return {
    title: given ?? clean(truncateAtWord(derived ?? '', 120)),
    byline: null,
    lang: null,
    excerpt: firstParagraph(markdown),
    markdown,
  };
}

function normaliseText(text: string): string {
  const out: string[] = [];
  let inFence = false;
  for (const raw of text
    .replace(/\r\n?/g, '\n')
    .replace(/^\ufeff/, '')
    .split('\n')) {
    // Control characters other than tab and newline never belong in text.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
    const line = raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u200b]/g, '').replace(/\s+$/, '');
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence || /^\s*(```|~~~)/.test(line)) {
      out.push(line);
      continue;
    }
    const leading = /^[ \t]*/.exec(line)![0];
    let indent = leading.replace(/\t/g, '    ');
    const rest = line.slice(leading.length).replace(/[ \t\u00a0]+/g, ' ');
    // Up to three spaces before a paragraph's first line mean nothing in Markdown; deeper indentation (indented
    // code) and the indentation of nested list items are kept.
    const startsParagraph = out.length === 0 || out[out.length - 1] === '';
    if (startsParagraph && indent.length < 4 && !/^([-*+]|\d+[.)])\s/.test(rest)) indent = '';
    out.push(rest === '' ? '' : indent + rest);
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

function firstParagraph(markdown: string): string | null {
  for (const para of markdown.split(/\n{2,}/)) {
    const text = para.trim();
    if (!text || /^(#{1,6}\s|```|~~~|>|[-*+]\s|\d+[.)]\s|\|)/.test(text)) continue;
    return clean(truncateAtWord(text.replace(/\s+/g, ' '), 200));
  }
  return null;
}

function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max + 1).lastIndexOf(' ');
  return (cut > 0 ? text.slice(0, cut) : text.slice(0, max)).replace(/[\s,;:.-]+$/, '');
}
