/**
 * Indicators as analysts paste them from reports, tickets, feeds and chats: defanged,
 * internationalised, mixed case, with trailing dots, ports, brackets, credentials, hashes
 * of every length, and junk. Every expected value is written out by hand (punycode forms
 * cross-checked with Python's `idna` codec, except ß, which WHATWG's non-transitional
 * processing keeps), never produced by the parser under test.
 */
import { describe, expect, it } from 'vitest';
import { parseIocInput } from '../../src/iocs/ioc-parse.js';
import { expectBadInput } from './bad-inputs.js';

interface Good {
  type: string;
  value: string;
  refanged?: boolean;
  routable?: boolean;
  lookalikeOf?: string;
  unicodeValue?: string;
  credentialsRemoved?: boolean;
}
type Expected = Good | { error: RegExp };

const ok = (type: string, value: string, extra: Omit<Good, 'type' | 'value'> = {}): Good => ({
  type,
  value,
  ...extra,
});
const fanged = (type: string, value: string, extra: Omit<Good, 'type' | 'value'> = {}): Good =>
  ok(type, value, { refanged: true, ...extra });
const err = (error: RegExp): Expected => ({ error });

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
/** SHA-512 of the empty string and of "abc" (FIPS 180-2 test vector), checked with sha512sum. */
const SHA512 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const SHA512_ABC =
  'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

const CORPUS: ReadonlyArray<[string, Expected]> = [
  // --- defanged ---------------------------------------------------------------------
  ['hxxp://evil[.]com/x', fanged('URL', 'http://evil.com/x')],
  ['hxxps://evil[.]com/login.php', fanged('URL', 'https://evil.com/login.php')],
  ['HXXP://EVIL[.]COM/Path', fanged('URL', 'http://evil.com/Path')],
  ['hXXps://secure-login[.]net/verify', fanged('URL', 'https://secure-login.net/verify')],
  ['hxxps[://]evil[.]com', fanged('URL', 'https://evil.com/')],
  ['hxxp[://]evil[.]com/a', fanged('URL', 'http://evil.com/a')],
  ['http[:]//evil.com/a', fanged('URL', 'http://evil.com/a')],
  ['hxxp[:]//evil[.]com/a', fanged('URL', 'http://evil.com/a')],
  ['https[:]//evil[.]com', fanged('URL', 'https://evil.com/')],
  ['h**p://evil.com/x', fanged('URL', 'http://evil.com/x')],
  ['h[tt]p://evil.com/x', fanged('URL', 'http://evil.com/x')],
  ['hxtp://evil.com/x', fanged('URL', 'http://evil.com/x')],
  ['fxp://files[.]evil.com/drop.zip', fanged('URL', 'ftp://files.evil.com/drop.zip')],
  ['evil[.]com', fanged('DOMAIN', 'evil.com')],
  ['evil(.)com', fanged('DOMAIN', 'evil.com')],
  ['evil{.}com', fanged('DOMAIN', 'evil.com')],
  ['evil[dot]com', fanged('DOMAIN', 'evil.com')],
  ['evil(dot)com', fanged('DOMAIN', 'evil.com')],
  ['evil{dot}com', fanged('DOMAIN', 'evil.com')],
  ['evil[DOT]com', fanged('DOMAIN', 'evil.com')],
  ['evil [.] com', fanged('DOMAIN', 'evil.com')],
  ['evil[ . ]com', fanged('DOMAIN', 'evil.com')],
  ['www[.]evil[.]co[.]uk', fanged('DOMAIN', 'www.evil.co.uk')],
  ['evil dot com', fanged('DOMAIN', 'evil.com')],
  ['www dot evil dot co dot uk', fanged('DOMAIN', 'www.evil.co.uk')],
  ['evil DOT com', fanged('DOMAIN', 'evil.com')],
  ['dot dot com', err(/whitespace/)],
  ['1[.]2[.]3[.]4', fanged('IPV4', '1.2.3.4')],
  ['45[.]33[.]32[.]156', fanged('IPV4', '45.33.32.156')],
  ['8(.)8(.)8(.)8', fanged('IPV4', '8.8.8.8')],
  ['185.220.101[.]1', fanged('IPV4', '185.220.101.1')],
  ['10[.]0[.]0[.]1', fanged('IPV4', '10.0.0.1', { routable: false })],
  ['user[@]evil.com', fanged('DOMAIN', 'evil.com')],
  ['user(@)evil[.]com', fanged('DOMAIN', 'evil.com')],
  ['billing[at]evil[.]com', fanged('DOMAIN', 'evil.com')],
  ['hxxp://evil[.]com[/]gate.php', fanged('URL', 'http://evil.com/gate.php')],
  ['evil[.]com/gate.php', fanged('URL', 'http://evil.com/gate.php')],
  ['hxxp://1[.]2[.]3[.]4:8080/bins/x86', fanged('URL', 'http://1.2.3.4:8080/bins/x86')],
  ['hxxp://[2606:4700::1111]/a', fanged('URL', 'http://[2606:4700::1111]/a')],
  ['hxxp://evil[.]corp/x', err(/no public suffix/)],
  ['evil[.]', err(/public suffix/)],
  // --- mixed case -------------------------------------------------------------------
  ['Evil.COM', ok('DOMAIN', 'evil.com')],
  ['WWW.EVIL-SITE.CO.UK', ok('DOMAIN', 'www.evil-site.co.uk')],
  ['HTTP://Evil.COM/Path?Q=1', ok('URL', 'http://evil.com/Path?Q=1')],
  ['HTTPS://EVIL.COM', ok('URL', 'https://evil.com/')],
  ['FTP://Files.Evil.COM/a.exe', ok('URL', 'ftp://files.evil.com/a.exe')],
  [MD5.toUpperCase(), ok('MD5', MD5)],
  [SHA1.toUpperCase(), ok('SHA1', SHA1)],
  [SHA256.toUpperCase(), ok('SHA256', SHA256)],
  ['E3b0C44298fc1c149AFBF4c8996fb92427ae41e4649b934ca495991b7852B855', ok('SHA256', SHA256)],
  ['2A00:1450:4001:82B::200E', ok('IPV6', '2a00:1450:4001:82b::200e')],
  ['HxXp://EvIl[.]CoM', fanged('URL', 'http://evil.com/')],
  // --- trailing dots and surrounding whitespace ----------------------------------------
  ['evil.com.', ok('DOMAIN', 'evil.com')],
  ['Evil.COM.', ok('DOMAIN', 'evil.com')],
  ['evil.com..', err(/empty label/)],
  ['http://evil.com./x', ok('URL', 'http://evil.com/x')],
  ['evil[.]com.', fanged('DOMAIN', 'evil.com')],
  ['  evil.com\n', ok('DOMAIN', 'evil.com')],
  ['\t8.8.8.8 ', ok('IPV4', '8.8.8.8')],
  ['.evil.com', err(/empty label/)],
  // --- ports ------------------------------------------------------------------------
  ['1.2.3.4:443', ok('IPV4', '1.2.3.4')],
  ['45.33.32.156:4444', ok('IPV4', '45.33.32.156')],
  ['45.33.32.156:0', ok('IPV4', '45.33.32.156')],
  ['evil.com:8080', ok('DOMAIN', 'evil.com')],
  ['evil[.]com:8443', fanged('DOMAIN', 'evil.com')],
  ['evil.com:70000', err(/invalid port/)],
  ['1.2.3.4:123456', err(/invalid port/)],
  ['http://evil.com:8080/x', ok('URL', 'http://evil.com:8080/x')],
  ['http://evil.com:80/x', ok('URL', 'http://evil.com/x')],
  ['https://evil.com:443/x', ok('URL', 'https://evil.com/x')],
  ['https://evil.com:8443/login', ok('URL', 'https://evil.com:8443/login')],
  ['ftp://evil.com:21/a', ok('URL', 'ftp://evil.com/a')],
  ['http://evil.com:99999/', err(/port/)],
  ['evil.com:8080/panel', ok('URL', 'http://evil.com:8080/panel')],
  ['1.2.3.4:8080/bins.sh', ok('URL', 'http://1.2.3.4:8080/bins.sh')],
  ['evil.com:', err(/scheme/)],
  // --- IPv6 -------------------------------------------------------------------------
  ['2606:4700:4700::1111', ok('IPV6', '2606:4700:4700::1111')],
  ['2606:4700:4700:0000:0000:0000:0000:1111', ok('IPV6', '2606:4700:4700::1111')],
  ['[2606:4700::1111]', ok('IPV6', '2606:4700::1111')],
  ['[2606:4700::1111]:443', ok('IPV6', '2606:4700::1111')],
  ['[2001:DB8::1]', ok('IPV6', '2001:db8::1', { routable: false })],
  ['https://[2606:4700::1111]/x', ok('URL', 'https://[2606:4700::1111]/x')],
  ['http://[2606:4700::1111]:8080/x', ok('URL', 'http://[2606:4700::1111]:8080/x')],
  ['http://[fd00::1]/admin', ok('URL', 'http://[fd00::1]/admin', { routable: false })],
  ['::1', ok('IPV6', '::1', { routable: false })],
  ['fe80::1', ok('IPV6', 'fe80::1', { routable: false })],
  ['fe80::1%eth0', err(/zone/)],
  ['2001:db8::/32', err(/CIDR/)],
  ['::ffff:127.0.0.1', err(/IPv4-mapped/)],
  ['[::ffff:8.8.8.8]', err(/IPv4-mapped/)],
  ['2001:db8:::1', err(/not a valid IPv6/)],
  ['[2606:4700::1111', err(/unbalanced brackets/)],
  ['http://[2606:4700::1111/x', err(/IPv6|not a valid URL/)],
  // --- credentials in URLs ---------------------------------------------------------------
  ['http://user:pass@evil.com/', ok('URL', 'http://evil.com/', { credentialsRemoved: true })],
  ['https://admin@evil.com/panel', ok('URL', 'https://evil.com/panel', { credentialsRemoved: true })],
  [
    'ftp://anonymous:guest@files.evil.com/pub/a.exe',
    ok('URL', 'ftp://files.evil.com/pub/a.exe', { credentialsRemoved: true }),
  ],
  ['http://paypal.com@evil.com/login', ok('URL', 'http://evil.com/login', { credentialsRemoved: true })],
  ['http://user:p%40ss@evil.com:8080/x', ok('URL', 'http://evil.com:8080/x', { credentialsRemoved: true })],
  ['hxxp://user:secret[@]evil[.]com/a', fanged('URL', 'http://evil.com/a', { credentialsRemoved: true })],
  [
    'http://user:pass@10.0.0.5/',
    ok('URL', 'http://10.0.0.5/', { credentialsRemoved: true, routable: false }),
  ],
  ['http://user:pass@/x', err(/no host/)],
  ['http://evil.com\\@good.com/', err(/backslash/)],
  // --- hashes of every length ---------------------------------------------------------
  [MD5, ok('MD5', MD5)],
  [SHA1, ok('SHA1', SHA1)],
  [SHA256, ok('SHA256', SHA256)],
  [SHA512, ok('SHA512', SHA512)],
  [SHA512.toUpperCase(), ok('SHA512', SHA512)],
  [`  ${SHA512_ABC.toUpperCase()}\n`, ok('SHA512', SHA512_ABC)],
  [SHA512.slice(0, 127), err(/127 hex characters; .* a SHA-512 128/)],
  [`${SHA512}0`, err(/129 hex characters/)],
  // SHA-384 is no IOC type: 96 hex characters are refused with the lengths that are.
  [SHA512.slice(0, 96), err(/96 hex characters; an MD5 has 32, a SHA-1 40, a SHA-256 64 and a SHA-512 128/)],
  ['44d88612fea8a8f36de82e1278abb02f', ok('MD5', '44d88612fea8a8f36de82e1278abb02f')],
  ['3395856ce81f2b7382dee72602f798b642f14140', ok('SHA1', '3395856ce81f2b7382dee72602f798b642f14140')],
  [
    '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
    ok('SHA256', '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f'),
  ],
  [' 44D88612FEA8A8F36DE82E1278ABB02F\r\n', ok('MD5', '44d88612fea8a8f36de82e1278abb02f')],
  ['d41d8cd98f00b204', err(/16 hex characters/)],
  ['d41d8cd98f00b204e9800998ecf8427', err(/31 hex characters/)],
  ['d41d8cd98f00b204e9800998ecf8427e0', err(/33 hex characters/)],
  ['da39a3ee5e6b4b0d3255bfef95601890afd8070', err(/39 hex characters/)],
  ['da39a3ee5e6b4b0d3255bfef95601890afd807091', err(/41 hex characters/)],
  ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85', err(/63 hex characters/)],
  ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555', err(/65 hex characters/)],
  ['d41d8cd98f00b204e9800998ecf8427z', err(/public suffix|hostname/)],
  ['md5:d41d8cd98f00b204e9800998ecf8427e', err(/scheme/)],
  // --- IDN, punycode and look-alikes ----------------------------------------------------
  ['münchen.de', ok('DOMAIN', 'xn--mnchen-3ya.de', { unicodeValue: 'münchen.de' })],
  ['MÜNCHEN.DE', ok('DOMAIN', 'xn--mnchen-3ya.de', { unicodeValue: 'münchen.de' })],
  ['xn--mnchen-3ya.de', ok('DOMAIN', 'xn--mnchen-3ya.de', { unicodeValue: 'münchen.de' })],
  ['пример.рф', ok('DOMAIN', 'xn--e1afmkfd.xn--p1ai', { unicodeValue: 'пример.рф' })],
  ['яндекс.рф', ok('DOMAIN', 'xn--d1acpjx3f.xn--p1ai', { unicodeValue: 'яндекс.рф' })],
  ['kraków.pl', ok('DOMAIN', 'xn--krakw-3ta.pl', { unicodeValue: 'kraków.pl' })],
  ['ñandú.com.ar', ok('DOMAIN', 'xn--and-6ma2c.com.ar', { unicodeValue: 'ñandú.com.ar' })],
  ['παράδειγμα.gr', ok('DOMAIN', 'xn--hxajbheg2az3al.gr', { unicodeValue: 'παράδειγμα.gr' })],
  ['日本.jp', ok('DOMAIN', 'xn--wgv71a.jp', { unicodeValue: '日本.jp' })],
  ['中国.cn', ok('DOMAIN', 'xn--fiqs8s.cn', { unicodeValue: '中国.cn' })],
  ['straße.de', ok('DOMAIN', 'xn--strae-oqa.de', { unicodeValue: 'straße.de' })],
  ['ｇｏｏｇｌｅ.com', ok('DOMAIN', 'google.com')],
  [
    'http://bücher.de/katalog',
    ok('URL', 'http://xn--bcher-kva.de/katalog', { unicodeValue: 'http://bücher.de/katalog' }),
  ],
  [
    'gооgle.com',
    ok('DOMAIN', 'xn--ggle-55da.com', { lookalikeOf: 'google.com', unicodeValue: 'gооgle.com' }),
  ],
  [
    'xn--ggle-55da.com',
    ok('DOMAIN', 'xn--ggle-55da.com', { lookalikeOf: 'google.com', unicodeValue: 'gооgle.com' }),
  ],
  ['gοοgle.com', ok('DOMAIN', 'xn--ggle-0nda.com', { lookalikeOf: 'google.com' })],
  ['аррӏе.com', ok('DOMAIN', 'xn--80ak6aa92e.com', { lookalikeOf: 'apple.com' })],
  [
    'xn--80ak6aa92e.com',
    ok('DOMAIN', 'xn--80ak6aa92e.com', { lookalikeOf: 'apple.com', unicodeValue: 'аррӏе.com' }),
  ],
  ['аpple.com', ok('DOMAIN', 'xn--pple-43d.com', { lookalikeOf: 'apple.com' })],
  ['раураl.com', ok('DOMAIN', 'xn--l-7sba6dbr.com', { lookalikeOf: 'paypal.com' })],
  ['ɡoogle.com', ok('DOMAIN', 'xn--oogle-qmc.com', { lookalikeOf: 'google.com' })],
  ['faceboоk.com', ok('DOMAIN', 'xn--facebok-fjg.com', { lookalikeOf: 'facebook.com' })],
  ['micrоsoft.com', ok('DOMAIN', 'xn--micrsoft-qbh.com', { lookalikeOf: 'microsoft.com' })],
  ['аmazon.com', ok('DOMAIN', 'xn--mazon-3ve.com', { lookalikeOf: 'amazon.com' })],
  ['ebаy.com', ok('DOMAIN', 'xn--eby-7cd.com', { lookalikeOf: 'ebay.com' })],
  ['netflіx.com', ok('DOMAIN', 'xn--netflx-tvf.com', { lookalikeOf: 'netflix.com' })],
  ['twіtter.com', ok('DOMAIN', 'xn--twtter-qvf.com', { lookalikeOf: 'twitter.com' })],
  ['ԁropbox.com', ok('DOMAIN', 'xn--ropbox-vug.com', { lookalikeOf: 'dropbox.com' })],
  ['lіnkedin.com', ok('DOMAIN', 'xn--lnkedin-rog.com', { lookalikeOf: 'linkedin.com' })],
  ['gmаil.com', ok('DOMAIN', 'xn--gmil-63d.com', { lookalikeOf: 'gmail.com' })],
  ['login.citibаnk.com', ok('DOMAIN', 'login.xn--citibnk-6fg.com', { lookalikeOf: 'login.citibank.com' })],
  ['gооgle[.]com', fanged('DOMAIN', 'xn--ggle-55da.com', { lookalikeOf: 'google.com' })],
  [
    'hxxps://gооgle[.]com/signin',
    fanged('URL', 'https://xn--ggle-55da.com/signin', {
      lookalikeOf: 'google.com',
      unicodeValue: 'https://gооgle.com/signin',
    }),
  ],
  // Wholly one script: a look-alike only where that script is not expected.
  ['орех.ru', ok('DOMAIN', 'xn--e1argv.ru', { unicodeValue: 'орех.ru' })],
  ['аррӏе.рф', ok('DOMAIN', 'xn--80ak6aa92e.xn--p1ai', { unicodeValue: 'аррӏе.рф' })],
  ['ακτινο.gr', ok('DOMAIN', 'xn--mxaqcnk1a.gr', { unicodeValue: 'ακτινο.gr' })],
  ['ακτινο.com', ok('DOMAIN', 'xn--mxaqcnk1a.com', { lookalikeOf: 'aktivo.com' })],
  ['gооgle.ru', ok('DOMAIN', 'xn--ggle-55da.ru', { lookalikeOf: 'google.ru' })],
  // Documented false positives of the heuristic (docs/scoring.md §6).
  ['kırmızı.com', ok('DOMAIN', 'xn--krmz-lzacb.com', { lookalikeOf: 'kirmizi.com' })],
  ['орех.com', ok('DOMAIN', 'xn--e1argv.com', { lookalikeOf: 'opex.com' })],
  ['xn--zz.com', err(/internationalised/)],
  ['xn--.com', err(/internationalised|label/)],
  // --- ordinary IPv4, domains and URLs ---------------------------------------------------
  ['8.8.8.8', ok('IPV4', '8.8.8.8')],
  ['45.33.32.156', ok('IPV4', '45.33.32.156')],
  ['192.168.1.1', ok('IPV4', '192.168.1.1', { routable: false })],
  ['127.0.0.1', ok('IPV4', '127.0.0.1', { routable: false })],
  ['169.254.169.254', ok('IPV4', '169.254.169.254', { routable: false })],
  ['100.64.0.1', ok('IPV4', '100.64.0.1', { routable: false })],
  ['0x7f.1', err(/canonical IPv4/)],
  ['0177.0.0.1', err(/canonical IPv4/)],
  ['2130706433', err(/canonical IPv4/)],
  ['127.1', err(/canonical IPv4/)],
  ['8.8.8.08', err(/canonical IPv4/)],
  ['256.1.1.1', err(/canonical IPv4/)],
  ['1.2.3.4.5', err(/canonical IPv4/)],
  ['8.8.8.0/24', err(/CIDR/)],
  ['foo.blogspot.com', ok('DOMAIN', 'foo.blogspot.com')],
  ['www.example.org', ok('DOMAIN', 'www.example.org', { routable: false })],
  ['_dmarc.evil.com', ok('DOMAIN', '_dmarc.evil.com')],
  ['evil.xyz', ok('DOMAIN', 'evil.xyz')],
  ['http://evil.com/a/../b?q=1#frag', ok('URL', 'http://evil.com/b?q=1#frag')],
  ['https://evil.com/a%20b', ok('URL', 'https://evil.com/a%20b')],
  ['http://evil.com/#', ok('URL', 'http://evil.com/')],
  ['ftps://Evil.com./x', ok('URL', 'ftps://evil.com/x')],
  ['//evil.com/x', ok('URL', 'http://evil.com/x')],
  ['http://192.168.0.1/admin', ok('URL', 'http://192.168.0.1/admin', { routable: false })],
  ['http://0x7f.1/admin', err(/canonical IPv4/)],
  ['http://printer/', err(/no public suffix/)],
  ['http:///path', err(/host/)],
  // --- junk -------------------------------------------------------------------------
  ['', err(/empty/)],
  ['   ', err(/empty/)],
  ['localhost', err(/public suffix/)],
  ['intranet.corp', err(/no public suffix/)],
  ['foo.test', err(/no public suffix/)],
  ['co.uk', err(/public suffix, not a domain/)],
  ['evil..com', err(/empty label/)],
  ['-evil.com', err(/not a valid hostname label/)],
  ['evil,com', err(/character hostnames cannot/)],
  ['evil .com', err(/whitespace/)],
  ['evil.com evil.net', err(/whitespace/)],
  ['javascript:alert(1)', err(/scheme/)],
  ['data:text/html,<script>', err(/scheme/)],
  ['file:///etc/passwd', err(/scheme/)],
  ['sftp://evil.com/file', err(/scheme/)],
  ['mailto:user@evil.com', err(/scheme/)],
  ['C:\\Windows\\System32\\evil.exe', err(/scheme/)],
  ['/etc/passwd', err(/host|public suffix/)],
  ['ev\u200Bil.com', err(/invisible/)],
  ['moc.\u202Elive', err(/invisible/)],
  ['evil\u0007.com', err(/control character/)],
  ['8.8.8.8\u0000', err(/NUL/)],
  ['N/A', err(/public suffix|host/)],
  ['-', err(/hostname label|public suffix/)],
  ['<evil.com>', err(/character hostnames cannot/)],
  ['"evil.com"', err(/character hostnames cannot/)],
  ['user@@evil.com', err(/character hostnames cannot/)],
];

describe('parseIocInput: a corpus of real-world spellings', () => {
  it('has at least 150 entries, each input once', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
    expect(new Set(CORPUS.map(([input]) => input)).size).toBe(CORPUS.length);
  });

  for (const [input, expected] of CORPUS) {
    it(`${JSON.stringify(input)} → ${'error' in expected ? `error ${String(expected.error)}` : `${expected.type} ${expected.value}`}`, () => {
      if ('error' in expected) return expectBadInput(() => parseIocInput(input), expected.error);
      const parsed = parseIocInput(input);
      expect({ type: parsed.ioc.type, value: parsed.ioc.value }).toEqual({
        type: expected.type,
        value: expected.value,
      });
      expect(parsed.refanged).toBe(expected.refanged ?? false);
      expect(parsed.ioc.routable).toBe(expected.routable ?? true);
      expect(parsed.credentialsRemoved).toBe(expected.credentialsRemoved ?? false);
      expect(parsed.ioc.lookalikeOf).toBe(expected.lookalikeOf);
      if (expected.unicodeValue !== undefined) expect(parsed.ioc.unicodeValue).toBe(expected.unicodeValue);
    });
  }
});

describe('parseIocInput: what it reports about the input', () => {
  it('never quotes a URL password in an error message', () => {
    expectBadInput(
      () => parseIocInput('http://bob:hunter2@evil .com/'),
      /^URL "http:\/\/bob:\*\*\*@evil \.com\/" contains whitespace/,
    );
    expectBadInput(
      () => parseIocInput('hxxp://bob:hunter2[@]evil[.]corp/x'),
      /^"evil\.corp" has no public suffix/,
    );
    expectBadInput(() => parseIocInput('bob:hunter2@evil.com/x'), /^URL scheme "bob:" is not supported/);
    for (const input of ['http://bob:hunter2@evil .com/', 'bob:hunter2@evil.com/x', 'ftp://bob:hunter2@/x']) {
      expect(() => parseIocInput(input)).toThrow(/^(?!.*hunter2)/);
    }
  });

  const cases: ReadonlyArray<[string, string, string[]]> = [
    [
      'hxxps[://]evil[.]com',
      'hxxps[://]evil[.]com',
      ['refanged "hxxps" → "https"', 'refanged "[://]" → "://"', 'refanged "[.]" → "."'],
    ],
    ['www dot evil dot com', 'www dot evil dot com', ['refanged " dot " → "." (×2)']],
    [
      'user[@]evil.com',
      'user[@]evil.com',
      [
        'refanged "[@]" → "@"',
        'e-mail address: its domain evil.com is looked up (mailboxes are not an IOC type)',
      ],
    ],
    ['45.33.32.156:4444', '45.33.32.156:4444', ['port 4444 dropped: sources score the host, not one port']],
    ['[2606:4700::1111]', '[2606:4700::1111]', ['brackets removed from the IPv6 address']],
    ['evil.com/gate.php', 'evil.com/gate.php', ['no scheme given: http:// assumed']],
    [
      ' hxxp://bob:hunter2[@]evil[.]com/x ',
      'http://bob:***@evil.com/x',
      [
        'refanged "hxxp" → "http"',
        'refanged "[@]" → "@"',
        'refanged "[.]" → "."',
        'credentials (user:password@) removed: the host is evil.com',
      ],
    ],
    [
      'http://bob@evil.com/',
      'http://bob@evil.com/',
      ['credentials (user:password@) removed: the host is evil.com'],
    ],
    ['Evil.COM.', 'Evil.COM.', []],
  ];
  for (const [input, echoed, normalizations] of cases) {
    it(`${JSON.stringify(input)} echoes ${JSON.stringify(echoed)}`, () => {
      const parsed = parseIocInput(input);
      expect(parsed.input).toBe(echoed);
      expect(parsed.normalizations).toEqual(normalizations);
    });
  }
});
