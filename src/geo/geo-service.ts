import { badInput } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { bundledCountryDbPath, openGeoDatabase, type GeoDatabase } from './geo-database.js';
import { LOCATION_MAPPERS, fromAsn, withAsn } from './geo-records.js';
import type { GeoDatabaseInfo, GeoLocation, GeoLookupResult } from './geo-types.js';
import { parseIp } from './ip-address.js';

/** Most addresses one bulk `geoip` query may ask for (documented in schema.graphql). */
export const GEOIP_MAX_BATCH = 1000;

export interface GeoServiceOptions {
  /** Overrides the bundled ip-location-db country file. */
  countryDb?: string | undefined;
  cityDb?: string | undefined;
  asnDb?: string | undefined;
}

const MAPPED_PREFIX = '::ffff:';

/**
 * Offline IP geolocation over .mmdb readers: a country database (bundled by default),
 * and optionally a city and an ASN database. Lookups are synchronous: the files are
 * held in memory by `maxmind`.
 */
export class GeoService {
  private constructor(
    private readonly country: GeoDatabase,
    private readonly city: GeoDatabase | null,
    private readonly asn: GeoDatabase | null,
  ) {}

  static async open(opts: GeoServiceOptions, logger: Logger): Promise<GeoService> {
    const log = logger.child({ component: 'geoip' });
    const [country, city, asn] = await Promise.all([
      openGeoDatabase('country', opts.countryDb ?? bundledCountryDbPath()),
      opts.cityDb ? openGeoDatabase('city', opts.cityDb) : null,
      opts.asnDb ? openGeoDatabase('asn', opts.asnDb) : null,
    ]);
    for (const db of [country, city, asn]) {
      if (db) log.info({ ...db.info, shape: db.shape }, 'GeoIP database opened');
    }
    if (!city) log.info('no city database configured: locations are country centroids (approximate)');
    return new GeoService(country, city, asn);
  }

  /**
   * Location of an address that the caller has already validated (ingestion fast
   * path). Without city or ASN data the result is a shared frozen object per country:
   * do not mutate it.
   */
  locate(ip: string): GeoLocation | null {
    // Databases key IPv4-mapped addresses under the IPv4 address only.
    const key = ip.startsWith(MAPPED_PREFIX) && ip.includes('.') ? ip.slice(MAPPED_PREFIX.length) : ip;
    const v6 = key.includes(':');
    let location = this.city ? read(this.city, key, v6) : null;
    location ??= read(this.country, key, v6);
    if (!this.asn || (v6 && this.asn.ipv4Only)) return location;
    return withAsn(location, fromAsn(this.asn.reader.get(key)));
  }

  /** Validates, classifies and locates one input; never throws for bad input. */
  lookup(input: string): GeoLookupResult {
    const parsed = parseIp(input);
    if (!parsed.ok) return { input, ip: null, geo: null, reason: null, error: parsed.error };
    if (parsed.range !== 'PUBLIC')
      return { input, ip: parsed.ip, geo: null, reason: parsed.range, error: null };
    const geo = this.locate(parsed.embeddedIpv4 ?? parsed.ip);
    return { input, ip: parsed.ip, geo, reason: geo ? null : 'NOT_FOUND', error: null };
  }

  /**
   * One result per input, in input order; bad inputs get an entry with `error`.
   * Only a batch over GEOIP_MAX_BATCH is refused as a whole (BAD_USER_INPUT), so
   * that the resolver stays a pass-through.
   */
  lookupMany(inputs: readonly string[]): GeoLookupResult[] {
    if (inputs.length > GEOIP_MAX_BATCH) {
      throw badInput(`At most ${GEOIP_MAX_BATCH} addresses per GeoIP lookup (got ${inputs.length})`, {
        limit: GEOIP_MAX_BATCH,
      });
    }
    return inputs.map((input) => this.lookup(input));
  }

  databases(): GeoDatabaseInfo[] {
    return [this.country, this.city, this.asn].filter((db) => db !== null).map((db) => ({ ...db.info }));
  }

  /** Readers hold only memory; dropping them is all there is to close. */
  close(): void {
    // Nothing to release: maxmind keeps the file in a Buffer and we never watch it.
  }
}

function read(db: GeoDatabase, ip: string, v6: boolean): GeoLocation | null {
  if (v6 && db.ipv4Only) return null;
  return LOCATION_MAPPERS[db.shape](db.reader.get(ip));
}
