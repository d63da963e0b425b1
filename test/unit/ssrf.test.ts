import http from 'node:http';
import type { AddressInfo } from 'node:net';
import ipaddr from 'ipaddr.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SPECIAL_PURPOSE_BLOCKS, refusedAddressReason } from '../../src/fetch/address-policy.ts';
import {
  createSafeFetcher,
  FetchError,
  type ConnectAttempt,
  type FetchDecision,
  type Resolver,
} from '../../src/fetch/safe-fetch.ts';

// Every form of an internal target is refused before anything is dialled. The only real server is
// on loopback; it counts connections, so "no connection was made" is observed, not assumed. Names
// resolve through an injected resolver, so private and metadata answers need no DNS server.

let server: http.Server;
let port: number;
let connections = 0;
const paths: string[] = [];

const dns: Record<string, string[]> = {
  'loopback.example': ['127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
  'metadata.google.internal': ['169.254.169.254'],
  'mixed.example': ['93.184.216.34', '10.0.0.7'],
  'v6-private.example': ['fd12:3456::1'],
  'cgnat.example': ['100.100.1.1'],
  'allowed.example': ['127.0.0.1'],
  'public.example': ['93.184.216.34'],
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

beforeAll(async () => {
  server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url === '/to-private') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` });
      return res.end();
    }
    if (req.url === '/to-metadata') {
      res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/iam/' });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('internal secret');
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
  paths.length = 0;
});

const P = () => port;
const table: Array<[name: string, url: () => string, reason: RegExp]> = [
  ['loopback 127.0.0.1', () => `http://127.0.0.1:${P()}/`, /127\.0\.0\.1 is a loopback address/],
  ['short form 127.1', () => `http://127.1:${P()}/`, /loopback/],
  ['unspecified 0.0.0.0', () => `http://0.0.0.0:${P()}/`, /unspecified address/],
  ['zero as a number', () => `http://0:${P()}/`, /unspecified address/],
  ['IPv6 loopback [::1]', () => `http://[::1]:${P()}/`, /::1 is a loopback address/],
  ['IPv6 unspecified [::]', () => `http://[::]:${P()}/`, /unspecified address/],
  ['10/8', () => 'http://10.1.2.3/', /private \(RFC 1918\)/],
  ['172.16/12 (low end)', () => 'http://172.16.0.1/', /private/],
  ['172.16/12 (high end)', () => 'http://172.31.255.254/', /private/],
  ['192.168/16', () => 'http://192.168.1.1/', /private/],
  ['100.64/10 carrier-grade NAT', () => 'http://100.64.0.1/', /carrier-grade NAT/],
  ['cloud metadata 169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/', /cloud metadata address/],
  ['link-local 169.254/16', () => 'http://169.254.1.1/', /link-local/],
  ['decimal IPv4 2130706433', () => `http://2130706433:${P()}/`, /loopback/],
  ['hex IPv4 0x7f000001', () => `http://0x7f000001:${P()}/`, /loopback/],
  ['octal IPv4 0177.0.0.1', () => `http://0177.0.0.1:${P()}/`, /loopback/],
  [
    'IPv4-mapped [::ffff:127.0.0.1]',
    () => `http://[::ffff:127.0.0.1]:${P()}/`,
    /loopback address \(IPv4-mapped IPv6\)/,
  ],
  [
    'IPv4-mapped metadata [::ffff:169.254.169.254]',
    () => 'http://[::ffff:169.254.169.254]/',
    /cloud metadata address \(IPv4-mapped IPv6\)/,
  ],
  ['IPv6 link-local [fe80::1]', () => 'http://[fe80::1]/', /link-local/],
  ['IPv6 unique-local [fd00::1]', () => 'http://[fd00::1]/', /unique-local/],
  ['NAT64 embedding loopback', () => 'http://[64:ff9b::7f00:1]/', /NAT64/],
  ['IPv4-compatible [::127.0.0.1]', () => `http://[::127.0.0.1]:${P()}/`, /deprecated IPv4-compatible/],
  ['IPv4-compatible in hex [::7f00:1]', () => `http://[::7f00:1]:${P()}/`, /deprecated IPv4-compatible/],
  ['IPv4-translated [::ffff:0:7f00:1]', () => 'http://[::ffff:0:7f00:1]/', /IPv4-translated/],
  ['Teredo [2001::1]', () => 'http://[2001::1]/', /Teredo/],
  ['6to4 embedding loopback [2002:7f00:1::]', () => 'http://[2002:7f00:1::]/', /6to4/],
  ['ORCHIDv2 [2001:20::1]', () => 'http://[2001:20::1]/', /IETF protocol assignment/],
  ['IPv6 benchmarking [2001:2::1]', () => 'http://[2001:2::1]/', /IETF protocol assignment/],
  ['IPv6 documentation [2001:db8::1]', () => 'http://[2001:db8::1]/', /documentation/],
  ['IPv4 documentation 192.0.2.1', () => 'http://192.0.2.1/', /documentation/],
  ['IPv4 benchmarking 198.18.0.1', () => 'http://198.18.0.1/', /benchmarking/],
  ['IPv6 outside 2000::/3 [4000::1]', () => 'http://[4000::1]/', /outside global unicast/],
  ['multicast 224.0.0.1', () => 'http://224.0.0.1/', /multicast/],
  ['broadcast', () => 'http://255.255.255.255/', /broadcast/],
  [
    'a name resolving to loopback',
    () => `http://loopback.example:${P()}/`,
    /loopback\.example resolves to 127\.0\.0\.1 is a loopback address/,
  ],
  ['localhost', () => `http://localhost:${P()}/`, /localhost resolves to .*loopback/],
  [
    'a name resolving to the metadata address',
    () => 'http://metadata.google.internal/computeMetadata/v1/',
    /resolves to 169\.254\.169\.254 is the cloud metadata address/,
  ],
  [
    'a name with one public and one private address',
    () => 'http://mixed.example/',
    /mixed\.example resolves to 10\.0\.0\.7 is a private/,
  ],
  ['a name resolving to a private IPv6 address', () => 'http://v6-private.example/', /unique-local/],
  ['a name resolving into CGNAT', () => 'http://cgnat.example/', /carrier-grade NAT/],
  ['file:', () => 'file:///etc/passwd', /only http and https URLs can be fetched, not file:/],
  ['ftp:', () => 'ftp://example.com/pub/file', /not ftp:/],
  ['gopher:', () => `gopher://127.0.0.1:${P()}/_GET%20/`, /not gopher:/],
  ['data:', () => 'data:text/html,<h1>hi</h1>', /not data:/],
  ['credentials in the URL', () => `http://user:pass@public.example/`, /credentials/],
];

describe('the SSRF guard', () => {
  it(`has a table of at least 20 forms (${table.length})`, () => {
    expect(table.length).toBeGreaterThanOrEqual(20);
  });

  it.each(table)('refuses %s with a clear reason and connects to nothing', async (_name, url, reason) => {
    const err = await guarded()
      .fetch(url(), { allowedTypes: ['*'] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).permanent).toBe(true);
    expect((err as FetchError).message).toMatch(/^refused /);
    expect((err as FetchError).message).toMatch(reason);
    expect(attempts).toEqual([]);
    expect(connections).toBe(0);
    expect(decisions.every((d) => !d.allowed)).toBe(true);
  });

  it('refuses a redirect from an allowed host to a private one, after connecting only to the first', async () => {
    const err = await guarded(['allowed.example'])
      .fetch(`http://allowed.example:${port}/to-private`, { allowedTypes: ['*'] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((err as FetchError).message).toMatch(
      new RegExp(`refused http://127\\.0\\.0\\.1:${port}/secret: 127\\.0\\.0\\.1 is a loopback address`),
    );
    expect(decisions.map((d) => d.allowed)).toEqual([true, false]);
    expect(attempts).toEqual([{ host: 'allowed.example', address: '127.0.0.1', port: String(port) }]);
    expect(paths).toEqual(['/to-private']);
  });

  it('refuses a redirect to the metadata address', async () => {
    const err = await guarded(['allowed.example'])
      .fetch(`http://allowed.example:${port}/to-metadata`, { allowedTypes: ['*'] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((err as FetchError).message).toMatch(/169\.254\.169\.254 is the cloud metadata address/);
    expect(attempts).toHaveLength(1);
  });

  it('connects to the checked address, not to a second answer for the same name', async () => {
    let calls = 0;
    // A rebinding resolver: public-looking first, loopback afterwards. Only the first answer is used.
    const rebinding: Resolver = async () =>
      calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }];
    const fetcher = createSafeFetcher({
      resolver: rebinding,
      allowPrivateHosts: ['rebind.example'],
      onConnect: (a) => attempts.push(a),
    });
    const res = await fetcher.fetch(`http://rebind.example:${port}/`, { allowedTypes: ['text/plain'] });
    expect(new TextDecoder().decode(res.bytes)).toBe('internal secret');
    expect(calls).toBe(1);
    expect(attempts).toEqual([{ host: 'rebind.example', address: '127.0.0.1', port: String(port) }]);
  });

  it('allows private addresses only for hosts on the explicit allowlist', async () => {
    const res = await guarded(['127.0.0.1']).fetch(`http://127.0.0.1:${port}/ok`, { allowedTypes: ['text/plain'] });
    expect(res.status).toBe(200);
    expect(connections).toBe(1);
    // The allowlist names hosts as written: another spelling of the same address is still refused.
    const err = await guarded(['127.0.0.1'])
      .fetch(`http://loopback.example:${port}/ok`, { allowedTypes: ['*'] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((err as FetchError).message).toMatch(/refused/);
  });

  /** An address inside a block: its network address, plus one when the block is wider than one address. */
  function addressIn(cidr: string): string {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    const bytes = network.toByteArray();
    if (bits < bytes.length * 8) bytes[bytes.length - 1]! |= 1;
    return ipaddr.fromByteArray(bytes).toString();
  }

  it.each(SPECIAL_PURPOSE_BLOCKS.map((b) => [b.cidr, b.name] as const))(
    'refuses a name resolving into %s (%s), through the injected resolver, and dials nothing',
    async (cidr) => {
      const address = addressIn(cidr);
      const fetcher = createSafeFetcher({
        resolver: async () => [{ address, family: address.includes(':') ? 6 : 4 }],
        onDecision: (d) => decisions.push(d),
        onConnect: (a) => attempts.push(a),
      });
      const err = await fetcher.fetch('http://special.example/', { allowedTypes: ['*'] }).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as FetchError).kind).toBe('refused');
      expect((err as FetchError).message).toContain(`special.example resolves to ${address} is `);
      expect(decisions).toEqual([expect.objectContaining({ allowed: false, addresses: [address] })]);
      expect(attempts).toEqual([]);
    },
  );

  it('passes ordinary public addresses of both families, and a public IPv4 reached as IPv4-mapped', () => {
    for (const address of [
      '93.184.216.34',
      '1.1.1.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001:80e::200e',
      '::ffff:8.8.8.8',
    ])
      expect(refusedAddressReason(address), address).toBeNull();
    // Neighbours of the blocks are public: the table does not over-reach.
    for (const address of ['11.0.0.1', '100.128.0.1', '172.32.0.1', '192.169.0.1', '198.20.0.1', '223.255.255.254'])
      expect(refusedAddressReason(address), address).toBeNull();
  });
});
