// Sign-in: a tenant API key, or the deployment's operator credentials for a tenant they name. Either is
// checked against the API before it is kept (in sessionStorage, for this tab only).

import { ApiError, api, session } from './api.js';
import { field, h } from './dom.js';

function explain(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong; try again.';
  const reason = error.fields[0]?.message ?? error.message;
  if (error.status === 401) return `The server refused these credentials: ${reason}.`;
  if (error.status === 403) return `These credentials cannot read posts: ${reason}.`;
  if (error.status === 429) return 'Too many attempts; wait a minute and try again.';
  return error.message;
}

export function renderSignIn(main, { reason, done }) {
  const alert = h('div', { class: 'alert', role: 'alert', id: 'sign-in-error' }, reason ?? '');
  if (!reason) alert.hidden = true;
  const key = h('input', { type: 'password', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true });
  const user = h('input', { type: 'text', name: 'user', autocomplete: 'username' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const tenant = h('input', {
    type: 'text',
    name: 'tenant',
    value: 'default',
    pattern: '[a-z0-9\\-]+',
    autocomplete: 'off',
  });

  const keyPanel = h(
    'div',
    { id: 'panel-key' },
    field('API key', key, 'A tenant key (bpk_…) with the read scope; actions need admin.'),
  );
  const operatorPanel = h(
    'div',
    { id: 'panel-operator', hidden: true },
    field('Operator user', user, 'Leave empty to sign in with the operator token as the password.'),
    field('Password or operator token', password),
    field('Tenant', tenant, 'The slug of the tenant to work in.'),
  );
  const mode = (kind) => {
    keyPanel.hidden = kind !== 'key';
    operatorPanel.hidden = kind !== 'operator';
    key.required = kind === 'key';
    password.required = kind === 'operator';
    tenant.required = kind === 'operator';
  };
  const choice = (value, label, checked) =>
    h(
      'label',
      { class: 'choice' },
      h('input', {
        type: 'radio',
        name: 'kind',
        value,
        ...(checked ? { checked: true } : {}),
        onchange: () => mode(value),
      }),
      label,
    );
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');

  const form = h(
    'form',
    {
      class: 'card',
      'aria-describedby': 'sign-in-error',
      onsubmit: async (event) => {
        event.preventDefault();
        if (!form.reportValidity()) return;
        const kind = new FormData(form).get('kind');
        const credentials =
          kind === 'operator'
            ? { kind, user: user.value.trim(), password: password.value, tenant: tenant.value.trim() }
            : { kind: 'key', key: key.value.trim() };
        submit.disabled = true;
        alert.hidden = true;
        try {
          await api('posts', { query: { limit: 1 }, credentials });
          session.set(credentials);
          done();
        } catch (error) {
          alert.textContent = explain(error);
          alert.hidden = false;
          (kind === 'operator' ? password : key).focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h(
      'fieldset',
      { class: 'choices' },
      h('legend', {}, 'Sign in with'),
      choice('key', 'An API key', true),
      choice('operator', 'Operator credentials'),
    ),
    keyPanel,
    operatorPanel,
    submit,
    h('p', { class: 'hint' }, 'Credentials are kept in this browser tab only and are forgotten when it closes.'),
  );
  main.append(h('h1', { tabindex: '-1' }, 'Blog Poster console'), alert, form);
  key.focus();
  return () => {};
}
