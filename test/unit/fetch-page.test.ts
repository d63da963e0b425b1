import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_AGENT, FetchError, fetchPage, type FetchPageOptions } from '../../src/ingest/fetch-page.ts';

// The test server is on loopback, which the SSRF guard refuses unless it is allowlisted.
const get = (url: string, opts: FetchPageOptions = {}) => fetchPage(url, { allowPrivateHosts: '127.0.0.1', ...opts });

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const redirect = /^\/redirect\/(\d+)$/.exec(path);
    if (redirect) {
      const n = Number(redirect[1]);
      res.writeHead(
        n === 0 ? 200 : 302,
        n === 0 ? { 'content-type': 'text/html' } : { location: `/redirect/${n - 1}` },
      );
      res.end(n === 0 ? '<p>arrived</p>' : '');
      return;
    }
    const status = /^\/status\/(\d+)$/.exec(path);
    if (status) {
      res.writeHead(Number(status[1]), { 'content-type': 'text/html' });
      res.end('nope');
      return;
    }
    switch (path) {
      case '/utf8':
        res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
        res.end(Buffer.from('<p>Café — naïve</p>', 'utf8'));
        return;
      case '/latin1':
        res.writeHead(200, { 'content-type': 'text/html; charset="windows-1252"' });
        res.end(Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0x80]));
        return;
      case '/iso':
        res.writeHead(200, { 'content-type': 'text/plain;charset=iso-8859-1' });
        res.end(Buffer.from([0x6e, 0x61, 0xef, 0x76, 0x65]));
        return;
      case '/bogus-charset':
        res.writeHead(200, { 'content-type': 'text/markdown; charset=klingon' });
        res.end(Buffer.from('# Olá', 'utf8'));
        return;
      case '/headers':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(JSON.stringify({ ua: req.headers['user-agent'], x: req.headers['x-test'] }));
        return;
      case '/json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        return;
      case '/no-type':
        res.writeHead(200);
        res.end('what am I');
        return;
      case '/stream-big':
        // No content-length: the cap must be enforced while reading.
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 20; i++) res.write('x'.repeat(1024));
        res.end();
        return;
      case '/declared-big':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10 * 1024 * 1024) });
        res.write('x');
        return; // never finishes; the declared length alone must reject it
      case '/slow':
        return; // never answers
      case '/slow-body':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        return; // body never ends
      case '/loop':
        res.writeHead(301, { location: '/loop' });
        res.end();
        return;
      case '/to-ftp':
        res.writeHead(302, { location: 'ftp://example.com/file' });
        res.end();
        return;
      case '/no-location':
        res.writeHead(302);
        res.end();
        return;
      default:
        res.writeHead(500);
        res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchError);
  return err as FetchError;
}

describe('fetchPage', () => {
  it('returns the decoded body, status and content type', async () => {
    const page = await get(`${base}/utf8`);
    expect(page).toEqual({
      url: `${base}/utf8`,
      status: 200,
      contentType: 'text/html; charset=UTF-8',
      charset: 'utf-8',
      body: '<p>Café — naïve</p>',
    });
  });

  it('decodes the charset from the Content-Type header', async () => {
    expect((await get(`${base}/latin1`)).body).toBe('Café €');
    expect((await get(`${base}/iso`)).body).toBe('naïve');
    expect((await get(`${base}/bogus-charset`)).body).toBe('# Olá');
  });

  it('sends a real User-Agent by default, and custom headers', async () => {
    expect(JSON.parse((await get(`${base}/headers`)).body)).toEqual({ ua: DEFAULT_USER_AGENT, x: undefined });
    const custom = await get(`${base}/headers`, { userAgent: 'Test/1', headers: { 'X-Test': 'yes' } });
    expect(JSON.parse(custom.body)).toEqual({ ua: 'Test/1', x: 'yes' });
  });

  it('follows up to five redirects and reports the final URL', async () => {
    const page = await get(`${base}/redirect/5`);
    expect(page.url).toBe(`${base}/redirect/0`);
    expect(page.body).toBe('<p>arrived</p>');
    const tooMany = await failure(get(`${base}/redirect/6`));
    expect(tooMany.permanent).toBe(true);
    expect((await failure(get(`${base}/loop`))).permanent).toBe(true);
    expect((await failure(get(`${base}/to-ftp`))).permanent).toBe(true);
    expect((await failure(get(`${base}/no-location`))).permanent).toBe(true);
  });

  it.each([400, 401, 403, 404, 410, 451])('treats HTTP %i as permanent', async (status) => {
    const err = await failure(get(`${base}/status/${status}`));
    expect(err.permanent).toBe(true);
    expect(err.status).toBe(status);
  });

  it.each([408, 429, 500, 502, 503])('treats HTTP %i as transient', async (status) => {
    const err = await failure(get(`${base}/status/${status}`));
    expect(err.permanent).toBe(false);
    expect(err.status).toBe(status);
  });

  it('rejects content types outside the allowlist, permanently', async () => {
    expect((await failure(get(`${base}/json`))).permanent).toBe(true);
    expect((await failure(get(`${base}/no-type`))).permanent).toBe(true);
  });

  it('rejects non-http URLs and malformed URLs, permanently', async () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url']) {
      expect((await failure(get(url))).permanent).toBe(true);
    }
  });

  it('caps the body while streaming and by declared length', async () => {
    const streamed = await failure(get(`${base}/stream-big`, { maxBytes: 10_000 }));
    expect(streamed.permanent).toBe(true);
    expect(streamed.message).toMatch(/exceeds 10000 bytes/);
    expect((await get(`${base}/stream-big`, { maxBytes: 20 * 1024 })).body).toHaveLength(20 * 1024);
    expect((await failure(get(`${base}/declared-big`))).permanent).toBe(true);
  });

  it('times out transiently waiting for headers, and permanently on a body that trickles past the deadline', async () => {
    const started = Date.now();
    const err = await failure(get(`${base}/slow`, { timeoutMs: 200 }));
    expect(err.permanent).toBe(false);
    expect(err.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const trickle = await failure(get(`${base}/slow-body`, { timeoutMs: 200 }));
    expect(trickle.permanent).toBe(true);
    expect(trickle.message).toMatch(/still arriving after 200 ms/);
  });

  it('honours a caller signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await failure(get(`${base}/slow`, { signal: controller.signal }));
    expect(err.permanent).toBe(false);
    expect(err.message).toMatch(/aborted/);
  });

  it('reports connection errors as transient', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(get(`http://127.0.0.1:${port}/`));
    expect(err.permanent).toBe(false);
    expect(err.status).toBeUndefined();
  });
});
