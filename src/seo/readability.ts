// Flesch reading ease and Flesch–Kincaid grade, with a vowel-group syllable count: close enough for a lint
// that flags hard prose, and deterministic.

export type Readability = {
  sentences: number;
  words: number;
  syllables: number;
  fleschReadingEase: number;
  fleschKincaidGrade: number;
};

export function syllables(word: string): number {
  const w = word.toLowerCase().replace(/[^a-z]/g, '');
  if (!w) return 0;
  if (w.length <= 3) return 1;
  const trimmed = w.replace(/(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$/, '').replace(/^y/, '');
  const groups = trimmed.match(/[aeiouy]{1,2}/g);
  return Math.max(1, groups?.length ?? 1);
}

export function readability(text: string): Readability {
  const sentences = Math.max(
    1,
    (text.match(/[^.!?\n]+[.!?]+/g) ?? []).length || text.split(/\n+/).filter((l) => l.trim()).length,
  );
  const words = text.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? [];
  const wordCount = Math.max(1, words.length);
  const syllableCount = words.reduce((n, w) => n + (/\d/.test(w) ? 1 : syllables(w)), 0);
  const wps = wordCount / sentences;
  const spw = syllableCount / wordCount;
  return {
    sentences,
    words: words.length,
    syllables: syllableCount,
    fleschReadingEase: Math.round((206.835 - 1.015 * wps - 84.6 * spw) * 10) / 10,
    fleschKincaidGrade: Math.round((0.39 * wps + 11.8 * spw - 15.59) * 10) / 10,
  };
}
