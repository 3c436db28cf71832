/**
 * IP parsing for IOCs on top of the shared validator (src/geo/ip-address.ts), which
 * already rejects the alternate IPv4 spellings (hex, octal, integer, shortened) and
 * canonicalises. The IOC policy is stricter in two ways: IPv4-mapped IPv6 is refused
 * (one host, one identity; `::ffff:127.0.0.1` must not pass as an IPv6 IOC), and the
 * messages tell an analyst what to submit instead.
 */
import { parseIp, type IpRange } from '../geo/ip-address.js';
import { badInput } from '../platform/errors.js';
import type { ParsedIoc } from './ioc-types.js';

/** Anything made of decimal/hex/octal parts that an inet_aton-style parser might take. */
const IPV4_LIKE = /^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d*)){0,4}$/i;
/** Characters that can appear in an IPv6 literal, plus the zone, prefix and bracket marks we reject. */
const IPV6_LIKE = /^[[]?[0-9a-f:.]*:[0-9a-f:.]*(?:[%/][^\s]*)?[\]]?$/i;

export const looksLikeIpv4 = (s: string): boolean => IPV4_LIKE.test(s);
export const looksLikeIpv6 = (s: string): boolean => IPV6_LIKE.test(s);

/** Why an address is never sent upstream, in an analyst's words. */
const REASONS: Readonly<Record<Exclude<IpRange, 'PUBLIC'>, (version: 4 | 6) => string>> = {
  PRIVATE: (v) => (v === 4 ? 'private address (RFC 1918)' : 'unique-local address (RFC 4193) or site-local'),
  LOOPBACK: () => 'loopback address',
  LINK_LOCAL: () => 'link-local address',
  CGNAT: () => 'carrier-grade NAT address (RFC 6598)',
  MULTICAST: () => 'multicast address',
  DOCUMENTATION: (v) =>
    v === 4 ? 'documentation address (RFC 5737)' : 'documentation address (RFC 3849/9637)',
  RESERVED: () => 'reserved or special-purpose address',
  UNSPECIFIED: () => 'unspecified address',
  BROADCAST: () => 'broadcast address',
};

function toIoc(type: 'IPV4' | 'IPV6', ip: string, version: 4 | 6, range: IpRange): ParsedIoc {
  return range === 'PUBLIC'
    ? { type, value: ip, routable: true }
    : { type, value: ip, routable: false, nonRoutableReason: REASONS[range](version) };
}

export function parseIpv4(input: string): ParsedIoc {
  const parsed = parseIp(input);
  if (!parsed.ok || parsed.version !== 4 || parsed.ip !== input) {
    throw badInput(
      `"${input}" is not a canonical IPv4 address: use four decimal octets 0-255 without leading zeros (hex, octal, integer and shortened forms are rejected)`,
    );
  }
  return toIoc('IPV4', parsed.ip, 4, parsed.range);
}

export function parseIpv6(input: string): ParsedIoc {
  if (input.includes('%')) throw badInput(`"${input}": IPv6 zone identifiers (%…) are not accepted`);
  if (input.includes('/')) throw badInput(`"${input}" is a CIDR range; submit a single address`);
  if (input.startsWith('[') || input.endsWith(']')) {
    throw badInput(`"${input}": unbalanced brackets around an IPv6 address`);
  }
  const parsed = parseIp(input);
  if (!parsed.ok || parsed.version !== 6) throw badInput(`"${input}" is not a valid IPv6 address`);
  if (parsed.embeddedIpv4 !== null) {
    throw badInput(
      `"${input}" is an IPv4-mapped IPv6 address; submit the IPv4 address ${parsed.embeddedIpv4} instead`,
    );
  }
  return toIoc('IPV6', parsed.ip, 6, parsed.range);
}
