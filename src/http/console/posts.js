// The posts list: status filters (posts waiting for a person first), a title filter, search by meaning
// (the semantic search API), pages by cursor, and live updates.
//
// Live updates poll the current page every few seconds while the tab is visible. Server-sent events
// would need the key in the URL (EventSource cannot send an Authorization header) and a fan-out of post
// changes across API replicas; a poll is one cheap keyset query, works through any proxy, and stays well
// inside the per-key rate limit (12 requests a minute per open tab).

import { api } from './api.js';
import { clear, field, fill, h, statusBadge, time, usd, words } from './dom.js';

export const POLL_MS = 5000;

export const GROUPS = [
  {
    name: 'Waiting for a person',
    statuses: ['needs_review', 'duplicate_of', 'awaiting_approval', 'duplicate', 'skipped'],
  },
  { name: 'Scheduled', statuses: ['scheduled'] },
  { name: 'In progress', statuses: ['queued', 'ingesting', 'generating', 'embedding', 'indexing', 'publishing'] },
  { name: 'Published', statuses: ['published'] },
  { name: 'Stopped', statuses: ['failed', 'budget_exceeded', 'rejected', 'cancelled', 'expanded'] },
];
const HELD = GROUPS[0].statuses;

function reasonOf(post) {
  return post.hold?.reason ?? post.failure?.reason ?? '';
}

export function renderPosts(main, { query, navigate, announce, focus }) {
  const state = {
    statuses: (query.get('status') ?? '').split(',').filter(Boolean),
    q: query.get('q') ?? '',
    order: query.get('order') ?? 'held',
    search: query.get('search') ?? '',
  };
  /** Cursors of the pages before this one (for "Newer") and this page's own. */
  const pages = [];
  let cursor = null;
  let lastSignature = '';
  let timer = null;
  let stopped = false;

  const setHash = (next) => {
    const params = new URLSearchParams();
    if (next.statuses.length) params.set('status', next.statuses.join(','));
    if (next.q) params.set('q', next.q);
    if (next.order !== 'held') params.set('order', next.order);
    if (next.search) params.set('search', next.search);
    navigate(`#/posts${params.size ? `?${params}` : ''}`);
  };

  // ---- filters
  const checkboxes = [];
  const groups = GROUPS.map((group) =>
    h(
      'div',
      { class: 'status-group', role: 'group', 'aria-label': group.name },
      h('span', { class: 'group-name', 'aria-hidden': 'true' }, group.name),
      group.statuses.map((status) => {
        const box = h('input', {
          type: 'checkbox',
          name: 'status',
          value: status,
          ...(state.statuses.includes(status) ? { checked: true } : {}),
          onchange: () => setHash({ ...state, statuses: checkboxes.filter((c) => c.checked).map((c) => c.value) }),
        });
        checkboxes.push(box);
        return h('label', { class: 'check' }, box, words(status));
      }),
    ),
  );
  const titleInput = h('input', { type: 'search', name: 'q', value: state.q, maxlength: '200' });
  const orderSelect = h(
    'select',
    { name: 'order', onchange: () => setHash({ ...state, order: orderSelect.value }) },
    h('option', { value: 'held', ...(state.order === 'held' ? { selected: true } : {}) }, 'Waiting for a person first'),
    h('option', { value: 'created', ...(state.order === 'created' ? { selected: true } : {}) }, 'Newest first'),
  );
  const filters = h(
    'form',
    {
      class: 'filters card',
      'aria-label': 'Filter posts',
      onsubmit: (event) => {
        event.preventDefault();
        setHash({ ...state, q: titleInput.value.trim(), search: '' });
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, 'Status'),
      h(
        'div',
        { class: 'quick' },
        h(
          'button',
          { type: 'button', class: 'secondary small', onclick: () => setHash({ ...state, statuses: HELD }) },
          'Held only',
        ),
        h(
          'button',
          { type: 'button', class: 'secondary small', onclick: () => setHash({ ...state, statuses: [] }) },
          'All statuses',
        ),
      ),
      groups,
    ),
    h(
      'div',
      { class: 'row' },
      field('Title contains', titleInput),
      field('Order', orderSelect),
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    ),
  );

  const searchInput = h('input', { type: 'search', name: 'search', value: state.search, maxlength: '1000' });
  const searchForm = h(
    'form',
    {
      class: 'search card',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        setHash({ ...state, search: searchInput.value.trim() });
      },
    },
    field(
      'Search by meaning',
      searchInput,
      'Semantic search over indexed posts: finds posts about a topic, not only with its words.',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );

  const status = h('p', { class: 'muted', id: 'list-status' });
  const results = h('div', { class: 'results', 'aria-describedby': 'list-status' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });

  main.append(
    h('h1', { tabindex: '-1' }, 'Posts'),
    h('div', { class: 'toolbar' }, filters, searchForm),
    status,
    results,
    pager,
  );

  function row(post) {
    const reason = reasonOf(post);
    return h(
      'tr',
      { dataset: { id: post.id, status: post.status } },
      h(
        'th',
        { scope: 'row', 'data-label': 'Title' },
        h('a', { href: `#/posts/${encodeURIComponent(post.id)}` }, post.title || '(untitled)'),
      ),
      h('td', { 'data-label': 'Status' }, statusBadge(post.status)),
      h('td', { 'data-label': 'Reason', class: 'reason' }, reason),
      h('td', { 'data-label': 'Words', class: 'num' }, post.wordCount ?? '—'),
      h('td', { 'data-label': 'SEO', class: 'num' }, post.seoScore ?? '—'),
      h('td', { 'data-label': 'Cost', class: 'num' }, usd(post.costUsd)),
      h('td', { 'data-label': 'Created' }, time(post.createdAt)),
      h('td', { 'data-label': 'Scheduled' }, post.status === 'published' ? '—' : time(post.scheduledAt)),
      h('td', { 'data-label': 'Published' }, time(post.publishedAt)),
    );
  }

  function table(items) {
    return h(
      'table',
      { class: 'posts' },
      h('caption', { class: 'visually-hidden' }, 'Posts'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Title', 'Status', 'Reason', 'Words', 'SEO', 'Cost', 'Created', 'Scheduled', 'Published'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h('tbody', {}, items.map(row)),
    );
  }

  function renderPager(nextCursor) {
    clear(pager);
    const newer = h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        disabled: pages.length === 0,
        onclick: () => {
          cursor = pages.pop() ?? null;
          load();
        },
      },
      '← Newer',
    );
    const older = h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        disabled: !nextCursor,
        onclick: () => {
          pages.push(cursor);
          cursor = nextCursor;
          load();
        },
      },
      'Older →',
    );
    pager.append(newer, h('span', { class: 'muted' }, `Page ${pages.length + 1}`), older);
  }

  async function load({ quiet = false } = {}) {
    if (stopped) return;
    try {
      if (state.search) {
        const found = await api('search', { query: { q: state.search, limit: 20 } });
        const signature = JSON.stringify(found.results);
        if (quiet && signature === lastSignature) return;
        lastSignature = signature;
        clear(pager);
        const count = found.results.length;
        status.textContent = `${count} post${count === 1 ? '' : 's'} about “${state.search}”`;
        fill(
          results,
          found.results.length === 0
            ? h('p', {}, 'No indexed post is about that. Posts are searchable once they have been indexed.')
            : h(
                'ol',
                { class: 'hits' },
                found.results.map((hit) =>
                  h(
                    'li',
                    {},
                    h('a', { href: `#/posts/${encodeURIComponent(hit.postId)}` }, hit.title || '(untitled)'),
                    ' ',
                    statusBadge(hit.status),
                    h(
                      'span',
                      { class: 'muted' },
                      ` score ${hit.score.toFixed(3)}${hit.heading ? ` · ${hit.heading}` : ''}`,
                    ),
                    h('p', { class: 'snippet' }, hit.snippet),
                  ),
                ),
              ),
          h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => setHash({ ...state, search: '' }) },
            'Back to the list',
          ),
        );
        return;
      }
      const page = await api('posts', {
        query: { status: state.statuses.join(','), q: state.q, order: state.order, limit: 25, cursor },
      });
      const signature = JSON.stringify(page.items);
      if (quiet && signature === lastSignature) return;
      const changed = quiet && lastSignature !== '';
      lastSignature = signature;
      // Keep focus on the same post's link across a refresh.
      const focusedId = document.activeElement?.closest?.('tr[data-id]')?.dataset.id;
      const filtered = state.statuses.length ? ` with status ${state.statuses.map(words).join(', ')}` : '';
      status.textContent =
        page.items.length === 0
          ? `No posts${filtered}${state.q ? ` whose title contains “${state.q}”` : ''}.`
          : `${page.items.length} post${page.items.length === 1 ? '' : 's'}${filtered} ` +
            `on this page · updated ${new Date().toLocaleTimeString()}`;
      fill(results, page.items.length ? table(page.items) : '');
      if (focusedId) results.querySelector(`tr[data-id="${CSS.escape(focusedId)}"] a`)?.focus();
      renderPager(page.nextCursor);
      if (changed) announce('The list of posts changed.');
    } catch (error) {
      status.textContent = `Could not load the posts: ${error.message}`;
    }
  }

  const tick = () => {
    timer = setTimeout(async () => {
      if (document.visibilityState === 'visible') await load({ quiet: true });
      if (!stopped) tick();
    }, POLL_MS);
  };
  load().then(tick);
  if (focus) main.querySelector('h1').focus();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
