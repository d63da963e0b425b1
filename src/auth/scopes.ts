import type { Scope } from './api-keys.ts';

// Which scope each /api/v1 request needs. Reading needs `read`; handing in work needs `submit`;
// everything else that changes state (post actions, destinations, tenants, keys, secrets) needs
// `admin`. A route nobody listed falls under the same rule by method, so a new write route is
// admin-only until someone decides otherwise: it fails closed.

/** Writes that `submit` is enough for (paths relative to /api/v1). */
const submitRoutes: { method: string; path: RegExp }[] = [
  { method: 'POST', path: /^\/submissions\/?$/ },
  { method: 'POST', path: /^\/feeds\/?$/ },
];

export function requiredScope(method: string, path: string): Scope {
  if (/^\/admin(\/|$)/.test(path)) return 'admin';
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (submitRoutes.some((r) => r.method === method && r.path.test(path))) return 'submit';
  return 'admin';
}
