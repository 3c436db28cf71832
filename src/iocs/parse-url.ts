/**
 * URLs are parsed and normalised, never fetched. The host is validated from the text
 * the analyst gave, not from WHATWG's parse result, because the URL parser silently
 * rewrites http://0x7f.1/ to http://127.0.0.1/ and would hide the alternate form.
 */
import { badInput } from '../platform/errors.js';
import type { ParsedIoc } from './ioc-types.js';
import { parseDomain } from './parse-domain.js';
import { looksLikeIpv4, parseIpv4, parseIpv6 } from './parse-ip.js';

const ALLOWED_SCHEMES = new Set(['http', 'https']);
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
/** Authority = everything between "//" and the first "/", "?" or "#". */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;
const PORT_SUFFIX = /:(\d{1,5})$/;

export const looksLikeUrl = (s: string): boolean => SCHEME.test(s);

export function parseUrl(input: string): ParsedIoc {
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase() ?? '';
  if (!ALLOWED_SCHEMES.has(scheme))
    throw badInput(`URL scheme "${scheme}:" is not supported; only http and https are`);
  if (input.includes('\\'))
    throw badInput(`URL "${input}" contains a backslash, which parsers disagree about`);
  if (/\s/u.test(input)) throw badInput(`URL "${input}" contains whitespace; percent-encode it`);
  const authority = AUTHORITY.exec(input)?.[1];
  if (authority === undefined) throw badInput(`URL "${input}" must start with ${scheme}:// and a host`);
  if (authority.includes('@'))
    throw badInput(`URL "${input}" contains credentials (user:password@); remove them`);
  const host = parseHost(authority, input);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw badInput(`"${input}" is not a valid URL`);
  }
  url.hostname = host.type === 'IPV6' ? `[${host.value}]` : host.value;
  url.hash = url.hash === '#' ? '' : url.hash;
  const value = url.href;
  return host.routable
    ? { type: 'URL', value, routable: true }
    : {
        type: 'URL',
        value,
        routable: false,
        nonRoutableReason: `URL host: ${host.nonRoutableReason ?? 'not routable'}`,
      };
}

function parseHost(authority: string, input: string): ParsedIoc {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    const rest = authority.slice(end + 1);
    if (end < 0 || (rest !== '' && !PORT_SUFFIX.test(rest)))
      throw badInput(`URL "${input}" has a malformed IPv6 host`);
    return parseIpv6(authority.slice(1, end));
  }
  const port = PORT_SUFFIX.exec(authority);
  if (port?.[1] !== undefined && Number(port[1]) > 65535)
    throw badInput(`URL "${input}" has an invalid port`);
  const hostText = port ? authority.slice(0, port.index) : authority;
  if (hostText === '') throw badInput(`URL "${input}" has no host`);
  if (hostText.includes(':')) throw badInput(`URL "${input}" has a malformed host or port`);
  return looksLikeIpv4(hostText) ? parseIpv4(hostText) : parseDomain(hostText);
}
