import type { Stemmer } from 'snowball-stemmers';
import { snowball } from '../heavy-deps.ts';
import { language } from './language.ts';

// Snowball stemmers, so that "pump" and "pumps", "Wärmepumpe" and "Wärmepumpen" count as one word when
// sentences are compared. Stems are cached: the same words recur across a post's sentences.

const ALGORITHMS: Record<string, string> = {
  ar: 'arabic',
  ca: 'catalan',
  cs: 'czech',
  da: 'danish',
  de: 'german',
  en: 'english',
  es: 'spanish',
  eu: 'basque',
  fi: 'finnish',
  fr: 'french',
  ga: 'irish',
  hu: 'hungarian',
  hy: 'armenian',
  it: 'italian',
  nb: 'norwegian',
  nl: 'dutch',
  no: 'norwegian',
  pt: 'portuguese',
  ro: 'romanian',
  ru: 'russian',
  sl: 'slovene',
  sv: 'swedish',
  ta: 'tamil',
  tr: 'turkish',
};

const MAX_CACHED = 50_000;
const stemmers = new Map<string, { stemmer: Stemmer | null; cache: Map<string, string> }>();

/** A lower-case word's stem in the given language; the word itself in a language without a stemmer. */
export function stem(word: string, lang: string | null | undefined): string {
  const code = lang ? language(lang).code : 'en';
  let entry = stemmers.get(code);
  if (!entry) {
    const algorithm = ALGORITHMS[code === 'und' ? 'en' : code];
    entry = { stemmer: algorithm ? snowball().newStemmer(algorithm) : null, cache: new Map() };
    stemmers.set(code, entry);
  }
  if (!entry.stemmer) return word;
  let stemmed = entry.cache.get(word);
  if (stemmed === undefined) {
    stemmed = entry.stemmer.stem(word);
    if (entry.cache.size >= MAX_CACHED) entry.cache.clear();
    entry.cache.set(word, stemmed);
  }
  return stemmed;
}
