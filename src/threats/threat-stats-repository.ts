import type pg from 'pg';
import type { BucketCount, BucketSize, StatsSource, TimeRange } from '../stats/stats-types.js';

const UNIT: Record<BucketSize, string> = { HOUR: 'hour', DAY: 'day' };

/**
 * Threat events' part of `statsSummary`, `countryStats` and `timeSeries` (metric
 * `threatEvents`), by occurredAt and the source IP's country. The range scan uses the
 * (occurred_at, id) index; closed buckets are cached by the stats service.
 */
export class ThreatStatsRepository implements StatsSource {
  readonly name = 'threats';

  constructor(private readonly pool: pg.Pool) {}

  async countsByBucket(size: BucketSize, range: TimeRange): Promise<BucketCount[]> {
    const { rows } = await this.pool.query<{ bucket: Date; country_code: string | null; n: number }>(
      `SELECT date_trunc($1, occurred_at, 'UTC') AS bucket, country_code, count(*)::int AS n
         FROM threat_events WHERE occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2`,
      [UNIT[size], range.since, range.until],
    );
    return rows.map((r) => ({
      bucket: r.bucket,
      countryCode: r.country_code,
      metrics: { threatEvents: r.n },
    }));
  }
}
