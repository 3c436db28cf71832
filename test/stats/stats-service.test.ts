import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRepository, type AlertInput } from '../../src/crowdsec/alert-repository.js';
import { MemoryCache } from '../../src/platform/cache.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { CrowdsecStatsRepository } from '../../src/crowdsec/crowdsec-stats-repository.js';
import { StatsService } from '../../src/stats/stats-service.js';
import { HOUR_MS } from '../../src/stats/stats-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { storedAlert } from '../helpers/stored-alert.js';
import { testPool } from '../helpers/test-pool.js';

/** CrowdSec's statistics as the app wires them: its bucketed counts and the top lists. */
function crowdsecParts(pool: pg.Pool) {
  const repo = new CrowdsecStatsRepository(pool);
  return { sources: [repo], topLists: repo };
}

let db: TestDatabase;
let pool: pg.Pool;
let repo: AlertRepository;
let nextId = 1;
const LAPI = 'http://lapi.test';
// A fixed "now" in the middle of an hour, so bucket edges are predictable.
const NOW = Date.UTC(2026, 10, 20, 12, 30);

beforeAll(async () => {
  db = await createTestDatabase('stats_service');
  pool = testPool(db.url, { max: 4 });
  await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
  repo = new AlertRepository(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

function alert(at: number, cc: string, scenario = 'crowdsecurity/ssh-bf', ip = '192.0.2.1'): AlertInput {
  return storedAlert({ crowdsecId: nextId++, at: new Date(at), cc, ip, scenario });
}

describe('statistics from rollups under a constant flow of data', () => {
  it('counts new alerts, late alerts in closed hours and deleted alerts at once', async () => {
    // Exact counts: start from no alerts, whichever of this file's tests ran before
    // (TRUNCATE empties the rollups too).
    await pool.query('TRUNCATE crowdsec_alerts CASCADE');
    const stats = new StatsService(new MemoryCache(), crowdsecParts(pool), () => NOW);
    const since = new Date(NOW - 6 * HOUR_MS);
    await repo.upsertBatch(LAPI, [
      alert(NOW - 5 * HOUR_MS, 'DE'),
      alert(NOW - 3 * HOUR_MS, 'FR'),
      alert(NOW - 60_000, 'DE'),
    ]);

    const first = await stats.timeSeries('HOUR', since, null);
    expect(first).toHaveLength(7); // 06:00 … 12:00, zero-filled
    expect(first.map((b) => b.alerts)).toEqual([0, 1, 0, 1, 0, 0, 1]);

    // A new alert in the open hour shows up immediately.
    await repo.upsertBatch(LAPI, [alert(NOW - 30_000, 'US')]);
    expect((await stats.timeSeries('HOUR', since, null)).at(-1)?.alerts).toBe(2);
    const countries = await stats.countryStats(since, null);
    expect(countries.find((c) => c.countryCode === 'US')?.alerts).toBe(1);

    // A late alert in a closed hour too: the rollup is written with it.
    await repo.upsertBatch(LAPI, [alert(NOW - 5 * HOUR_MS + 60_000, 'DE')]);
    expect((await stats.timeSeries('HOUR', since, null))[1]?.alerts).toBe(2);
    expect(await stats.summary(since)).toMatchObject({ alerts: 5, countries: 3 });

    // A deleted alert leaves every statistic at once: 5 − 1 = 4, FR gone (2 countries).
    await pool.query(`DELETE FROM crowdsec_alerts WHERE country_code = 'FR'`);
    expect((await stats.timeSeries('HOUR', since, null))[3]?.alerts).toBe(0);
    expect(await stats.summary(since)).toMatchObject({ alerts: 4, countries: 2 });
  });

  it('answers the same over a long window (day buckets) as the rows say', async () => {
    const stats = new StatsService(new MemoryCache(), crowdsecParts(pool), () => NOW);
    const since = new Date(NOW - 10 * 24 * HOUR_MS);
    // Its own top attacker (two alerts against one), whatever other tests stored before.
    await repo.upsertBatch(LAPI, [
      alert(NOW - 9 * 24 * HOUR_MS, 'JP', 'crowdsecurity/http-probing', '192.0.2.9'),
      alert(NOW - 8 * 24 * HOUR_MS, 'DE'),
      alert(NOW - 7 * 24 * HOUR_MS, 'DE'),
    ]);
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM crowdsec_alerts WHERE start_at >= $1',
      [since],
    );
    const summary = await stats.summary(since);
    expect(summary.alerts).toBe(rows[0]!.n);
    const series = await stats.timeSeries('DAY', since, null);
    expect(series.reduce((n, b) => n + b.alerts, 0)).toBe(rows[0]!.n);
    expect((await stats.topScenarios(since, 5)).map((s) => s.scenario)).toContain(
      'crowdsecurity/http-probing',
    );
    expect((await stats.topAttackers(since, 1))[0]?.value).toBe('192.0.2.1');
  });
});
