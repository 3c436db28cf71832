import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'maxmind';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectShape } from '../../src/geo/geo-records.js';
import { GeoService } from '../../src/geo/geo-service.js';
import { writeMmdb, type MmdbOptions } from './mmdb-writer.js';

/**
 * Both record shapes, on small .mmdb files written at test time (test/geo/mmdb-writer.ts):
 * MaxMind's nested GeoLite2/GeoIP2 layout and ip-location-db's flat one.
 */
const logger = pino({ level: 'silent' });
let dir: string;

const nestedCity: MmdbOptions = {
  databaseType: 'GeoLite2-City',
  entries: [
    {
      network: '81.2.69.0/24',
      record: {
        city: { geoname_id: 2643743, names: { en: 'London', de: 'London' } },
        continent: { code: 'EU', names: { en: 'Europe' } },
        country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
        location: { accuracy_radius: 10, latitude: 51.5142, longitude: -0.0931, time_zone: 'Europe/London' },
      },
    },
    {
      network: '2001:4860::/32',
      record: { country: { iso_code: 'US' }, location: { latitude: 37.751, longitude: -97.822 } },
    },
    // Satellite/anonymous ranges often carry only registered_country.
    {
      network: '67.43.156.0/24',
      record: { registered_country: { iso_code: 'BT', names: { en: 'Bhutan' } } },
    },
  ],
};
const nestedAsn: MmdbOptions = {
  databaseType: 'GeoLite2-ASN',
  entries: [
    {
      network: '8.8.8.0/24',
      record: { autonomous_system_number: 15169, autonomous_system_organization: 'GOOGLE' },
    },
    {
      network: '81.2.69.0/24',
      record: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold' },
    },
  ],
};
const flatCity: MmdbOptions = {
  databaseType: 'city ipvAll',
  entries: [
    {
      network: '8.8.8.0/24',
      record: {
        city: 'Mountain View',
        country_code: 'US',
        latitude: 37.4056,
        longitude: -122.0775,
        state1: 'California',
      },
    },
    { network: '1.1.1.0/24', record: { city: 'Sydney', country_code: 'AU', state1: 'New South Wales' } },
  ],
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tw-geo-shapes-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MaxMind nested records (GeoLite2 City + ASN)', () => {
  let geo: GeoService;
  beforeAll(async () => {
    const cityDb = writeMmdb(join(dir, 'GeoLite2-City.mmdb'), nestedCity);
    const asnDb = writeMmdb(join(dir, 'GeoLite2-ASN.mmdb'), nestedAsn);
    geo = await GeoService.open({ cityDb, asnDb }, logger);
  });

  it('the fixture is a real mmdb file that maxmind reads back', async () => {
    const reader = await open(join(dir, 'GeoLite2-City.mmdb'));
    expect(reader.metadata.databaseType).toBe('GeoLite2-City');
    expect(reader.get('81.2.69.142')).toMatchObject({ city: { names: { en: 'London' } } });
    expect(reader.get('81.2.70.1')).toBeNull();
  });

  it('reads city, coordinates and ASN', () => {
    expect(geo.lookup('81.2.69.142').geo).toEqual({
      countryCode: 'GB',
      countryName: 'United Kingdom',
      city: 'London',
      latitude: 51.5142,
      longitude: -0.0931,
      approximate: false,
      asn: 20712,
      asOrg: 'Andrews & Arnold',
    });
    expect(geo.lookup('2001:4860::1').geo).toMatchObject({
      countryCode: 'US',
      city: null,
      latitude: 37.751,
      approximate: false,
    });
  });

  it('falls back to registered_country and its centroid', () => {
    expect(geo.lookup('67.43.156.1').geo).toMatchObject({
      countryCode: 'BT',
      countryName: 'Bhutan',
      approximate: true,
    });
  });

  it('falls back to the country database where the city database has no entry, adding ASN data', () => {
    expect(geo.lookup('8.8.8.8').geo).toMatchObject({
      countryCode: 'US',
      city: null,
      approximate: true,
      asn: 15169,
      asOrg: 'GOOGLE',
    });
    expect(geo.lookup('1.1.1.1').geo).toMatchObject({ countryCode: 'AU', asn: null });
  });

  it('lists all three databases', () => {
    expect(geo.databases().map((db) => [db.kind, db.databaseType])).toEqual([
      ['country', 'country ipvAll'],
      ['city', 'GeoLite2-City'],
      ['asn', 'GeoLite2-ASN'],
    ]);
    expect(geo.databases()[1]?.builtAt).toEqual(new Date(1_700_000_000_000));
  });
});

describe('ip-location-db flat records (city)', () => {
  let geo: GeoService;
  beforeAll(async () => {
    geo = await GeoService.open({ cityDb: writeMmdb(join(dir, 'flat-city.mmdb'), flatCity) }, logger);
  });

  it('reads city and coordinates', () => {
    expect(geo.lookup('8.8.8.8').geo).toEqual({
      countryCode: 'US',
      countryName: 'United States',
      city: 'Mountain View',
      latitude: 37.4056,
      longitude: -122.0775,
      approximate: false,
      asn: null,
      asOrg: null,
    });
  });

  it('uses the country centroid for a city record without coordinates', () => {
    expect(geo.lookup('1.1.1.1').geo).toMatchObject({
      city: 'Sydney',
      countryCode: 'AU',
      latitude: -27,
      approximate: true,
    });
  });

  it('keeps the bundled country database as fallback', () => {
    expect(geo.lookup('9.9.9.9').geo).toMatchObject({ countryCode: 'US', city: null, approximate: true });
  });
});

describe('detectShape', () => {
  it('trusts records over the type name', () => {
    expect(detectShape('GeoLite2-City', [{ country_code: 'US', city: 'x' }])).toBe('flat');
    expect(detectShape('whatever', [null, { country: { iso_code: 'US' } }])).toBe('nested');
  });

  it('falls back to the database type when no probe address is in the file', () => {
    expect(detectShape('GeoIP2-Country', [])).toBe('nested');
    expect(detectShape('DBIP-City-Lite', [])).toBe('nested');
    expect(detectShape('country ipvAll', [])).toBe('flat');
    expect(detectShape('GeoLite2-ASN', [{ autonomous_system_number: 1 }])).toBe('nested');
  });
});
