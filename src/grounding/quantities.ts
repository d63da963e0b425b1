import { MONTHS, monthOf, rulesFor, type SupportedLanguage } from '../text/language.ts';

// Figures as a reader understands them: a value with its scale and unit ("4 million euros", "4,5 Mio. Euro" and
// "€4m" are one figure; the "4" of "Raspberry Pi 4" is another), and dates in the language's formats
// ("3. Oktober 2024", "October 3, 2024", "03.10.2024" and "2024-10-03" are one date).

export type Quantity =
  | { kind: 'number'; text: string; value: number; unit: string | null; scaled: boolean }
  | { kind: 'date'; text: string; year: number | null; month: number | null; day: number | null };

const SCALES: Record<SupportedLanguage, [RegExp, number][]> = {
  en: [
    [/^(?:thousand|k)$/i, 1e3],
    [/^(?:million|millions|mn|m|mio)$/i, 1e6],
    [/^(?:billion|billions|bn|b)$/i, 1e9],
    [/^(?:trillion|trillions|tn)$/i, 1e12],
  ],
  de: [
    [/^(?:tausend|tsd)$/i, 1e3],
    [/^(?:million|millionen|mio)$/i, 1e6],
    [/^(?:milliarde|milliarden|mrd|mia)$/i, 1e9],
    [/^(?:billion|billionen)$/i, 1e12],
  ],
  fr: [
    [/^(?:mille|k)$/i, 1e3],
    [/^(?:million|millions|m|mio)$/i, 1e6],
    [/^(?:milliard|milliards|md|mds|mrd)$/i, 1e9],
    [/^(?:billion|billions)$/i, 1e12],
  ],
  es: [
    [/^(?:mil)$/i, 1e3],
    [/^(?:millón|millon|millones|mill|mll|m)$/i, 1e6],
    [/^(?:billón|billon|billones)$/i, 1e12],
  ],
};

// Units by what they measure, in the four languages; the key is what is compared.
const UNITS: [RegExp, string][] = [
  [/^(?:%|percent|per cent|prozent|pour cent|por ciento|pct)$/i, '%'],
  [/^(?:€|eur|euro|euros|cent|cents|céntimos?)$/i, 'EUR'],
  [/^(?:\$|usd|dollars?|us-dollar|dólares|dolares|dollar américains?)$/i, 'USD'],
  [/^(?:£|gbp|pounds?|pfund|livres?|libras?)$/i, 'GBP'],
  [/^(?:chf|franken|francs? suisses?)$/i, 'CHF'],
  [/^(?:¥|yen|jpy)$/i, 'JPY'],
  [/^(?:km|kilometers?|kilometres?|kilometer|kilomètres?|kilómetros?)$/i, 'km'],
  [/^(?:kg|kilograms?|kilogramm|kilos?|kilogrammes?|kilogramos?)$/i, 'kg'],
  [/^(?:t|tonnes?|tons?|tonnen|toneladas?)$/i, 't'],
  [/^(?:m²|qm|square met(?:er|re)s?|quadratmeter|mètres? carrés?|metros? cuadrados?)$/i, 'm²'],
  [/^(?:°c|grad celsius|degrees celsius|degrés|grados)$/i, '°C'],
  [/^(?:kwh|mwh|gwh|twh)$/i, 'Wh'],
  [/^(?:mw|gw|kw|megawatts?|gigawatts?)$/i, 'W'],
  [/^(?:gb|tb|mb|gigabytes?|terabytes?|megabytes?)$/i, 'B'],
  [/^(?:people|persons|menschen|personen|personnes|personas|einwohner|habitants|habitantes)$/i, 'people'],
];
const SYMBOL_BEFORE: Record<string, string> = { '€': 'EUR', $: 'USD', '£': 'GBP', '¥': 'JPY' };

// Unit multipliers folded into the value so that "2.5 GW" and "2,500 MW" agree.
const UNIT_FACTORS: Record<string, number> = { kwh: 1e3, mwh: 1e6, gwh: 1e9, twh: 1e12, kw: 1e3, mw: 1e6, gw: 1e9 };

/** Parses a numeral as the language writes it: "1,234.5" in English, "1.234,5" in German, "1 234,5" in French. */
function parseNumeral(raw: string, rules: SupportedLanguage | null): number | null {
  let text = raw.replace(/[\u00a0\u202f\u2009]/g, ' ').replace(/['’]/g, '');
  const decimalComma = rules !== null && rules !== 'en';
  // Spaces group thousands only in whole groups of three: "10 000", not "2020 300".
  if (/\s/.test(text)) {
    if (!/^\d{1,3}(?: \d{3})+(?:[.,]\d+)?$/.test(text)) return null;
    text = text.replace(/ /g, '');
  }
  let normalised: string;
  if (decimalComma) {
    normalised = /^\d{1,3}(?:\.\d{3})+(?:,\d+)?$/.test(text)
      ? text.replace(/\./g, '').replace(',', '.')
      : text.includes(',')
        ? text.replace(/\./g, '').replace(',', '.')
        : text;
  } else {
    normalised = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(text)
      ? text.replace(/,/g, '')
      : text.replace(/,(?=\d{3}\b)/g, '');
    if (/,/.test(normalised)) normalised = normalised.replace(',', '.');
  }
  const value = Number(normalised);
  return Number.isFinite(value) ? value : null;
}

/**
 * The figures and dates of a text, in order. `lang` chooses how numerals, scales and months are read; a language
 * without rules is read as English is, except that its month names are not known.
 */
export function quantitiesIn(text: string, lang: string | null | undefined): Quantity[] {
  const rules = rulesFor(lang ?? 'en');
  const months = rules ? MONTHS[rules].flat() : [];
  const monthPattern = months.length
    ? months
        .sort((a, b) => b.length - a.length)
        .map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|')
    : '(?!)';
  const out: Quantity[] = [];
  const taken: [number, number][] = [];
  const free = (start: number, end: number): boolean => taken.every(([a, b]) => end <= a || start >= b);
  const add = (q: Quantity, start: number, end: number): void => {
    out.push(q);
    taken.push([start, end]);
  };
  const month = (word: string): number | null => (rules ? monthOf(word, rules) : null);

  // ISO dates, then numeric dates with dots or slashes (day first outside English).
  for (const m of text.matchAll(/\b(\d{4})-(\d{1,2})-(\d{1,2})\b/g))
    add({ kind: 'date', text: m[0], year: +m[1]!, month: +m[2]!, day: +m[3]! }, m.index, m.index + m[0].length);
  for (const m of text.matchAll(/\b(\d{1,2})([./])(\d{1,2})\2(\d{4}|\d{2})\b/g)) {
    if (!free(m.index, m.index + m[0].length)) continue;
    const [a, b] = [+m[1]!, +m[3]!];
    const [day, mon] = rules === 'en' && m[2] === '/' ? [b, a] : [a, b];
    if (mon < 1 || mon > 12 || day < 1 || day > 31) continue;
    const year = m[4]!.length === 2 ? 2000 + +m[4]! : +m[4]!;
    add({ kind: 'date', text: m[0], year, month: mon, day }, m.index, m.index + m[0].length);
  }
  // Dates with month names: "3. Oktober 2024", "3 octobre 2024", "3 de octubre de 2024", "October 3, 2024",
  // "Oktober 2024", "October 3".
  const named = new RegExp(
    `(?<![\\p{L}\\d])(?:(\\d{1,2})\\.?\\s+(?:de\\s+)?)?(${monthPattern})\\.?(?:\\s+(\\d{1,2})(?:st|nd|rd|th)?,?)?(?:\\s+(?:de\\s+|del\\s+)?(\\d{4}))?(?![\\p{L}\\d])`,
    'giu',
  );
  for (const m of text.matchAll(named)) {
    const [dayBefore, name, dayAfter, year] = [m[1], m[2]!, m[3], m[4]];
    const mon = month(name);
    if (!mon || (!dayBefore && !dayAfter && !year)) continue;
    // "may" and "mar" are words too: a bare English month abbreviation needs a day or year beside it.
    if (!free(m.index, m.index + m[0].length)) continue;
    add(
      {
        kind: 'date',
        text: m[0].trim(),
        year: year ? +year : null,
        month: mon,
        day: dayBefore ? +dayBefore : dayAfter ? +dayAfter : null,
      },
      m.index,
      m.index + m[0].length,
    );
  }

  // Numbers, with a currency symbol before them or a scale and unit after them.
  const numeral =
    /(?<![\p{L}\d])([€$£¥])?\s?(\d{1,3}(?:[ \u00a0\u202f](?=\d{3}(?!\d))\d{3})+(?:[.,]\d+)?|\d+(?:[.,’']\d+)*)(?!\d)/gu;
  for (const m of text.matchAll(numeral)) {
    let end = m.index + m[0].length;
    if (!free(m.index, end)) continue;
    const raw = m[2]!.replace(/[.,]$/, '');
    let value = parseNumeral(raw, rules);
    if (value === null) continue;
    let unit: string | null = m[1] ? SYMBOL_BEFORE[m[1]]! : null;
    let scaled = false;
    let rest = text.slice(end);
    const nextWord = (): { word: string; length: number } | null => {
      // Units of two words first ("por ciento", "pour cent", "grad celsius").
      const two = /^(\s?)([\p{L}]+\s[\p{L}]+)/u.exec(rest);
      if (two && UNITS.some(([re]) => re.test(two[2]!))) return { word: two[2]!, length: two[0].length };
      const w = /^(\s?)([\p{L}%€$£¥°²]+\.?)/u.exec(rest);
      return w ? { word: w[2]!.replace(/\.$/, ''), length: w[0].length } : null;
    };
    const scale = nextWord();
    const factor = scale && rules ? SCALES[rules].find(([re]) => re.test(scale.word))?.[1] : undefined;
    // A bare letter ("4 m", "5 b") is a scale only straight after a currency ("€4m"), never after a space.
    if (scale && factor && (scale.word.length > 1 || (unit && !/^\s/.test(rest)))) {
      value *= factor;
      scaled = true;
      end += scale.length;
      rest = text.slice(end);
      // "mil millones" is a thousand million.
      if (rules === 'es' && factor === 1e3 && /^\s+millones\b/i.test(rest)) {
        value *= 1e6;
        const extra = /^\s+millones/i.exec(rest)![0].length;
        end += extra;
        rest = text.slice(end);
      }
    }
    const unitWord = nextWord();
    if (!unit && unitWord) {
      // "euros", "Euro", "de euros", "d'euros"
      const found = UNITS.find(([re]) => re.test(unitWord.word));
      if (found) {
        unit = found[1];
        const f = UNIT_FACTORS[unitWord.word.toLowerCase()];
        if (f) value *= f;
        end += unitWord.length;
      } else {
        const of = /^\s+(?:de|d['’]|of)\s*([\p{L}]+)/iu.exec(rest);
        const ofUnit = of && UNITS.find(([re]) => re.test(of[1]!));
        if (ofUnit && scaled) {
          unit = ofUnit[1];
          end += of[0].length;
        }
      }
    }
    const written = text
      .slice(m.index, end)
      .trim()
      .replace(/(\p{L}{4,})\.$/u, '$1');
    const q: Quantity = { kind: 'number', text: written, value, unit, scaled };
    add(q, m.index, end);
  }
  return out;
}

function sameValue(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Whether a figure of the post is found among the sources' figures: a date when every part it names is there in
 * one source date; a number with its value (scale included) and, when it names one, its unit; a bare number also
 * as a year or day of a date.
 */
export function quantityGrounded(q: Quantity, sources: Quantity[]): boolean {
  if (q.kind === 'date') {
    return sources.some(
      (s) =>
        (s.kind === 'date' &&
          (q.year === null || s.year === q.year) &&
          (q.month === null || s.month === q.month) &&
          (q.day === null || s.day === q.day)) ||
        // A year alone is also a plain number in a source ("in 2024").
        (s.kind === 'number' && q.month === null && q.day === null && q.year !== null && sameValue(s.value, q.year)),
    );
  }
  return sources.some((s) => {
    if (s.kind === 'date') return !q.unit && !q.scaled && (s.year === q.value || s.day === q.value);
    if (!sameValue(s.value, q.value)) return false;
    return q.unit === null || s.unit === q.unit;
  });
}
