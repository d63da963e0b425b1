import {
  type DomDocument,
  type DomElement,
  type DomNode,
  elementsByTag,
  isElement,
  TEXT_NODE,
  visibleLength,
} from './dom.ts';

// Page chrome that is never the article (consent banners, comment threads, ads, share bars, newsletter boxes,
// related-story rails, dialogs, navigation) is removed before the article is looked for, so its sentences cannot end
// up in the text. Two safeguards keep a rule from taking the article with it:
//
// - class and id rules match whole names: `share`, `ad-slot` or `comments-area` name chrome, but `ad_body`,
//   `non-ad-column`, `Page-ad-margins` or `modal-enabled` do not, although they contain such a word;
// - no rule removes an element that holds most of the page's visible text or most of its paragraph text, whatever
//   it is called or whichever tag it is: a `<form>` around the whole page or a `paywall` box around the story stays.

/** Never visible, never text. Removed unconditionally. */
const INVISIBLE = new Set(['script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'svg', 'canvas']);

/** Elements whose tag makes them chrome (roles and names are checked in `isChrome`). */
const CHROME_TAGS = new Set(['NAV', 'ASIDE', 'FORM', 'FOOTER', 'DIALOG', 'MENU', 'BUTTON', 'SELECT', 'TEXTAREA']);
const NEVER_REMOVED = new Set(['HTML', 'BODY', 'MAIN', 'ARTICLE']);

// A name is chrome when, read as words, it *is* one of these things: the word alone, or the word followed only by a
// word for a container ("related-posts", "share_bar", "comments-area"), or a BEM element of that name
// ("article__share", "c-post__related-list"). A longer name that merely contains the word ("ad_body", "non-ad-column",
// "category-…-native-advertising-platform", "body_overlay") names something else.
const CHROME_WORDS = [
  'ad',
  'ads',
  'adv',
  'advert',
  'adverts',
  'advertisement',
  'advertisements',
  'advertising',
  'adsense',
  'adslot',
  'sponsor',
  'sponsors',
  'sponsored',
  'promo',
  'promos',
  'cookie',
  'cookies',
  'consent',
  'gdpr',
  'cmp',
  'comment',
  'comments',
  'disqus',
  'respond',
  'share',
  'shares',
  'sharing',
  'sharebar',
  'shariff',
  'sharedaddy',
  'social',
  'socials',
  'related',
  'relatedposts',
  'recommended',
  'recommendations',
  'popular',
  'trending',
  'newsletter',
  'subscribe',
  'subscription',
  'popup',
  'modal',
  'overlay',
  'outbrain',
  'taboola',
  'paywall',
  'breadcrumb',
  'breadcrumbs',
  'sidebar',
  'navigation',
  'navbar',
  'menu',
  'footer',
  'masthead',
  'skiplink',
  'skiplinks',
  'banner',
  'teasers',
  'tags',
  'tagcloud',
  'pagination',
  'pager',
  'author',
  'authors',
  'byline',
  'dateline',
  'meta',
  'metadata',
  'caption',
  'captions',
  'credit',
  'credits',
  'copyright',
  'rating',
  'ratings',
  'print',
];
const CONTAINER_WORDS = [
  'alert',
  'area',
  'banner',
  'bar',
  'block',
  'bio',
  'box',
  'buttons',
  'card',
  'container',
  'content',
  'description',
  'details',
  'icons',
  'info',
  'inner',
  'items',
  'layer',
  'links',
  'list',
  'message',
  'module',
  'notice',
  'outer',
  'panel',
  'placeholder',
  'posts',
  'section',
  'slot',
  'stories',
  'tools',
  'unit',
  'widget',
  'wrap',
  'wrapper',
  'zone',
];
// A name may say whose chrome it is first: "post-author", "entry-meta", "article-tags", "wp-caption".
const OWNER_WORDS = [
  'post',
  'entry',
  'article',
  'story',
  'single',
  'blog',
  'news',
  'page',
  'wp',
  'image',
  'img',
  'photo',
];
const CHROME_NAME = new RegExp(
  `^(?:[a-z0-9]+(?:-[a-z0-9]+)*__|(?:${OWNER_WORDS.join('|')})[-_])?(?:${CHROME_WORDS.join('|')})(?:[-_](?:${CONTAINER_WORDS.join('|')}))?(?:--[a-z0-9-]+)?$`,
  'i',
);

// "teaser" names the article's own lead in many newsrooms' markup (`article-teaser`, `news-details__teaser`) and a
// promotion of another story in others. A row of them (the element and a sibling both so named) is a list of
// promotions;
// a single one is the lead, and stays.
const REPEATED_CHROME_NAME = new RegExp(
  `^(?:[a-z0-9]+(?:-[a-z0-9]+)*__|(?:${OWNER_WORDS.join('|')})[-_])?teaser(?:[-_](?:${CONTAINER_WORDS.join('|')}))?(?:--[a-z0-9-]+)?$`,
  'i',
);

/** Whether a class or id token names page chrome (the whole token, never a part of it). */
export function isChromeName(token: string): boolean {
  return CHROME_NAME.test(token);
}

function hasChromeName(element: DomElement): boolean {
  const classes = element.getAttribute('class');
  if (classes)
    for (const token of classes.split(/\s+/)) {
      if (!token) continue;
      if (CHROME_NAME.test(token)) return true;
      if (
        REPEATED_CHROME_NAME.test(token) &&
        (sharesClass(element.previousElementSibling, token) || sharesClass(element.nextElementSibling, token))
      )
        return true;
    }
  const id = element.getAttribute('id');
  return id ? CHROME_NAME.test(id.trim()) : false;
}

function sharesClass(element: DomElement | null, token: string): boolean {
  return !!element?.getAttribute('class')?.split(/\s+/).includes(token);
}

function isChrome(element: DomElement): boolean {
  if (CHROME_TAGS.has(element.nodeName)) return true;
  const role = element.getAttribute('role');
  if (role === 'dialog' || role === 'alertdialog' || role === 'navigation' || role === 'complementary') return true;
  if (role === 'contentinfo') return true;
  if (element.getAttribute('aria-modal') === 'true' || element.getAttribute('aria-hidden') === 'true') return true;
  if (element.hasAttribute('hidden')) return true;
  return hasChromeName(element);
}

// Lines that are page furniture in any page's text: copyright and legal notices, cookie and consent prompts,
// subscription, login, comment and follow-us prompts, sharing and advertising labels. English and German, the main
// languages of the pages this was measured on, and the words most sites use in French, Spanish and Polish.
export const FURNITURE_LINE = new RegExp(
  [
    '©',
    '\\(c\\)\\s*\\d{4}',
    '\\bcopyright',
    'all rights reserved',
    'alle rechte vorbehalten',
    'tous droits réservés',
    'todos los derechos reservados',
    'written permission',
    '\\bcookies?\\b',
    '\\bconsent\\b',
    'einwilligung',
    'datenschutz',
    'privacy (policy|settings|notice)',
    'terms (of (use|service)|and conditions)',
    'nutzungsbedingungen',
    '\\bimpressum\\b',
    '\\bimprint\\b',
    '\\bsubscri(be|ption|ber)',
    '\\babonn(ieren|ement|ez)',
    '\\babo\\b',
    'suscr[ií]b',
    'subskrypc',
    '\\bnewsletter',
    '\\b(log|sign) ?(in|up)\\b',
    '\\beinloggen\\b',
    '\\banmelden\\b',
    '\\bregistrieren\\b',
    '\\bkommentar(e|en)?\\b',
    '\\bcomments?\\b',
    '\\bshare (on|this)\\b',
    '\\bteilen\\b',
    '\\bfollow (us|the)\\b',
    's[ií]guenos',
    '[uú]nete',
    'folge uns',
    '\\b(whatsapp|telegram|youtube|instagram)\\b',
    'download (our|the) app',
    '\\bread more\\b',
    '\\bweiterlesen\\b',
    '\\badvertis(ement|ing)\\b',
    '\\banzeige\\b',
    '\\bwerbung\\b',
    '\\bjavascript\\b',
    'enable (javascript|cookies)',
    'your browser',
    '\\bskip to (main )?content\\b',
  ].join('|'),
  'i',
);

/** Visible text of an element, and how much of it sits in paragraphs and in links. */
export type TextMeasure = { text: number; paragraphs: number; links: number };

/** One walk over a subtree: the text measures of every element in it. */
export function measureText(root: DomElement): Map<DomElement, TextMeasure> {
  const measures = new Map<DomElement, TextMeasure>();
  const walk = (element: DomElement, inParagraph: boolean, inLink: boolean): TextMeasure => {
    const name = element.nodeName;
    const paragraph = inParagraph || name === 'P' || name === 'PRE' || name === 'BLOCKQUOTE';
    const link = inLink || name === 'A';
    const m: TextMeasure = { text: 0, paragraphs: 0, links: 0 };
    const nodes = element.childNodes;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (node.nodeType === TEXT_NODE) {
        const n = visibleLength(node.textContent ?? '');
        m.text += n;
        if (paragraph) m.paragraphs += n;
        if (link) m.links += n;
      } else if (isElement(node)) {
        const child = walk(node, paragraph, link);
        m.text += child.text;
        m.paragraphs += child.paragraphs;
        m.links += child.links;
      }
    }
    measures.set(element, m);
    return m;
  };
  walk(root, false, false);
  return measures;
}

/**
 * Whether removing an element would take most of what a reader came for: more than half of the page's visible text
 * or of its paragraph text.
 */
export function holdsMostText(measure: TextMeasure | undefined, page: TextMeasure): boolean {
  if (!measure) return false;
  return measure.text * 2 > page.text || (page.paragraphs > 0 && measure.paragraphs * 2 > page.paragraphs);
}

/**
 * Remove what is never visible (scripts, styles, embeds): nothing of it is ever text. A `<noscript>` that holds
 * paragraphs of text found nowhere else on the page is the article itself, as the page shows it without scripts
 * (blog engines that render posts in script): its content takes its place instead.
 */
export function removeInvisible(root: {
  readonly firstElementChild?: DomElement | null;
  readonly documentElement?: DomElement | null;
  readonly body?: DomElement | null;
}): void {
  for (const element of elementsByTag(root, INVISIBLE)) {
    if (element.nodeName === 'NOSCRIPT' && element.querySelector('p') && isOnlyCopy(element, root.body))
      element.replaceWith(...Array.from(element.childNodes));
    else element.remove();
  }
}

/** Whether a `<noscript>` holds a few paragraphs of text that the rest of the page does not also show. */
function isOnlyCopy(noscript: DomElement, body: DomElement | null | undefined): boolean {
  let text = 0;
  for (const p of Array.from(noscript.querySelectorAll('p'))) text += visibleLength(p.textContent ?? '');
  if (text < 200 || !body) return false;
  const sample = (noscript.querySelector('p')?.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 80);
  const all = (body.textContent ?? '').replace(/\s+/g, ' ');
  const first = all.indexOf(sample);
  return first >= 0 && all.indexOf(sample, first + 1) < 0;
}

/**
 * Remove page chrome from a document (see above). An element that holds most of the page's text is kept whatever it
 * is called, and shown if it was hidden: a wrapper a script hides until the page has loaded (an off-canvas
 * container, a consent gate) is what the reader reads once it has. Returns the number of elements removed.
 */
export function removeBoilerplate(
  document: DomDocument,
  opts: {
    chrome?: boolean;
    /** The text measures of the body, when the caller has them (after `removeInvisible`): not measured twice. */
    measures?: Map<DomElement, TextMeasure>;
  } = {},
): number {
  if (!opts.measures) removeInvisible(document);
  const body = document.body;
  if (!body) return 0;
  const measures = opts.measures ?? measureText(body);
  const page = measures.get(body)!;
  let removed = 0;
  // One walk down the tree (what is removed is not walked into), rather than a selector query per rule.
  const stack: DomElement[] = Array.from(body.children).reverse();
  while (stack.length) {
    const element = stack.pop()!;
    if (!NEVER_REMOVED.has(element.nodeName) && isChrome(element)) {
      if (holdsMostText(measures.get(element), page)) reveal(element);
      else if (opts.chrome !== false) {
        element.remove();
        removed++;
        continue;
      }
    }
    const children = element.children;
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return removed;
}

function reveal(element: DomElement): void {
  element.removeAttribute('hidden');
  if (element.getAttribute('aria-hidden') === 'true') element.removeAttribute('aria-hidden');
  const style = element.getAttribute('style');
  if (style && /display\s*:\s*none|visibility\s*:\s*hidden/i.test(style)) element.removeAttribute('style');
}

export function textOf(node: DomNode): string {
  return node.textContent ?? '';
}
