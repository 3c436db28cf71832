/**
 * Domain names: lower case, IDN to punycode (WHATWG/UTS #46 via node:url), one
 * trailing dot removed, DNS length rules, an ICANN public suffix required. The value
 * keeps the punycode; the Unicode form and, for homoglyph look-alikes, the name they
 * imitate ride along (homoglyph.ts).
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { parse as parseTld } from 'tldts';
import { badInput } from '../platform/errors.js';
import { lookalikeHost } from './homoglyph.js';
import type { ParsedIoc } from './ioc-types.js';

const MAX_LABEL = 63;
const MAX_NAME = 253;
/** After punycode: letters, digits, hyphen; underscore occurs in real hostnames (DNS allows it). */
const ASCII_LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
/** Characters no hostname contains: they mean the input is a URL, an e-mail or garbage. */
const FORBIDDEN = /[\s/\\@:?#[\]%<>"'`|^{}*,;=+!$&()~]/u;
/** RFC 2606 second-level names: valid, but lookups would only waste quota. */
const DOCUMENTATION_DOMAINS = ['example.com', 'example.net', 'example.org'];

export function parseDomain(input: string): ParsedIoc {
  if (FORBIDDEN.test(input))
    throw badInput(`"${input}" is not a domain name: it contains a character hostnames cannot`);
  const withoutDot = input.endsWith('.') ? input.slice(0, -1) : input;
  if (withoutDot === '' || withoutDot.split('.').some((l) => l === '')) {
    throw badInput(`"${input}" is not a domain name: it has an empty label`);
  }
  const ascii = domainToASCII(withoutDot.toLowerCase());
  if (ascii === '') throw badInput(`"${input}" is not a valid internationalised domain name`);
  if (ascii.length > MAX_NAME) throw badInput(`"${input}" is longer than ${MAX_NAME} characters`);
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL)
      throw badInput(`domain label "${label}" is longer than ${MAX_LABEL} characters`);
    if (!ASCII_LABEL.test(label)) throw badInput(`domain label "${label}" is not a valid hostname label`);
  }
  const tld = parseTld(ascii);
  if (tld.isIp === true) throw badInput(`"${input}" is an IP address, not a domain`);
  if (tld.isIcann !== true || tld.publicSuffix === null) {
    throw badInput(
      `"${input}" has no public suffix (top-level domain "${labels.at(-1) ?? ''}" is not delegated)`,
    );
  }
  if (tld.domain === null) throw badInput(`"${input}" is a public suffix, not a domain`);
  const facts = unicodeHost(ascii);
  if (DOCUMENTATION_DOMAINS.includes(tld.domain)) {
    return {
      type: 'DOMAIN',
      value: ascii,
      routable: false,
      nonRoutableReason: 'documentation domain (RFC 2606)',
      ...facts,
    };
  }
  return { type: 'DOMAIN', value: ascii, routable: true, ...facts };
}

/** For an ASCII (punycode) host: its Unicode form when it has IDN labels, and what it imitates. */
export function unicodeHost(ascii: string): Pick<ParsedIoc, 'unicodeValue' | 'lookalikeOf'> {
  const labels = ascii.split('.');
  if (!labels.some((l) => l.startsWith('xn--'))) return {};
  const unicode = domainToUnicode(ascii);
  const lookalikeOf = lookalikeHost(unicode.split('.'), labels);
  return { unicodeValue: unicode, ...(lookalikeOf !== undefined ? { lookalikeOf } : {}) };
}
