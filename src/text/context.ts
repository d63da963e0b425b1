import { language, type SupportedLanguage } from './language.ts';

// Sentences that lean on the one before them: they open with an anaphor or a connective ("This means…",
// "However, …", "Dabei …", "Cependant, …") or refer back within ("the two", "is different"). Copied on their
// own they read as answers to a question nobody asked, so the offline writer uses them only after the
// sentence they follow in their source.

const OPENERS: Record<SupportedLanguage, string[]> = {
  en: `this that these those it its they them their theirs he she his her him such however but so also and or nor yet
    still thus therefore hence then meanwhile instead otherwise moreover furthermore besides nevertheless nonetheless
    indeed likewise similarly consequently accordingly both another others which whose here afterwards later
    additionally conversely regardless alternatively ultimately`.split(/\s+/),
  de: `dies diese dieser dieses diesem diesen dadurch dabei damit dazu davon darauf daraus darin dafür dagegen danach
    davor daher darum deshalb deswegen dennoch trotzdem jedoch aber doch denn also außerdem zudem ebenso ebenfalls auch
    so hierbei hierzu hierfür hier dort allerdings stattdessen beide beides letztere letzterer letzteres erstere solche
    solcher solches solchen derartige somit folglich und oder sondern er sie ihr ihre ihren ihrem ihrer ihres sein seine
    seinen seinem seiner seines es dann anschließend darüber demnach dementsprechend diesbezüglich übrigens immerhin
    daneben weiterhin ferner wiederum jene jener jenes jenen insofern sodass zugleich`.split(/\s+/),
  fr: `ce cela ça ceci cet cette ces il elle ils elles leur leurs son sa ses cependant mais donc aussi ainsi pourtant
    toutefois néanmoins or et ou puis ensuite alors celui celle ceux celles lequel laquelle lesquels lesquelles
    également d'ailleurs dès là`.split(/\s+/),
  es: `este esta estos estas esto ese esa esos esas eso aquel aquella aquellos aquellas aquello ello él ella ellos ellas
    su sus pero así además también entonces luego incluso y o ambos ambas dicho dicha dichos dichas tal tales asimismo
    igualmente allí ahí aquí éste ésta éstos éstas`.split(/\s+/),
};

/** Openers of several words, matched at the start of a sentence (lower case, after the first word's punctuation). */
const OPENING_PHRASES: Record<SupportedLanguage, string[]> = {
  en: [
    'the two',
    'the latter',
    'the former',
    'the same',
    'the other',
    'the rest',
    'in addition',
    'in contrast',
    'by contrast',
    'on the other hand',
    'as a result',
    'for example',
    'for instance',
    'even so',
    'after that',
    'because of this',
    'in other words',
    'in turn',
    'at the same time',
    'to do so',
    'to that end',
    'in that case',
    'in this case',
    'if so',
    'if not',
    'for this reason',
    'for that reason',
  ],
  de: [
    'die beiden',
    'der letztere',
    'die letztere',
    'das letztere',
    'zum anderen',
    'im gegenzug',
    'im gegensatz dazu',
    'vor allem deshalb',
    'aus diesem grund',
    'in diesem fall',
    'auf diese weise',
    'zum beispiel',
    'mit anderen worten',
  ],
  fr: [
    'par ailleurs',
    'en outre',
    'de plus',
    'par conséquent',
    'en revanche',
    'au contraire',
    'dès lors',
    'pour autant',
    'tous deux',
    'toutes deux',
    'les deux',
    'ce dernier',
    'cette dernière',
    'ces derniers',
    'par exemple',
    'en effet',
    "c'est pourquoi",
    'de même',
    'pour cette raison',
    'pour ces raisons',
  ],
  es: [
    'sin embargo',
    'aun así',
    'no obstante',
    'por eso',
    'por ello',
    'por lo tanto',
    'por tanto',
    'por otro lado',
    'por otra parte',
    'en cambio',
    'es decir',
    'por su parte',
    'este último',
    'esta última',
    'de hecho',
    'por ejemplo',
    'a su vez',
    'de este modo',
    'de esta manera',
    'por esta razón',
    'por esa razón',
    'por ende',
    'por consiguiente',
    'en consecuencia',
    'de ahí',
  ],
};

/** References back anywhere in a sentence ("Telling the two apart…", "… is different: …"). */
const REFERENCES: Record<SupportedLanguage, RegExp[]> = {
  en: [
    /\bthe two\b(?! (?:of|hundred|thousand|million|billion|years?|days?|weeks?|months?|hours?|minutes?)\b)/i,
    /\b(?:is|are|was|were) (?:different|similar|the same)\b(?! (?:from|to|than|as|for|in|across)\b)/i,
    /\bthe (?:latter|former)\b/i,
    /\b(?:mentioned|described|discussed) (?:above|earlier|before)\b/i,
    /\b(?:as well|too)[.!?]?$/i,
    /\bthese\b/i,
    // A pronoun subject after an opening phrase: "Instead of switching on and off, it ramps up…".
    /^[^.;:]{0,80},\s(?:it|they|he|she|this|these|its|their)\s/i,
    /^(?:\S+\s+){1,4}(?:however|therefore|nevertheless|nonetheless|also|likewise|meanwhile)\b/i,
    // The second step of an enumeration: "Second, …", "Finally, …".
    /^(?:second|secondly|third|thirdly|fourth|fourthly|finally|lastly)\s*,/i,
    /\bthose\b(?! (?:who|whom|whose|which|that|with|in|of|at|on|for|from|under|over|aged)\b)/i,
    // A quotation whose speaker is only a pronoun ("…,” he said."): the sentence before names them.
    /[,"”]\s*(?:he|she|they) (?:said|says|added|adds|explained|explains|told|tells|wrote|writes|noted|notes|continued|continues)\b[^.!?]{0,80}[.!?]?["'”]?$/i,
    /[,"”]\s*(?:said|says|added|adds|explained|explains) (?:he|she)\s*[.!?]["'”]?$/i,
  ],
  de: [
    /\bdie beiden\b(?! \p{Lu})/u,
    /\b(?:oben|zuvor) (?:genannt|erwähnt|beschrieben)/i,
    /\b(?:ebenfalls|ebenso)\b/i,
    /^(?:\S+\s+){1,6}(?:jedoch|allerdings|trotzdem|dennoch|deshalb|daher|deswegen|außerdem|zudem|folglich|somit|also|auch)\b/iu,
    /\b(?:dafür|dabei|dadurch|dazu|davon|darauf|darüber|daran|darin|daraus|dagegen|hierfür|hierbei)\b/iu,
    /^[^.;:]{0,80},\s(?:er|sie|es)\s/u,
    /^(?:zweitens|drittens|viertens|schließlich|zuletzt|zum (?:zweiten|dritten|schluss))\b/iu,
    /\bdiese[mnrs]?\b(?! (?:Woche|Jahr|Jahres|Monat|Monats|Sommer|Winter|Herbst|Frühjahr|Frühling|Saison)\b)/iu,
    /[,"“»]\s*(?:sagte|sagt|erklärte|erklärt|betonte|betont|fügte|ergänzte|ergänzt|meinte|meint|so) (?:er|sie)\b[^.!?]{0,60}[.!?]?$/u,
  ],
  fr: [
    /\bles deux\b(?! \p{L}{3,})/iu,
    /(?:^|[\s(])(?:ci-dessus|précédemment|mentionnée?s? plus haut)\b/iu,
    /(?:^|\s)ces\s/iu,
    /\s(?:cette|cet)\s(?!(?:année|semaine|fois|saison|nuit|matinée|soirée)\b)/iu,
    /^[^.;:]{0,80},\s(?:il|elle|ils|elles)\s/iu,
    /^(?:deuxièmement|troisièmement|enfin|en dernier lieu|d'autre part)(?=[\s,]|$)/iu,
    /^(?:\S+\s+){1,4}(?:cependant|toutefois|pourtant|donc|aussi|également|néanmoins|alors)\b/iu,
    /\b(?:a|aurait)-t-(?:il|elle)\b|\b(?:dit|explique|ajoute|affirme|estime|précise|souligne|raconte|poursuit)-(?:il|elle)\b/iu,
  ],
  es: [
    /\blos dos\b(?! \p{L}{3,})/iu,
    /\b(?:mencionad[oa]s? anteriormente|antes mencionad[oa]s?)\b/iu,
    /\b(?:estos|estas|esos|esas)\b/iu,
    /^[^.;:]{0,80},\s(?:él|ella|ellos|ellas)\s/iu,
    /^(?:segundo|tercero|en segundo lugar|en tercer lugar|finalmente|por último)\s*,/iu,
    /^(?:\S+\s+){1,4}(?:sin embargo|también|además|por lo tanto|no obstante|entonces|asimismo)(?=[\s,.]|$)/iu,
    // A quotation closed by a verb of saying with no subject ("…”, dijo."): the speaker is in the sentence before.
    /[,"”»]\s*(?:dijo|añadió|agregó|explicó|señaló|afirmó|aseguró|indicó|comentó|subrayó|sostuvo|precisó|recalcó|manifestó|expresó)\s*[.!?]?$/iu,
  ],
};

// German articles read as pronouns before a verb: "Das ist…", "Die sind…".
const GERMAN_PRONOUN_ARTICLES = new Set(['das', 'der', 'die', 'den', 'dem']);
const GERMAN_VERBS = new Set(
  `ist war sind waren wird werden wurde wurden hat haben hatte hatten kann können konnte konnten soll sollen sollte
   sollten muss müssen musste mussten heißt bedeutet bedeuten zeigt zeigen liegt liegen gilt gelten macht machen klingt
   geht betrifft sei seien wäre wären ändert führt sorgt bringt lässt reicht hilft stimmt erklärt kostet dauert`.split(
    /\s+/,
  ),
);
// Impersonal openers that refer to nothing before: "It is…"? no; "Es gibt…", "Il y a…", "Il faut…".
const IMPERSONAL: Record<SupportedLanguage, RegExp | null> = {
  en: null,
  de: /^es (?:gibt|geht um|handelt sich)\b/,
  fr: /^il (?:y a|faut|s'agit|est (?:possible|nécessaire|important|difficile|temps))\b/,
  es: null,
};

const openerSets = Object.fromEntries(Object.entries(OPENERS).map(([k, v]) => [k, new Set(v)])) as Record<
  SupportedLanguage,
  Set<string>
>;

/**
 * Whether a sentence leans on the one before it. Only the four languages with rules are judged; a sentence in
 * any other language (or a fragment starting in lower case) is judged by its case alone.
 */
export function dependsOnContext(sentence: string, lang: string | null | undefined): boolean {
  const text = sentence
    .trim()
    .replace(/^[\s"'“”‘’„«»¿¡([*_-]+/u, '')
    .replace(/’/g, "'");
  if (!text) return false;
  // A fragment: the sentence splitter cut it off from the start of its sentence.
  if (/^\p{Ll}/u.test(text)) return true;
  const rules = lang ? language(lang).supported : 'en';
  if (!rules) return false;
  const lower = text.toLowerCase();
  if (IMPERSONAL[rules]?.test(lower)) return false;
  const words = lower.match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
  let first = words[0] ?? '';
  // French elision: "C'est", "Qu'il" open with the pronoun they contract.
  const elided = /^([\p{L}]+)'/u.exec(first);
  if (rules === 'fr' && elided) first = elided[1] === 'c' ? 'ce' : elided[1] === 'qu' ? 'que' : first;
  if (openerSets[rules].has(first)) return true;
  if (rules === 'de' && GERMAN_PRONOUN_ARTICLES.has(first) && GERMAN_VERBS.has(words[1] ?? '')) return true;
  const opening = ` ${words.slice(0, 5).join(' ')} `;
  if (OPENING_PHRASES[rules].some((p) => opening.startsWith(` ${p} `))) return true;
  return REFERENCES[rules].some((re) => re.test(text));
}
