import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withCorrelationId } from '../../src/correlation.ts';
import { PermanentError } from '../../src/errors.ts';
import {
  createSafeFetcher,
  FetchError,
  type ConnectAttempt,
  type FetchDecision,
  type Resolver,
} from '../../src/fetch/safe-fetch.ts';
import { DestinationUnavailableError, sendToDestination } from '../../src/publish/http.ts';
import { submissionImage } from '../../src/publish/images.ts';
import { sendWebhook } from '../../src/publish/webhook.ts';
import { createWordPressClient } from '../../src/publish/wordpress.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// Destinations a tenant configures (webhooks, WordPress sites, featured images) go through the same
// SSRF guard as ingest. Names resolve through an injected resolver, so private and metadata answers
// need no DNS server; the only real servers listen on loopback and count their connections, and
// the fetcher reports every dial, so "no connection was made" is observed, not assumed.

const secret = `whsec_${randomBytes(24).toString('base64')}`;

let server: http.Server;
let port: number;
let connections = 0;
const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }> = [];

const dns: Record<string, string[]> = {
  'hooks.internal': ['10.0.0.7'],
  'metadata.example': ['169.254.169.254'],
  'wp.internal': ['192.168.1.20'],
  'wp-v6.example': ['fd12:3456::1'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'mixed.example': ['93.184.216.34', '172.16.0.9'],
  'loopback.example': ['127.0.0.1'],
  'allowed.example': ['127.0.0.1'],
};
const resolver: Resolver = async (host) => {
  const addresses = dns[host];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

let decisions: FetchDecision[] = [];
let attempts: ConnectAttempt[] = [];
const guarded = (allowPrivateHosts: string[] = []) =>
  createSafeFetcher({
    resolver,
    allowPrivateHosts,
    timeoutMs: 2_000,
    onDecision: (d) => decisions.push(d),
    onConnect: (a) => attempts.push(a),
  });

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      if (req.url === '/moved') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` });
        return res.end();
      }
      if (req.url === '/image-to-metadata.png') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' });
        return res.end();
      }
      if (req.url === '/image-to-private.png') {
        res.writeHead(301, { location: `http://hooks.internal:${port}/hero.png` });
        return res.end();
      }
      if (req.url === '/hero.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(PNG);
      }
      if (req.url === '/page.png') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html></html>');
      }
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ filler: 'x'.repeat(64 * 1024) }));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  decisions = [];
  attempts = [];
  connections = 0;
  seen.length = 0;
});

const message = { id: 'msg_ssrf_1', type: 'post.published', data: { id: 'p1' } };

describe('webhook destinations behind the SSRF guard', () => {
  const refused: Array<[name: string, url: () => string, reason: RegExp]> = [
    [
      'a name resolving to a private address',
      () => `http://hooks.internal:${port}/hook`,
      /refused http:\/\/hooks\.internal:\d+: hooks\.internal resolves to 10\.0\.0\.7 is a private \(RFC 1918\) address/,
    ],
    [
      'a name resolving to the metadata address',
      () => 'http://metadata.example/latest/meta-data/',
      /metadata\.example resolves to 169\.254\.169\.254 is the cloud metadata address/,
    ],
    [
      'the metadata address itself',
      () => 'http://169.254.169.254/latest/meta-data/',
      /169\.254\.169\.254 is the cloud metadata address/,
    ],
    [
      'a name with one public and one private address',
      () => `http://mixed.example:${port}/hook`,
      /172\.16\.0\.9 is a private/,
    ],
    ['an IPv4-mapped loopback', () => `http://mapped.example:${port}/hook`, /loopback address \(IPv4-mapped IPv6\)/],
    [
      'a name resolving to loopback, not allowlisted',
      () => `http://loopback.example:${port}/hook`,
      /loopback\.example resolves to 127\.0\.0\.1 is a loopback address/,
    ],
    [
      'a loopback literal, not allowlisted',
      () => `http://127.0.0.1:${port}/hook`,
      /127\.0\.0\.1 is a loopback address/,
    ],
  ];

  it.each(refused)('refuses %s: a permanent error with the reason, nothing dialled', async (_name, url, reason) => {
    const err = await sendWebhook(guarded(), { url: url(), secret, timeoutMs: 2_000 }, message).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/^webhook POST http:\/\/[^ ]+: refused /);
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).toMatch(/FETCH_ALLOW_PRIVATE_HOSTS/);
    expect(attempts).toEqual([]);
    expect(connections).toBe(0);
    expect(decisions.at(-1)).toMatchObject({ allowed: false });
  });

  it('does not put the path of the hook (which may hold a token) in the reason', async () => {
    const err = (await sendWebhook(
      guarded(),
      { url: 'http://hooks.internal/hooks/T0KEN-secret', secret, timeoutMs: 2_000 },
      message,
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).not.toContain('T0KEN');
  });

  it('delivers to an allowlisted loopback receiver, signed, pinned to the checked address, with the X-Request-Id', async () => {
    const receiver = await startReceiver(secret);
    try {
      const url = receiver.url.replace('127.0.0.1', 'allowed.example');
      const answer = await withCorrelationId('req-ssrf-42', () =>
        sendWebhook(guarded(['allowed.example']), { url, secret, timeoutMs: 2_000 }, message),
      );
      expect(answer).toEqual({ status: 200 });
      expect(receiver.deliveries).toHaveLength(1);
      expect(receiver.deliveries[0]).toMatchObject({ id: 'msg_ssrf_1', verified: true });
      expect(receiver.deliveries[0]!.headers['x-request-id']).toBe('req-ssrf-42');
      expect(receiver.deliveries[0]!.headers['user-agent']).toBe('BlogPoster-Webhooks/1.0');
      expect(attempts).toEqual([expect.objectContaining({ host: 'allowed.example', address: '127.0.0.1' })]);
    } finally {
      await receiver.close();
    }
  });

  it('answers a redirect instead of following it: one request, a permanent error', async () => {
    const err = (await sendWebhook(
      guarded(['127.0.0.1']),
      { url: `http://127.0.0.1:${port}/moved`, secret, timeoutMs: 2_000 },
      message,
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/answered 302: redirects are not followed/);
    expect(seen.map((r) => r.url)).toEqual(['/moved']);
  });

  it('keeps transient failures transient: a closed port and a name that does not resolve', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refusedConn = await sendWebhook(
      guarded(['127.0.0.1']),
      { url: `http://127.0.0.1:${closedPort}/hook`, secret, timeoutMs: 2_000 },
      message,
    ).catch((e: unknown) => e);
    expect(refusedConn).toBeInstanceOf(DestinationUnavailableError);
    expect((refusedConn as Error).message).toMatch(/ECONNREFUSED/);
    const unresolved = await sendWebhook(
      guarded(),
      { url: 'http://nowhere.example/hook', secret, timeoutMs: 2_000 },
      message,
    ).catch((e: unknown) => e);
    expect(unresolved).toBeInstanceOf(DestinationUnavailableError);
    expect((unresolved as Error).message).toMatch(/cannot resolve nowhere\.example/);
  });
});

describe('the guarded send', () => {
  it('returns a standard Response of the body it read, and caps that body', async () => {
    const fetcher = guarded(['127.0.0.1']);
    const ok = await fetcher.send(`http://127.0.0.1:${port}/json`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ok).toBeInstanceOf(Response);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toMatchObject({ method: 'PUT', url: '/json' });

    const big = await fetcher
      .send(`http://127.0.0.1:${port}/huge`, { method: 'GET', maxResponseBytes: 1024 })
      .catch((e: unknown) => e);
    expect(big).toBeInstanceOf(FetchError);
    expect(big).toMatchObject({ permanent: true, status: 200 });
    expect((big as Error).message).toMatch(/exceeds 1024 bytes/);
    const small = createSafeFetcher({ resolver, allowPrivateHosts: ['127.0.0.1'], maxBytes: 1024 });
    const classified = await sendToDestination(
      small,
      'WordPress GET /wp/v2/posts',
      `http://127.0.0.1:${port}/huge`,
      { method: 'GET', headers: {} },
      2_000,
    ).catch((e: unknown) => e);
    // An answer over the cap would be over it on every retry.
    expect(classified).toBeInstanceOf(PermanentError);
  });

  it('refuses non-http schemes and credentials in the URL before resolving anything', async () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:70/', `http://user:pw@127.0.0.1:${port}/`]) {
      const err = await guarded(['127.0.0.1'])
        .send(url, { method: 'POST', body: 'x' })
        .catch((e: unknown) => e);
      expect(err, url).toMatchObject({ name: 'FetchError', kind: 'refused', permanent: true });
    }
    expect(connections).toBe(0);
  });
});

describe('WordPress destinations behind the SSRF guard', () => {
  const input = {
    externalId: 'bp-ssrf',
    title: 'T',
    contentHtml: '<p>x</p>',
    excerpt: 'x',
    slug: 't',
    status: 'publish' as const,
    tags: [],
    categories: [],
    metaDescription: 'x',
  };

  it.each([
    [
      'a private address',
      'http://wp.internal',
      /wp\.internal resolves to 192\.168\.1\.20 is a private \(RFC 1918\) address/,
    ],
    [
      'a unique-local IPv6 address',
      'https://wp-v6.example/blog',
      /fd12:3456::1 is a unique-local \(private IPv6\) address/,
    ],
    ['the metadata address', 'http://metadata.example', /169\.254\.169\.254 is the cloud metadata address/],
  ])('a site at %s is refused at the first call, permanently, with the reason', async (_name, url, reason) => {
    const client = createWordPressClient({
      url,
      username: 'admin',
      password: 'abcd efgh',
      timeoutMs: 2_000,
      fetcher: guarded(),
    });
    const err = (await client.upsertPost(input).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/^WordPress GET \/wp\/v2\/users\/me: refused /);
    expect(err.message).toMatch(reason);
    expect(attempts).toEqual([]);
    expect(connections).toBe(0);
  });

  it('sends the X-Request-Id and the credentials to an allowlisted site', async () => {
    const client = createWordPressClient({
      url: `http://127.0.0.1:${port}`,
      username: 'admin',
      password: 'abcd efgh',
      timeoutMs: 2_000,
      fetcher: guarded(['127.0.0.1']),
    });
    await withCorrelationId('req-wp-7', () => client.call('GET', '/wp/v2/users/me'));
    expect(seen.at(-1)!.headers['x-request-id']).toBe('req-wp-7');
    expect(seen.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('admin:abcdefgh').toString('base64')}`);
  });
});

describe('featured images through the guarded GET', () => {
  it('downloads an image from an allowlisted host', async () => {
    const image = await submissionImage(
      guarded(['127.0.0.1']),
      { url: `http://127.0.0.1:${port}/hero.png`, alt: 'alt' },
      1024,
    );
    expect(image).toMatchObject({ contentType: 'image/png', filename: 'hero.png', alt: 'alt' });
    expect(Buffer.from(image.data).equals(PNG)).toBe(true);
  });

  it.each([
    ['the metadata address', '/image-to-metadata.png', /169\.254\.169\.254 is the cloud metadata address/],
    [
      'a name resolving to a private address',
      '/image-to-private.png',
      /hooks\.internal resolves to 10\.0\.0\.7 is a private/,
    ],
  ])('refuses a redirect to %s: permanent, only the allowed host was dialled', async (_name, path, reason) => {
    const err = (await submissionImage(
      guarded(['127.0.0.1']),
      { url: `http://127.0.0.1:${port}${path}`, alt: 'alt' },
      1024,
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/^featured image http:\/\/127\.0\.0\.1:\d+\/image-to-\w+\.png: refused /);
    expect(err.message).toMatch(reason);
    expect(attempts.map((a) => a.address)).toEqual(['127.0.0.1']);
    expect(seen.map((r) => r.url)).toEqual([path]);
  });

  it('refuses what is not an image, and what is over the limit, permanently', async () => {
    const page = await submissionImage(
      guarded(['127.0.0.1']),
      { url: `http://127.0.0.1:${port}/page.png`, alt: 'alt' },
      1024,
    ).catch((e: unknown) => e);
    expect(page).toBeInstanceOf(PermanentError);
    expect((page as Error).message).toMatch(/content type "text\/html" is not allowed/);
    const big = await submissionImage(
      guarded(['127.0.0.1']),
      { url: `http://127.0.0.1:${port}/hero.png`, alt: 'alt' },
      10,
    ).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(PermanentError);
    expect((big as Error).message).toMatch(/exceeds 10 bytes/);
  });
});
