/**
 * Domain types of the GeoIP service. GraphQL codegen maps `Geo` and `GeoLookup` to
 * these names (codegen.ts), so renaming them breaks the generated resolver types.
 */

export interface GeoLocation {
  countryCode: string | null;
  countryName: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  /** True when latitude/longitude are the country centroid, not a city location. */
  approximate: boolean;
  asn: number | null;
  asOrg: string | null;
}

/**
 * Why a valid address has no location. Everything but NOT_FOUND comes from the
 * address itself (see ip-address.ts); NOT_FOUND means public but absent from the data.
 */
export type GeoReason =
  | 'PRIVATE'
  | 'LOOPBACK'
  | 'LINK_LOCAL'
  | 'CGNAT'
  | 'MULTICAST'
  | 'DOCUMENTATION'
  | 'RESERVED'
  | 'UNSPECIFIED'
  | 'BROADCAST'
  | 'NOT_FOUND';

export interface GeoLookupResult {
  /** The input as given. */
  input: string;
  /** Canonical form (RFC 5952 for IPv6) when the input is a valid address. */
  ip: string | null;
  geo: GeoLocation | null;
  /** One of GeoReason when `ip` is set and `geo` is null. */
  reason: GeoReason | null;
  /** Why the input is not a valid address. */
  error: string | null;
}

export type GeoDatabaseKind = 'country' | 'city' | 'asn';

export interface GeoDatabaseInfo {
  kind: GeoDatabaseKind;
  path: string;
  databaseType: string;
  builtAt: Date | null;
}
