import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

const cli = join(import.meta.dirname, '../../bin/main.ts');

/** `blog-poster api` as its own process; resolves with its URL once it listens. */
function startApiProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'api'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API process did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the API process exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'API listening' && entry.url) {
          clearTimeout(timer);
          resolve({ child, url: entry.url });
        }
      } catch {
        // not a log line
      }
    });
  });
}

describe('rate limits shared by two API processes through Redis', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let apis: { child: ChildProcess; url: string }[] = [];
  let address = 0;
  /** A fresh client address per request (from a trusted loopback proxy), so only the key's limit applies. */
  const nextAddress = () => `198.51.100.${(address++ % 250) + 1}`;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    const env = {
      ...t.env,
      RATE_LIMIT_PER_KEY: '20',
      RATE_LIMIT_PER_ADDRESS: '30',
      RATE_LIMIT_WINDOW_MS: '60000',
      MIGRATE_ON_START: 'false',
    };
    apis = await Promise.all([startApiProcess(env), startApiProcess(env)]);
  });
  afterAll(async () => {
    await Promise.all(
      apis.map(
        ({ child }) =>
          new Promise((r) => {
            if (child.exitCode !== null) return r(null);
            child.once('exit', r);
            child.kill('SIGTERM');
          }),
      ),
    );
    await app?.stop();
    await t?.cleanup();
  });

  /** `total` requests spread over both processes, all at once. */
  async function burst(total: number, headers: () => Record<string, string>) {
    return Promise.all(
      Array.from({ length: total }, async (_, i) => {
        const res = await fetch(`${apis[i % 2]!.url}/api/v1/feeds`, { headers: headers() });
        await res.arrayBuffer();
        return {
          status: res.status,
          via: i % 2,
          retryAfter: res.headers.get('retry-after'),
          rateLimit: res.headers.get('ratelimit'),
          policy: res.headers.get('ratelimit-policy'),
          type: res.headers.get('content-type'),
        };
      }),
    );
  }

  /** One request to process `via` (0 or 1), with a fresh client address. */
  async function one(via: 0 | 1, key: string) {
    const res = await fetch(`${apis[via]!.url}/api/v1/feeds`, {
      headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': nextAddress() },
    });
    await res.arrayBuffer();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      rateLimit: res.headers.get('ratelimit'),
      policy: res.headers.get('ratelimit-policy'),
      type: res.headers.get('content-type'),
    };
  }

  it('counts one key across both processes: each refuses once the two together reach the limit', async () => {
    const tenant = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'limits-a', {
      reader: ['read'],
    });
    const key = tenant.keys.reader!.key;
    // Ten through each process, in turn: twenty admitted, which a count per process would also admit...
    const admitted = [];
    for (let i = 0; i < 20; i++) admitted.push(await one((i % 2) as 0 | 1, key));
    expect(admitted.map((a) => a.status)).toEqual(Array(20).fill(200));
    // ...but now both refuse, though each has served only ten: the count is shared through Redis.
    const refused = [await one(0, key), await one(1, key)];
    expect(refused.map((a) => a.status)).toEqual([429, 429]);
    for (const a of refused) {
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
      expect(Number(a.retryAfter)).toBeLessThanOrEqual(60);
      expect(a.type).toMatch(/^application\/problem\+json/);
    }
    expect(admitted[0]!.rateLimit).toMatch(/"key"; r=19; t=\d+/);
    expect(admitted[0]!.policy).toMatch(/"key"; q=20; w=60/);
  });

  it('admits no more requests per key than the limit when a burst hits both processes at once', async () => {
    const tenant = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'limits-c', {
      reader: ['read'],
    });
    const key = tenant.keys.reader!.key;
    // Which process serves which share of a burst depends on scheduling; the total admitted does not.
    const answers = await burst(50, () => ({ authorization: `Bearer ${key}`, 'x-forwarded-for': nextAddress() }));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(30);
  });

  it('applies a tenant’s own limit from its settings', async () => {
    const created = await fetch(`${app.api.url}/api/v1/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.config.DEV_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        slug: 'limits-b',
        name: 'Small plan',
        settings: { rateLimit: { perKey: 5 } },
        key: { name: 'reader', scopes: ['read'] },
      }),
    });
    expect(created.status).toBe(201);
    const { key } = ((await created.json()) as { key: { key: string } }).key;
    const answers = await burst(16, () => ({ authorization: `Bearer ${key}`, 'x-forwarded-for': nextAddress() }));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(11);
  });

  it('limits a client address before authentication, across both processes', async () => {
    // Unauthenticated guessing from one address: 30 answers (401), then 429 with Retry-After.
    const answers = await burst(45, () => ({
      authorization: 'Bearer bpk_0000000000000000_guessguessguessguessguessguessguessguessgue',
      'x-forwarded-for': '203.0.113.77',
    }));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(30);
    const limited = answers.filter((a) => a.status === 429);
    expect(limited).toHaveLength(15);
    expect(limited.every((a) => Number(a.retryAfter) > 0)).toBe(true);
    // Another address is not affected.
    const other = await burst(2, () => ({
      authorization: `Bearer ${t.config.DEV_API_KEY}`,
      'x-forwarded-for': '203.0.113.78',
    }));
    expect(other.map((a) => a.status)).toEqual([200, 200]);
  });
});
