import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRepository, type AlertInput } from '../../src/crowdsec/alert-repository.js';
import { NO_GEO } from '../../src/crowdsec/crowdsec-geo.js';
import { MemoryCache } from '../../src/platform/cache.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { CrowdsecStatsRepository } from '../../src/crowdsec/crowdsec-stats-repository.js';
import { StatsService } from '../../src/stats/stats-service.js';
import { HOUR_MS } from '../../src/stats/stats-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

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
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
  repo = new AlertRepository(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

function alert(at: number, cc: string, scenario = 'crowdsecurity/ssh-bf', ip = '192.0.2.1'): AlertInput {
  return {
    crowdsecId: nextId++,
    scenario,
    scenarioVersion: null,
    message: 'm',
    eventsCount: 1,
    startAt: new Date(at),
    stopAt: new Date(at),
    createdAt: new Date(at),
    machineId: null,
    simulated: false,
    sourceScope: 'Ip',
    sourceValue: ip,
    sourceIp: ip,
    sourceRange: null,
    geo: { ...NO_GEO, country_code: cc },
    decisionIds: [],
  };
}

describe('statistics cache under a constant flow of data', () => {
  it('counts new alerts in the open bucket at once, and late alerts in closed buckets after noteWritten', async () => {
    // Exact counts: start from no alerts, whichever of this file's tests ran before.
    await pool.query('TRUNCATE crowdsec_alerts CASCADE');
    const cache = new MemoryCache();
    const stats = new StatsService(cache, crowdsecParts(pool), () => NOW);
    const since = new Date(NOW - 6 * HOUR_MS);
    await repo.upsertBatch(LAPI, [
      alert(NOW - 5 * HOUR_MS, 'DE'),
      alert(NOW - 3 * HOUR_MS, 'FR'),
      alert(NOW - 60_000, 'DE'),
    ]);

    const first = await stats.timeSeries('HOUR', since, null);
    expect(first).toHaveLength(7); // 06:00 … 12:00, zero-filled
    expect(first.map((b) => b.alerts)).toEqual([0, 1, 0, 1, 0, 0, 1]);

    // A new alert in the open hour shows up immediately: that bucket is never cached.
    await repo.upsertBatch(LAPI, [alert(NOW - 30_000, 'US')]);
    expect((await stats.timeSeries('HOUR', since, null)).at(-1)?.alerts).toBe(2);
    const countries = await stats.countryStats(since, null);
    expect(countries.find((c) => c.countryCode === 'US')?.alerts).toBe(1);

    // A late alert in a closed hour is not seen until a writer reports it…
    const late = [alert(NOW - 5 * HOUR_MS + 60_000, 'DE')];
    await repo.upsertBatch(LAPI, late);
    expect((await stats.timeSeries('HOUR', since, null))[1]?.alerts).toBe(1);
    // …and then it is, without dropping the whole cache on every write.
    await stats.noteWritten(
      'crowdsec',
      late.map((a) => a.startAt),
    );
    expect((await stats.timeSeries('HOUR', since, null))[1]?.alerts).toBe(2);
    const summary = await stats.summary(since);
    expect(summary).toMatchObject({ alerts: 5, countries: 3 });
  });

  it('sees every late write, even two within one millisecond, and bumps once for concurrent writers', async () => {
    const cache = new MemoryCache();
    let sets = 0;
    const counting = Object.assign(Object.create(cache) as MemoryCache, {
      set: (key: string, value: unknown, ttl: number) => {
        if (key.startsWith('stats:gen:')) sets++;
        return cache.set(key, value, ttl);
      },
    });
    // The clock stands still: generations must still move on.
    const stats = new StatsService(counting, crowdsecParts(pool), () => NOW);
    const since = new Date(NOW - 6 * HOUR_MS);
    const bucket = async () => (await stats.timeSeries('HOUR', since, null))[2]?.alerts ?? 0;
    const base = await bucket();
    for (let round = 1; round <= 2; round++) {
      const late = [alert(NOW - 4 * HOUR_MS + round * 60_000, 'NL')];
      await repo.upsertBatch(LAPI, late);
      await stats.noteWritten(
        'crowdsec',
        late.map((a) => a.startAt),
      );
      expect(await bucket()).toBe(base + round);
    }
    sets = 0;
    const times = [new Date(NOW - 4 * HOUR_MS)];
    await Promise.all(Array.from({ length: 20 }, () => stats.noteWritten('crowdsec', times)));
    expect(sets).toBeGreaterThanOrEqual(1);
    expect(sets).toBeLessThanOrEqual(2); // the first alone, the other 19 together
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
