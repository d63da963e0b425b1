// The API as the console calls it. The page is served at <prefix>/console, so the API is at
// <prefix>/api/v1 whatever the prefix (BASE_PATH, or a proxy's): URLs are resolved against the page.
// Credentials live in sessionStorage only: gone when the tab closes, never in a cookie or a URL.

const STORE = 'bp-console-auth';

export const session = {
  /** `{kind: 'key', key}` or `{kind: 'operator', user, password, tenant}`, or null. */
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE) ?? 'null');
    } catch {
      return null;
    }
  },
  set(credentials) {
    sessionStorage.setItem(STORE, JSON.stringify(credentials));
  },
  clear() {
    sessionStorage.removeItem(STORE);
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    const fields = Array.isArray(problem?.errors) ? problem.errors : [];
    const message =
      fields.length > 0
        ? fields.map((e) => (e.field && !e.field.startsWith('(') ? `${e.field}: ${e.message}` : e.message)).join('; ')
        : (problem?.detail ?? problem?.title ?? `the server answered ${status}`);
    super(message);
    this.status = status;
    this.problem = problem;
    this.fields = fields;
  }
}

function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

function headersFor(credentials) {
  if (!credentials) return {};
  if (credentials.kind === 'operator') {
    return {
      authorization: `Basic ${base64(`${credentials.user}:${credentials.password}`)}`,
      ...(credentials.tenant ? { 'x-tenant': credentials.tenant } : {}),
    };
  }
  return { authorization: `Bearer ${credentials.key}` };
}

/** Listeners told when the server refuses the stored credentials (the session is over). */
const refused = new Set();
export function onRefused(listener) {
  refused.add(listener);
}

/** Calls the API; answers the parsed JSON (null for 204) or throws ApiError with the server's reasons. */
export async function api(path, { method = 'GET', body, query, credentials } = {}) {
  const stored = credentials === undefined;
  const url = new URL(`api/v1/${path.replace(/^\//, '')}`, new URL('./', location.href));
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const value of [v].flat())
      if (value !== undefined && value !== null && value !== '') url.searchParams.append(k, value);
  }
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...headersFor(stored ? session.get() : credentials),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { detail: 'the server cannot be reached; check the connection and try again' });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!res.ok) {
    const error = new ApiError(res.status, data);
    if (res.status === 401 && stored) for (const listener of refused) listener(error);
    throw error;
  }
  return data;
}
