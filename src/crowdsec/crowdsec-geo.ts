import ipaddr from 'ipaddr.js';
import { countryInfo } from '../geo/countries.js';
import type { GeoService } from '../geo/geo-service.js';
import type { GeoLocation } from '../geo/geo-types.js';
import { parseIp } from '../geo/ip-address.js';
import type { Alert } from './lapi-types.js';

/** Geo columns shared by the decision and alert tables. */
export interface GeoColumns {
  country_code: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  geo_approximate: boolean;
  asn: number | null;
  as_org: string | null;
}

export const NO_GEO: GeoColumns = {
  country_code: null,
  city: null,
  latitude: null,
  longitude: null,
  geo_approximate: true,
  asn: null,
  as_org: null,
};

/** The address to locate for a decision or alert source: the Ip itself, or a Range's first address. */
export function addressOf(scope: string, value: string): string | undefined {
  const s = scope.toLowerCase();
  if (s === 'ip') {
    const parsed = parseIp(value);
    return parsed.ok && parsed.range === 'PUBLIC' ? (parsed.embeddedIpv4 ?? parsed.ip) : undefined;
  }
  if (s === 'range') {
    try {
      const [network] = ipaddr.parseCIDR(value);
      const first =
        network.kind() === 'ipv4'
          ? ipaddr.IPv4.networkAddressFromCIDR(value)
          : ipaddr.IPv6.networkAddressFromCIDR(value);
      return addressOf('ip', first.toString());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function toColumns(geo: GeoLocation | null): GeoColumns {
  if (!geo) return NO_GEO;
  return {
    country_code: geo.countryCode,
    city: geo.city,
    latitude: geo.latitude,
    longitude: geo.longitude,
    geo_approximate: geo.approximate,
    asn: geo.asn,
    as_org: geo.asOrg,
  };
}

export function locateColumns(geo: GeoService, scope: string, value: string): GeoColumns {
  const address = addressOf(scope, value);
  return address ? toColumns(geo.locate(address)) : NO_GEO;
}

/**
 * The alert's own enrichment wins (the agent saw the GeoIP data of its own site); our
 * databases fill in what it lacks. LAPI 1.4 sends empty strings and 0/0 for unknowns.
 */
export function alertGeoColumns(geo: GeoService, alert: Alert): GeoColumns {
  const src = alert.source;
  const ours = locateColumns(geo, src.ip ? 'Ip' : src.scope, src.ip ?? src.range ?? src.value);
  const cn = src.cn?.trim().toUpperCase();
  const asn = src.as_number ? Number.parseInt(src.as_number, 10) : NaN;
  const hasPoint =
    src.latitude !== undefined && src.longitude !== undefined && !(src.latitude === 0 && src.longitude === 0);
  const country = cn && /^[A-Z]{2}$/.test(cn) ? cn : ours.country_code;
  const sameCountry = country === ours.country_code;
  return {
    country_code: country,
    city: sameCountry ? ours.city : null,
    latitude: hasPoint ? (src.latitude ?? null) : sameCountry ? ours.latitude : centroid(country).latitude,
    longitude: hasPoint
      ? (src.longitude ?? null)
      : sameCountry
        ? ours.longitude
        : centroid(country).longitude,
    geo_approximate: hasPoint ? false : sameCountry ? ours.geo_approximate : true,
    asn: Number.isInteger(asn) && asn > 0 ? asn : ours.asn,
    as_org: src.as_name?.trim() || ours.as_org,
  };
}

function centroid(code: string | null): { latitude: number | null; longitude: number | null } {
  return code ? countryInfo(code) : { latitude: null, longitude: null };
}

/** Columns back to the API's Geo; null when nothing is known. */
export function fromColumns(row: GeoColumns): GeoLocation | null {
  if (row.country_code === null && row.latitude === null && row.asn === null) return null;
  return {
    countryCode: row.country_code,
    countryName: row.country_code ? countryInfo(row.country_code).name : null,
    city: row.city,
    latitude: row.latitude,
    longitude: row.longitude,
    approximate: row.geo_approximate,
    asn: row.asn,
    asOrg: row.as_org,
  };
}
