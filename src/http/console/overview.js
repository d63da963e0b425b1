// The tenant overview: spend this month against the budget, posts per day by status (a stacked bar
// chart drawn as SVG, with the same figures in a table), failures by reason, scheduled posts per
// destination, and the feeds with their last polls.

import { api } from './api.js';
import { dataTable, fill, h, s, section, statusBadge, time, usd, words } from './dom.js';
import { GROUPS } from './posts.js';

// One colour per status group (the chart's legend names them; the table gives every figure).
const GROUP_COLOURS = ['#b45309', '#6d28d9', '#1d4ed8', '#047857', '#b91c1c'];
const TABLE_NOTE = 'the table below gives each day.';

function groupOf(status) {
  const index = GROUPS.findIndex((g) => g.statuses.includes(status));
  return index < 0 ? GROUPS.length - 1 : index;
}

function spendChart(spend) {
  const width = 480;
  const ratio = spend.usedRatio === null ? null : Math.min(1, spend.usedRatio);
  const label =
    spend.monthlyBudgetUsd === null
      ? `${usd(spend.spentUsd)} spent this month; no monthly budget is set.`
      : `${usd(spend.spentUsd)} of ${usd(spend.monthlyBudgetUsd)} spent this month ` +
        `(${Math.round((spend.usedRatio ?? 0) * 100)}%).`;
  return h(
    'figure',
    { class: 'chart' },
    ratio === null
      ? null
      : s(
          'svg',
          { viewBox: `0 0 ${width} 28`, role: 'img', 'aria-label': label, class: 'spend' },
          s('rect', { x: 0, y: 4, width, height: 20, rx: 4, fill: '#e5e7eb' }),
          s('rect', {
            x: 0,
            y: 4,
            width: Math.max(2, ratio * width),
            height: 20,
            rx: 4,
            fill: ratio >= 0.8 ? '#b91c1c' : '#1d4ed8',
          }),
          s('line', { x1: width * 0.8, x2: width * 0.8, y1: 0, y2: 28, stroke: '#111827', 'stroke-dasharray': '3 2' }),
        ),
    h('figcaption', {}, label, ratio !== null ? ' The dashed line marks 80%.' : ''),
  );
}

function perDayChart(days) {
  const width = 900;
  const height = 220;
  const pad = { left: 36, right: 8, top: 10, bottom: 34 };
  const max = Math.max(1, ...days.map((d) => d.total));
  const band = (width - pad.left - pad.right) / days.length;
  const y = (n) => pad.top + (height - pad.top - pad.bottom) * (1 - n / max);
  const bars = [];
  days.forEach((day, i) => {
    let base = 0;
    const groups = GROUPS.map(() => 0);
    for (const [status, n] of Object.entries(day.byStatus)) groups[groupOf(status)] += n;
    groups.forEach((n, g) => {
      if (!n) return;
      bars.push(
        s(
          'rect',
          {
            x: pad.left + i * band + band * 0.15,
            width: band * 0.7,
            y: y(base + n),
            height: y(base) - y(base + n),
            fill: GROUP_COLOURS[g],
          },
          s('title', {}, `${day.date}: ${n} ${GROUPS[g].name.toLowerCase()}`),
        ),
      );
      base += n;
    });
  });
  const labelEvery = Math.ceil(days.length / 7);
  const total = days.reduce((n, d) => n + d.total, 0);
  return h(
    'figure',
    { class: 'chart' },
    s(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': `Posts created per day over ${days.length} days: ${total} in all; ${TABLE_NOTE}`,
      },
      s('line', { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), stroke: '#6b7280' }),
      s('text', { x: pad.left - 6, y: y(max) + 4, 'text-anchor': 'end', class: 'axis' }, String(max)),
      s('text', { x: pad.left - 6, y: y(0) + 4, 'text-anchor': 'end', class: 'axis' }, '0'),
      bars,
      days.map((d, i) =>
        i % labelEvery === 0 || i === days.length - 1
          ? s(
              'text',
              { x: pad.left + i * band + band / 2, y: height - 12, 'text-anchor': 'middle', class: 'axis' },
              d.date.slice(5),
            )
          : null,
      ),
    ),
    h(
      'figcaption',
      {},
      h(
        'ul',
        { class: 'legend' },
        GROUPS.map((g, i) =>
          h(
            'li',
            {},
            s(
              'svg',
              { viewBox: '0 0 10 10', width: 12, height: 12, 'aria-hidden': 'true' },
              s('rect', { width: 10, height: 10, fill: GROUP_COLOURS[i] }),
            ),
            ` ${g.name}`,
          ),
        ),
      ),
    ),
  );
}

function bars(rows, valueFor, labelOf) {
  const max = Math.max(1, ...rows.map(valueFor));
  return rows.map((r) =>
    s(
      'svg',
      { viewBox: '0 0 100 10', class: 'bar', 'aria-hidden': 'true', preserveAspectRatio: 'none' },
      s('rect', { width: (valueFor(r) / max) * 100, height: 10, fill: '#1d4ed8' }),
      s('title', {}, labelOf(r)),
    ),
  );
}

export function renderOverview(main, { announce, focus }) {
  let stopped = false;
  let timer = null;
  const body = h('div', { class: 'overview' }, h('p', {}, 'Loading…'));
  main.append(h('h1', { tabindex: '-1' }, 'Overview'), body);
  document.title = 'Overview · Blog Poster console';

  let signature = '';
  async function load() {
    try {
      const o = await api('overview', { query: { days: 14 } });
      if (stopped) return;
      // Re-drawn only when a figure changed, so a refresh does not move the reader's focus.
      const next = JSON.stringify({ ...o, generatedAt: null });
      if (next === signature) return;
      signature = next;
      const perDayRows = [...o.postsPerDay].reverse().map((d) => [
        d.date,
        d.total,
        Object.entries(d.byStatus)
          .map(([st, n]) => `${words(st)} ${n}`)
          .join(', ') || '—',
      ]);
      const failureBars = bars(
        o.failures,
        (f) => f.count,
        (f) => `${f.count}`,
      );
      const scheduledBars = bars(
        o.scheduled,
        (r) => r.count,
        (r) => `${r.count}`,
      );
      fill(
        body,
        h('p', { class: 'muted' }, `Tenant ${o.tenant.slug} · updated ${new Date(o.generatedAt).toLocaleTimeString()}`),
        h(
          'div',
          { class: 'grid' },
          section(
            'Model spend this month',
            spendChart(o.spend),
            o.spend.perPostCostCapUsd !== null ? h('p', {}, `Per-post cap: ${usd(o.spend.perPostCostCapUsd)}.`) : null,
          ),
          section(
            'Posts by status',
            h(
              'ul',
              { class: 'status-counts' },
              Object.entries(o.postsByStatus).map(([st, n]) =>
                h('li', {}, h('a', { href: `#/posts?status=${encodeURIComponent(st)}` }, statusBadge(st), ` ${n}`)),
              ),
            ),
          ),
        ),
        section(
          `Posts per day (last ${o.days} days, UTC)`,
          perDayChart(o.postsPerDay),
          h(
            'details',
            {},
            h('summary', {}, 'The figures as a table'),
            dataTable('Posts per day', ['Day', 'Posts', 'By status'], perDayRows),
          ),
        ),
        section(
          'Failures by reason',
          o.failures.length === 0
            ? h('p', { class: 'ok-text' }, `No failures in the last ${o.days} days.`)
            : dataTable(
                'Failures by reason',
                ['Reason', 'Stage', 'Posts', '', 'Last'],
                o.failures.map((f, i) => [
                  h('span', { title: f.example }, f.reason),
                  f.stage ?? '—',
                  f.count,
                  failureBars[i],
                  time(f.lastAt),
                ]),
              ),
        ),
        section(
          'Scheduled posts per destination',
          o.scheduled.length === 0
            ? h('p', {}, 'Nothing is scheduled.')
            : dataTable(
                'Scheduled posts per destination',
                ['Destination', 'Posts', '', 'Next'],
                o.scheduled.map((r, i) => [r.name ?? r.destination, r.count, scheduledBars[i], time(r.nextAt)]),
              ),
        ),
        section(
          'Feeds',
          o.feeds.length === 0
            ? h('p', {}, 'No feed is registered.')
            : dataTable(
                'Feeds and their last polls',
                ['Feed', 'Schedule', 'Last poll', 'Outcome', 'Recent polls'],
                o.feeds.map((f) => [
                  h('span', { class: 'url' }, f.url),
                  `${f.cron} (${f.timezone})`,
                  time(f.lastPolledAt),
                  f.lastError ? `${f.lastOutcome ?? 'failed'}: ${f.lastError}` : (f.lastOutcome ?? 'not polled yet'),
                  f.recentPolls.length
                    ? h(
                        'span',
                        { class: 'polls' },
                        f.recentPolls.map((p) =>
                          h(
                            'span',
                            {
                              class: `poll ${p.error ? 'bad' : 'ok'}`,
                              title:
                                `${new Date(p.startedAt).toLocaleString()}: ${p.outcome ?? 'running'}` +
                                (p.error ? ` (${p.error})` : `, ${p.newEntries} new`),
                            },
                            p.error ? '✕' : '✓',
                          ),
                        ),
                        h(
                          'span',
                          { class: 'visually-hidden' },
                          `${f.recentPolls.filter((p) => !p.error).length} of ${f.recentPolls.length} ` +
                            `recent polls succeeded`,
                        ),
                      )
                    : '—',
                ]),
              ),
        ),
      );
    } catch (err) {
      fill(body, h('p', { role: 'alert' }, `Could not load the overview: ${err.message}`));
    }
  }

  const tick = () => {
    timer = setTimeout(async () => {
      if (document.visibilityState === 'visible') await load();
      if (!stopped) tick();
    }, 30_000);
  };
  load().then(() => {
    if (focus) main.querySelector('h1')?.focus();
    tick();
  });
  void announce;
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
