/**
 * Threat events' statistics, read from the rollup tables that triggers keep in step
 * with `threat_events` (migration `stats_rollups`): per hour and day by country,
 * category, threat type and severity; per day with the source IP and destination port
 * as well; per day by source IP alone and by destination port alone (migration
 * `stats_threat_narrow_rollups`); per hour and day by map location. Only the partial
 * buckets at a window's edges are counted from the rows (src/platform/rollup-window.ts).
 */
import type pg from 'pg';
import {
  windowQuery,
  type RollupDim,
  type RollupFamily,
  type RollupFilter,
  type TableLevel,
} from '../platform/rollup-window.js';
import { compactJournal } from '../platform/rollup-compaction.js';
import type {
  BucketCount,
  BucketSize,
  CountryCount,
  StatsSource,
  ThreatGroup,
  ThreatGroupCount,
  ThreatGroupKey,
  ThreatGroupQuery,
  ThreatSeries,
  ThreatSeriesQuery,
  TimeRange,
} from '../stats/stats-types.js';
import type { ThreatCategory } from './classifier/index.js';

const same = (sql: string): RollupDim => ({ rollup: sql, raw: sql });
const common = {
  country: { rollup: 'country_code', raw: `coalesce(country_code, '')` },
  category: same('category::text'),
  severity: same('severity::int'),
  hour: { rollup: `date_trunc('hour', bucket, 'UTC')`, raw: `date_trunc('hour', occurred_at, 'UTC')` },
  day: { rollup: `date_trunc('day', bucket, 'UTC')`, raw: `date_trunc('day', occurred_at, 'UTC')` },
};

const destinationPort: RollupDim = { rollup: 'destination_port', raw: 'coalesce(destination_port, -1)' };

export const THREATS: RollupFamily = {
  tables: { hour: 'stats_threat_hourly', day: 'stats_threat_daily', month: 'stats_threat_monthly' },
  pending: { table: 'stats_threat_pending' },
  source: 'threat_events',
  time: 'occurred_at',
  dims: { ...common, threatType: same('threat_type') },
};
/** A family of daily, weekly and monthly tables `stats_threat_<name>_{daily,weekly,monthly}`. */
const coarseFamily = (name: string, dims: Record<string, RollupDim>): RollupFamily => ({
  tables: {
    day: `stats_threat_${name}_daily`,
    week: `stats_threat_${name}_weekly`,
    month: `stats_threat_${name}_monthly`,
  },
  pending: { table: 'stats_threat_pending' },
  source: 'threat_events',
  time: 'occurred_at',
  dims,
});
export const THREAT_ENDPOINTS = coarseFamily('endpoint', {
  ...common,
  threatType: same('threat_type'),
  // Grouped as inet (compact, ordered by address); its text is host()'s for host addresses.
  sourceIp: same('source_ip'),
  destinationPort,
});
/** By source IP alone: a window's rows are its distinct sources, not every (source, port, country, …). */
export const THREAT_SOURCES = coarseFamily('source', {
  hour: common.hour,
  day: common.day,
  sourceIp: same('source_ip'),
});
/** By destination port alone. */
export const THREAT_PORTS = coarseFamily('port', { hour: common.hour, day: common.day, destinationPort });
/**
 * The families threatGroups reads, fewest rows per bucket first: the first that has every
 * dimension a query groups or filters by serves it, so [SOURCE_IP] alone reads the
 * narrow source rollups and [SOURCE_IP, CATEGORY] the endpoint ones.
 */
const GROUP_FAMILIES: readonly RollupFamily[] = [THREATS, THREAT_PORTS, THREAT_SOURCES, THREAT_ENDPOINTS];
export function groupFamily(dims: readonly string[]): RollupFamily {
  const fits = (f: RollupFamily) => dims.every((d) => Object.hasOwn(f.dims, d));
  return GROUP_FAMILIES.find(fits) ?? THREAT_ENDPOINTS;
}
export const THREAT_MAP: RollupFamily = {
  tables: {
    hour: 'stats_threat_map_hourly',
    day: 'stats_threat_map_daily',
    month: 'stats_threat_map_monthly',
  },
  pending: { table: 'stats_threat_pending', where: 'latitude IS NOT NULL AND longitude IS NOT NULL' },
  source: 'threat_events',
  time: 'occurred_at',
  sourceWhere: 'latitude IS NOT NULL AND longitude IS NOT NULL',
  dims: {
    ...common,
    city: { rollup: 'city', raw: `coalesce(city, '')` },
    latitude: same('latitude'),
    longitude: same('longitude'),
    approximate: { rollup: 'approximate', raw: 'geo_approximate' },
  },
};

/** Dimension name of each group, and the SQL array type its values filter with. */
const GROUP_DIM: Record<ThreatGroup, { dim: keyof ThreatGroupKey; array: string }> = {
  CATEGORY: { dim: 'category', array: 'text[]' },
  SEVERITY: { dim: 'severity', array: 'int[]' },
  THREAT_TYPE: { dim: 'threatType', array: 'text[]' },
  COUNTRY: { dim: 'countryCode', array: 'text[]' },
  SOURCE_IP: { dim: 'sourceIp', array: 'inet[]' },
  DESTINATION_PORT: { dim: 'destinationPort', array: 'int[]' },
};
const familyDim = (d: keyof ThreatGroupKey) => (d === 'countryCode' ? 'country' : d);

export interface MapRow {
  countryCode: string | null;
  city: string | null;
  latitude: number;
  longitude: number;
  approximate: boolean;
  count: number;
  maxSeverity: number;
}

export class ThreatStatsRepository implements StatsSource {
  readonly name = 'threats';

  constructor(private readonly pool: pg.Pool) {}

  /** Moves the journal of written threat events into the rollups; returns the rows moved. */
  compactPending(signal?: AbortSignal): Promise<number> {
    return compactJournal(this.pool, 'stats_threat_pending', signal);
  }

  async countsByBucket(size: BucketSize, range: TimeRange): Promise<BucketCount[]> {
    const dim = size === 'HOUR' ? 'hour' : 'day';
    const rows = await this.query<{ b: Date; country: string; n: number }>(
      THREATS,
      range,
      [dim, 'country'],
      [],
      dim,
    );
    return rows.map((r) => ({
      bucket: (r as unknown as Record<string, Date>)[dim]!,
      countryCode: r.country || null,
      metrics: { threatEvents: r.n },
    }));
  }

  async countsByCountry(range: TimeRange): Promise<CountryCount[]> {
    const rows = await this.query<{ country: string; n: number }>(THREATS, range, ['country'], []);
    return rows.map((r) => ({ countryCode: r.country || null, metrics: { threatEvents: r.n } }));
  }

  async threatGroups(q: ThreatGroupQuery): Promise<ThreatGroupCount[]> {
    const keyDims = q.groups.map((g) => GROUP_DIM[g].dim);
    const bucketDim = q.bucket === 'HOUR' ? 'hour' : q.bucket === 'DAY' ? 'day' : undefined;
    const dims = [...(bucketDim ? [bucketDim] : []), ...keyDims.map(familyDim)];
    // The filters below are on the grouped dimensions only.
    const family = groupFamily(dims);
    const filters: RollupFilter[] = [];
    if (q.only) {
      // Each dimension limited to the values the keys have (a superset of the keys,
      // matched exactly below).
      for (const g of q.groups) {
        const { dim, array } = GROUP_DIM[g];
        const values = [...new Set(q.only.map((k) => k[dim]))];
        filters.push({ dim: familyDim(dim), sql: (e, p) => `${e} = ANY(${p}::${array})`, value: values });
      }
    }
    const params: unknown[] = [];
    let sql = windowQuery(family, q.range.since, q.range.until, dims, filters, params, bucketDim ?? 'month');
    if (q.limit !== undefined) {
      params.push(q.limit);
      const order = ['n DESC', ...dims.map((d) => `"${d}"`)].join(', ');
      sql = `SELECT * FROM (${sql}) g ORDER BY ${order} LIMIT $${params.length}`;
    }
    const rows = (await this.pool.query<Record<string, string | number | Date>>(sql, params)).rows;
    const wanted = q.only ? new Set(q.only.map((k) => JSON.stringify(k))) : null;
    const out: ThreatGroupCount[] = [];
    for (const r of rows) {
      const key: ThreatGroupKey = {};
      for (const d of keyDims) (key as Record<string, unknown>)[d] = r[familyDim(d)];
      if (wanted && !wanted.has(JSON.stringify(key))) continue;
      out.push({ ...(bucketDim ? { bucket: r[bucketDim] as Date } : {}), key, count: r.n as number });
    }
    return out;
  }

  async threatSeries(q: ThreatSeriesQuery): Promise<ThreatSeries> {
    const bucketDim = q.bucket === 'HOUR' ? 'hour' : 'day';
    const groupDim = q.group ? GROUP_DIM[q.group].dim : null;
    const params: unknown[] = [];
    const cells = windowQuery(
      THREATS,
      q.range.since,
      q.range.until,
      groupDim ? [bucketDim, familyDim(groupDim)] : [bucketDim],
      [],
      params,
      bucketDim,
    );
    const b = `"${bucketDim}"`;
    let sql = `SELECT 0 AS part, ${b} AS b, NULL AS k, n, 0 AS rank FROM (${cells}) c`;
    if (groupDim) {
      params.push(q.limit);
      const k = `"${familyDim(groupDim)}"`;
      // One read of the cells: totals per bucket, the top groups, and their cells.
      sql = `WITH c AS MATERIALIZED (${cells}),
        t AS (SELECT ${k} AS k, sum(n) AS total, row_number() OVER (ORDER BY sum(n) DESC, ${k}) AS rank
                FROM c GROUP BY ${k} ORDER BY rank LIMIT $${params.length})
        SELECT 0 AS part, ${b} AS b, NULL AS k, sum(n)::int AS n, 0 AS rank FROM c GROUP BY ${b}
        UNION ALL SELECT 1, NULL, t.k, t.total::int, t.rank FROM t
        UNION ALL SELECT 2, c.${b}, c.${k}, c.n, t.rank FROM c JOIN t ON t.k = c.${k}`;
    }
    const { rows } = await this.pool.query<{
      part: number;
      b: Date | null;
      k: string | number;
      n: number;
      rank: string;
    }>(sql, params);
    const out: ThreatSeries = { totals: [], top: [], cells: [] };
    const keyOf = (v: string | number): ThreatGroupKey => (groupDim ? { [groupDim]: v } : {});
    const ranked: { rank: number; row: ThreatGroupCount }[] = [];
    for (const r of rows) {
      if (r.part === 0) out.totals.push({ bucket: r.b!, key: {}, count: r.n });
      else if (r.part === 1) ranked.push({ rank: Number(r.rank), row: { key: keyOf(r.k), count: r.n } });
      else out.cells.push({ bucket: r.b!, key: keyOf(r.k), count: r.n });
    }
    out.top = ranked.sort((x, y) => x.rank - y.rank).map((x) => x.row);
    return out;
  }

  /** Events by map location with their highest severity, most events first. */
  async map(
    range: TimeRange,
    minSeverity: number,
    categories: readonly ThreatCategory[] | null,
    limit: number,
  ): Promise<MapRow[]> {
    const params: unknown[] = [];
    const filters: RollupFilter[] = [{ dim: 'severity', sql: (e, p) => `${e} >= ${p}`, value: minSeverity }];
    if (categories)
      filters.push({ dim: 'category', sql: (e, p) => `${e} = ANY(${p}::text[])`, value: categories });
    const inner = windowQuery(
      THREAT_MAP,
      range.since,
      range.until,
      ['country', 'city', 'latitude', 'longitude', 'approximate', 'severity'],
      filters,
      params,
    );
    params.push(limit);
    const { rows } = await this.pool.query<MapRow>(
      `SELECT nullif(country, '') AS "countryCode", nullif(city, '') AS city, latitude, longitude, approximate,
              sum(n)::int AS count, max(severity)::int AS "maxSeverity"
         FROM (${inner}) m
        GROUP BY country, city, latitude, longitude, approximate
        ORDER BY count DESC, "maxSeverity" DESC, country, city, latitude, longitude
        LIMIT $${params.length}`,
      params,
    );
    return rows;
  }

  private async query<T>(
    family: RollupFamily,
    range: TimeRange,
    dims: string[],
    filters: RollupFilter[],
    maxLevel: TableLevel = 'month',
  ): Promise<(T & { n: number })[]> {
    const params: unknown[] = [];
    const sql = windowQuery(family, range.since, range.until, dims, filters, params, maxLevel);
    return (await this.pool.query<T & { n: number }>(sql, params)).rows;
  }
}
