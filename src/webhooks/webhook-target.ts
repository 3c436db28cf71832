/**
 * Where a webhook may send: http or https only, no credentials in the URL (the secret
 * signs instead), and only public unicast addresses unless an operator allows private
 * ranges (`WEBHOOK_ALLOW_PRIVATE_CIDRS`). The address is checked when the webhook is
 * saved and again on every connection (the DNS lookup of each request goes through
 * `guardedLookup`), so a name that later resolves to an internal address is refused.
 * Logs name a target by its origin only: paths often carry tokens (Slack's do).
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { badInput } from '../platform/errors.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidrs(list: readonly string[]): Cidr[] {
  return list.map((c) => ipaddr.parseCIDR(c));
}

/** Null when the address may be reached, else why not. */
export function refusedAddress(address: string, allow: readonly Cidr[]): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (allow.some(([net, bits]) => net.kind() === ip.kind() && ip.match([net, bits] as never))) return null;
  const range = ip.range();
  return range === 'unicast' ? null : `${address} is a ${range} address`;
}

/** The URL, checked and normalised; throws BAD_USER_INPUT naming `argument`. */
export function checkTargetUrl(argument: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badInput(`${argument} is not a URL`, { argument });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badInput(`${argument} must be an http or https URL`, { argument });
  if (url.username || url.password)
    throw badInput(`${argument} must not carry credentials; the secret signs every request`, { argument });
  url.hash = '';
  return url;
}

/** Resolves the URL's host and refuses it when any address is not allowed. */
export async function checkTargetAddress(argument: string, url: URL, allow: readonly Cidr[]): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
    } catch {
      throw badInput(`${argument}: the host ${host} does not resolve`, { argument });
    }
  }
  for (const a of addresses) {
    const why = refusedAddress(a, allow);
    if (why) throw badInput(`${argument} is refused: ${why} (see WEBHOOK_ALLOW_PRIVATE_CIDRS)`, { argument });
  }
}

/** Scheme, host and port: what logs may show of a target. */
export function redactedUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `dns.lookup` for the HTTP client that refuses addresses the target rules do not allow. */
export function guardedLookup(allow: readonly Cidr[]) {
  return (
    hostname: string,
    options: LookupOneOptions | number | LookupCallback,
    callback?: LookupCallback,
  ) => {
    const cb = (typeof options === 'function' ? options : callback)!;
    const opts = typeof options === 'object' ? options : {};
    dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      const refused = addresses.map((a) => refusedAddress(a.address, allow)).find((w) => w !== null);
      if (refused) {
        const e: NodeJS.ErrnoException = new Error(`webhook target refused: ${refused}`);
        e.code = 'EREFUSEDTARGET';
        return cb(e, '');
      }
      if ((opts as { all?: boolean }).all) return cb(null, addresses);
      const first = addresses[0]!;
      return cb(null, first.address, first.family);
    });
  };
}
