import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(import.meta.dirname, '../../scripts/setup-wordpress.sh');
const envFile = process.env.WP_ENV_FILE ?? '/var/lib/wordpress-test/wp-test.env';

export type WordPressSite = {
  url: string;
  user: string;
  password: string;
  /** An authenticated REST call through ?rest_route= (JSON in, JSON out). */
  rest<T = any>(
    method: string,
    route: string,
    query?: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
};

/**
 * Installs (first time, ~30 s: Debian packages) and starts the real WordPress the publishing tests
 * run against, then reads its credentials. Idempotent: ~2 s when it is already up.
 */
export async function ensureWordPress(): Promise<WordPressSite> {
  try {
    await run('bash', [script], { timeout: 9 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`scripts/setup-wordpress.sh failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const vars = Object.fromEntries(
    (await readFile(envFile, 'utf8'))
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const url = vars.WP_URL!;
  const user = vars.WP_USER!;
  const password = vars.WP_APP_PASSWORD!;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return {
    url,
    user,
    password,
    async rest(method, route, query = {}, body) {
      const params = new URLSearchParams({ rest_route: route, ...query });
      const res = await fetch(`${url}/?${params}`, {
        method,
        headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    },
  };
}
