/**
 * Strict IP parsing for IOCs. Only canonical dotted-quad IPv4 is accepted: the
 * alternate spellings that inet_aton and URL parsers accept (hex, octal, integer,
 * shortened) are a classic way to slip a blocked address past a filter, and they would
 * give one host several cache identities.
 */
import ipaddr from 'ipaddr.js';
import { badInput } from '../platform/errors.js';
import type { ParsedIoc } from './ioc-types.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const CANONICAL_IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** Anything made of decimal/hex/octal parts that an inet_aton-style parser might take. */
const IPV4_LIKE = /^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d*)){0,4}$/i;
/** Characters that can appear in an IPv6 literal, plus the zone, prefix and bracket marks we reject. */
const IPV6_LIKE = /^[[]?[0-9a-f:.]*:[0-9a-f:.]*(?:[%/][^\s]*)?[\]]?$/i;

/**
 * Ranges checked before ipaddr.js's own classification, because its `reserved` label
 * lumps documentation space together with other blocks and analysts want to know why.
 */
const DOCUMENTATION_RANGES: ReadonlyArray<[string, string]> = [
  ['192.0.2.0/24', 'documentation address (TEST-NET-1, RFC 5737)'],
  ['198.51.100.0/24', 'documentation address (TEST-NET-2, RFC 5737)'],
  ['203.0.113.0/24', 'documentation address (TEST-NET-3, RFC 5737)'],
  ['2001:db8::/32', 'documentation address (RFC 3849)'],
  ['3fff::/20', 'documentation address (RFC 9637)'],
];
const PARSED_DOC_RANGES = DOCUMENTATION_RANGES.map(([cidr, reason]) => ({
  range: ipaddr.parseCIDR(cidr),
  reason,
}));

/** IPv6 global unicast (2000::/3): everything outside it is unallocated or special. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/** Ranges routed on the internet (anycast AS112/AMT, 6to4 and Teredo tunnels): vendors may know them. Same choice as src/geo/ip-address.ts. */
const ROUTED_RANGES = new Set(['unicast', 'as112', 'amt', '6to4', 'teredo']);

const RANGE_REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  multicast: 'multicast address',
  linkLocal: 'link-local address',
  loopback: 'loopback address',
  carrierGradeNat: 'carrier-grade NAT address (RFC 6598)',
  private: 'private address (RFC 1918)',
  uniqueLocal: 'unique-local address (RFC 4193)',
  reserved: 'reserved address',
  benchmarking: 'benchmarking address',
};

export const looksLikeIpv4 = (s: string): boolean => IPV4_LIKE.test(s);
export const looksLikeIpv6 = (s: string): boolean => IPV6_LIKE.test(s);

function classify(addr: ipaddr.IPv4 | ipaddr.IPv6): { routable: boolean; reason?: string } {
  for (const { range, reason } of PARSED_DOC_RANGES) {
    if (addr.kind() === range[0].kind() && addr.match(range)) return { routable: false, reason };
  }
  const range = addr.range();
  if (addr.kind() === 'ipv6' && !addr.match(IPV6_GLOBAL_UNICAST)) {
    return { routable: false, reason: RANGE_REASONS[range] ?? `non-global IPv6 address (${range})` };
  }
  if (ROUTED_RANGES.has(range)) return { routable: true };
  return { routable: false, reason: RANGE_REASONS[range] ?? `special-purpose address (${range})` };
}

function withRoutability(type: 'IPV4' | 'IPV6', value: string, addr: ipaddr.IPv4 | ipaddr.IPv6): ParsedIoc {
  const { routable, reason } = classify(addr);
  return reason === undefined
    ? { type, value, routable }
    : { type, value, routable, nonRoutableReason: reason };
}

export function parseIpv4(input: string): ParsedIoc {
  if (!CANONICAL_IPV4.test(input)) {
    throw badInput(
      `"${input}" is not a canonical IPv4 address: use four decimal octets 0-255 without leading zeros (hex, octal, integer and shortened forms are rejected)`,
    );
  }
  return withRoutability('IPV4', input, ipaddr.IPv4.parse(input));
}

export function parseIpv6(input: string): ParsedIoc {
  if (input.includes('%')) throw badInput(`"${input}": IPv6 zone identifiers (%…) are not accepted`);
  if (input.includes('/')) throw badInput(`"${input}" is a CIDR range; submit a single address`);
  if (input.startsWith('[') || input.endsWith(']')) {
    throw badInput(`"${input}": submit the IPv6 address without brackets`);
  }
  if (!ipaddr.IPv6.isValid(input)) throw badInput(`"${input}" is not a valid IPv6 address`);
  const addr = ipaddr.IPv6.parse(input);
  if (addr.isIPv4MappedAddress()) {
    // Decision (docs/scoring.md): one host, one identity. The mapped form would also
    // bypass the non-routable checks (::ffff:127.0.0.1) if classified as IPv6.
    throw badInput(
      `"${input}" is an IPv4-mapped IPv6 address; submit the IPv4 address ${addr.toIPv4Address().toString()} instead`,
    );
  }
  return withRoutability('IPV6', addr.toRFC5952String(), addr);
}
