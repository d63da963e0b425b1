// One post: the draft rendered with the grounding gate's flagged sentences highlighted and, beside them,
// the reasons and the closest source sentences; a near-duplicate beside the post it repeats; the SEO
// report, citations, cost, revisions and stage history; and the editorial actions, each confirmed in a
// dialog with its result shown. While a stage works on the post the page follows it.

import { ApiError, api } from './api.js';
import {
  confirmDialog,
  dataTable,
  field,
  fill,
  h,
  markSentences,
  safeFragment,
  section,
  statusBadge,
  time,
  usd,
  words,
} from './dom.js';

const APPROVABLE = ['awaiting_approval', 'needs_review', 'duplicate_of', 'duplicate', 'skipped'];
const EDITABLE = ['needs_review', 'duplicate_of', 'awaiting_approval'];
const IN_FLIGHT = ['queued', 'ingesting', 'generating', 'embedding', 'indexing', 'publishing'];
const NOT_RESCHEDULABLE = ['published', 'publishing', 'cancelled', 'rejected', 'failed'];
const NOT_CANCELLABLE = ['published', 'publishing', 'cancelled', 'rejected'];
const STAGES = ['ingest', 'generate', 'embed', 'index', 'publish'];
const FOLLOW_MS = 1500;

function externalLink(url, label) {
  return /^https?:\/\//i.test(url ?? '') ? h('a', { href: url, rel: 'noopener noreferrer nofollow' }, label) : label;
}

export function renderPost(main, { id, navigate, announce, focus }) {
  let stopped = false;
  let timer = null;
  let editing = false;
  let view = null;
  const result = h('div', { class: 'result', role: 'status', 'aria-live': 'polite', id: 'action-result' });
  result.hidden = true;

  function showResult(message, kind = 'ok') {
    result.hidden = false;
    result.className = `result ${kind}`;
    result.textContent = message;
    announce(message);
  }

  async function load() {
    const [post, content, revisions] = await Promise.all([
      api(`posts/${encodeURIComponent(id)}`),
      api(`posts/${encodeURIComponent(id)}/content`),
      api(`posts/${encodeURIComponent(id)}/revisions`),
    ]);
    let original = null;
    const otherId = post.status === 'duplicate_of' ? post.hold?.details?.postId : post.duplicateOf?.postId;
    if (otherId) {
      original = await Promise.all([
        api(`posts/${encodeURIComponent(otherId)}`),
        api(`posts/${encodeURIComponent(otherId)}/content`),
      ]).catch(() => null);
    }
    return { post, content, revisions, original };
  }

  function render() {
    const { post, content, revisions, original } = view;
    document.title = `${post.title ?? 'Post'} · Blog Poster console`;
    const findings = content.grounding?.failingSentences ?? [];
    fill(
      main,
      h('p', {}, h('a', { href: '#/posts' }, '← All posts')),
      h('h1', { tabindex: '-1' }, post.title || '(untitled)'),
      h(
        'p',
        { class: 'facts' },
        statusBadge(post.status),
        h('span', {}, content.revision ? `revision ${content.revision}` : 'no draft yet'),
        h('span', {}, `${post.wordCount ?? '—'} words`),
        h('span', {}, `SEO ${content.seo?.score ?? '—'}`),
        h('span', {}, `cost ${usd(content.costUsd)}`),
        h('span', {}, ['created ', time(post.createdAt)]),
        post.publishedAt ? h('span', {}, ['published ', time(post.publishedAt)]) : null,
      ),
      post.hold || post.failure
        ? h(
            'div',
            { class: `callout ${post.failure ? 'bad' : 'warn'}`, role: 'note' },
            h('strong', {}, post.failure ? `Failed at ${post.failure.stage ?? 'a stage'}: ` : 'Held: '),
            post.failure?.reason ?? post.hold.reason ?? words(post.status),
          )
        : null,
      post.publishing?.stopped
        ? h(
            'div',
            { class: 'callout bad', role: 'note' },
            `${words(post.publishing.stopped.status)}: ${post.publishing.stopped.reason ?? 'no reason given'}`,
          )
        : null,
      actions(post, content),
      result,
      editing ? editor(content, findings) : draftAndFindings(content, findings),
      original ? comparison(post, content, original) : null,
      seoSection(content),
      citationsSection(content),
      costSection(content),
      revisionsSection(revisions),
      historySection(post),
    );
  }

  // ---------------------------------------------------------------- the draft and its findings

  function findingsPanel(grounding, findings, marks) {
    if (!grounding) return h('p', {}, 'No grounding report yet.');
    const items = findings.map((f, i) =>
      h(
        'li',
        { id: `finding-${i + 1}`, tabindex: '-1', class: 'finding' },
        h('p', { class: 'claim' }, h('span', { class: 'finding-no' }, `${i + 1}`), h('q', {}, f.sentence)),
        h(
          'ul',
          { class: 'reasons' },
          f.reasons.map((r) => h('li', {}, r)),
        ),
        marks[i]
          ? h('button', { type: 'button', class: 'link', onclick: () => marks[i].focus() }, 'Show in the draft')
          : h(
              'p',
              { class: 'muted' },
              f.section
                ? `In “${f.section}” (not located in the rendered draft).`
                : 'Not located in the rendered draft.',
            ),
        f.closestSources?.length
          ? h(
              'div',
              { class: 'evidence' },
              h('p', { class: 'label' }, 'Closest source sentences'),
              h(
                'ol',
                {},
                f.closestSources.map((c) =>
                  h(
                    'li',
                    {},
                    h('q', {}, c.sentence),
                    h('span', { class: 'muted' }, ` — ${c.sourceTitle ?? 'source'} · similarity ${c.score.toFixed(2)}`),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No source sentence is close to it.'),
      ),
    );
    return h(
      'div',
      {},
      h(
        'p',
        { class: grounding.passed ? 'ok-text' : 'bad-text' },
        grounding.passed
          ? `Grounding passes: ${grounding.checkedSentences ?? 'all'} sentences checked against the sources.`
          : `Grounding: ${plural(findings.length + (grounding.problems?.length ?? 0), 'finding')} to review.`,
      ),
      grounding.problems?.length
        ? h(
            'ul',
            { class: 'problems' },
            grounding.problems.map((p) => h('li', {}, p)),
          )
        : null,
      items.length ? h('ol', { class: 'findings' }, items) : null,
    );
  }

  function draftAndFindings(content, findings) {
    const article = h(
      'article',
      { class: 'draft prose', 'aria-label': 'Draft' },
      content.html ? safeFragment(content.html) : h('p', {}, 'The post has not been written yet.'),
    );
    const marks = markSentences(
      article,
      findings.map((f) => f.sentence),
      (i) =>
        h('mark', { class: 'finding', tabindex: '-1', id: `mark-${i + 1}`, title: findings[i].reasons.join('; ') }),
    );
    marks.forEach((mark, i) => {
      mark?.before(
        h(
          'button',
          {
            type: 'button',
            class: 'finding-ref',
            'aria-label': `Finding ${i + 1}: ${findings[i].reasons.join('; ')}`,
            onclick: () => document.getElementById(`finding-${i + 1}`)?.focus(),
          },
          String(i + 1),
        ),
      );
    });
    return h(
      'div',
      { class: 'split' },
      section('Draft', article),
      h(
        'aside',
        { class: 'card findings-panel', 'aria-labelledby': 's-grounding' },
        h('h2', { id: 's-grounding' }, 'Grounding'),
        findingsPanel(content.grounding, findings, marks),
      ),
    );
  }

  // ---------------------------------------------------------------- editing

  function editor(content, findings) {
    const title = h('input', {
      type: 'text',
      name: 'title',
      value: content.title ?? '',
      required: true,
      maxlength: '200',
    });
    const metaTitle = h('input', {
      type: 'text',
      name: 'metaTitle',
      value: content.metaTitle ?? '',
      maxlength: '200',
    });
    const description = h(
      'textarea',
      { name: 'metaDescription', rows: '3', required: true, maxlength: '500' },
      content.metaDescription ?? '',
    );
    const counter = h('span', { class: 'hint', 'aria-live': 'polite' });
    const count = () => {
      counter.textContent = `${description.value.length} characters (140–160 reads best in search results)`;
    };
    description.addEventListener('input', count);
    count();
    const tags = h('input', { type: 'text', name: 'tags', value: (content.tags ?? []).join(', ') });
    const markdown = h(
      'textarea',
      { name: 'markdown', rows: '24', required: true, class: 'code', spellcheck: 'true' },
      content.markdown ?? '',
    );
    const error = h('div', { class: 'alert', role: 'alert' });
    error.hidden = true;
    const form = h(
      'form',
      {
        class: 'card editor',
        'aria-labelledby': 's-edit',
        onsubmit: async (event) => {
          event.preventDefault();
          if (!form.reportValidity()) return;
          const next = (content.revision ?? 0) + 1;
          const ok = await confirmDialog({
            title: `Save as revision ${next}?`,
            body:
              'The SEO lint and the grounding gate run again on the edit. The post stays ' +
              'held until it is approved.',
            confirmLabel: 'Save revision',
          });
          if (!ok) return;
          const newMetaTitle = metaTitle.value.trim();
          try {
            const saved = await api(`posts/${encodeURIComponent(id)}`, {
              method: 'PATCH',
              body: {
                title: title.value.trim(),
                // Sent only when changed: a new title without one gets a new meta title.
                ...(newMetaTitle && newMetaTitle !== (content.metaTitle ?? '') ? { metaTitle: newMetaTitle } : {}),
                metaDescription: description.value.trim(),
                tags: tags.value
                  .split(',')
                  .map((t) => t.trim())
                  .filter(Boolean),
                markdown: markdown.value,
                ...(content.revision ? { baseRevision: content.revision } : {}),
              },
            });
            editing = false;
            const g = saved.grounding;
            const findingCount = (g?.failingSentences?.length ?? 0) + (g?.problems?.length ?? 0);
            await refresh();
            showResult(
              `Saved revision ${saved.revision}. ` +
                `Grounding ${g?.passed ? 'passes' : `has ${plural(findingCount, 'finding')}`}; ` +
                `SEO score ${saved.seo?.score ?? '—'} with ${saved.seo?.violations?.length ?? 0} ` +
                `issue${saved.seo?.violations?.length === 1 ? '' : 's'}.`,
              g?.passed ? 'ok' : 'warn',
            );
          } catch (err) {
            error.textContent =
              err instanceof ApiError && err.status === 409 && err.fields[0]?.field === 'baseRevision'
                ? `Someone saved a newer revision meanwhile: ${err.message}. Reload the post to edit the latest one.`
                : `Not saved: ${err.message}`;
            error.hidden = false;
            error.focus?.();
          }
        },
      },
      h('h2', { id: 's-edit' }, `Edit the draft (revision ${content.revision ?? 0})`),
      error,
      field('Title', title),
      field(
        'Meta title',
        metaTitle,
        "The page's <title>, shown in search results; 45–60 characters. Left as it is, a new title gets a new one.",
      ),
      field('Meta description', description),
      counter,
      field('Tags', tags, 'Comma-separated, at most 10.'),
      field('Markdown', markdown, 'The body without the title; keep the [n] citation markers and the Sources list.'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Save as new revision'),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              editing = false;
              render();
            },
          },
          'Discard changes',
        ),
      ),
    );
    setTimeout(() => markdown.focus(), 0);
    return h(
      'div',
      { class: 'split' },
      form,
      h(
        'aside',
        { class: 'card findings-panel', 'aria-labelledby': 's-grounding' },
        h('h2', { id: 's-grounding' }, 'Grounding of the saved draft'),
        findingsPanel(content.grounding, findings, []),
      ),
    );
  }

  // ---------------------------------------------------------------- actions

  async function act(name, body, describe) {
    try {
      const answer = await api(`posts/${encodeURIComponent(id)}/${name}`, { method: 'POST', body });
      showResult(describe(answer));
      await refresh();
      follow();
    } catch (err) {
      showResult(`${words(name)} failed: ${err.message}`, 'bad');
    }
  }

  function actions(post, content) {
    const buttons = [];
    const button = (label, onclick, cls = 'secondary') =>
      buttons.push(h('button', { type: 'button', class: cls, onclick }, label));
    if (EDITABLE.includes(post.status) && content.markdown)
      button('Edit draft', () => {
        editing = true;
        result.hidden = true;
        render();
      });
    if (APPROVABLE.includes(post.status))
      button(
        'Approve',
        async () => {
          const ok = await confirmDialog({
            title: 'Approve this post?',
            body:
              `It continues from the stage after ${post.hold?.stage ?? 'its hold'} and ` +
              `is published (or scheduled) when it gets there.`,
            confirmLabel: 'Approve',
          });
          if (ok) await act('approve', {}, () => 'Approved: the post runs on.');
        },
        'primary',
      );
    if ([...APPROVABLE, 'scheduled'].includes(post.status))
      button(
        'Reject',
        async () => {
          const reason = h('textarea', { name: 'reason', rows: '3', required: true, maxlength: '1000' });
          const values = await confirmDialog({
            title: 'Reject this post?',
            body: 'A rejected post is never published.',
            confirmLabel: 'Reject',
            danger: true,
            fields: [field('Reason', reason, 'Shown on the post.')],
          });
          if (values) await act('reject', { reason: values.reason.trim() }, () => `Rejected: ${values.reason.trim()}`);
        },
        'danger',
      );
    if (!NOT_RESCHEDULABLE.includes(post.status) && !post.publishing?.stopped)
      button('Reschedule', async () => {
        const minimum = new Date(Date.now() + 60_000);
        const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
        const at = h('input', {
          type: 'datetime-local',
          name: 'publishAt',
          required: true,
          min: local(minimum),
          value: local(
            post.publishing?.publishAt ? new Date(post.publishing.publishAt) : new Date(Date.now() + 86_400_000),
          ),
        });
        const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        const values = await confirmDialog({
          title: 'Reschedule this post',
          confirmLabel: 'Reschedule',
          fields: [field('Publish at', at, `Your time zone (${zone}).`)],
        });
        if (values) {
          const publishAt = new Date(values.publishAt).toISOString();
          await act('reschedule', { publishAt }, () => `Rescheduled for ${new Date(publishAt).toLocaleString()}.`);
        }
      });
    if (!NOT_CANCELLABLE.includes(post.status) && !post.publishing?.stopped)
      button(
        'Cancel post',
        async () => {
          const reason = h('textarea', { name: 'reason', rows: '2', maxlength: '1000' });
          const values = await confirmDialog({
            title: 'Cancel this post?',
            body: 'A cancelled post is never published.',
            confirmLabel: 'Cancel post',
            danger: true,
            fields: [field('Reason (optional)', reason)],
          });
          if (values)
            await act(
              'cancel',
              values.reason.trim() ? { reason: values.reason.trim() } : {},
              () => 'Cancelled: the post will not be published.',
            );
        },
        'danger',
      );
    if (!IN_FLIGHT.includes(post.status))
      button('Replay…', async () => {
        const stage = h(
          'select',
          { name: 'fromStage', required: true },
          STAGES.map((s) =>
            h('option', { value: s, ...(s === (post.failure?.stage ?? 'generate') ? { selected: true } : {}) }, s),
          ),
        );
        const values = await confirmDialog({
          title: 'Replay this post',
          body: 'The post runs again from the chosen stage, as a new run.',
          confirmLabel: 'Replay',
          fields: [field('From stage', stage)],
        });
        if (values)
          await act(
            'replay',
            { fromStage: values.fromStage },
            (a) => `Replaying from ${a.fromStage} (run ${a.generation}).`,
          );
      });
    if (buttons.length === 0)
      return h(
        'p',
        { class: 'muted' },
        IN_FLIGHT.includes(post.status)
          ? `A stage is working on the post (${words(post.status)}).`
          : 'No action applies to this post now.',
      );
    return h('div', { class: 'actions toolbar-actions', role: 'group', 'aria-label': 'Actions' }, buttons);
  }

  // ---------------------------------------------------------------- the other sections

  function comparison(post, content, [other, otherContent]) {
    const details = post.hold?.details ?? {};
    const score = typeof details.score === 'number' ? details.score.toFixed(3) : null;
    const column = (label, c) =>
      h(
        'div',
        { class: 'column' },
        h('h3', {}, label),
        h(
          'div',
          { class: 'scroll prose', tabindex: '0', role: 'region', 'aria-label': label },
          c.html ? safeFragment(c.html) : h('p', {}, 'No text.'),
        ),
      );
    return section(
      'Compared with the post it repeats',
      h(
        'p',
        {},
        score
          ? `Similarity ${score}` +
              `${typeof details.threshold === 'number' ? ` (held at ${details.threshold} or more)` : ''} with `
          : 'It repeats ',
        h('a', { href: `#/posts/${encodeURIComponent(other.id)}` }, other.title || '(untitled)'),
        ', which is ',
        words(other.status),
        '.',
      ),
      h(
        'div',
        { class: 'side-by-side' },
        column(`This post: ${post.title ?? ''}`, content),
        column(`The other post: ${other.title ?? ''}`, otherContent),
      ),
    );
  }

  function seoSection(content) {
    const seo = content.seo;
    const chars = (text) => (text ? `${text} (${text.length} characters)` : '—');
    return section(
      'SEO',
      h(
        'dl',
        { class: 'fields' },
        h('dt', {}, 'Score'),
        h('dd', {}, seo ? `${seo.score} / 100` : '—'),
        h('dt', {}, 'Meta title'),
        h('dd', {}, chars(content.metaTitle)),
        h('dt', {}, 'Meta description'),
        h('dd', {}, chars(content.metaDescription)),
        h('dt', {}, 'Slug'),
        h('dd', {}, content.slug ?? '—'),
        h('dt', {}, 'Tags'),
        h('dd', {}, (content.tags ?? []).join(', ') || '—'),
        h('dt', {}, 'Category'),
        h('dd', {}, content.category ?? '—'),
        h('dt', {}, 'Reading time'),
        h('dd', {}, content.readingTimeMinutes ? `${content.readingTimeMinutes} min` : '—'),
      ),
      seo?.violations?.length
        ? h(
            'ul',
            { class: 'violations' },
            seo.violations.map((v) => h('li', { class: v.severity }, h('strong', {}, `${v.severity}: `), v.message)),
          )
        : h('p', { class: 'ok-text' }, seo ? 'No SEO issue.' : 'No SEO report yet.'),
    );
  }

  function citationsSection(content) {
    return section(
      'Citations and sources',
      content.sources.length === 0
        ? h('p', {}, 'No ingested source.')
        : h(
            'ol',
            { class: 'sources' },
            content.sources.map((s) =>
              h(
                'li',
                {},
                h(
                  'p',
                  {},
                  h('strong', {}, externalLink(s.url, s.title || s.url || 'Untitled source')),
                  h(
                    'span',
                    { class: 'muted' },
                    ` · ${s.kind} · ${s.words} words` +
                      (s.citedAs.length ? ` · cited as [${s.citedAs.join('], [')}]` : ' · not cited'),
                  ),
                ),
                h('p', { class: 'snippet' }, s.excerpt),
              ),
            ),
          ),
    );
  }

  function costSection(content) {
    return section(
      'Cost',
      content.costs.length === 0
        ? h('p', {}, `No model calls (${usd(content.costUsd)}).`)
        : dataTable(
            'Model calls by step',
            ['Step', 'Model', 'Calls', 'Tokens in / out', 'Cost'],
            content.costs.map((c) => [
              c.step,
              `${c.provider}/${c.model}`,
              `${c.calls}${c.cachedCalls ? ` (${c.cachedCalls} cached)` : ''}`,
              `${c.promptTokens} / ${c.completionTokens}`,
              usd(c.costUsd),
            ]),
          ),
    );
  }

  function revisionsSection(revisions) {
    return section(
      'Revisions',
      revisions.items.length === 0
        ? h('p', {}, 'No revision yet.')
        : dataTable(
            'Revisions, newest first',
            ['Revision', 'Made by', 'When', 'Words', 'SEO', 'Grounding'],
            revisions.items.map((r) => [
              `${r.revision}${r.current ? ' (current)' : ''}`,
              `${r.origin === 'edit' ? 'edit' : 'writer'}: ${r.author}`,
              time(r.createdAt),
              r.wordCount ?? '—',
              r.seoScore ?? '—',
              r.groundingPassed === null ? '—' : r.groundingPassed ? 'passes' : 'findings',
            ]),
          ),
    );
  }

  function historySection(post) {
    return section(
      'Stages and publications',
      dataTable(
        'Stage runs',
        ['Stage', 'Attempt', 'Outcome', 'Started', 'Finished', 'Error'],
        post.stages.map((r) => [r.stage, r.attempt, r.outcome, time(r.startedAt), time(r.finishedAt), r.error ?? '']),
      ),
      post.publications.length
        ? h(
            'ul',
            { class: 'publications' },
            post.publications.map((p) =>
              h(
                'li',
                {},
                `${p.kind} (${p.destination}): ${p.status}`,
                p.url ? [' · ', externalLink(p.url, p.url)] : '',
                p.error ? ` · ${p.error}` : '',
              ),
            ),
          )
        : null,
      post.publishing?.publishAt ? h('p', {}, ['Publishing time: ', time(post.publishing.publishAt)]) : null,
    );
  }

  // ---------------------------------------------------------------- loading and following

  async function refresh() {
    view = await load();
    if (!stopped) render();
  }

  /** While a stage works on the post, reload it until it settles, saying where it is. */
  function follow() {
    clearTimeout(timer);
    if (stopped || !view || !IN_FLIGHT.includes(view.post.status)) return;
    timer = setTimeout(async () => {
      try {
        const post = await api(`posts/${encodeURIComponent(id)}`);
        if (post.status !== view.post.status || !IN_FLIGHT.includes(post.status)) {
          const focused = document.activeElement === document.body ? null : document.activeElement?.id;
          await refresh();
          if (focused) document.getElementById(focused)?.focus();
          if (!IN_FLIGHT.includes(post.status))
            showResult(`The post is now ${words(post.status)}.`, post.status === 'failed' ? 'bad' : 'ok');
        }
      } catch {
        // A missed poll is retried on the next one.
      }
      follow();
    }, FOLLOW_MS);
  }

  main.append(h('p', {}, 'Loading the post…'));
  refresh()
    .then(() => {
      if (focus) main.querySelector('h1')?.focus();
      follow();
    })
    .catch((err) => {
      fill(
        main,
        h('p', {}, h('a', { href: '#/posts' }, '← All posts')),
        h(
          'h1',
          { tabindex: '-1' },
          err instanceof ApiError && err.status === 404 ? 'No such post' : 'The post could not be loaded',
        ),
        h('p', { role: 'alert' }, err.message),
      );
    });
  void navigate;
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** `2 findings`, `1 finding`. */
function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
