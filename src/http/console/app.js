// The editorial console: a small hash-routed page over the API. Views: sign-in, the posts list, one post,
// and the tenant overview. Each view renders into <main> and returns a function that stops its timers.

import { onRefused, session } from './api.js';
import { fill, h } from './dom.js';
import { renderOverview } from './overview.js';
import { renderPost } from './post.js';
import { renderPosts } from './posts.js';
import { renderSignIn } from './signin.js';

const app = document.getElementById('app');
let dispose = null;
let signedOutReason = null;

/** Polite announcements for screen readers (list refreshes, action results). */
const announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', id: 'announcer' });
export function announce(message) {
  announcer.textContent = '';
  // A change after a tick is read out even when the text repeats.
  setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function who(credentials) {
  if (credentials.kind === 'operator')
    return `operator ${credentials.user || '(token)'} in ${credentials.tenant || 'default'}`;
  return `API key …${String(credentials.key).slice(-4)}`;
}

function shell(credentials, active) {
  const link = (href, label, name) => h('a', { href, ...(active === name ? { 'aria-current': 'page' } : {}) }, label);
  const main = h('main', { id: 'main', class: 'page', tabindex: '-1' });
  const skip = h(
    'a',
    {
      class: 'skip-link',
      href: '#main',
      onclick: (event) => {
        // The hash is the router's: move focus without changing it.
        event.preventDefault();
        main.focus();
      },
    },
    'Skip to content',
  );
  const header = h(
    'header',
    { class: 'top' },
    h('p', { class: 'brand' }, 'Blog Poster'),
    h(
      'nav',
      { 'aria-label': 'Console' },
      h(
        'ul',
        {},
        h('li', {}, link('#/posts', 'Posts', 'posts')),
        h('li', {}, link('#/overview', 'Overview', 'overview')),
      ),
    ),
    h(
      'div',
      { class: 'identity' },
      h('span', {}, `Signed in with ${who(credentials)}`),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          onclick: () => {
            session.clear();
            navigate('#/sign-in');
          },
        },
        'Sign out',
      ),
    ),
  );
  fill(app, skip, header, main, announcer);
  return main;
}

function parseHash() {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

/** A selector for the focused form control, so a re-render of the same view can give focus back to it. */
function focusedControl() {
  const el = document.activeElement;
  if (!el?.name || !el.closest?.('main')) return null;
  const value = el.type === 'checkbox' || el.type === 'radio' ? `[value="${CSS.escape(el.value)}"]` : '';
  return `[name="${CSS.escape(el.name)}"]${value}`;
}

let lastView = null;
let routed = 0;

function route() {
  const keep = focusedControl();
  const view = parseHash().parts.slice(0, 2).join('/');
  dispose?.();
  dispose = null;
  try {
    render();
  } finally {
    if (keep && view === lastView) document.querySelector(`main ${keep}`)?.focus();
    lastView = view;
  }
}

function render() {
  const credentials = session.get();
  const { parts, query } = parseHash();
  if (!credentials || parts[0] === 'sign-in') {
    if (credentials && parts[0] === 'sign-in') session.clear();
    const main = h('main', { id: 'main', class: 'page narrow', tabindex: '-1' });
    fill(app, main, announcer);
    dispose = renderSignIn(main, {
      reason: signedOutReason,
      done: () => {
        signedOutReason = null;
        navigate('#/posts');
      },
    });
    document.title = 'Sign in · Blog Poster console';
    return;
  }
  // A route change moves focus to the new page's heading; the first page of a visit leaves it at the top.
  const ctx = { query, navigate, announce, focus: routed++ > 0 };
  if (parts[0] === 'posts' && parts[1]) {
    dispose = renderPost(shell(credentials, 'posts'), { ...ctx, id: parts[1] });
  } else if (parts[0] === 'overview') {
    dispose = renderOverview(shell(credentials, 'overview'), ctx);
  } else if (parts[0] === 'posts') {
    dispose = renderPosts(shell(credentials, 'posts'), ctx);
  } else {
    navigate('#/posts');
  }
}

// A key revoked (or a password changed) while the console is open ends the session with the reason.
onRefused((error) => {
  session.clear();
  signedOutReason = `You were signed out: ${error.fields[0]?.message ?? error.message}.`;
  navigate('#/sign-in');
});

window.addEventListener('hashchange', route);
route();
