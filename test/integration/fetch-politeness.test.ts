import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisPoliteness } from '../../src/fetch/politeness.ts';
import { redisUrl } from '../support/harness.ts';

// The per-host limit and crawl-delay live in Redis, so they hold across processes: here two
// gates on separate connections stand in for two workers.

const prefix = `{bp-test-polite-${randomBytes(4).toString('hex')}}`;
const connections = [new Redis(redisUrl), new Redis(redisUrl)];
const gate = (redis: Redis) =>
  createRedisPoliteness({ redis, keyPrefix: prefix, hostConcurrency: 2, robotsTtlMs: 60_000, leaseMs: 10_000 });
const [a, b] = connections.map(gate) as [ReturnType<typeof gate>, ReturnType<typeof gate>];

afterAll(async () => {
  const keys = await connections[0]!.keys(`${prefix}*`);
  if (keys.length) await connections[0]!.del(...keys);
  for (const c of connections) c.disconnect();
});

describe('politeness shared through Redis', () => {
  it('lets at most FETCH_HOST_CONCURRENCY requests to one host run at once, across workers', async () => {
    const far = Date.now() + 5_000;
    const first = await a.acquire('site.example:80', 0, far);
    const second = await b.acquire('site.example:80', 0, far);
    let thirdAt = 0;
    const third = b.acquire('site.example:80', 0, far).then((release) => {
      thirdAt = Date.now();
      return release;
    });
    // Another host is not affected.
    await (await a.acquire('other.example:80', 0, far))();
    await new Promise((r) => setTimeout(r, 400));
    expect(thirdAt).toBe(0);
    const releasedAt = Date.now();
    await first();
    const releaseThird = await third;
    expect(thirdAt).toBeGreaterThanOrEqual(releasedAt);
    await second();
    await releaseThird();
    // A slot that cannot be had before the deadline is a transient error, not a hang.
    const x = await a.acquire('busy.example:80', 0, far);
    const y = await a.acquire('busy.example:80', 0, far);
    await expect(b.acquire('busy.example:80', 0, Date.now() + 300)).rejects.toThrow(/busy/);
    await x();
    await y();
  });

  it('spaces request starts by the crawl-delay, across workers', async () => {
    const far = Date.now() + 10_000;
    const starts: number[] = [];
    for (const g of [a, b, a]) {
      const release = await g.acquire('slow.example:80', 700, far);
      starts.push(Date.now());
      await release();
    }
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(650);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(650);
  });

  it('caches robots.txt in Redis: a second worker does not fetch it again', async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      return {
        status: 200,
        body: 'User-agent: *\nDisallow: /private/\nCrawl-delay: 2\nSitemap: https://site.example/sitemap.xml\n',
      };
    };
    const first = await a.robots(new URL('https://site.example/private/x'), load);
    const second = await b.robots(new URL('https://site.example/public'), load);
    expect(loads).toBe(1);
    expect(first).toEqual({ allowed: false, crawlDelayMs: 2000, sitemaps: ['https://site.example/sitemap.xml'] });
    expect(second.allowed).toBe(true);
    // No robots.txt (4xx) means no rules.
    expect(
      await a.robots(new URL('https://none.example/anything'), async () => ({ status: 404, body: '' })),
    ).toMatchObject({ allowed: true, crawlDelayMs: 0 });
  });
});
