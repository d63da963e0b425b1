import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

// Which addresses an outbound fetch of a user-supplied URL may connect to. Only ordinary public
// unicast addresses pass. One table, from IANA's IPv4 and IPv6 Special-Purpose Address Registries
// (plus multicast, the deprecated IPv4-compatible and site-local IPv6 blocks and the cloud metadata
// addresses), drives the decision: an address inside any block is refused with the block's name.
// IPv6 outside 2000::/3 is not global unicast at all and is refused as well. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.

type Block = { cidr: string; name: string };

/** Single addresses of cloud metadata services, named as such before any range. */
const METADATA: Block[] = [
  { cidr: '169.254.169.254/32', name: 'the cloud metadata address' },
  { cidr: '100.100.100.200/32', name: 'the cloud metadata address' },
  { cidr: 'fd00:ec2::254/128', name: 'the cloud metadata address' },
];

export const SPECIAL_PURPOSE_BLOCKS: readonly Block[] = [
  ...METADATA,
  // IPv4 (RFC 6890 and the registry's later entries)
  { cidr: '0.0.0.0/8', name: 'the unspecified address ("this network", RFC 791)' },
  { cidr: '10.0.0.0/8', name: 'a private (RFC 1918) address' },
  { cidr: '100.64.0.0/10', name: 'a carrier-grade NAT (100.64/10, RFC 6598) address' },
  { cidr: '127.0.0.0/8', name: 'a loopback address' },
  { cidr: '169.254.0.0/16', name: 'a link-local address' },
  { cidr: '172.16.0.0/12', name: 'a private (RFC 1918) address' },
  { cidr: '192.0.0.0/24', name: 'an IETF protocol assignment (192.0.0/24, RFC 6890)' },
  { cidr: '192.0.2.0/24', name: 'a documentation address (TEST-NET-1, RFC 5737)' },
  { cidr: '192.31.196.0/24', name: 'an AS112 address (RFC 7535)' },
  { cidr: '192.52.193.0/24', name: 'an AMT address (RFC 7450)' },
  { cidr: '192.88.99.0/24', name: 'a deprecated 6to4 relay anycast address (RFC 7526)' },
  { cidr: '192.168.0.0/16', name: 'a private (RFC 1918) address' },
  { cidr: '192.175.48.0/24', name: 'an AS112 address (RFC 7534)' },
  { cidr: '198.18.0.0/15', name: 'a benchmarking address (RFC 2544)' },
  { cidr: '198.51.100.0/24', name: 'a documentation address (TEST-NET-2, RFC 5737)' },
  { cidr: '203.0.113.0/24', name: 'a documentation address (TEST-NET-3, RFC 5737)' },
  { cidr: '224.0.0.0/4', name: 'a multicast address' },
  { cidr: '255.255.255.255/32', name: 'the broadcast address' },
  { cidr: '240.0.0.0/4', name: 'a reserved address (240/4)' },
  // IPv6 (RFC 6890 and the registry's later entries)
  { cidr: '::/128', name: 'the unspecified address' },
  { cidr: '::1/128', name: 'a loopback address' },
  { cidr: '::ffff:0:0/96', name: 'an IPv4-mapped address' },
  { cidr: '::/96', name: 'a deprecated IPv4-compatible address (::a.b.c.d, RFC 4291)' },
  { cidr: '::ffff:0:0:0/96', name: 'an IPv4-translated address (RFC 2765)' },
  { cidr: '64:ff9b::/96', name: 'a NAT64 address embedding an IPv4 address (RFC 6052)' },
  { cidr: '64:ff9b:1::/48', name: 'a local-use NAT64 address (RFC 8215)' },
  { cidr: '100::/64', name: 'a discard-only address (RFC 6666)' },
  { cidr: '100:0:0:1::/64', name: 'a dummy IPv6 prefix address (RFC 9780)' },
  { cidr: '2001::/32', name: 'a Teredo address (RFC 4380)' },
  { cidr: '2001::/23', name: 'an IETF protocol assignment (2001::/23, RFC 2928)' },
  { cidr: '2001:db8::/32', name: 'a documentation address (RFC 3849)' },
  { cidr: '2002::/16', name: 'a 6to4 address embedding an IPv4 address (RFC 3056)' },
  { cidr: '2620:4f:8000::/48', name: 'an AS112 address (RFC 7534)' },
  { cidr: '3fff::/20', name: 'a documentation address (RFC 9637)' },
  { cidr: '5f00::/16', name: 'a segment routing (SRv6) SID (RFC 9602)' },
  { cidr: 'fc00::/7', name: 'a unique-local (private IPv6) address' },
  { cidr: 'fe80::/10', name: 'a link-local address' },
  { cidr: 'fec0::/10', name: 'a deprecated site-local address (RFC 3879)' },
  { cidr: 'ff00::/8', name: 'a multicast address' },
];

// Named sub-blocks of 2001::/23 (benchmarking, ORCHID, AMT, …) are inside it and refused by it; the
// table lists the parent once. Order matters only for the name given: the first match is reported.
const parsedBlocks = SPECIAL_PURPOSE_BLOCKS.map((b) => ({ ...b, range: ipaddr.parseCIDR(b.cidr) }));
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** The special-purpose block an address falls in, or null for an ordinary public unicast address. */
export function specialPurposeBlock(address: ipaddr.IPv4 | ipaddr.IPv6): Block | null {
  for (const block of parsedBlocks) {
    const [network, bits] = block.range;
    if (network.kind() === address.kind() && address.match(network, bits)) return block;
  }
  if (address.kind() === 'ipv6' && !address.match(GLOBAL_UNICAST_V6))
    return { cidr: '2000::/3', name: 'outside global unicast (2000::/3)' };
  return null;
}

/** Why connecting to `address` is refused, or null when it is a public unicast address. */
export function refusedAddressReason(address: string): string | null {
  const bare = stripBrackets(address);
  if (!ipaddr.isValid(bare)) return `"${address}" is not an IP address`;
  let parsed = parseAddress(bare);
  let mapped = '';
  // The kernel dials an IPv4-mapped address as the IPv4 address it carries: judge that one.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    mapped = ' (IPv4-mapped IPv6)';
  }
  const block = specialPurposeBlock(parsed);
  if (!block) return null;
  const name = block.name.startsWith('outside') ? `an address ${block.name}` : block.name;
  return `${address} is ${name}${mapped}`;
}

/**
 * Parses an IP address. IPv6 text goes through the WHATWG URL parser first: ipaddr.js reads the dotted
 * tail of `::127.0.0.1` (IPv4-compatible, ::7f00:1) as if it were `::ffff:127.0.0.1` (IPv4-mapped).
 */
function parseAddress(bare: string): ipaddr.IPv4 | ipaddr.IPv6 {
  if (!bare.includes(':')) return ipaddr.parse(bare);
  try {
    return ipaddr.parse(stripBrackets(new URL(`http://[${bare}]/`).hostname));
  } catch {
    return ipaddr.parse(bare);
  }
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function isIpLiteral(host: string): boolean {
  return isIP(stripBrackets(host)) !== 0;
}

/**
 * The development/test allowlist (FETCH_ALLOW_PRIVATE_HOSTS): host names or IP literals, matched
 * against the URL's host as written, whose private addresses are allowed.
 */
export function parseHostAllowlist(value: string | readonly string[] | undefined): Set<string> {
  const items = typeof value === 'string' ? value.split(',') : (value ?? []);
  return new Set(items.map((h) => normaliseHost(h.trim())).filter(Boolean));
}

export function normaliseHost(host: string): string {
  const bare = stripBrackets(host.toLowerCase()).replace(/\.$/, '');
  return ipaddr.isValid(bare) ? parseAddress(bare).toString() : bare;
}
