import { franc } from '../heavy-deps.ts';

// The languages whose text rules (sentence boundaries, context words, stop words, number and date formats,
// readability) the offline path knows. Any other language is accepted: its text is split and copied as it is,
// and the post says which rules it went without.

export const SUPPORTED_LANGUAGES = ['en', 'de', 'fr', 'es'] as const;
export type SupportedLanguage = (typeof SUPPORTED_LANGUAGES)[number];

export type Language = {
  /** The BCP 47 tag, canonical: `de`, `de-AT`, `pl`. */
  tag: string;
  /** Its primary language subtag: `de`. */
  code: string;
  /** The rules the text is treated with; null for a language without rules of its own. */
  supported: SupportedLanguage | null;
  /** The language's English name, for messages. */
  name: string;
};

// Made by the first name asked for: it loads ICU's display names (7 MiB resident), which a process that never reads
// a text's language (the API, mostly) does without.
let names: Intl.DisplayNames | undefined;
// Every text rule asks for its language, word by word: the answers are kept (tags are few).
const known = new Map<string, Language>();

/** A language from a tag such as `de`, `de-AT`, `deu` or `EN-gb`; an unusable tag reads as undetermined (`und`). */
export function language(tag: string): Language {
  let found = known.get(tag);
  if (!found) {
    found = resolveLanguage(tag);
    if (known.size < 1000) known.set(tag, found);
  }
  return found;
}

function resolveLanguage(tag: string): Language {
  let canonical = 'und';
  try {
    canonical = Intl.getCanonicalLocales(tag.trim())[0] ?? 'und';
  } catch {
    // not a well-formed tag
  }
  const code = canonical.split('-')[0]!.toLowerCase();
  const supported = (SUPPORTED_LANGUAGES as readonly string[]).includes(code) ? (code as SupportedLanguage) : null;
  let name = code;
  try {
    names ??= new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });
    name = names.of(code) ?? code;
  } catch {
    // keep the code
  }
  return { tag: canonical, code, supported, name };
}

/** The rules to treat a text with: those of its language, or English rules' neutral parts for an unknown one. */
export function rulesFor(lang: string | Language | null | undefined): SupportedLanguage | null {
  if (!lang) return null;
  return typeof lang === 'string' ? language(lang).supported : lang.supported;
}

const MIN_DETECTION_CHARS = 200;
const DETECTION_SAMPLE_CHARS = 2500;

/**
 * The language a text is written in (`de`, `en`, `pl`, …), from its letters' trigrams (franc), or null when the
 * text is too short to tell. Markdown syntax, URLs and figures are left out of the sample.
 */
export function detectLanguage(text: string): string | null {
  const sample = text
    .slice(0, DETECTION_SAMPLE_CHARS * 2)
    .replace(/\]\([^)]*\)|https?:\/\/\S+/g, ' ')
    .replace(/[#*_>`|[\]()\d]+/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, DETECTION_SAMPLE_CHARS);
  if (sample.length < MIN_DETECTION_CHARS) return null;
  const code = franc().franc(sample, { minLength: MIN_DETECTION_CHARS });
  const tag = code === 'und' ? null : language(code).tag;
  // Trigrams misjudge short or name-heavy text ("Waverider", "Boards"); the commonest function words of the four
  // languages with rules settle it when one of them plainly dominates.
  const words = sample.toLowerCase().match(/\p{L}+/gu) ?? [];
  const shares = SUPPORTED_LANGUAGES.map((lang) => ({
    lang,
    share: words.filter((w) => FUNCTION_WORDS[lang].has(w)).length / Math.max(1, words.length),
  })).sort((a, b) => b.share - a.share);
  const [best, second] = shares;
  if (best!.share >= 0.08 && best!.share >= 2 * second!.share && tag !== best!.lang) {
    const current = shares.find((s) => s.lang === tag)?.share ?? 0;
    if (current < best!.share / 2) return best!.lang;
  }
  return tag === 'und' ? null : tag;
}

// The most frequent words of each language, nearly all of them its own.
const FUNCTION_WORDS: Record<SupportedLanguage, Set<string>> = {
  en: new Set('the and of to is in that it for was with are this be on not you have by'.split(' ')),
  de: new Set('der die und das ist nicht ein eine zu den mit von sich auch auf für dem des im'.split(' ')),
  fr: new Set('le la les et des est un une du dans que pour qui pas sur au avec ce il'.split(' ')),
  es: new Set('el la los las y que es del en un una por con para se no lo su al'.split(' ')),
};

/**
 * A source's language: what its text reads as when there is enough of it (pages often declare the wrong
 * `<html lang>`, and a syndicated article keeps its original's), else what the page declared, else null.
 */
export function sourceLanguage(source: { text: string; declared?: string | null }): string | null {
  const detected = detectLanguage(source.text);
  if (detected) return detected;
  if (source.declared) {
    const declared = language(source.declared);
    if (declared.tag !== 'und') return declared.tag;
  }
  return null;
}

/** The language most of the sources' text is in (weighted by length), or null when none could be told. */
export function sourcesLanguage(sources: { text: string; declared?: string | null }[]): string | null {
  const weight = new Map<string, number>();
  for (const source of sources) {
    const tag = sourceLanguage(source);
    if (tag) weight.set(tag, (weight.get(tag) ?? 0) + source.text.length);
  }
  return [...weight].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? null;
}

/** Headings the offline writer adds, in the post's language (English for a language without rules). */
export const SECTION_LABELS: Record<SupportedLanguage, { takeaways: string; conclusion: string; sources: string }> = {
  en: { takeaways: 'Key takeaways', conclusion: 'Conclusion', sources: 'Sources' },
  de: { takeaways: 'Das Wichtigste in Kürze', conclusion: 'Fazit', sources: 'Quellen' },
  fr: { takeaways: 'À retenir', conclusion: 'Conclusion', sources: 'Sources' },
  es: { takeaways: 'Puntos clave', conclusion: 'Conclusión', sources: 'Fuentes' },
};

export function sectionLabels(lang: string | Language | null | undefined) {
  return SECTION_LABELS[rulesFor(lang) ?? 'en'];
}

/** Every heading a Sources list goes by, in any language: the list is found by it. */
export const SOURCES_HEADINGS = [...new Set(Object.values(SECTION_LABELS).map((l) => l.sources))];

/** Month names and their usual abbreviations, January first. */
export const MONTHS: Record<SupportedLanguage, string[][]> = {
  en: [
    ['january', 'jan'],
    ['february', 'feb'],
    ['march', 'mar'],
    ['april', 'apr'],
    ['may'],
    ['june', 'jun'],
    ['july', 'jul'],
    ['august', 'aug'],
    ['september', 'sep', 'sept'],
    ['october', 'oct'],
    ['november', 'nov'],
    ['december', 'dec'],
  ],
  de: [
    ['januar', 'jänner', 'jan'],
    ['februar', 'feber', 'feb'],
    ['märz', 'mär', 'mrz'],
    ['april', 'apr'],
    ['mai'],
    ['juni', 'jun'],
    ['juli', 'jul'],
    ['august', 'aug'],
    ['september', 'sep', 'sept'],
    ['oktober', 'okt'],
    ['november', 'nov'],
    ['dezember', 'dez'],
  ],
  fr: [
    ['janvier', 'janv'],
    ['février', 'févr', 'fevrier'],
    ['mars'],
    ['avril', 'avr'],
    ['mai'],
    ['juin'],
    ['juillet', 'juil'],
    ['août', 'aout'],
    ['septembre', 'sept'],
    ['octobre', 'oct'],
    ['novembre', 'nov'],
    ['décembre', 'déc', 'decembre'],
  ],
  es: [
    ['enero', 'ene'],
    ['febrero', 'feb'],
    ['marzo', 'mar'],
    ['abril', 'abr'],
    ['mayo', 'may'],
    ['junio', 'jun'],
    ['julio', 'jul'],
    ['agosto', 'ago'],
    ['septiembre', 'setiembre', 'sep', 'sept'],
    ['octubre', 'oct'],
    ['noviembre', 'nov'],
    ['diciembre', 'dic'],
  ],
};

/** The month (1–12) a word names in the language, or null. */
export function monthOf(word: string, lang: SupportedLanguage): number | null {
  const w = word.toLowerCase().replace(/\.$/, '');
  const i = MONTHS[lang].findIndex((forms) => forms.includes(w));
  return i === -1 ? null : i + 1;
}
