/**
 * GeoIP throughput: `npx tsx bench/geoip/geoip.ts`.
 *
 * Compares the raw `maxmind` reader (`reader.get`) with GeoService.locate (the
 * ingestion fast path) and GeoService.lookup (validation + classification + locate),
 * on the same random public addresses in the same process. The country database is
 * the bundled one unless GEOIP_COUNTRY_DB is set. With GEOIP_CITY_DB the city rows use
 * that file; without it they use a synthetic nested (GeoLite2-shaped) city file of
 * 65,536 networks written with the test fixture writer, so they measure record mapping,
 * not a real file's tree depth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Reader, type Response } from 'maxmind';
import { pino } from 'pino';
import { bundledCountryDbPath } from '../../src/geo/geo-database.js';
import { GeoService } from '../../src/geo/geo-service.js';
import { isPublicIp } from '../../src/geo/ip-address.js';
import { writeMmdb, type MmdbEntry } from '../../test/geo/mmdb-writer.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const ADDRESSES = 1 << 16;
const ROUND_MS = 1000;
const ROUNDS = 5;

type Case = readonly [name: string, fn: (ip: string) => unknown];

// xorshift32: the same addresses on every run, so runs compare.
function randomPublicIpv4(count: number): string[] {
  let state = 0x9e3779b9;
  const out: string[] = [];
  while (out.length < count) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const n = state >>> 0;
    const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (isPublicIp(ip)) out.push(ip);
  }
  return out;
}

let sink = 0;

/** Lookups/s of one pass of about ROUND_MS over the addresses. */
function timedPass(fn: (ip: string) => unknown, ips: readonly string[]): number {
  let done = 0;
  let elapsed = 0;
  const start = process.hrtime.bigint();
  while (elapsed < ROUND_MS) {
    for (const ip of ips) if (fn(ip) !== null) sink++;
    done += ips.length;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return done / (elapsed / 1000);
}

/**
 * Rounds go round-robin over the cases so that load from other processes on this
 * shared machine hits every case alike; the median of the rounds is reported.
 */
function measureAll(cases: readonly Case[], ips: readonly string[]): Map<string, number[]> {
  const rates = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (const [, fn] of cases) for (const ip of ips) if (fn(ip) !== null) sink++; // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of cases) rates.get(name)?.push(timedPass(fn, ips));
  }
  return rates;
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

function syntheticCityDb(dir: string): string {
  const entries: MmdbEntry[] = [];
  for (let i = 0; i < 65_536; i++) {
    const network = `${(i >> 8) + 1}.${i & 255}.0.0/16`;
    if (!isPublicIp(network.split('/')[0] ?? '')) continue;
    entries.push({
      network,
      record: {
        city: { geoname_id: i, names: { en: `City ${i}` } },
        country: { iso_code: 'US', names: { en: 'United States' } },
        location: { latitude: 30 + (i % 20), longitude: -120 + (i % 50), accuracy_radius: 100 },
      },
    });
  }
  return writeMmdb(join(dir, 'synthetic-city.mmdb'), { databaseType: 'GeoLite2-City', entries });
}

const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const ips = randomPublicIpv4(ADDRESSES);
  const countryPath = process.env.GEOIP_COUNTRY_DB ?? bundledCountryDbPath();
  const tmp = mkdtempSync(join(tmpdir(), 'tw-bench-geo-'));
  try {
    const built = Date.now();
    const cityPath = process.env.GEOIP_CITY_DB ?? syntheticCityDb(tmp);
    if (!process.env.GEOIP_CITY_DB) console.log(`synthetic city db written in ${Date.now() - built} ms`);
    const rawCountry: Reader<Response> = await open(countryPath);
    const rawCity: Reader<Response> = await open(cityPath);
    const countryOnly = await GeoService.open({ countryDb: countryPath }, logger);
    const withCity = await GeoService.open({ countryDb: countryPath, cityDb: cityPath }, logger);

    const cases: Case[] = [
      ['country  raw maxmind reader.get', (ip) => rawCountry.get(ip)],
      ['country  GeoService.locate', (ip) => countryOnly.locate(ip)],
      ['country  GeoService.lookup (validate+classify)', (ip) => countryOnly.lookup(ip)],
      ['city     raw maxmind reader.get', (ip) => rawCity.get(ip)],
      ['city     GeoService.locate', (ip) => withCity.locate(ip)],
      ['city     GeoService.lookup (validate+classify)', (ip) => withCity.lookup(ip)],
    ];
    console.log(
      `node ${process.version}, ${ips.length} random public IPv4 addresses, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`,
    );
    console.log(`country db: ${countryPath} (${rawCountry.metadata.databaseType})`);
    console.log(
      `city db:    ${process.env.GEOIP_CITY_DB ?? 'synthetic GeoLite2-shaped, 65,536 /16 networks'}`,
    );
    for (const [name, rates] of measureAll(cases, ips)) {
      const best = Math.max(...rates);
      console.log(
        `${name.padEnd(48)} median ${fmt(median(rates)).padStart(12)}  best ${fmt(best).padStart(12)}`,
      );
    }
    if (sink < 0) console.log(sink); // keeps the results observable to the optimiser
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
