import ipaddr from 'ipaddr.js';
import type { GeoReason } from './geo-types.js';

/**
 * Strict IP address validation and classification, shared by GeoIP, IOC parsing and
 * threat ingestion. Strict because the legacy inet_aton forms (`0x7f.1`, `0177.0.0.1`,
 * `2130706433`, `127.1`) are a classic way to smuggle loopback or private targets
 * past filters, and because one address must have exactly one canonical spelling so
 * that stored IOCs and events de-duplicate.
 */

/** Where an address belongs: PUBLIC, or the reason it has no location. */
export type IpRange = 'PUBLIC' | Exclude<GeoReason, 'NOT_FOUND'>;

export type ParsedIp =
  | {
      ok: true;
      /** Canonical text: dotted quad, or RFC 5952 (IPv4-mapped as `::ffff:a.b.c.d`). */
      ip: string;
      version: 4 | 6;
      range: IpRange;
      /** The IPv4 address inside an IPv4-mapped IPv6 address, which databases key on. */
      embeddedIpv4: string | null;
    }
  | { ok: false; error: string };

/** Longest textual IPv6 address without a zone: six groups plus a dotted quad. */
export const MAX_IP_LENGTH = 45;
/** Inputs longer than this are rejected before any parsing work (after trimming). */
const MAX_INPUT_LENGTH = 256;

const DOCUMENTATION_V4: readonly [ipaddr.IPv4, number][] = [
  ipaddr.IPv4.parseCIDR('192.0.2.0/24'),
  ipaddr.IPv4.parseCIDR('198.51.100.0/24'),
  ipaddr.IPv4.parseCIDR('203.0.113.0/24'),
];
// RFC 3849 and RFC 9637; ipaddr.js files both under "reserved".
const DOCUMENTATION_V6: readonly [ipaddr.IPv6, number][] = [
  ipaddr.IPv6.parseCIDR('2001:db8::/32'),
  ipaddr.IPv6.parseCIDR('3fff::/20'),
];
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

// ipaddr.js range names → ours. Ranges that are routed on the internet (AS112, AMT,
// 6to4, Teredo) are PUBLIC: a database may well know where they are.
const V4_RANGES: Readonly<Record<string, IpRange>> = {
  unicast: 'PUBLIC',
  unspecified: 'UNSPECIFIED',
  broadcast: 'BROADCAST',
  multicast: 'MULTICAST',
  linkLocal: 'LINK_LOCAL',
  loopback: 'LOOPBACK',
  carrierGradeNat: 'CGNAT',
  private: 'PRIVATE',
  reserved: 'RESERVED',
  as112: 'PUBLIC',
  amt: 'PUBLIC',
};
const V6_RANGES: Readonly<Record<string, IpRange>> = {
  unicast: 'PUBLIC',
  unspecified: 'UNSPECIFIED',
  linkLocal: 'LINK_LOCAL',
  multicast: 'MULTICAST',
  loopback: 'LOOPBACK',
  uniqueLocal: 'PRIVATE',
  deprecatedSiteLocal: 'PRIVATE',
  discard: 'RESERVED',
  rfc6145: 'RESERVED',
  rfc6052: 'RESERVED',
  '6to4': 'PUBLIC',
  teredo: 'PUBLIC',
  benchmarking: 'RESERVED',
  amt: 'PUBLIC',
  as112v6: 'PUBLIC',
  deprecatedOrchid: 'RESERVED',
  orchid2: 'RESERVED',
  droneRemoteIdProtocolEntityTags: 'RESERVED',
  segmentRouting: 'RESERVED',
  reserved: 'RESERVED',
};

function inAny<T extends ipaddr.IPv4 | ipaddr.IPv6>(addr: T, ranges: readonly [T, number][]): boolean {
  return ranges.some((range) => addr.match(range));
}

type V4Table = Record<string, [ipaddr.IPv4, number] | [ipaddr.IPv4, number][]>;

/**
 * First octets that hold any special IPv4 range, read from ipaddr.js's own table so
 * that it stays the single source of truth. Every other first octet is plain unicast,
 * which lets the common case skip range(), the costliest step of parsing. Null (no
 * shortcut) if a future ipaddr.js stops exposing the table.
 */
const SPECIAL_FIRST_OCTETS: ReadonlySet<number> | null = (() => {
  const table = (ipaddr.IPv4.prototype as unknown as { SpecialRanges?: V4Table }).SpecialRanges;
  if (!table) return null;
  const octets = new Set<number>();
  const add = ([addr, prefix]: [ipaddr.IPv4, number]): void => {
    const first = addr.octets[0] ?? 0;
    for (let i = 0; i < 2 ** Math.max(0, 8 - prefix); i++) octets.add(first + i);
  };
  for (const entry of Object.values(table)) {
    if (Array.isArray(entry[0])) (entry as [ipaddr.IPv4, number][]).forEach(add);
    else add(entry as [ipaddr.IPv4, number]);
  }
  DOCUMENTATION_V4.forEach(add);
  return octets;
})();

// ipaddr.IPv4.isValidFourPartDecimal is this test plus a full parse; parsing once here
// halves the cost and keeps the same semantics.
const FOUR_PART_DECIMAL = /^(0|[1-9]\d*)(\.(0|[1-9]\d*)){3}$/;

function parseV4(text: string): ipaddr.IPv4 | null {
  if (!FOUR_PART_DECIMAL.test(text)) return null;
  try {
    return ipaddr.IPv4.parse(text); // throws for octets over 255
  } catch {
    return null;
  }
}

function classifyV4(addr: ipaddr.IPv4): IpRange {
  if (SPECIAL_FIRST_OCTETS && !SPECIAL_FIRST_OCTETS.has(addr.octets[0] ?? 0)) return 'PUBLIC';
  if (inAny(addr, DOCUMENTATION_V4)) return 'DOCUMENTATION';
  // Unknown names (a newer ipaddr.js adding a range) are treated as not routable.
  return V4_RANGES[addr.range()] ?? 'RESERVED';
}

function classifyV6(addr: ipaddr.IPv6): IpRange {
  if (inAny(addr, DOCUMENTATION_V6)) return 'DOCUMENTATION';
  const range = V6_RANGES[addr.range()] ?? 'RESERVED';
  // Plain unicast outside 2000::/3 is unassigned by IANA, not a public address.
  if (range === 'PUBLIC' && addr.range() === 'unicast' && !addr.match(GLOBAL_UNICAST_V6)) return 'RESERVED';
  return range;
}

function invalid(error: string): ParsedIp {
  return { ok: false, error };
}

/** Why a string is not an address, for the inputs people actually send. */
function explain(text: string): string {
  if (text.includes('/')) return `"${text}" is a CIDR range; give a single address`;
  if (text.includes('%')) return `"${text}" has an IPv6 zone identifier, which is not accepted`;
  if (/^[0-9a-fx.]+$/i.test(text) && !text.includes(':')) {
    return `"${text}" is not a dotted-quad IPv4 address (four decimal octets 0-255 without leading zeros)`;
  }
  return `"${text}" is not a valid IPv4 or IPv6 address`;
}

/** Validates, canonicalises and classifies one address. Surrounding whitespace is ignored. */
export function parseIp(input: string): ParsedIp {
  if (input.length > MAX_INPUT_LENGTH) return invalid(`input is too long (${input.length} characters)`);
  const text = input.trim();
  if (text === '') return invalid('empty input: expected an IPv4 or IPv6 address');
  if (text.length > MAX_IP_LENGTH) {
    return invalid(
      `input is too long for an IP address (${text.length} characters, at most ${MAX_IP_LENGTH})`,
    );
  }

  const v4 = parseV4(text);
  // Without leading zeros the dotted quad is already canonical.
  if (v4) return { ok: true, ip: text, version: 4, range: classifyV4(v4), embeddedIpv4: null };

  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return invalid(explain(text));
  // ipaddr.js accepts inet_aton forms in an embedded IPv4 tail (`::ffff:0x7f.0.0.1`).
  const dotted = text.lastIndexOf(':');
  if (text.includes('.') && !parseV4(text.slice(dotted + 1))) {
    return invalid(`"${text}" has an embedded IPv4 part that is not a dotted quad`);
  }

  const addr = ipaddr.IPv6.parse(text);
  if (addr.isIPv4MappedAddress()) {
    const v4 = addr.toIPv4Address();
    const embedded = v4.toString();
    // RFC 5952 §5: mapped addresses are written with the dotted quad.
    return { ok: true, ip: `::ffff:${embedded}`, version: 6, range: classifyV4(v4), embeddedIpv4: embedded };
  }
  return { ok: true, ip: addr.toRFC5952String(), version: 6, range: classifyV6(addr), embeddedIpv4: null };
}

/** True for a valid address that is routable on the public internet. */
export function isPublicIp(input: string): boolean {
  const parsed = parseIp(input);
  return parsed.ok && parsed.range === 'PUBLIC';
}

/** Canonical form of a valid address, or null. */
export function canonicalIp(input: string): string | null {
  const parsed = parseIp(input);
  return parsed.ok ? parsed.ip : null;
}
