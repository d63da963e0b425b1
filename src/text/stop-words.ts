import { createRequire } from 'node:module';
import { language } from './language.ts';

// Stop words per language: function words and words too general to name a topic. English is our own list (tuned
// on posts); every other language comes from stopwords-iso, less the few content words it lists.

const ENGLISH = `a about above after again against all also am an and another any are as at be because been before
  being below between both but by can could did do does doing down during each even ever every few for from further
  had has have having he her here hers herself him himself his how however i if in into is it its itself just let like
  many may me might more most much must my myself no nor not now of off on once one only or other ought our ours
  ourselves out over own per rather same see she should since so some still such than that the their theirs them
  themselves then there these they this those though through thus to too under until up upon us very via want was we
  well were what when where whether which while who whom whose why will with within without would yet you your yours
  yourself yourselves new use used using make makes made get gets got says said say way ways often really two three
  four five first second last next year years time times day days lot lots thing things something anything everything
  nothing part kind sort`;

// stopwords-iso lists a few words that name topics; a post about time or faith should keep them.
const NOT_STOP_WORDS = new Set(['gott', 'ernst', 'zeit', 'computer', 'bill', 'billion', 'million']);

const require = createRequire(import.meta.url);
let iso: Record<string, string[]> | null = null;
const cache = new Map<string, ReadonlySet<string>>();

/** The stop words of a language (`de`, `de-AT`, …); an empty set for a language no list covers. */
export function stopWords(lang: string | null | undefined): ReadonlySet<string> {
  const code = lang ? language(lang).code : 'en';
  let words = cache.get(code);
  if (!words) {
    let list: string[];
    if (code === 'en' || code === 'und') list = ENGLISH.split(/\s+/);
    else {
      iso ??= require('stopwords-iso') as Record<string, string[]>;
      list = (iso[code] ?? []).filter((w) => !NOT_STOP_WORDS.has(w));
    }
    words = new Set(list.map((w) => w.toLowerCase().replace(/’/g, "'")).filter(Boolean));
    cache.set(code, words);
  }
  return words;
}

export function isStopWord(word: string, lang: string | null | undefined): boolean {
  return stopWords(lang).has(word.toLowerCase().replace(/’/g, "'"));
}

/**
 * Words too general to be a tag on their own ("work", "results", "information"): the stop words plus, for English,
 * stopwords-iso's longer list. A phrase may still contain them.
 */
export function genericWords(lang: string | null | undefined): ReadonlySet<string> {
  const code = lang ? language(lang).code : 'en';
  if (code !== 'en' && code !== 'und') return stopWords(code);
  const key = 'generic:en';
  let words = cache.get(key);
  if (!words) {
    iso ??= require('stopwords-iso') as Record<string, string[]>;
    words = new Set([...stopWords('en'), ...(iso.en ?? []).filter((w) => !NOT_STOP_WORDS.has(w))]);
    cache.set(key, words);
  }
  return words;
}
