import { language, type SupportedLanguage } from '../text/language.ts';
import { splitSentences } from '../text/sentences.ts';

// Readability by the formula made for the text's language, on the Flesch scale (0 hard – 100 easy): Flesch
// (English), Amstad (German), Kandel & Moles (French), Szigriszt-Pazos (Spanish, the INFLESZ scale); a school
// grade where a formula exists: Flesch–Kincaid (English), the first Wiener Sachtextformel (German). Syllables are
// vowel groups with the language's vowels and its usual exceptions: close enough for a lint that flags hard prose,
// and deterministic. Other languages get no score.

export type Readability = {
  /** The language whose formulas were used, or null when none fits. */
  language: SupportedLanguage | null;
  sentences: number;
  words: number;
  syllables: number;
  /** Reading ease on the Flesch scale, by {@link Readability.readingEaseFormula}; null without a formula. */
  readingEase: number | null;
  readingEaseFormula: string | null;
  /** A school grade, by {@link Readability.gradeFormula}; null where no formula fits the language. */
  grade: number | null;
  gradeFormula: string | null;
};

const FORMULAS: Record<SupportedLanguage, { ease: string; grade: string | null }> = {
  en: { ease: 'Flesch reading ease', grade: 'Flesch–Kincaid grade' },
  de: { ease: 'Flesch reading ease (Amstad)', grade: 'Wiener Sachtextformel' },
  fr: { ease: 'Kandel–Moles reading ease', grade: null },
  es: { ease: 'Szigriszt-Pazos (INFLESZ) reading ease', grade: null },
};

const VOWELS: Record<SupportedLanguage, RegExp> = {
  en: /[aeiouy]+/g,
  de: /[aeiouyäöü]+/g,
  fr: /[aeiouyàâäéèêëîïôöùûüœæ]+/g,
  es: /[aeiouáéíóúü]+/g,
};

/** Syllables of a word in a language, counted as vowel groups with the language's exceptions. */
export function syllables(word: string, lang: SupportedLanguage = 'en'): number {
  const w = word.toLowerCase().replace(/[^\p{L}]/gu, '');
  if (!w) return 0;
  if (lang === 'en') {
    const ascii = w.replace(/[^a-z]/g, '');
    if (ascii.length <= 3) return 1;
    const trimmed = ascii.replace(/(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$/, '').replace(/^y/, '');
    return Math.max(1, trimmed.match(/[aeiouy]{1,2}/g)?.length ?? 1);
  }
  let stem = w;
  // French: a final e (es, ent of verbs is too uncertain to drop) is silent after a consonant.
  if (lang === 'fr' && stem.length > 3) stem = stem.replace(/(?<=[^aeiouyàâäéèêëîïôöùûü])es?$/, '');
  let groups = stem.match(VOWELS[lang])?.length ?? 0;
  // Spanish: two strong vowels, or an accented weak one, are two syllables (hiatus): "ca-e-mos", "dí-a".
  if (lang === 'es') groups += stem.match(/[aeoáéó](?=[aeoáéó])|[íú](?=[aeo])|[aeo](?=[íú])/g)?.length ?? 0;
  return Math.max(1, groups);
}

const round = (n: number): number => Math.round(n * 10) / 10;

export function readability(text: string, lang: string = 'en'): Readability {
  const rules = language(lang).supported;
  const sentenceCount = Math.max(
    1,
    text
      .split(/\n+/)
      .filter((l) => l.trim())
      .reduce((n, line) => n + splitSentences(line, lang).length, 0),
  );
  const words = text.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? [];
  const wordCount = Math.max(1, words.length);
  const counts = words.map((w) => (/\d/.test(w) ? 1 : syllables(w, rules ?? 'en')));
  const syllableCount = counts.reduce((n, c) => n + c, 0);
  const asl = wordCount / sentenceCount;
  const asw = syllableCount / wordCount;
  let readingEase: number | null = null;
  let grade: number | null = null;
  switch (rules) {
    case 'en':
      readingEase = 206.835 - 1.015 * asl - 84.6 * asw;
      grade = 0.39 * asl + 11.8 * asw - 15.59;
      break;
    case 'de': {
      readingEase = 180 - asl - 58.5 * asw;
      const share = (test: (c: number, i: number) => boolean): number => (100 * counts.filter(test).length) / wordCount;
      const ms = share((c) => c >= 3);
      const iw = share((_, i) => [...words[i]!].length > 6);
      const es = share((c) => c === 1);
      grade = 0.1935 * ms + 0.1672 * asl + 0.1297 * iw - 0.0327 * es - 0.875;
      break;
    }
    case 'fr':
      readingEase = 207 - 1.015 * asl - 73.6 * asw;
      break;
    case 'es':
      readingEase = 206.835 - 62.3 * asw - asl;
      break;
  }
  return {
    language: rules,
    sentences: sentenceCount,
    words: words.length,
    syllables: syllableCount,
    readingEase: readingEase === null ? null : round(readingEase),
    readingEaseFormula: rules ? FORMULAS[rules].ease : null,
    grade: grade === null ? null : round(grade),
    gradeFormula: rules ? FORMULAS[rules].grade : null,
  };
}
