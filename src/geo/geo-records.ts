import { countryInfo } from './countries.js';
import type { GeoLocation } from './geo-types.js';

/**
 * Turns raw mmdb records into GeoLocation. Two families of files exist:
 * - ip-location-db (the bundled default): flat `{country_code}` and
 *   `{city, country_code, latitude, longitude, state1, …}`;
 * - MaxMind GeoLite2/GeoIP2 and DB-IP's own files: nested `{country: {iso_code},
 *   city: {names: {en}}, location: {latitude, longitude}}`.
 * ASN files use `autonomous_system_number/organization` in both.
 */

export type RecordShape = 'flat' | 'nested';

export interface AsnInfo {
  asn: number;
  asOrg: string | null;
}

interface FlatRecord {
  country_code?: unknown;
  city?: unknown;
  latitude?: unknown;
  longitude?: unknown;
}

interface NestedRecord {
  country?: { iso_code?: unknown };
  registered_country?: { iso_code?: unknown };
  city?: { names?: Record<string, unknown> };
  location?: { latitude?: unknown; longitude?: unknown };
}

interface AsnRecord {
  autonomous_system_number?: unknown;
  autonomous_system_organization?: unknown;
}

const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const num = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

// One frozen object per country: country-only lookups then allocate nothing, which
// keeps the ingestion fast path near the raw reader's speed.
const countryOnly = new Map<string, GeoLocation>();

/** The centroid-based location of a country; shared and frozen, never mutate it. */
export function countryLocation(code: string): GeoLocation {
  let location = countryOnly.get(code);
  if (!location) {
    const info = countryInfo(code);
    location = Object.freeze({
      countryCode: info.code,
      countryName: info.name,
      city: null,
      latitude: info.latitude,
      longitude: info.longitude,
      approximate: info.latitude !== null,
      asn: null,
      asOrg: null,
    });
    countryOnly.set(code, location);
  }
  return location;
}

function build(
  code: string | null,
  city: string | null,
  lat: number | null,
  lon: number | null,
): GeoLocation | null {
  const hasPoint = lat !== null && lon !== null;
  if (code !== null && city === null && !hasPoint) return countryLocation(code);
  if (code === null && city === null && !hasPoint) return null;
  const info = code === null ? null : countryInfo(code);
  return {
    countryCode: info?.code ?? null,
    countryName: info?.name ?? null,
    city,
    latitude: hasPoint ? lat : (info?.latitude ?? null),
    longitude: hasPoint ? lon : (info?.longitude ?? null),
    approximate: !hasPoint && info?.latitude != null,
    asn: null,
    asOrg: null,
  };
}

export function fromFlat(record: unknown): GeoLocation | null {
  if (!isObject(record)) return null;
  const r = record as FlatRecord;
  return build(str(r.country_code), str(r.city), num(r.latitude), num(r.longitude));
}

export function fromNested(record: unknown): GeoLocation | null {
  if (!isObject(record)) return null;
  const r = record as NestedRecord;
  // registered_country stands in for anonymous or satellite ranges without `country`.
  const code = str(r.country?.iso_code) ?? str(r.registered_country?.iso_code);
  return build(code, str(r.city?.names?.en), num(r.location?.latitude), num(r.location?.longitude));
}

export function fromAsn(record: unknown): AsnInfo | null {
  if (!isObject(record)) return null;
  const r = record as AsnRecord;
  const asn = num(r.autonomous_system_number);
  return asn === null ? null : { asn, asOrg: str(r.autonomous_system_organization) };
}

export const LOCATION_MAPPERS: Readonly<Record<RecordShape, (record: unknown) => GeoLocation | null>> = {
  flat: fromFlat,
  nested: fromNested,
};

/** The shape a record has, or null when it has neither (an ASN record, say). */
export function shapeOf(record: unknown): RecordShape | null {
  if (!isObject(record)) return null;
  if (isObject(record.country) || isObject(record.location) || isObject(record.city)) return 'nested';
  if (typeof record.country_code === 'string' || typeof record.city === 'string') return 'flat';
  return null;
}

// MaxMind names its products "GeoIP2-…"/"GeoLite2-…"; DB-IP's own files use the
// same nested layout under "DBIP-…". ip-location-db files are named like "country ipvAll".
const NESTED_TYPES = /^(GeoIP2|GeoLite2|GeoIP-|DBIP-)/;

/** Record shape by sampled records first (they are the truth), then by database type. */
export function detectShape(databaseType: string, samples: readonly unknown[]): RecordShape {
  for (const sample of samples) {
    const shape = shapeOf(sample);
    if (shape) return shape;
  }
  return NESTED_TYPES.test(databaseType) ? 'nested' : 'flat';
}

/** Merges ASN data into a location without touching shared country objects. */
export function withAsn(location: GeoLocation | null, asn: AsnInfo | null): GeoLocation | null {
  if (asn === null) return location;
  if (location === null) {
    return {
      countryCode: null,
      countryName: null,
      city: null,
      latitude: null,
      longitude: null,
      approximate: false,
      asn: asn.asn,
      asOrg: asn.asOrg,
    };
  }
  return { ...location, asn: asn.asn, asOrg: asn.asOrg };
}
