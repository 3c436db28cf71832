import { createRequire } from 'node:module';

/**
 * Offline country names and centroids.
 *
 * Names come from ICU (`Intl.DisplayNames`; Node ships full ICU, so this needs no
 * data files). Centroids come from the `world-countries` package (mledoze/countries,
 * ODbL 1.0, attribution in src/geo/README.md): its `latlng` is a representative
 * point per ISO 3166-1 country, which is what a world map wants when no city
 * database is configured. Both are read once at start-up.
 */

interface WorldCountry {
  cca2: string;
  latlng: readonly number[];
  name: { common: string };
}

export interface CountryInfo {
  readonly code: string;
  readonly name: string | null;
  readonly latitude: number | null;
  readonly longitude: number | null;
}

const require = createRequire(import.meta.url);

function loadWorldCountries(): ReadonlyMap<string, WorldCountry> {
  const list = require('world-countries') as readonly WorldCountry[];
  return new Map(list.map((country) => [country.cca2.toUpperCase(), country]));
}

let table: ReadonlyMap<string, WorldCountry> | undefined;
// `fallback: 'none'` makes unknown codes come back as undefined instead of echoed.
const displayNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
const infoCache = new Map<string, CountryInfo>();

function worldCountries(): ReadonlyMap<string, WorldCountry> {
  table ??= loadWorldCountries();
  return table;
}

function icuName(code: string): string | undefined {
  try {
    return displayNames.of(code);
  } catch {
    // RangeError for codes that are not well-formed region subtags.
    return undefined;
  }
}

/** Name and centroid of an ISO 3166-1 alpha-2 code (case-insensitive); cached per code. */
export function countryInfo(code: string): CountryInfo {
  const cached = infoCache.get(code);
  if (cached) return cached;
  const upper = code.toUpperCase();
  const known = worldCountries().get(upper);
  const [latitude, longitude] = known?.latlng ?? [];
  const info: CountryInfo = Object.freeze({
    code: upper,
    name: icuName(upper) ?? known?.name.common ?? null,
    latitude: latitude ?? null,
    longitude: longitude ?? null,
  });
  infoCache.set(code, info);
  return info;
}

/** Every code that has a centroid, for tests and diagnostics. */
export function countriesWithCentroids(): string[] {
  return [...worldCountries().keys()];
}
