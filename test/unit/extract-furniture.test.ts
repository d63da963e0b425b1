import { describe, expect, it } from 'vitest';
import { extractArticle } from '../../src/ingest/extract.ts';

// Small pages in the style of the real ones (German and English news and blog pages): what an article still carries
// after Readability that is not its text, and what must stay because it is. Each rule is shown both ways.

const PARAGRAPHS = [
  'Der Gemeinderat von Reichenbach hat am Dienstagabend beschlossen, das ' +
    'alte Sägewerk am Flussufer zu einem Pelletwerk umzubauen, das Laub und ' +
    'Grünschnitt aus dem ganzen Landkreis verarbeiten soll.',
  'Nach den Plänen der Stadtwerke sollen dort ab dem kommenden Herbst jährlich ' +
    'rund zwölftausend Tonnen Pellets entstehen, genug für die Heizungen der ' +
    'Schulen, des Rathauses und des Hallenbads.',
  'Die Anwohner hatten lange gegen den Lastwagenverkehr protestiert; jetzt ' +
    'soll eine neue Zufahrt von der Bundesstraße aus gebaut werden, damit kein ' +
    'Laster mehr durch die Altstadt fahren muss.',
  'Ein Antrag für Fördermittel ist gestellt, und das Land hat bereits signalisiert, ' +
    'dass es gut die Hälfte der Baukosten von knapp vier Millionen Euro übernehmen ' +
    'könnte, wenn der Zeitplan hält.',
  'Der Bürgermeister sprach von einem Vorbild für andere Gemeinden: Was bisher ' +
    'auf dem Kompost verrottete, wärme künftig die öffentlichen Gebäude der ' +
    'Stadt, und das zu einem festen Preis.',
];
const body = PARAGRAPHS.map((p) => `<p>${p}</p>`).join('\n');

/** A page whose article is `inner` (the story's paragraphs plus what a test adds), beside ordinary chrome. */
const page = (inner: string, head = '') =>
  `<!doctype html><html lang="de"><head><title>Pellets aus Laub: Reichenbach baut ein Pelletwerk | \
Forstpraxis</title>${head}</head>
  <body><header><a href="/">Forstpraxis</a></header>
  <div class="layout"><div class="content"><article><h1>Pellets aus Laub: Reichenbach baut ein \
Pelletwerk</h1>${inner}</article></div></div>
  <footer><p>© 2023 Forstpraxis Verlag. Alle Rechte vorbehalten.</p></footer></body></html>`;

const extract = (html: string) => extractArticle(html, 'https://forst.example/news/pellets').markdown;

function expectStory(markdown: string): void {
  for (const paragraph of PARAGRAPHS) expect(markdown).toContain(paragraph);
}

describe('headings left with nothing under them', () => {
  it('a heading that ends the article (its teaser list removed) goes', () => {
    const markdown = extract(
      page(
        `${body}<h2>Mehr zum Thema</h2><ul><li><a href="/a">Brennholz richtig lagern</a></li><li><a ` +
          `href="/b">Der Wald im Klimawandel</a></li></ul>`,
      ),
    );
    expectStory(markdown);
    expect(markdown).not.toContain('Mehr zum Thema');
    expect(markdown).not.toContain('Brennholz richtig lagern');
  });

  it('a sentence set as a heading is text and stays, with the heading above it', () => {
    const markdown = extract(
      page(
        `${body}<h2>Der Wettbewerb für Schulen</h2><h4>Kinder zwischen sechs und ` +
          `zwölf Jahren sind aufgerufen, ein Plakat zum Thema Wald zu gestalten und ` +
          `es bis April einzusenden.</h4>`,
      ),
    );
    expect(markdown).toContain('Der Wettbewerb für Schulen');
    expect(markdown).toContain('Kinder zwischen sechs und zwölf Jahren sind aufgerufen');
  });
});

describe('noscript', () => {
  it('keeps the article a blog engine puts only in <noscript> (the page renders it in script)', () => {
    const html = `<!doctype html><html><head><title>Safer browsing for everyone</title></head><body>
      <div class="header-desc">News and insights on security</div>
      <div class="post"><h3 class="post-title">Safer browsing for everyone</h3><div class="post-body">
      <script>document.write(renderPost())</script><noscript>${body}</noscript></div></div></body></html>`;
    expectStory(extract(html));
  });

  it('does not copy a <noscript> whose text the page already shows, and drops a "turn on JavaScript" box', () => {
    const html = page(
      `${body}<noscript><p>${PARAGRAPHS[0]}</p><p>${PARAGRAPHS[1]}</p></noscript><noscript><p>Bitte ` +
        `aktivieren Sie JavaScript.</p></noscript>`,
    );
    const markdown = extract(html);
    expect(markdown.split(PARAGRAPHS[0]!).length - 1).toBe(1);
    expect(markdown).not.toContain('aktivieren Sie JavaScript');
  });
});

describe('captions and credits', () => {
  it('a short block ending on a picture credit is a caption and goes', () => {
    const markdown = extract(
      page(
        `<p>${PARAGRAPHS[0]}</p><p>Das alte Sägewerk am Flussufer soll im Herbst umgebaut werden. Foto: dpa</p>` +
          `<p>${PARAGRAPHS[1]}</p><div>Ein Förster prüft das Laub vor dem Pressen. © AFP / Jan Kowalski</div>` +
          `${PARAGRAPHS.slice(2)
            .map((p) => `<p>${p}</p>`)
            .join('')}<p>Crédits photos : Bestimage</p><p>Beitragsbild: Stadtwerke Reichenbach</p>`,
      ),
    );
    expectStory(markdown);
    for (const caption of ['Foto: dpa', 'AFP / Jan Kowalski', 'Bestimage', 'Beitragsbild'])
      expect(markdown).not.toContain(caption);
  });

  it('a paragraph that talks about photographs stays', () => {
    const text =
      'Die Fotografin Anna Berg hat das Sägewerk über zwanzig Jahre lang begleitet; ' +
      'ihre Bilder zeigen den Wandel des Ortes, vom letzten Stamm bis zur ersten ' +
      'Pelletpresse. Foto für Foto.';
    expect(extract(page(`${body}<p>${text}</p>`))).toContain(text);
  });
});

describe('date stamps', () => {
  it('a line that is a date and a word or two goes', () => {
    const markdown = extract(
      page(
        `<div class="meta">24. März 2004, 19:49 | Genesis</div>${body}<p>asked ` +
          `Feb 6, 2014 at 20:37</p><p>Aktualisiert am 17.01.2021.</p>`,
      ),
    );
    expectStory(markdown);
    for (const stamp of ['19:49', '20:37', 'Aktualisiert am']) expect(markdown).not.toContain(stamp);
  });

  it('a sentence with a date, and a phone number, stay', () => {
    const markdown = extract(page(`${body}<p>Am 3. März 2024 beginnt der Bau.</p><p>Telefon: +81 158-23-2012</p>`));
    expect(markdown).toContain('Am 3. März 2024 beginnt der Bau.');
    expect(markdown).toContain('+81 158-23-2012');
  });
});

describe('calls to action, disclosures and controls', () => {
  it('short blocks asking the reader to subscribe, follow, comment or support go wherever they stand', () => {
    const markdown = extract(
      page(
        `<p>*Werbung. Dieser Beitrag enthält Werbung für Pelletheizungen.</p>${body}` +
          '<p>Gefällt dir unser Forstmagazin? Dann unterstütze uns mit einem Abo.</p>' +
          '<p>Subscribe now to our print edition for the full story.</p>' +
          '<h3>Kommentar verfassen</h3><p>You can keep up with me on Twitter: @forstreporter</p>',
      ),
    );
    expectStory(markdown);
    for (const line of [
      'Werbung für Pelletheizungen',
      'Gefällt dir',
      'Subscribe now',
      'Kommentar verfassen',
      'keep up with me',
    ])
      expect(markdown).not.toContain(line);
  });

  it('the text left from print, rating and click-to-load controls goes', () => {
    const markdown = extract(
      page(
        `${body}<p>Rezept drucken Bei Pinterest speichern</p><p>Valora esta noticia</p><p>Klicken ` +
          `Sie auf den unteren Button, um den Inhalt von www.karten.example zu laden.</p>`,
      ),
    );
    expectStory(markdown);
    for (const line of ['drucken', 'Valora', 'Klicken Sie']) expect(markdown).not.toContain(line);
  });

  it('a paragraph of the story that mentions a newsletter stays', () => {
    const text =
      'Die Stadtwerke wollen die Anwohner über einen Newsletter und eine Bürgerversammlung ' +
      'im Mai auf dem Laufenden halten, bevor die ersten Lastwagen mit Laub anrollen ' +
      'und die Presse in Betrieb geht.';
    expect(extract(page(`<p>${PARAGRAPHS[0]}</p><p>${text}</p>${body}`))).toContain(text);
  });
});

describe('"more to read" blocks', () => {
  it('a caption in the second half goes with its teasers, up to the next paragraph of the story', () => {
    const teaser = 'Wie man Brennholz trocken lagert';
    const markdown = extract(
      page(
        `${PARAGRAPHS.slice(0, 3)
          .map((p) => `<p>${p}</p>`)
          .join('')}<h4>Auch interessant</h4><p><a href="/brennholz">${teaser}</a></p><p>Kurz: ein Teaser.</p>` +
          PARAGRAPHS.slice(3)
            .map((p) => `<p>${p}</p>`)
            .join('') +
          `<h3>Das könnte Sie auch interessieren</h3><p>Neue Förderung für Waldbesitzer ` +
          `im Landkreis.</p><p>Borkenkäfer: Was jetzt hilft.</p>`,
      ),
    );
    expectStory(markdown);
    for (const line of ['Auch interessant', teaser, 'Das könnte Sie', 'Neue Förderung', 'Borkenkäfer'])
      expect(markdown).not.toContain(line);
  });

  it('a contact or about-the-author label at the end goes with the block under it', () => {
    const markdown = extract(
      page(
        `${body}<p>Kontakt:</p><p>Dr. Hendryk Bockelmann, Stadtwerke Reichenbach, ` +
          `Telefon 03581 12345</p><h3>Über den Autor</h3><p>Jan Kowalski schreibt ` +
          `über Wald und Energie.</p>`,
      ),
    );
    expectStory(markdown);
    for (const line of ['Kontakt', 'Bockelmann', 'Über den Autor', 'Jan Kowalski'])
      expect(markdown).not.toContain(line);
  });

  it('such a line early in the article is a cross-reference and stays', () => {
    const line = 'Lesen Sie auch den Kommentar unseres Redakteurs';
    expect(extract(page(`<p>${PARAGRAPHS[0]}</p><p>${line}</p>${body}`))).toContain(line);
  });
});

describe('the comments area', () => {
  it('a comments heading in the second half goes with everything after it, the comments and their policy', () => {
    const comment =
      'Ich wohne seit zwanzig Jahren an der Zufahrt und kann nur sagen, dass die Laster nachts am schlimmsten sind, ' +
      'weil sie dann schneller fahren und niemand auf die Anwohner Rücksicht nimmt, die früh aufstehen müssen.';
    const markdown = extract(
      page(
        `${body}<section class="talk"><h2>3 Kommentare</h2><p>Sie sind aktuell nicht eingeloggt.</p>` +
          `<p>Die Kommentare werden von Moderatoren stichprobenartig überprüft und freigeschaltet. Ein Kommentar ist ` +
          `auf 1000 Zeichen beschränkt.</p><div><p>${comment}</p></div></section>`,
      ),
    );
    expectStory(markdown);
    for (const line of ['Kommentare', 'eingeloggt', 'Moderatoren', 'Zufahrt und kann'])
      expect(markdown).not.toContain(line);
  });

  it('such a heading early in the article is a section of the text and stays', () => {
    const markdown = extract(page(`<p>${PARAGRAPHS[0]}</p><h2>Kommentare</h2>${body}`));
    expectStory(markdown);
    expect(markdown).toContain('## Kommentare');
  });
});

describe('the end of the article', () => {
  it('bare labels after the last paragraph go; a last line with figures stays', () => {
    const markdown = extract(
      page(`${body}<p>Nährwerte pro Portion: 390 kcal</p><div><span>zurück</span></div><p>drukuj</p>`),
    );
    expectStory(markdown);
    expect(markdown).toContain('390 kcal');
    expect(markdown).not.toContain('zurück');
    expect(markdown).not.toContain('drukuj');
  });
});

describe('a "teaser" class', () => {
  it(
    "on a single element is the article's lead and stays; on a row of siblings " +
      'it is a list of promotions and goes',
    () => {
      const lead =
        'Das Land fördert das neue Pelletwerk mit zwei Millionen Euro; die Stadtwerke ' +
        'rechnen mit dem ersten Betrieb im Herbst.';
      const markdown = extract(
        page(
          `<p class="article-teaser">${lead}</p>${body}` +
            '<div class="teasers"><div class="teaser"><a href="/a">Borkenkäfer im Frankenwald</a> ' +
            'Die Lage bleibt ernst.</div>' +
            '<div class="teaser"><a href="/b">Holzpreise im Sinkflug</a> Was Waldbesitzer jetzt tun.</div></div>',
        ),
      );
      expectStory(markdown);
      expect(markdown).toContain(lead);
      expect(markdown).not.toContain('Borkenkäfer im Frankenwald');
    },
  );
});

describe('Spanish calls to action', () => {
  it('a write-to-us or follow-us line goes', () => {
    const markdown = extract(
      page(`${body}<p>Puede escribirnos a redaccion@forst.example o seguirnos en Facebook y Twitter.</p>`),
    );
    expectStory(markdown);
    expect(markdown).not.toContain('escribirnos');
  });
});
