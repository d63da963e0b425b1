// Sentence splitting shared by the offline writer and the grounding gate: Unicode sentence boundaries
// (Intl.Segmenter, ICU's rules for the language), then the language's abbreviations, initials, German ordinals
// ("am 3. Oktober") and open brackets put back together, and run-ons without a space ("gone.The next") split.

import { language, monthOf, rulesFor, type SupportedLanguage } from './language.ts';

const ABBREVIATIONS: Record<SupportedLanguage, string[]> = {
  en: `mr mrs ms dr prof sr jr st vs etc e.g i.e inc ltd co corp no nos fig figs approx dept est jan feb mar apr jun
    jul aug sep sept oct nov dec u.s u.k u.n a.m p.m cf al vol vols p pp ch gen gov sen rep rev capt col lt sgt mt ft
    ave blvd rd op ed eds min max`.split(/\s+/),
  de: `z.b d.h u.a o.ä u.ä s.o s.u v.a u.v.m bzw usw ca vgl dr prof nr st str mio mrd tsd jh jhd evtl ggf inkl exkl
    zzgl bspw sog etc abs art bd bde hrsg stv stellv geb gest mind vs ggü ehem insb allg sen jun jan feb mär apr aug sep
    sept okt nov dez kap tel std hr hrn fr mag dipl ing med rer nat phil techn univ abt anm bsp zit gem lt uvm u.s.w
    o.g a.d i.d.r z.t z.zt`.split(/\s+/),
  fr: `m mm mme mmes mlle mlles dr pr st ste av bd etc cf env p ex janv févr avr juil sept oct nov déc md mds mrd
    apr j.-c n° no vol chap fig éd coll art al`.split(/\s+/),
  es: `sr sra srta sres dr dra lic ing ud uds etc pág págs núm no vol aprox av avda ej p ene feb mar abr jun jul ago
    sep sept oct nov dic mill mills dña d.ª a.c d.c cap fig art admón gral ee.uu`.split(/\s+/),
};
const abbreviationSets = Object.fromEntries(
  Object.entries(ABBREVIATIONS).map(([lang, list]) => [lang, new Set(list)]),
) as Record<SupportedLanguage, Set<string>>;

// Words before a German ordinal: "am 3. Oktober", "der 2. Weltkrieg", "zum 1. Mal".
const GERMAN_ORDINAL_CONTEXT = new Set(
  'am im vom zum zur bis ab seit dem den der die das des ein eine einer einem einen jeden jeder jedes jede'.split(' '),
);

/** Characters a sentence may reach by being joined to the next one inside an open quotation. */
const QUOTE_SPAN = 300;

/**
 * A source's footnote marks ("[8]", "[a]", "[citation needed]") taken out: copied into a post they would read as
 * its own citation markers.
 */
export function withoutFootnoteMarks(text: string): string {
  return text.replace(/\s?\[(?:\d{1,3}|[a-z]|[ivx]{1,5}|citation needed|note \d+|nb \d+)\](?!\()/gi, '');
}

/** Whether a sentence closes a quotation it did not open: it continues the quoted speech of the one before. */
export function closesQuote(text: string): boolean {
  const straight = (text.match(/"/g) ?? []).length;
  if (straight % 2 === 1 && /"\s*\S{0,40}$/.test(text) && !/^\s*["“„«]/.test(text)) return true;
  const count = (re: RegExp): number => (text.match(re) ?? []).length;
  if (count(/[«»]/g) % 2 === 1 && /[«»]\s*\S{0,40}$/.test(text) && !/^\s*[«»]/.test(text)) return true;
  return text.includes('„') ? false : count(/”/g) > count(/“/g);
}

// One segmenter per language tag, at most 64 (tags come from what was submitted; any number may arrive).
const segmenters = new Map<string, Intl.Segmenter>();
function segmenter(tag: string): Intl.Segmenter {
  let s = segmenters.get(tag);
  if (!s) {
    s = new Intl.Segmenter(tag, { granularity: 'sentence' });
    if (segmenters.size >= 64) segmenters.clear();
    segmenters.set(tag, s);
  }
  return s;
}

/** Split a paragraph into sentences. `lang` is a BCP 47 tag; an unknown language gets only the Unicode rules. */
export function splitSentences(paragraph: string, lang: string = 'en'): string[] {
  const text = paragraph.replace(/\s+/g, ' ').trim();
  if (!text) return [];
  const info = language(lang);
  const rules = rulesFor(info);
  const pieces: string[] = [];
  for (const { segment } of segmenter(info.tag === 'und' ? 'en' : info.tag).segment(text)) {
    // A run-on ("gone.The next"): split after a lower-case word's full stop directly followed by a capitalised word.
    // ICU does not break before a lower-case start, so a sentence opening with a name such as "iBuyPower" is split
    // here. Nor before a figure whose next word is in lower case ("… ein Buch. 1921 wird sie geboren."), nor before a
    // dash that opens a sign-off ("… operations. — If you enjoyed …"); abbreviations split off this way are joined
    // again below.
    pieces.push(
      ...segment.split(
        /(?<=\p{Ll}{2}[.!?])(?=\p{Lu}\p{Ll})|(?<=\p{Ll}{2}[.!?]\s+)(?=\p{Ll}+\p{Lu})|(?<=\p{L}{2}[.!?]\s+)(?=\d[\d.,:]*\s+\p{L})|(?<=\p{L}{2}[.!?]\s+)(?=[—–]\s*\p{Lu})/u,
      ),
    );
  }
  const sentences: string[] = [];
  for (let piece of pieces) {
    // A closing quote or bracket set off by a space, as French typesets them (« Non. »), ends the sentence before.
    const closer = /^[»”’)\]}]+\s*/u.exec(piece)?.[0];
    if (closer && sentences.length > 0) {
      sentences[sentences.length - 1] += closer;
      piece = piece.slice(closer.length);
      if (!piece) continue;
    }
    const previous = sentences.at(-1);
    if (previous !== undefined && continues(previous, piece, rules)) sentences[sentences.length - 1] = previous + piece;
    else sentences.push(piece);
  }
  return sentences.map((s) => s.trim()).filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Whether `next` continues `previous` rather than starting a sentence of its own. */
function continues(previous: string, next: string, rules: SupportedLanguage | null): boolean {
  const prev = previous.trimEnd();
  const start = next.trimStart();
  // An opening bracket still open.
  if (count(prev, /[([{]/g) > count(prev, /[)\]}]/g)) return true;
  // A quotation still open: die Frage "Wie kann ich abnehmen?" sucht ihr. Web text often leaves a quote
  // unclosed, so a sentence grows this way only up to a point.
  if (prev.length < QUOTE_SPAN && quoteOpen(prev)) return true;
  // A sentence does not start in lower case, unless with a name such as "iPhone" or "eBay": after a quoted
  // exclamation or question ("when does that “a-ha!” moment occur?") the sentence goes on.
  if (/[.!?…]["'“”‘’«»)\]]*$/u.test(prev) && /^\p{Ll}/u.test(start) && !/^\p{Ll}+\p{Lu}/u.test(start)) return true;
  if (!prev.endsWith('.')) return false;
  const before = /(\S+)\.$/.exec(prev)?.[1] ?? '';
  const token = before.toLowerCase().replace(/^[("'“‘„«[]+/, '');
  // An initial or a one-letter abbreviation ("J. R. Tolkien", "z. B."), a list number ("1.").
  if (/^\p{L}$/u.test(token) || /^\d{1,2}$/.test(prev)) return true;
  if (rules && abbreviationSets[rules].has(token)) return true;
  if (rules === 'de' && /^\d{1,4}$/.test(token)) {
    const nextWord = /^[\p{L}]+/u.exec(start)?.[0] ?? '';
    const wordBefore = /(\S+)\s+\S+\.$/.exec(prev)?.[1]?.toLowerCase() ?? '';
    if (monthOf(nextWord, 'de') !== null || GERMAN_ORDINAL_CONTEXT.has(wordBefore)) return true;
  }
  return false;
}

/** Whether a text leaves a quotation open (a quote mark without its closing one). */
export function quoteOpen(text: string): boolean {
  // Guillemets point either way (« French », »German«): an odd number of them is an open quotation.
  if (count(text, /"/g) % 2 === 1 || count(text, /[«»]/g) % 2 === 1) return true;
  // German opens with „ and closes with “; English opens with “ and closes with ”.
  return text.includes('„') ? count(text, /„/g) > count(text, /“/g) : count(text, /“/g) > count(text, /”/g);
}

/** Whether a text leaves a single quotation mark open (‘…’, whose closing mark is also the apostrophe). */
export function singleQuoteOpen(text: string): boolean {
  const at = text.lastIndexOf('‘');
  return at >= 0 && !text.includes('’', at);
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}
