import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

// Which addresses an outbound fetch of a user-supplied URL may connect to. Only ordinary public
// unicast addresses pass; everything an attacker could use to reach the inside of the network
// (loopback, private ranges, link-local and the cloud metadata service, CGNAT, multicast, the
// unspecified address, and IPv6 forms that embed any of these) is refused with a reason.

const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

const rangeReasons: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a carrier-grade NAT (100.64/10) address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  uniqueLocal: 'a unique-local (private IPv6) address',
  rfc6052: 'a NAT64 address embedding an IPv4 address',
  '6to4': 'a 6to4 address embedding an IPv4 address',
  teredo: 'a Teredo address',
  rfc6145: 'an IPv4-translated address',
  benchmarking: 'a benchmarking address',
  amt: 'an AMT address',
  as112: 'an AS112 address',
  deprecated: 'a deprecated address',
  orchid2: 'an ORCHIDv2 address',
  discard: 'a discard-only address',
};

/** Why connecting to `address` is refused, or null when it is a public unicast address. */
export function refusedAddressReason(address: string): string | null {
  const bare = stripBrackets(address);
  if (!ipaddr.isValid(bare)) return `"${address}" is not an IP address`;
  let parsed = ipaddr.parse(bare);
  let mapped = '';
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    mapped = ' (IPv4-mapped IPv6)';
  }
  const normalised = parsed.toString();
  if (METADATA_ADDRESSES.has(normalised)) return `${address} is the cloud metadata address${mapped}`;
  const range = parsed.range();
  if (range === 'unicast') return null;
  return `${address} is ${rangeReasons[range] ?? `a ${range} address`}${mapped}`;
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
  return ipaddr.isValid(bare) ? ipaddr.parse(bare).toString() : bare;
}
