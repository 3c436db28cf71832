import { describe, expect, it } from 'vitest';
import { MAX_INPUT_LENGTH, parseIoc } from '../../src/iocs/ioc-parse.js';
import { BAD_INPUTS, expectBadInput } from './bad-inputs.js';

describe('parseIoc: bad inputs are BAD_USER_INPUT with a message naming the problem', () => {
  for (const [name, input, message] of BAD_INPUTS) {
    it(name, () => expectBadInput(() => parseIoc(input), message));
  }

  it('rejects a 1 MB string by its length, before any parsing', () => {
    const huge = `${'a.'.repeat(512 * 1024)}com`;
    // The length check names the limit; a parser that got this far would complain about
    // the labels instead.
    expect(() => parseIoc(huge)).toThrow(
      `IOC value is ${huge.length} characters long; the maximum is ${MAX_INPUT_LENGTH}`,
    );
  });
});

/** [input, type, normalised value, routable, reason fragment] */
const GOOD_INPUTS: ReadonlyArray<[string, string, string, boolean, string?]> = [
  ['8.8.8.8', 'IPV4', '8.8.8.8', true],
  [' 1.1.1.1\n', 'IPV4', '1.1.1.1', true],
  ['0.0.0.0', 'IPV4', '0.0.0.0', false, 'unspecified'],
  ['10.1.2.3', 'IPV4', '10.1.2.3', false, 'private'],
  ['172.16.0.1', 'IPV4', '172.16.0.1', false, 'private'],
  ['192.168.1.1', 'IPV4', '192.168.1.1', false, 'private'],
  ['127.0.0.1', 'IPV4', '127.0.0.1', false, 'loopback'],
  ['169.254.169.254', 'IPV4', '169.254.169.254', false, 'link-local'],
  ['100.64.0.1', 'IPV4', '100.64.0.1', false, 'carrier-grade NAT'],
  ['192.0.2.10', 'IPV4', '192.0.2.10', false, 'documentation'],
  ['198.51.100.7', 'IPV4', '198.51.100.7', false, 'documentation'],
  ['203.0.113.99', 'IPV4', '203.0.113.99', false, 'documentation'],
  ['224.0.0.1', 'IPV4', '224.0.0.1', false, 'multicast'],
  ['255.255.255.255', 'IPV4', '255.255.255.255', false, 'broadcast'],
  ['2606:4700:4700:0000:0000:0000:0000:1111', 'IPV6', '2606:4700:4700::1111', true],
  ['2A00:1450:4001:82B::200E', 'IPV6', '2a00:1450:4001:82b::200e', true],
  ['2001:DB8::1', 'IPV6', '2001:db8::1', false, 'documentation'],
  ['::1', 'IPV6', '::1', false, 'loopback'],
  ['fe80::1', 'IPV6', 'fe80::1', false, 'link-local'],
  ['fd12:3456::1', 'IPV6', 'fd12:3456::1', false, 'unique-local'],
  ['Evil.COM.', 'DOMAIN', 'evil.com', true],
  ['WWW.Evil-Site.co.uk', 'DOMAIN', 'www.evil-site.co.uk', true],
  ['foo.blogspot.com', 'DOMAIN', 'foo.blogspot.com', true],
  ['mañana.com', 'DOMAIN', 'xn--maana-pta.com', true],
  ['пример.рф', 'DOMAIN', 'xn--e1afmkfd.xn--p1ai', true],
  ['日本語.jp', 'DOMAIN', 'xn--wgv71a119e.jp', true],
  ['東京タワー.jp', 'DOMAIN', 'xn--5ck2eqb538s34z.jp', true],
  ['www.example.org', 'DOMAIN', 'www.example.org', false, 'documentation'],
  [`${'a'.repeat(63)}.com`, 'DOMAIN', `${'a'.repeat(63)}.com`, true],
  ['HTTP://Evil.COM:80/a/../b?q=1#frag', 'URL', 'http://evil.com/b?q=1#frag', true],
  ['https://evil.com:8443/login', 'URL', 'https://evil.com:8443/login', true],
  ['http://例え.jp/パス', 'URL', 'http://xn--r8jz45g.jp/%E3%83%91%E3%82%B9', true],
  ['http://evil.com./x', 'URL', 'http://evil.com/x', true],
  ['https://[2606:4700::1111]/x', 'URL', 'https://[2606:4700::1111]/x', true],
  ['http://192.168.0.1/admin', 'URL', 'http://192.168.0.1/admin', false, 'private'],
  ['d41d8cd98f00b204e9800998ecf8427e', 'MD5', 'd41d8cd98f00b204e9800998ecf8427e', true],
  ['DA39A3EE5E6B4B0D3255BFEF95601890AFD80709', 'SHA1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', true],
  [
    'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
    'SHA256',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    true,
  ],
];

describe('parseIoc: good inputs normalise', () => {
  for (const [input, type, value, routable, reason] of GOOD_INPUTS) {
    it(`${JSON.stringify(input)} → ${type} ${value}`, () => {
      const parsed = parseIoc(input);
      expect(parsed).toMatchObject({ type, value, routable });
      if (reason !== undefined) expect(parsed.nonRoutableReason).toContain(reason);
      else expect(parsed.nonRoutableReason).toBeUndefined();
    });
  }

  it('is idempotent: parsing a normalised value gives the same value', () => {
    for (const [input] of GOOD_INPUTS) {
      const once = parseIoc(input);
      expect(parseIoc(once.value)).toEqual(once);
    }
  });
});
