/**
 * Allowlist entries: CIDR blocks and domain suffixes an analyst vouches for (the
 * company's own networks and domains). Parsing an entry, and deciding whether an IOC
 * falls under one. An IOC under an entry is capped like a BENIGN verdict (scoring.ts).
 */
import ipaddr from 'ipaddr.js';
import { badInput } from '../platform/errors.js';
import type { AllowlistEntry, AllowlistKind, StoredAllowlistMatch } from './curation-types.js';
import type { IocType } from './ioc-types.js';
import { parseDomain } from './parse-domain.js';

/** Wider blocks than these would vouch for a large part of the internet. */
export const MIN_PREFIX = { ipv4: 8, ipv6: 16 } as const;
/** Longest accepted entry text (a CIDR or a domain name is far shorter). */
export const MAX_ENTRY_LENGTH = 300;

export interface ParsedEntry {
  kind: AllowlistKind;
  /** Canonical form: network address and prefix, or the punycode domain. */
  value: string;
}

/**
 * `10.20.0.0/16`, `2001:db8:1::/48`, a single address (stored as /32 or /128), or a
 * domain suffix (`corp.example.com`, also written `*.corp.example.com` or
 * `.corp.example.com`), which covers the domain and every name below it.
 */
export function parseAllowlistEntry(input: string): ParsedEntry {
  const text = input.trim();
  if (text === '')
    throw badInput('value is empty: give a CIDR block or a domain suffix', { argument: 'value' });
  if (text.length > MAX_ENTRY_LENGTH)
    throw badInput(`value is ${text.length} characters long; at most ${MAX_ENTRY_LENGTH} are accepted`, {
      argument: 'value',
      limit: MAX_ENTRY_LENGTH,
    });
  if (text.includes('/')) return parseCidr(text);
  if (ipaddr.isValid(text)) {
    const addr = ipaddr.parse(text);
    return parseCidr(`${text}/${addr.kind() === 'ipv4' ? 32 : 128}`);
  }
  const name = text.replace(/^\*?\./, '');
  try {
    return { kind: 'DOMAIN', value: parseDomain(name).value };
  } catch (err) {
    throw badInput(`value "${text}" is neither a CIDR block nor a domain suffix: ${(err as Error).message}`, {
      argument: 'value',
    });
  }
}

function parseCidr(text: string): ParsedEntry {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let prefix: number;
  try {
    [addr, prefix] = ipaddr.parseCIDR(text);
  } catch {
    throw badInput(`value "${text}" is not a CIDR block (address/prefix, e.g. 10.20.0.0/16)`, {
      argument: 'value',
    });
  }
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress())
    throw badInput(`value "${text}": write an IPv4-mapped block in its IPv4 form`, { argument: 'value' });
  const min = addr.kind() === 'ipv4' ? MIN_PREFIX.ipv4 : MIN_PREFIX.ipv6;
  if (prefix < min)
    throw badInput(`value "${text}" is wider than /${min}: an allowlist entry must not cover that much`, {
      argument: 'value',
      min,
    });
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(text)
      : ipaddr.IPv6.networkAddressFromCIDR(text);
  const canonical = `${network.toString()}/${prefix}`;
  if (network.toString() !== addr.toString())
    throw badInput(`value "${text}" has host bits set: the block is ${canonical}`, { argument: 'value' });
  return { kind: 'CIDR', value: canonical };
}

/** The host an IOC names, for matching: the address or domain itself, a URL's host. */
function hostOf(type: IocType, value: string): { ip?: ipaddr.IPv4 | ipaddr.IPv6; domain?: string } | null {
  if (type === 'IPV4' || type === 'IPV6') return { ip: ipaddr.parse(value) };
  if (type === 'DOMAIN') return { domain: value };
  if (type !== 'URL') return null;
  const host = new URL(value).hostname.replace(/^\[|\]$/g, '');
  return ipaddr.isValid(host) ? { ip: ipaddr.parse(host) } : { domain: host };
}

/**
 * The address an IOC names, as text, for the stored `host_ip` the database matches CIDR
 * entries against (IocRepository): the same reading `allowlistMatch` makes.
 */
export function hostAddress(type: IocType, value: string): string | null {
  try {
    return hostOf(type, value)?.ip?.toString() ?? null;
  } catch {
    return null;
  }
}

function covers(entry: AllowlistEntry, host: { ip?: ipaddr.IPv4 | ipaddr.IPv6; domain?: string }): boolean {
  if (entry.kind === 'CIDR') {
    if (host.ip === undefined) return false;
    const range = ipaddr.parseCIDR(entry.value);
    return host.ip.kind() === range[0].kind() && host.ip.match(range);
  }
  return (
    host.domain !== undefined && (host.domain === entry.value || host.domain.endsWith(`.${entry.value}`))
  );
}

/** The entry covering the IOC (the narrowest when several do), or null. */
export function allowlistMatch(
  entries: readonly AllowlistEntry[],
  type: IocType,
  value: string,
): StoredAllowlistMatch | null {
  const host = hostOf(type, value);
  if (host === null) return null;
  const matching = entries.filter((e) => covers(e, host));
  if (matching.length === 0) return null;
  const narrowest = matching.reduce((a, b) => (specificity(b) > specificity(a) ? b : a));
  return {
    id: narrowest.id,
    kind: narrowest.kind,
    value: narrowest.value,
    note: narrowest.note,
    createdAt: narrowest.createdAt.toISOString(),
    createdBy: narrowest.createdBy,
  };
}

const specificity = (e: AllowlistEntry): number =>
  e.kind === 'CIDR' ? Number(e.value.split('/')[1]) : e.value.split('.').length;
