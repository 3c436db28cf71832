/** The bad-input corpus: parser unit tests and the API test (zero upstream calls) share it. */
import { expect } from 'vitest';
import { MAX_INPUT_LENGTH } from '../../src/iocs/ioc-parse.js';
import { AppError } from '../../src/platform/errors.js';

/** `parse` throws BAD_USER_INPUT with a message matching `message`. */
export function expectBadInput(parse: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe('BAD_USER_INPUT');
  expect((caught as AppError).message).toMatch(message);
}

/** [input, a fragment the message must contain so the analyst knows what was wrong] */
export const BAD_INPUTS: ReadonlyArray<[string, string, RegExp]> = [
  ['hex IPv4', '0x7f.1', /canonical IPv4/],
  ['octal IPv4', '0177.0.0.1', /canonical IPv4/],
  ['integer IPv4', '2130706433', /canonical IPv4/],
  ['shortened IPv4', '127.1', /canonical IPv4/],
  ['leading zero octet', '8.8.8.08', /canonical IPv4/],
  ['octet over 255', '256.1.1.1', /canonical IPv4/],
  ['five octets', '1.2.3.4.5', /canonical IPv4/],
  ['IPv4 CIDR', '8.8.8.0/24', /CIDR/],
  ['IPv4-mapped IPv6', '::ffff:127.0.0.1', /IPv4-mapped.*127\.0\.0\.1/],
  ['IPv4-mapped IPv6, hex form', '::ffff:7f00:1', /IPv4-mapped/],
  ['IPv6 zone id', 'fe80::1%eth0', /zone/],
  ['IPv6 CIDR', '2001:db8::/32', /CIDR/],
  ['bad IPv6', '2001:db8:::1', /not a valid IPv6/],
  ['label over 63 chars', `${'a'.repeat(64)}.com`, /longer than 63/],
  ['name over 253 chars', `${'abcdefghi.'.repeat(26)}com`, /longer than 253/],
  ['empty label', 'evil..com', /empty label/],
  ['no public suffix', 'intranet.corp', /no public suffix/],
  ['reserved TLD', 'foo.test', /no public suffix/],
  ['bare public suffix', 'co.uk', /public suffix, not a domain/],
  ['single label', 'localhost', /public suffix/],
  ['leading hyphen', '-evil.com', /not a valid hostname label/],
  ['invalid punycode', 'xn--zz.com', /internationalised/],
  ['underscore-only junk', 'evil,com', /character hostnames cannot/],
  ['URL with backslashes', 'http:\\\\evil.com\\path', /backslash/],
  ['URL with backslash in path', 'http://evil.com\\@good.com/', /backslash/],
  ['javascript URL', 'javascript:alert(1)', /scheme/],
  ['data URL', 'data:text/html,<script>', /scheme/],
  ['file URL', 'file:///etc/passwd', /scheme/],
  ['sftp URL', 'sftp://evil.com/file', /scheme/],
  ['host with a bad port', 'evil.com:70000', /invalid port/],
  ['defanged URL with a bad host', 'hxxp://evil[.]corp/x', /no public suffix/],
  ['URL without host', 'http:///path', /no host|host/],
  ['URL with alternate IPv4 host', 'http://0x7f.1/admin', /canonical IPv4/],
  ['URL with integer host', 'http://2130706433/', /canonical IPv4/],
  ['URL with bad port', 'http://evil.com:99999/', /port/],
  ['URL host without suffix', 'http://printer/', /no public suffix/],
  ['MD5 one char short', 'd41d8cd98f00b204e9800998ecf8427', /31 hex characters/],
  ['SHA1 one char short', 'da39a3ee5e6b4b0d3255bfef95601890afd8070', /39 hex characters/],
  [
    'SHA256 one char short',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85',
    /63 hex characters/,
  ],
  ['SHA256 one char long', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555', /65 hex/],
  ['hash with a non-hex char', 'd41d8cd98f00b204e9800998ecf8427g', /public suffix|hostname/],
  ['NUL byte', '8.8.8.8\u0000', /NUL/],
  ['NUL inside a domain', 'evil\u0000.com', /NUL/],
  ['control character', 'evil\u0007.com', /control character/],
  ['zero-width space', 'ev\u200Bil.com', /invisible/],
  ['bidi override', 'moc.\u202Elive', /invisible/],
  ['inner whitespace', 'evil .com', /whitespace/],
  ['empty', '   ', /empty/],
  ['1 MB string', 'a'.repeat(1024 * 1024), /maximum is 2048/],
  ['just over the limit', `http://evil.com/${'a'.repeat(MAX_INPUT_LENGTH)}`, /maximum/],
];
