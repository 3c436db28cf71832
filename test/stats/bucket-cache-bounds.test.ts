/**
 * The bucket cache costs a fixed number of cache round trips per request, however long
 * the window, and caches only buckets within its horizon, so the keys one source can
 * hold are bounded whatever windows clients ask for.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCache, type Cache } from '../../src/platform/cache.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { CACHED_BUCKETS } from '../../src/stats/bucket-cache.js';
import { CrowdsecStatsRepository } from '../../src/crowdsec/crowdsec-stats-repository.js';
import { StatsService } from '../../src/stats/stats-service.js';
import { DAY_MS, HOUR_MS, MAX_WINDOW_DAYS } from '../../src/stats/stats-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** CrowdSec's statistics as the app wires them: its bucketed counts and the top lists. */
function crowdsecParts(pool: pg.Pool) {
  const repo = new CrowdsecStatsRepository(pool);
  return { sources: [repo], topLists: repo };
}

let db: TestDatabase;
let pool: pg.Pool;
const NOW = Date.UTC(2026, 10, 20, 12, 30);

beforeAll(async () => {
  db = await createTestDatabase('bucket_cache_bounds');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** A MemoryCache that counts its calls (round trips, on Redis) and the keys written. */
function countingCache() {
  const inner = new MemoryCache();
  const counts = { calls: 0, keysWritten: new Set<string>() };
  const cache: Cache = {
    mode: 'in-process',
    get: (key) => (counts.calls++, inner.get(key)),
    getMany: (keys) => (counts.calls++, inner.getMany(keys)),
    set: (key, value, ttl) => (counts.calls++, counts.keysWritten.add(key), inner.set(key, value, ttl)),
    setMany: (entries, ttl) => {
      counts.calls++;
      for (const [k] of entries) counts.keysWritten.add(k);
      return inner.setMany(entries, ttl);
    },
    del: (...keys) => (counts.calls++, inner.del(...keys)),
  };
  return { cache, counts };
}

describe('bucket cache bounds', () => {
  it('a maximal statsSummary costs the same few cache calls as a short one', async () => {
    const { cache, counts } = countingCache();
    const stats = new StatsService(cache, crowdsecParts(pool), () => NOW);
    await stats.summary(new Date(NOW - MAX_WINDOW_DAYS * DAY_MS));
    // Generation, one MGET, one pipelined write of the day buckets; the distinct counts
    // and the active decisions, each a read and a write.
    expect(counts.calls).toBe(7);
    // One key per closed day in the window (the first and today's partial days are live).
    const buckets = [...counts.keysWritten].filter((k) => k.startsWith('stats:bucket:'));
    expect(buckets).toHaveLength(MAX_WINDOW_DAYS - 1);
    counts.calls = 0;
    await stats.summary(new Date(NOW - MAX_WINDOW_DAYS * DAY_MS));
    expect(counts.calls).toBe(4); // all hits: generation, MGET, two short-lived answers
  });

  it('timeSeries of 2,000 hours: three calls; far in the past: none, and no keys', async () => {
    const { cache, counts } = countingCache();
    const stats = new StatsService(cache, crowdsecParts(pool), () => NOW);
    const series = await stats.timeSeries('HOUR', new Date(NOW - 1_999 * HOUR_MS), null);
    expect(series).toHaveLength(2_000);
    expect(counts.calls).toBe(3);
    expect(counts.keysWritten.size).toBeLessThanOrEqual(CACHED_BUCKETS);

    counts.calls = 0;
    counts.keysWritten.clear();
    const old = await stats.timeSeries(
      'DAY',
      new Date('1900-01-01T00:00:00Z'),
      new Date('1905-06-01T00:00:00Z'),
    );
    expect(old).toHaveLength(1_977);
    expect(counts.calls).toBe(0);
    expect(counts.keysWritten.size).toBe(0);
  });

  it('refuses windows over the maximum before touching the cache or the database', async () => {
    const { cache, counts } = countingCache();
    const stats = new StatsService(cache, crowdsecParts(pool), () => NOW);
    const tooOld = new Date(NOW - MAX_WINDOW_DAYS * DAY_MS - 2 * 60_000);
    const calls: (() => Promise<unknown>)[] = [
      () => stats.summary(tooOld),
      () => stats.countryStats(tooOld, null),
      () => stats.topAttackers(tooOld, null),
      () => stats.topScenarios(tooOld, null),
      () => stats.summary(new Date('0001-01-01T00:00:00Z')),
    ];
    for (const call of calls)
      await expect(Promise.resolve().then(call)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { argument: 'since', limit: MAX_WINDOW_DAYS },
      });
    expect(counts.calls).toBe(0);
  });
});
