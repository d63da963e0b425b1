import type { Scope } from '../../src/auth/api-keys.ts';

type Api = { url: string; devKey: string };

async function call(api: Api, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}

/**
 * A tenant made through the admin API with the development (operator) key, with an admin key of its
 * own and further keys for the given scope sets.
 */
export async function createTenantWithKeys(api: Api, slug: string, keySets: Record<string, Scope[]> = {}) {
  const created = await call(api, api.devKey, 'POST', '/api/v1/admin/tenants', {
    slug,
    name: `Tenant ${slug}`,
    key: { name: 'all', scopes: ['submit', 'read', 'admin'] },
  });
  if (created.status !== 201) throw new Error(`tenant ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
  const adminKey = created.body.key.key as string;
  const keys: Record<string, { key: string; id: string }> = { all: { key: adminKey, id: created.body.key.id } };
  for (const [name, scopes] of Object.entries(keySets)) {
    const made = await call(api, adminKey, 'POST', '/api/v1/admin/keys', { name, scopes });
    if (made.status !== 201) throw new Error(`key ${name}: ${made.status} ${JSON.stringify(made.body)}`);
    keys[name] = { key: made.body.key, id: made.body.id };
  }
  return {
    id: created.body.id as string,
    slug,
    keys,
    call: (key: string, method: string, path: string, body?: unknown) => call(api, key, method, path, body),
  };
}
