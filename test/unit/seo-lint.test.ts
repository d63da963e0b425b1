import { describe, expect, it } from 'vitest';
import { resolveBrief } from '../../src/llm/brief.ts';
import {
  composeMetaDescription,
  documentTitle,
  fitMetaDescription,
  fitMetaTitle,
  fitTitle,
  headlineOf,
} from '../../src/llm/post.ts';
import { lintSeo, type SeoInput } from '../../src/seo/lint.ts';
import { readability } from '../../src/seo/readability.ts';

const paragraph =
  'Heat pumps move heat from outside air into the house. They work well in ' +
  'cold weather when sized with care. A good installer checks every room ' +
  'first.';
const good: SeoInput = {
  title: 'Heat Pumps in Cold Weather: What Works',
  metaTitle: 'Heat Pumps in Cold Weather: What Works in Practice',
  metaDescription:
    'Heat pumps work in cold weather when they are sized with care. Here is ' +
    'what changed in the hardware and how a good installer plans a heat pump ' +
    'system.',
  slug: 'heat-pumps-in-cold-weather',
  markdown:
    `${paragraph} See [our guide](/guides/insulation) and [the source](https://energy.example/a).\n\n## ` +
    `Sizing\n\n${'An installer measures each room and picks a unit to match the heat it loses on a cold day. '.repeat(8)}\n\n![A ` +
    `heat pump outside a house](https://img.example/hp.jpg)\n`,
  tags: ['heat pumps'],
  heroImage: { alt: 'A heat pump' },
  brief: resolveBrief(undefined, { primaryKeyword: 'heat pumps', minWords: 100, maxWords: 1000 }),
};

describe('the SEO lint', () => {
  it('scores a well-formed post 100 with no violations', () => {
    const report = lintSeo(good);
    expect(report.violations).toEqual([]);
    expect(report.score).toBe(100);
    expect(report.measures).toMatchObject({ h1Count: 1, internalLinks: 1, externalLinks: 1, images: 1 });
    expect(report.measures.keywordDensity).toBeGreaterThan(0.005);
  });

  it('lists every violation and lowers the score by each', () => {
    const report = lintSeo({
      ...good,
      title:
        'A headline that is far too long to be read at a glance as the heading of any page, let alone shown whole in results',
      metaTitle: 'Short',
      metaDescription: 'Too short.',
      slug: 'Bad Slug',
      markdown: `# A second H1\n\nNo keyword here.\n\n#### Skipped levels\n\n![](https://img.example/x.jpg)\n`,
      heroImage: { alt: '' },
    });
    const rules = report.violations.map((v) => v.rule);
    for (const rule of [
      'single-h1',
      'heading-order',
      'title-length',
      'meta-title-length',
      'meta-description-length',
      'slug-format',
      'keyword-in-title',
      'keyword-in-first-paragraph',
      'keyword-in-meta-description',
      'keyword-density',
      'external-links',
      'internal-links',
      'image-alt',
      'length',
    ]) {
      expect(rules).toContain(rule);
    }
    expect(report.score).toBe(Math.max(0, 100 - report.violations.reduce((n, v) => n + v.penalty, 0)));
  });

  it('measures reading ease and grade', () => {
    expect(readability('The cat sat on the mat. It was warm.').readingEase).toBeGreaterThan(90);
    const hard = readability(
      'Notwithstanding considerable institutional heterogeneity, comprehensive ' +
        'decarbonisation necessitates multidimensional organisational transformation.',
    );
    expect(hard.readingEase).toBeLessThan(10);
    expect(
      lintSeo({
        ...good,
        markdown: `${good.markdown}\n\n${'Notwithstanding considerable institutional heterogeneity, comprehensive decarbonisation necessitates multidimensional organisational transformation. '.repeat(30)}`,
      }).violations.map((v) => v.rule),
    ).toContain('reading-ease');
  });

  it('weighs readability far outside its bounds like an error: a garbled draft does not score well', () => {
    // A model's run-on draft: one "sentence" of jargon per paragraph, Flesch far below zero.
    const garbled =
      'Notwithstanding considerable institutional heterogeneity comprehensive ' +
      'decarbonisation necessitates multidimensional organisational transformation ' +
      'across interdependent infrastructural configurations characterised by ' +
      'heterogeneous regulatory, technological and socioeconomic interdependencies, ' +
      'heat pumps notwithstanding';
    const draft = {
      ...good,
      markdown: `${garbled} [1].\n\n## Sizing\n\n${garbled} heat pumps [1].\n\n${garbled} [1].\n`,
    };
    const report = lintSeo(draft);
    expect(report.measures.readingEase).toBeLessThan(-30);
    const ease = report.violations.find((v) => v.rule === 'reading-ease')!;
    expect(ease).toMatchObject({ severity: 'error', penalty: 20 });
    expect(report.violations.find((v) => v.rule === 'reading-grade')).toMatchObject({ severity: 'error' });
    // Before, the same draft lost only two warnings' worth (8 points) to readability.
    expect(report.score).toBeLessThanOrEqual(70);
    // Merely hard prose stays a warning.
    const hard = lintSeo({
      ...good,
      markdown: (
        'The installer calculates the thermal requirements of each individual building ' +
        'before ordering the equipment. '
      ).repeat(20),
    });
    expect(hard.violations.find((v) => v.rule === 'reading-ease')).toMatchObject({ severity: 'warning', penalty: 4 });
  });

  it('reads each language by its own formula, and says so when none fits', () => {
    const german = readability('Die Katze sitzt auf der Matte. Es ist warm. Wir gehen nach Hause.', 'de');
    expect(german).toMatchObject({ language: 'de', readingEaseFormula: 'Flesch reading ease (Amstad)' });
    expect(german.readingEase).toBeGreaterThan(80);
    expect(german.gradeFormula).toBe('Wiener Sachtextformel');
    expect(readability('Le chat est sur le tapis. Il fait chaud.', 'fr')).toMatchObject({
      language: 'fr',
      grade: null,
      gradeFormula: null,
    });
    expect(readability('El gato está en la alfombra. Hace calor.', 'es').readingEase).toBeGreaterThan(70);
    const polish = lintSeo({ ...good, language: 'pl' });
    expect(polish.measures.readingEase).toBeNull();
    expect(polish.notes).toEqual(['reading-ease: no readability formula for Polish (pl); the rule was skipped']);
    expect(polish.violations.map((v) => v.rule)).not.toContain('reading-ease');
    const french = lintSeo({ ...good, language: 'fr' });
    expect(french.notes).toEqual(['reading-grade: no grade formula for French (fr); the rule was skipped']);
  });

  it('fits meta titles to 60 characters where a main part does, and leaves a short one short', () => {
    // No key phrases tacked on to reach 45 characters: the lint notes the room left, as a warning.
    expect(fitMetaTitle(null, 'Sourdough Basics')).toBe('Sourdough Basics');
    expect(fitMetaTitle('Sourdough', 'Sourdough Basics')).toBe('Sourdough');
    const short = lintSeo({ ...good, metaTitle: 'Sourdough Basics' }).violations.find(
      (v) => v.rule === 'meta-title-length',
    );
    expect(short).toMatchObject({ severity: 'warning', penalty: 4 });
    // Results cut a long one with an ellipsis: a warning too. Only an empty one, or one longer than a headline, is an
    // error.
    const long = lintSeo({ ...good, metaTitle: 'x'.repeat(61) }).violations.find((v) => v.rule === 'meta-title-length');
    expect(long).toMatchObject({ severity: 'warning', penalty: 4 });
    const tooLong = lintSeo({ ...good, metaTitle: 'x'.repeat(101) }).violations.find(
      (v) => v.rule === 'meta-title-length',
    );
    expect(tooLong).toMatchObject({ severity: 'error', penalty: 10 });
    // The page's <title> names the site after a short meta title, when the whole fits in 60 characters.
    expect(documentTitle('Sourdough Basics', 'Bread notes')).toBe('Sourdough Basics – Bread notes');
    expect(documentTitle('Sourdough Basics', 'x'.repeat(42))).toBe('Sourdough Basics');
    expect(documentTitle('Sourdough Basics', ' ')).toBe('Sourdough Basics');
    const full = 'A model title of exactly the right length for results';
    expect(documentTitle(full, 'Blog')).toBe(full);
    // A long title keeps its main part, or whole words without a dangling joining word. A headline keeps up to 100
    // characters; the meta title, what results show, 60.
    const headline = 'How Heat Pumps Work in Cold Climates: A Complete Guide for Homeowners and Their Installers';
    expect(fitTitle(headline)).toBe(headline);
    expect(fitTitle(headline, 60)).toBe('How Heat Pumps Work in Cold Climates');
    expect(fitMetaTitle(null, headline)).toBe('How Heat Pumps Work in Cold Climates');
    // A long clause before a comma is a main part; a leading subordinate clause, a list or a clause the comma's
    // next words complete is not.
    expect(fitTitle("'Parasite' scores historic upset at SAG awards, boosting Oscar chances", 60)).toBe(
      "'Parasite' scores historic upset at SAG awards",
    );
    expect(fitTitle('When you take a multivitamin every day, this is what happens to your body', 60)).toBe(
      'When you take a multivitamin every day, this is what happens',
    );
    expect(fitTitle('Chinese Money Plant Info: Erfahren Sie, wie Sie eine Pilea pflegen und vermehren', 60, 'de')).toBe(
      'Chinese Money Plant Info',
    );
    expect(fitTitle('Why heat pumps now work in the coldest winters of Europe and of the Alps', 60)).toBe(
      'Why heat pumps now work in the coldest winters of Europe',
    );
    expect(fitMetaTitle('A model title of exactly the right length for results', 'x')).toBe(
      'A model title of exactly the right length for results',
    );
    // A meta title longer than 60 with no main part stays whole: cut at a word, it would stop mid-phrase, or say the
    // opposite ("… bleiben unter strengen Auflagen" without "möglich").
    const noMainPart = 'Lockdown: Gottesdienste bleiben unter strengen Auflagen möglich';
    expect(fitTitle(noMainPart, 60, 'de')).toBe('Lockdown: Gottesdienste bleiben unter strengen Auflagen');
    expect(fitMetaTitle(null, noMainPart, 'de')).toBe(noMainPart);
    const question = 'How does the brain turn unconscious information into conscious thought?';
    expect(fitMetaTitle(null, question, 'en')).toBe(question);
    // A leading phrase before a comma is not a main part, nor a clause that drops the condition after it.
    const leading = 'Tras una semana de acoso a la prensa, el presidente de la Asamblea exige a periodistas: "váyanse"';
    expect(fitMetaTitle(null, leading, 'es')).toBe(leading);
    const condition = 'Das passiert mit Ihrem Gehirn und Ihrem Körper, wenn Sie große Angst haben';
    expect(fitMetaTitle(null, condition, 'de')).toBe(condition);
    // Beyond a headline's 100 characters, whole words.
    const endless = `${'Heat pumps and solar panels '.repeat(4)}in older houses of the north`;
    expect(fitMetaTitle(null, endless).length).toBeLessThanOrEqual(100);
  });

  it('makes meta descriptions of whole sentences or leading clauses, never cut with an ellipsis', () => {
    const sentences = [
      'Heat pumps move heat instead of making it.',
      'Modern cold-climate models keep extracting heat from outdoor air at minus twenty degrees Celsius.',
      'Sizing matters more than the brand.',
    ];
    const description = fitMetaDescription(null, [sentences]);
    expect(description).toBe(`${sentences[0]} ${sentences[1]}`);
    expect(description.length).toBeGreaterThanOrEqual(140);
    expect(description.length).toBeLessThanOrEqual(160);
    // A long sentence gives its leading clause rather than a cut one.
    const long =
      'Heat pumps have become the default choice for new homes across northern ' +
      'Europe in the last decade: installers, grants and cheaper compressors ' +
      'all played a part in that change.';
    const clause = composeMetaDescription([[long]]);
    expect(clause).toBe(
      'Heat pumps have become the default choice for new homes across northern Europe in the last decade.',
    );
    const both =
      'Heat pumps have become the default choice for new homes across northern Europe in the last decade. ' +
      'Grants cover a large part of the cost of installing one in many countries.';
    expect(
      composeMetaDescription([[long, 'Grants cover a large part of the cost of installing one in many countries.']]),
    ).toBe(both.length <= 160 ? both : clause);
    for (const text of [description, clause]) expect(text).not.toMatch(/…|\.\.\.$/);
    // Never cut between the items of a list: "…they could not identify." would drop what the list was for.
    const listed =
      'Profiling tools let engineers on small teams see which slow code paths in a large service cost them the most ' +
      'every month that they could not identify, measure and fix before, even after years of work on the code.';
    // Out of range (115 characters), it is still the longest whole text under 160 that the post offers.
    const next =
      'Most teams find that a few queries account for nearly all of the time their service spends waiting on the database.';
    expect(composeMetaDescription([[listed, next]])).toBe(next);
    // A first sentence too long for any bound and without a clause end stays whole (the lint reports its length).
    const unbroken =
      'Nach Erhebungen des Bundesamtes für Wirtschaft und Ausfuhrkontrolle sank ' +
      'der Absatz von Mineralölprodukten in der Bundesrepublik Deutschland im ' +
      'aktuellen Berichtsmonat deutlich gegenüber dem Vorjahresmonat.';
    expect(composeMetaDescription([[unbroken], ['Heizöl']], 'de')).toBe(unbroken);
    // A heading-like piece without a full stop never ends a description.
    expect(composeMetaDescription([['I keep bookmarks in my shell profile.', '"Bookmarks record locations"']])).toBe(
      'I keep bookmarks in my shell profile.',
    );
    // Read alone in a search result, a description never opens a piece with a sentence that leans on another.
    const leaning = composeMetaDescription([
      ['However, the pump needs a larger radiator in older houses, which adds to the cost of the installation.'],
      ['Heat pumps move heat from the outside air into the house instead of burning fuel to make it.'],
    ]);
    expect(leaning).toBe(
      'Heat pumps move heat from the outside air into the house instead of burning fuel to make it.',
    );
    // Sentences of different paragraphs are never joined, even when together they would land in range: read alone,
    // the pair would be a non sequitur.
    expect(fitMetaDescription(null, [[sentences[0]!], [sentences[1]!]])).toBe(sentences[1]);
    // A sentence that leans on the one before it follows it in its paragraph, and never opens a description.
    const antecedent = 'Heat pumps move heat from the outside air instead of making it.';
    const leaner = 'This is why they use a third of the power of an electric heater in a mild winter.';
    expect(composeMetaDescription([[antecedent, leaner]])).toBe(`${antecedent} ${leaner}`);
    expect(composeMetaDescription([[antecedent], [leaner]])).toBe(antecedent);
    // A model's over-long description is taken apart into its sentences, not cut.
    const model = fitMetaDescription(`${sentences[0]} ${sentences[1]} ${sentences[2]}`, []);
    expect(model).toBe(`${sentences[0]} ${sentences[1]}`);
  });
  it('never ends a meta description with half a clause: a subject without its verb, an insertion, a list', () => {
    // A subject and its relative clause, the verb cut off.
    const subject =
      'El Presidente Gabriel Boric, quien vive uno de los momentos políticos más difíciles desde que asumiera el ' +
      'mando hace dos meses, anunció este miércoles un nuevo plan de seguridad para el norte del país.';
    expect(composeMetaDescription([[subject]], 'es')).toBe(subject);
    // A phrase inserted after a conjunction, the clause it interrupts cut off.
    const inserted =
      'La comisión aprobó una norma que permite a las regiones dictar leyes para que, en determinadas materias, ' +
      'puedan adaptar la legislación nacional a sus realidades locales y a sus propias necesidades.';
    expect(composeMetaDescription([[inserted]], 'es')).toBe(inserted);
    // A list set apart by semicolons is cut before its first item, never between two.
    const semicolons =
      'El informe agrupa las propuestas de la convención en cinco áreas temáticas: educación; seguridad y paz; ' +
      'economía; salud; relaciones internacionales; y cultura y patrimonio nacional de los pueblos.';
    expect(composeMetaDescription([[semicolons]], 'es')).toBe(
      'El informe agrupa las propuestas de la convención en cinco áreas temáticas.',
    );
    // A phrase between two dashes is an insertion too.
    const dashes =
      'The new camera from the Japanese maker – lighter and cheaper than the model it replaces in the range – is ' +
      'aimed at travel photographers who want a small body that still takes the lenses they already own.';
    expect(composeMetaDescription([[dashes]], 'en')).not.toMatch(/range\.$/);
    // After a main clause with its verb, a relative clause may end a description.
    const whole =
      'Researchers at the university measured the heat loss of two hundred older houses in the north of the country, ' +
      'which had never been insulated, and found that most of it escaped through the roof.';
    expect(composeMetaDescription([[whole]], 'en')).toBe(
      'Researchers at the university measured the heat loss of two hundred older houses in the north of the country, ' +
        'which had never been insulated.',
    );
  });
  it('never ends a meta description before the main clause that an opening phrase waits for', () => {
    // Sentences with no cut that ends after the main clause their opening waits for stay whole: a leading
    // subordinate clause or prepositional phrase; the same with a participle phrase after it ("cometido por …" is not
    // the clause "Tras …" waits for); a subject and its apposition after it; an object clause that opens with one.
    for (const [lang, sentence] of [
      [
        'en',
        'When the first heat pumps were installed in the older houses of the northern district five years ago, the ' +
          'council measured how much power each one used over a whole winter and compared the bills.',
      ],
      [
        'es',
        'Tras el ataque informático contra varios ministerios y otras instituciones públicas del país, cometido por ' +
          'un grupo de delincuentes conocido desde hace años, el gobierno anunció un plan de emergencia para proteger ' +
          'los datos.',
      ],
      [
        'es',
        'De hecho, el ministro de Gobierno, Eduardo del Castillo, ha ordenado la intervención de la dirección de ' +
          'prevención de robos de vehículos para aclarar lo ocurrido en la frontera.',
      ],
      [
        'es',
        'Cabe indicar que desde que se ordenó la liberación del avión presidencial en el aeropuerto de la capital, ' +
          'la fiscalía del país vecino ha buscado la manera de mantener la aeronave detenida.',
      ],
    ] as const) {
      expect(composeMetaDescription([[sentence]], lang), sentence).toBe(sentence);
    }
    // The same opening after a conjunction, in the middle of a sentence: the cut comes before it, where the clause
    // before it ends.
    const butIf =
      'Organising the nursery of a small flat can be a rewarding weekend project for the whole family, but if the ' +
      'room is tight on space, or you want to keep baby products to a minimum, the question of where to put ' +
      'everything quickly becomes overwhelming.';
    expect(composeMetaDescription([[butIf]], 'en')).toBe(
      'Organising the nursery of a small flat can be a rewarding weekend project for the whole family.',
    );
    // Once the main clause has come, a cut after it stands.
    const mainClause =
      'On the fourth and fifth days of the conference, the visiting investors will get the opportunity to tour ' +
      'several business sites across the whole country, including the new special economic zone near the capital.';
    expect(composeMetaDescription([[mainClause]], 'en')).toBe(
      'On the fourth and fifth days of the conference, the visiting investors will get the opportunity to tour ' +
        'several business sites across the whole country.',
    );
    // A quotation in single marks is not cut open either.
    const quoted =
      'Adriana Quevedo, conductora del programa de la mañana, recordó que su mamá siempre les repetía en la mesa a ' +
      'todos: ‘Coman que esto no es restaurante’; ‘Si lo encuentro yo, qué te hago’, entre risas y bromas de sus hijos.';
    expect(composeMetaDescription([[quoted]], 'es')).not.toMatch(/yo\.$/);
  });
  it("takes the site's name out of a page title, before or after the headline, and nothing else", () => {
    const battery = { url: 'https://battery-news.de/2023/ultium', siteName: null };
    expect(headlineOf('Ultium Cells erhöht Gigafactory-Kapazität - Battery-News.de', battery)).toBe(
      'Ultium Cells erhöht Gigafactory-Kapazität',
    );
    expect(headlineOf('SimplyScience - Wie entsteht Erdöl?', { url: 'https://www.simplyscience.ch/x' })).toBe(
      'Wie entsteht Erdöl?',
    );
    // The site's own name, or a brand that starts with the site's own label.
    expect(
      headlineOf('Kinder und Arbeit » ProNATs e.V.', { url: 'https://pronats.de/a', siteName: 'ProNATs e.V.' }),
    ).toBe('Kinder und Arbeit');
    expect(headlineOf('BeginnersGuide/Download - Python Wiki', { url: 'https://wiki.python.org/moin/x' })).toBe(
      'BeginnersGuide/Download',
    );
    // A separator left at either end goes.
    expect(headlineOf('Über André Loibl |', { url: 'https://changenow.de/x' })).toBe('Über André Loibl');
    // A subdomain is not the site: "Advertising on Jodel" is the headline on advertising.jodel.com.
    expect(headlineOf('Advertising on Jodel | Übersicht', { url: 'https://advertising.jodel.com/' })).toBe(
      'Advertising on Jodel | Übersicht',
    );
    // Nothing named after the site, or too little left: the title stays whole.
    expect(
      headlineOf('Update | Deceased Clarendon crash victims identified', { url: 'https://jamaica-gleaner.com/x' }),
    ).toBe('Update | Deceased Clarendon crash victims identified');
    expect(headlineOf('Python - the language explained', { url: 'https://www.python.org/x' })).toBe(
      'Python - the language explained',
    );
    expect(headlineOf('Blog - Example', { url: 'https://example.com/' })).toBe('Blog - Example');
    expect(headlineOf('How queues fail - Example', {})).toBe('How queues fail - Example');
  });
});
