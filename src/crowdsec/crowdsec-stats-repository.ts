/**
 * CrowdSec's part of the statistics, read from the rollup tables that triggers keep in
 * step with `crowdsec_alerts` and `crowdsec_decisions` (migration `stats_rollups`):
 * per hour and day by country and scenario, and per day by (source, scenario) for the
 * distinct counts and top lists, which stay exact. Only the partial buckets at a
 * window's edges are counted from the rows (src/platform/rollup-window.ts).
 */
import type pg from 'pg';
import { compactJournal } from '../platform/rollup-compaction.js';
import { windowQuery, type RollupFamily, type TableLevel } from '../platform/rollup-window.js';
import { fromColumns, type GeoColumns } from './crowdsec-geo.js';
import type {
  AttackerRecord,
  BucketCount,
  BucketSize,
  CountryCount,
  ScenarioRecord,
  StatsSource,
  TimeRange,
  TopListSource,
} from '../stats/stats-types.js';

const bucketDims = (time: string) => ({
  hour: { rollup: `date_trunc('hour', bucket, 'UTC')`, raw: `date_trunc('hour', ${time}, 'UTC')` },
  day: { rollup: `date_trunc('day', bucket, 'UTC')`, raw: `date_trunc('day', ${time}, 'UTC')` },
});
const country = { rollup: 'country_code', raw: `coalesce(country_code, '')` };

export const ALERTS: RollupFamily = {
  tables: { hour: 'stats_alert_hourly', day: 'stats_alert_daily', month: 'stats_alert_monthly' },
  pending: { table: 'stats_alert_pending' },
  source: 'crowdsec_alerts',
  time: 'start_at',
  dims: { country, scenario: { rollup: 'scenario', raw: 'scenario' }, ...bucketDims('start_at') },
};
export const ALERT_SOURCES: RollupFamily = {
  tables: {
    day: 'stats_alert_source_daily',
    week: 'stats_alert_source_weekly',
    month: 'stats_alert_source_monthly',
  },
  pending: { table: 'stats_alert_pending' },
  source: 'crowdsec_alerts',
  time: 'start_at',
  dims: {
    source: { rollup: 'source_value', raw: 'source_value' },
    scenario: { rollup: 'scenario', raw: 'scenario' },
  },
};
export const DECISIONS: RollupFamily = {
  tables: { hour: 'stats_decision_hourly', day: 'stats_decision_daily', month: 'stats_decision_monthly' },
  pending: { table: 'stats_decision_pending' },
  source: 'crowdsec_decisions',
  time: 'created_at',
  dims: { country, ...bucketDims('created_at') },
};

const DIM: Record<BucketSize, 'hour' | 'day'> = { HOUR: 'hour', DAY: 'day' };

interface CountRow {
  bucket: Date;
  country: string;
  n: number;
}

export class CrowdsecStatsRepository implements StatsSource, TopListSource {
  readonly name = 'crowdsec';

  constructor(private readonly pool: pg.Pool) {}

  /** Moves the journals of written alerts and decisions into the rollups; returns the rows moved. */
  async compactPending(signal?: AbortSignal): Promise<number> {
    const alerts = await compactJournal(this.pool, 'stats_alert_pending', signal);
    return alerts + (await compactJournal(this.pool, 'stats_decision_pending', signal));
  }

  async countsByBucket(size: BucketSize, range: TimeRange): Promise<BucketCount[]> {
    const dims = [DIM[size], 'country'];
    const level = DIM[size];
    const [alerts, decisions] = await Promise.all([
      this.query(ALERTS, range, dims, level),
      this.query(DECISIONS, range, dims, level),
    ]);
    const rows = (r: Record<string, unknown>[], metric: string) =>
      r.map((x) => {
        const row = x as unknown as Record<string, Date | string | number>;
        return {
          bucket: row[DIM[size]] as Date,
          countryCode: (row.country as string) || null,
          metrics: { [metric]: row.n as number },
        };
      });
    return [...rows(alerts, 'alerts'), ...rows(decisions, 'decisions')];
  }

  async countsByCountry(range: TimeRange): Promise<CountryCount[]> {
    const [alerts, decisions] = await Promise.all([
      this.query(ALERTS, range, ['country']),
      this.query(DECISIONS, range, ['country']),
    ]);
    const toRows = (rows: Record<string, unknown>[], metric: string) =>
      (rows as unknown as Omit<CountRow, 'bucket'>[]).map((r) => ({
        countryCode: r.country || null,
        metrics: { [metric]: r.n },
      }));
    return [...toRows(alerts, 'alerts'), ...toRows(decisions, 'decisions')];
  }

  async current(): Promise<CountryCount[]> {
    const { rows } = await this.pool.query<{ country_code: string | null; n: number }>(
      `SELECT country_code, count(*)::int AS n FROM crowdsec_decisions
       WHERE deleted_at IS NULL AND expires_at > now() GROUP BY 1`,
    );
    return rows.map((r) => ({ countryCode: r.country_code, metrics: { activeDecisions: r.n } }));
  }

  /** Exact distinct sources and scenarios: the (day, source, scenario) rollup grouped once more. */
  async distinct(range: TimeRange): Promise<{ attackers: number; scenarios: number }> {
    const params: unknown[] = [];
    const pairs = windowQuery(ALERT_SOURCES, range.since, range.until, ['source', 'scenario'], [], params);
    const { rows } = await this.pool.query<{ attackers: number; scenarios: number }>(
      `WITH p AS MATERIALIZED (${pairs})
       SELECT (SELECT count(*)::int FROM (SELECT source FROM p GROUP BY 1) a) AS attackers,
              (SELECT count(*)::int FROM (SELECT scenario FROM p GROUP BY 1) s) AS scenarios`,
      params,
    );
    return rows[0] ?? { attackers: 0, scenarios: 0 };
  }

  async topAttackers(range: TimeRange, limit: number): Promise<AttackerRecord[]> {
    const params: unknown[] = [];
    const pairs = windowQuery(ALERT_SOURCES, range.since, range.until, ['source', 'scenario'], [], params);
    params.push(limit);
    const { rows } = await this.pool.query<{ value: string; alerts: number; scenarios: number }>(
      `SELECT source AS value, sum(n)::int AS alerts, count(*)::int AS scenarios FROM (${pairs}) p
       GROUP BY source ORDER BY alerts DESC, value LIMIT $${params.length}`,
      params,
    );
    if (rows.length === 0) return [];
    // Where each attacker was last seen in the window: one probe of (source_value, start_at) each.
    const latest = await this.pool.query<
      GeoColumns & { source_value: string; source_scope: string; start_at: Date }
    >(
      `SELECT v.value AS source_value, a.source_scope, a.start_at, a.country_code, a.city, a.latitude,
              a.longitude, a.geo_approximate, a.asn, a.as_org
       FROM unnest($1::text[]) AS v(value)
       CROSS JOIN LATERAL (SELECT * FROM crowdsec_alerts WHERE source_value = v.value
                             AND start_at >= $2 AND start_at < $3
                           ORDER BY start_at DESC LIMIT 1) a`,
      [rows.map((r) => r.value), range.since, range.until],
    );
    const byValue = new Map(latest.rows.map((r) => [r.source_value, r]));
    return rows.map((r) => {
      const l = byValue.get(r.value);
      return {
        value: r.value,
        scope: l?.source_scope ?? 'Ip',
        alerts: r.alerts,
        scenarios: r.scenarios,
        lastSeenAt: l?.start_at ?? range.until,
        geo: l ? fromColumns(l) : null,
      };
    });
  }

  async topScenarios(range: TimeRange, limit: number): Promise<ScenarioRecord[]> {
    const params: unknown[] = [];
    const pairs = windowQuery(ALERT_SOURCES, range.since, range.until, ['scenario', 'source'], [], params);
    params.push(limit);
    const { rows } = await this.pool.query<ScenarioRecord>(
      `SELECT scenario, sum(n)::int AS alerts, count(*)::int AS attackers FROM (${pairs}) p
       GROUP BY scenario ORDER BY alerts DESC, scenario LIMIT $${params.length}`,
      params,
    );
    return rows;
  }

  private async query(
    family: RollupFamily,
    range: TimeRange,
    dims: string[],
    maxLevel: TableLevel = 'month',
  ): Promise<Record<string, unknown>[]> {
    const params: unknown[] = [];
    const sql = windowQuery(family, range.since, range.until, dims, [], params, maxLevel);
    return (await this.pool.query<Record<string, unknown>>(sql, params)).rows;
  }
}
