/**
 * URLs are parsed and normalised, never fetched. The host is validated from the text
 * the analyst gave, not from WHATWG's parse result, because the URL parser silently
 * rewrites http://0x7f.1/ to http://127.0.0.1/ and would hide the alternate form.
 */
import { badInput } from '../platform/errors.js';
import type { InputNotes, ParsedIoc } from './ioc-types.js';
import { parseDomain, unicodeHost } from './parse-domain.js';
import { looksLikeIpv4, parseIpv4, parseIpv6 } from './parse-ip.js';

const ALLOWED_SCHEMES = new Set(['http', 'https', 'ftp', 'ftps']);
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
/** Authority = everything between "//" and the first "/", "?" or "#". */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;
const PORT_SUFFIX = /:(\d{1,5})$/;

export const looksLikeUrl = (s: string): boolean => SCHEME.test(s);

/**
 * `notes` (optional) collects what was changed on the way: credentials (user:password@)
 * are removed from the value, so they are never stored nor sent to a source.
 */
export function parseUrl(input: string, notes?: InputNotes): ParsedIoc {
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase() ?? '';
  if (!ALLOWED_SCHEMES.has(scheme))
    throw badInput(`URL scheme "${scheme}:" is not supported; only http, https, ftp and ftps are`);
  if (input.includes('\\'))
    throw badInput(`URL "${input}" contains a backslash, which parsers disagree about`);
  if (/\s/u.test(input)) throw badInput(`URL "${input}" contains whitespace; percent-encode it`);
  const authority = AUTHORITY.exec(input)?.[1];
  if (authority === undefined) throw badInput(`URL "${input}" must start with ${scheme}:// and a host`);
  // Like the URL parser, the last "@" ends the credentials: http://good.com@evil.com/ goes to evil.com.
  const at = authority.lastIndexOf('@');
  const host = parseHost(authority.slice(at + 1), input);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw badInput(`"${input}" is not a valid URL`);
  }
  if (at >= 0) {
    url.username = '';
    url.password = '';
    notes?.notes.push(`credentials (user:password@) removed: the host is ${host.value}`);
    if (notes) notes.credentialsRemoved = true;
  }
  url.hostname = host.type === 'IPV6' ? `[${host.value}]` : host.value;
  url.hash = url.hash === '#' ? '' : url.hash;
  const value = url.href;
  const facts = urlFacts(value);
  return host.routable
    ? { type: 'URL', value, routable: true, ...facts }
    : {
        type: 'URL',
        value,
        routable: false,
        nonRoutableReason: `URL host: ${host.nonRoutableReason ?? 'not routable'}`,
        ...facts,
      };
}

/** Unicode form and look-alike target of a stored URL value (the host decides both). */
export function urlFacts(value: string): Pick<ParsedIoc, 'unicodeValue' | 'lookalikeOf'> {
  let hostname: string;
  try {
    hostname = new URL(value).hostname;
  } catch {
    return {};
  }
  const host = unicodeHost(hostname);
  return {
    ...(host.unicodeValue !== undefined
      ? { unicodeValue: value.replace(`//${hostname}`, `//${host.unicodeValue}`) }
      : {}),
    ...(host.lookalikeOf !== undefined ? { lookalikeOf: host.lookalikeOf } : {}),
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
