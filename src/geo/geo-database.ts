import { createRequire } from 'node:module';
import { open, type Reader, type Response } from 'maxmind';
import { detectShape, type RecordShape } from './geo-records.js';
import type { GeoDatabaseInfo, GeoDatabaseKind } from './geo-types.js';

/** One opened .mmdb file with what the service needs to read it quickly. */
export interface GeoDatabase {
  readonly info: GeoDatabaseInfo;
  readonly reader: Reader<Response>;
  readonly shape: RecordShape;
  /** An IPv4-only tree must not be walked with an IPv6 address. */
  readonly ipv4Only: boolean;
}

export class GeoDatabaseError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GeoDatabaseError';
  }
}

// The bundled country file (CC0). Resolved through the package so that hoisting,
// workspaces or a bundled dist/ all find it.
const BUNDLED_COUNTRY_DB = '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb';

export function bundledCountryDbPath(): string {
  return createRequire(import.meta.url).resolve(BUNDLED_COUNTRY_DB);
}

// Addresses that every real database covers: enough to see the record shape even
// when the type name is unknown.
const SHAPE_PROBES = ['8.8.8.8', '1.1.1.1', '81.2.69.142', '2001:4860:4860::8888', '2a00:1450:4001::1'];

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not an .mmdb file';
  return err instanceof Error ? err.message : String(err);
}

function probe(reader: Reader<Response>, ipv4Only: boolean): unknown[] {
  const samples: unknown[] = [];
  for (const ip of SHAPE_PROBES) {
    if (ipv4Only && ip.includes(':')) continue;
    const record = reader.get(ip);
    if (record !== null) samples.push(record);
  }
  return samples;
}

/** Opens one database; any failure names the kind and the path. */
export async function openGeoDatabase(kind: GeoDatabaseKind, path: string): Promise<GeoDatabase> {
  let reader: Reader<Response>;
  try {
    reader = await open<Response>(path);
  } catch (err) {
    throw new GeoDatabaseError(
      `Cannot open the GeoIP ${kind} database at "${path}": ${describe(err)}`,
      path,
      {
        cause: err,
      },
    );
  }
  const { metadata } = reader;
  const ipv4Only = metadata.ipVersion === 4;
  const built = metadata.buildEpoch;
  const info: GeoDatabaseInfo = {
    kind,
    path,
    databaseType: metadata.databaseType,
    // A missing build_epoch decodes as 1970 or NaN; neither is a real build date.
    builtAt: Number.isFinite(built.getTime()) && built.getTime() > 0 ? built : null,
  };
  return { info, reader, shape: detectShape(metadata.databaseType, probe(reader, ipv4Only)), ipv4Only };
}
