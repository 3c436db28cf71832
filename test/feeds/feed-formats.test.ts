/**
 * The pure parts of feeds and exports: STIX patterns for every IOC type (quotes and
 * backslashes escaped) validated against the OASIS indicator schema, CSV quoting and
 * formula neutralising, the address check, If-None-Match matching, and export links
 * (signature, expiry, revocation) with a fixed clock.
 */
import { describe, expect, it } from 'vitest';
import { csvLines } from '../../src/feeds/csv.js';
import { ExportService, EXPORT_LINK_TTL_S } from '../../src/feeds/export-service.js';
import type { ExportSources } from '../../src/feeds/export-types.js';
import { isAddressOrCidr, matchesEtag } from '../../src/feeds/feed-service.js';
import type { FeedIocRow } from '../../src/feeds/feed-types.js';
import { indicatorOf, stixPattern } from '../../src/feeds/stix.js';
import { validateStix } from './stix-schemas.js';

describe('STIX patterns', () => {
  it.each([
    ['IPV4', '198.51.100.1', "[ipv4-addr:value = '198.51.100.1']"],
    ['IPV6', '2001:db8::1', "[ipv6-addr:value = '2001:db8::1']"],
    ['DOMAIN', 'evil.example', "[domain-name:value = 'evil.example']"],
    ['URL', "http://x.test/a'b\\c", "[url:value = 'http://x.test/a\\'b\\\\c']"],
    ['MD5', 'd41d8cd98f00b204e9800998ecf8427e', "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']"],
    [
      'SHA1',
      'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
    ],
    ['SHA256', 'ab'.repeat(32), `[file:hashes.'SHA-256' = '${'ab'.repeat(32)}']`],
    ['SHA512', 'cd'.repeat(64), `[file:hashes.'SHA-512' = '${'cd'.repeat(64)}']`],
  ])('%s', (type, value, pattern) => {
    expect(stixPattern(type, value)).toBe(pattern);
    const row: FeedIocRow = {
      id: '00000000-0000-4000-8000-000000000001',
      type: type as FeedIocRow['type'],
      value,
      riskScore: 40,
      riskLevel: 'MEDIUM',
      categories: [],
      firstSeenAt: new Date('2026-11-01T00:00:00.000Z'),
      lastEnrichedAt: null,
      sources: ['OTX', 'VIRUSTOTAL'],
      verdict: null,
    };
    const indicator = indicatorOf(row);
    expect(validateStix('sdos/indicator.json', indicator)).toEqual([]);
    // No enrichment yet: no valid_until; no categories: no labels; score 40: anomalous.
    expect(indicator).not.toHaveProperty('valid_until');
    expect(indicator).not.toHaveProperty('labels');
    expect(indicator.indicator_types).toEqual(['anomalous-activity']);
  });
});

describe('CSV', () => {
  it('quotes as RFC 4180 and neutralises cells that start like a formula', () => {
    expect(
      csvLines([
        ['plain', 'with,comma', 'with "quote"', 'line\nbreak', 3, null, true],
        ['=1+2', '+SUM(A1)', '-2', '@cmd', '\tx', 'a=b', -5],
        [['=x', 'y'], new Date('2026-01-02T03:04:05.006Z'), undefined, '', "'already", 0, false],
      ]),
    ).toBe(
      'plain,"with,comma","with ""quote""","line\nbreak",3,,true\r\n' +
        "'=1+2,'+SUM(A1),'-2,'@cmd,'\tx,a=b,-5\r\n" +
        "'=x;y,2026-01-02T03:04:05.006Z,,,'already,0,false\r\n",
    );
  });
});

describe('addresses and ETags', () => {
  it.each([
    ['192.0.2.1', true],
    ['192.0.2.0/24', true],
    ['192.0.2.0/33', false],
    ['2001:db8::/32', true],
    ['2001:db8::/129', false],
    ['192.0.2.1/', false],
    ['example.org', false],
    ['1.2.3.4/x', false],
  ])('%s is an address or CIDR block: %s', (value, ok) => {
    expect(isAddressOrCidr(value)).toBe(ok);
  });

  it('matches If-None-Match lists, weak tags and *', () => {
    expect(matchesEtag('"a"', '"a"')).toBe(true);
    expect(matchesEtag('"b", W/"a"', '"a"')).toBe(true);
    expect(matchesEtag('*', '"a"')).toBe(true);
    expect(matchesEtag('"ab"', '"a"')).toBe(false);
    expect(matchesEtag(undefined, '"a"')).toBe(false);
  });
});

describe('export links', () => {
  const KEY = '11111111-1111-4111-8111-111111111111';
  const sources = {
    DECISIONS: {
      check: (f: unknown) => Promise.resolve(f),
      page: () => Promise.resolve({ rows: [], hasNextPage: false }),
      keyOf: () => ({ at: new Date(0), id: '1' }),
      columns: [],
      json: () => ({}),
    },
  } as unknown as ExportSources;

  function service(clock: { now: number }, keys: Map<string, Buffer>) {
    return new ExportService(
      sources,
      (id) => Promise.resolve(keys.has(id) ? { role: 'READER', secret: keys.get(id)! } : undefined),
      'https://tw.example/',
      () => clock.now,
    );
  }
  const tokenOf = (path: string) => path.slice('/exports/download?token='.length);

  it(`work for ${EXPORT_LINK_TTL_S} s, then answer UNAUTHENTICATED`, async () => {
    const clock = { now: Date.parse('2026-12-01T00:00:00.000Z') };
    const keys = new Map([[KEY, Buffer.alloc(32, 7)]]);
    const s = service(clock, keys);
    const link = await s.create(KEY, 'DECISIONS', { value: '192.0.2.1' }, 'CSV');
    expect(link.url).toBe(`https://tw.example${link.path}`);
    expect(link.expiresAt.toISOString()).toBe('2026-12-01T00:15:00.000Z');
    clock.now += EXPORT_LINK_TTL_S * 1000 - 1;
    expect(await s.open(tokenOf(link.path))).toEqual({
      keyId: KEY,
      kind: 'DECISIONS',
      filter: { value: '192.0.2.1' },
      format: 'CSV',
      expiresAt: Date.parse('2026-12-01T00:15:00.000Z') / 1000,
    });
    clock.now += 1;
    await expect(s.open(tokenOf(link.path))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('are bound to the key: a different key secret or a revoked key refuses them', async () => {
    const clock = { now: Date.parse('2026-12-01T00:00:00.000Z') };
    const keys = new Map([[KEY, Buffer.alloc(32, 7)]]);
    const s = service(clock, keys);
    const link = await s.create(KEY, 'DECISIONS', {}, 'JSONL');
    keys.set(KEY, Buffer.alloc(32, 8));
    await expect(s.open(tokenOf(link.path))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    keys.delete(KEY);
    await expect(s.open(tokenOf(link.path))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
