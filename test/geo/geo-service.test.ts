import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledCountryDbPath } from '../../src/geo/geo-database.js';
import { GEOIP_MAX_BATCH, GeoService } from '../../src/geo/geo-service.js';

const logger = pino({ level: 'silent' });

describe('GeoService with the bundled country database', () => {
  let geo: GeoService;
  beforeAll(async () => {
    geo = await GeoService.open({}, logger);
  });
  afterAll(() => geo.close());

  it('locates public IPv4 and IPv6 addresses to a country with its centroid', () => {
    expect(geo.lookup('8.8.8.8')).toEqual({
      input: '8.8.8.8',
      ip: '8.8.8.8',
      geo: {
        countryCode: 'US',
        countryName: 'United States',
        city: null,
        latitude: 38,
        longitude: -97,
        approximate: true,
        asn: null,
        asOrg: null,
      },
      reason: null,
      error: null,
    });
    // What the bundled geo-whois-asn-country file says (APNIC registers 1.1.1.0/24 in AU).
    expect(geo.lookup('1.1.1.1').geo).toMatchObject({
      countryCode: 'AU',
      countryName: 'Australia',
      approximate: true,
    });
    expect(geo.lookup('2001:4860:4860::8888')).toMatchObject({
      ip: '2001:4860:4860::8888',
      geo: { countryCode: 'US' },
    });
    expect(geo.lookup('::ffff:8.8.8.8')).toMatchObject({ ip: '::ffff:8.8.8.8', geo: { countryCode: 'US' } });
  });

  it.each([
    ['10.0.0.1', 'PRIVATE'],
    ['100.64.1.1', 'CGNAT'],
    ['192.0.2.1', 'DOCUMENTATION'],
    ['::1', 'LOOPBACK'],
    ['::ffff:10.0.0.1', 'PRIVATE'],
    ['fe80::1', 'LINK_LOCAL'],
    ['239.1.1.1', 'MULTICAST'],
    ['255.255.255.255', 'BROADCAST'],
    ['0.0.0.0', 'UNSPECIFIED'],
    ['240.1.2.3', 'RESERVED'],
  ])('gives %s the reason %s instead of a location', (input, reason) => {
    expect(geo.lookup(input)).toMatchObject({ input, geo: null, reason, error: null });
  });

  it('reports NOT_FOUND for a public address the database lacks', () => {
    // 2001::/32 (Teredo) is routable, so not classified away, but no registry maps it.
    expect(geo.lookup('2001::1')).toMatchObject({ ip: '2001::1', geo: null, reason: 'NOT_FOUND' });
  });

  it('returns error text for invalid inputs', () => {
    for (const input of [
      '0x7f.1',
      '0177.0.0.1',
      '2130706433',
      '127.1',
      'fe80::1%eth0',
      '10.0.0.0/8',
      '',
      'x'.repeat(500),
    ]) {
      const result = geo.lookup(input);
      expect(result, input).toMatchObject({ input, ip: null, geo: null, reason: null });
      expect(result.error, input).toMatch(/\S/);
    }
  });

  it('lookupMany keeps input order and reports errors per entry without throwing', () => {
    const inputs = ['8.8.8.8', 'not-an-ip', '10.0.0.1', '1.1.1.1', '', '2001:4860:4860::8888'];
    const results = geo.lookupMany(inputs);
    expect(results.map((r) => r.input)).toEqual(inputs);
    expect(results.map((r) => r.geo?.countryCode ?? r.reason ?? (r.error ? 'error' : null))).toEqual([
      'US',
      'error',
      'PRIVATE',
      'AU',
      'error',
      'US',
    ]);
    expect(geo.lookupMany([])).toEqual([]);
  });

  it('accepts GEOIP_MAX_BATCH inputs and refuses more as bad user input', () => {
    expect(geo.lookupMany(Array<string>(GEOIP_MAX_BATCH).fill('8.8.8.8'))).toHaveLength(GEOIP_MAX_BATCH);
    expect(() => geo.lookupMany(Array<string>(GEOIP_MAX_BATCH + 1).fill('8.8.8.8'))).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    );
  });

  it('locate is the validated fast path and shares one object per country', () => {
    const a = geo.locate('8.8.8.8');
    expect(a).toMatchObject({ countryCode: 'US', approximate: true });
    expect(geo.locate('8.8.4.4')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(geo.locate('::ffff:8.8.8.8')).toBe(a);
    expect(geo.locate('10.0.0.1')).toBeNull();
  });

  it('describes its databases', () => {
    expect(geo.databases()).toEqual([
      {
        kind: 'country',
        path: bundledCountryDbPath(),
        databaseType: expect.stringMatching(/country/) as unknown,
        builtAt: expect.any(Date) as unknown,
      },
    ]);
    expect(bundledCountryDbPath()).toMatch(/geo-whois-asn-country\.mmdb$/);
  });
});

describe('GeoService with an IPv4-only database', () => {
  it('answers IPv4 and reports IPv6 as NOT_FOUND instead of walking the IPv4 tree', async () => {
    // The bundled package also ships an IPv4-only file (ip_version 4 in its metadata).
    const countryDb = bundledCountryDbPath().replace(/\.mmdb$/, '-ipv4.mmdb');
    const geo = await GeoService.open({ countryDb }, logger);
    expect(geo.lookup('8.8.8.8').geo?.countryCode).toBe('US');
    expect(geo.lookup('::ffff:8.8.8.8').geo?.countryCode).toBe('US');
    expect(geo.lookup('2001:4860:4860::8888')).toMatchObject({ geo: null, reason: 'NOT_FOUND' });
  });
});

describe('GeoService database errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-geo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the missing path and the kind of database', async () => {
    const missing = join(dir, 'nope', 'GeoLite2-City.mmdb');
    await expect(GeoService.open({ cityDb: missing }, logger)).rejects.toThrow(
      `Cannot open the GeoIP city database at "${missing}": file not found`,
    );
    await expect(GeoService.open({ countryDb: join(dir, 'x.mmdb') }, logger)).rejects.toThrow(
      /country database at ".*x\.mmdb"/,
    );
  });

  it('names the path of a file that is not an mmdb database', async () => {
    const garbage = join(dir, 'garbage.mmdb');
    writeFileSync(garbage, 'this is not a MaxMind database');
    await expect(GeoService.open({ asnDb: garbage }, logger)).rejects.toThrow(
      `GeoIP asn database at "${garbage}"`,
    );
    await expect(GeoService.open({ asnDb: dir }, logger)).rejects.toThrow(`GeoIP asn database at "${dir}"`);
  });
});
