/**
 * Statistics windows are bounded: a READER cannot make one request count centuries of
 * buckets or fill Redis with cache keys. Through the GraphQL API of a real app on
 * Redis, under a key prefix of this file's own so the keys it creates can be counted.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRepository, type AlertInput } from '../../src/crowdsec/alert-repository.js';
import { NO_GEO } from '../../src/crowdsec/crowdsec-geo.js';
import { DecisionRepository } from '../../src/crowdsec/decision-repository.js';
import { redisUrlOrSkip } from '../helpers/services.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { storedAlert } from '../helpers/stored-alert.js';
import { testPool } from '../helpers/test-pool.js';

const redisUrl = redisUrlOrSkip('statistics window bounds (Redis key counts)');
const DAY = 86_400_000;
const MAX_DAYS = 400;
const LAPI = 'http://lapi.window-bounds.test';

describe.runIf(redisUrl)('statistics windows', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let redis: Redis;
  let reader: string;
  const prefix = `tw-stats-bounds-${randomBytes(4).toString('hex')}:`;
  let nextId = 1;

  const alert = (ageMs: number, cc: string, ip: string, scenario: string): AlertInput => {
    return storedAlert({ crowdsecId: nextId++, at: new Date(Date.now() - ageMs), cc, ip, scenario });
  };

  const statsKeys = async () => (await redis.keys(`${prefix}cache:stats:*`)).length;
  const bucketKeys = async () => (await redis.keys(`${prefix}cache:stats:bucket:*`)).length;

  beforeAll(async () => {
    t = await startTestApp('stats_window_bounds', {
      REDIS_URL: redisUrl!,
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_POINTS: '100000',
    });
    redis = new Redis(redisUrl!);
    pool = testPool(t.databaseUrl, { max: 2 });
    const created = await t.gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(name: "stats-reader", role: READER) { secret } }',
    );
    reader = created.data!.createApiKey.secret;
    // Inside a 400-day window: 399.5 days, 200 days, 2 days and 1 hour old. Outside: 401 days.
    await new AlertRepository(pool).upsertBatch(LAPI, [
      alert(399.5 * DAY, 'DE', '192.0.2.1', 'crowdsecurity/ssh-bf'),
      alert(200 * DAY, 'FR', '192.0.2.2', 'crowdsecurity/ssh-bf'),
      alert(2 * DAY, 'DE', '192.0.2.1', 'crowdsecurity/http-probing'),
      alert(3_600_000, 'JP', '192.0.2.3', 'crowdsecurity/http-probing'),
      alert(401 * DAY, 'US', '192.0.2.4', 'crowdsecurity/old-scenario'),
    ]);
    const decisions = new DecisionRepository(pool);
    const input = (crowdsecId: number, value: string) => ({
      crowdsecId,
      origin: 'crowdsec',
      type: 'ban',
      scope: 'Ip',
      value,
      scenario: 'crowdsecurity/ssh-bf',
      simulated: false,
      expiresAt: new Date(Date.now() - DAY),
      geo: { ...NO_GEO, country_code: 'DE' },
    });
    await decisions.upsertBatch(LAPI, [input(1, '192.0.2.1'), input(2, '192.0.2.4')]);
    await pool.query(
      `UPDATE crowdsec_decisions SET created_at = now() - make_interval(days => CASE crowdsec_id
         WHEN 1 THEN 300 ELSE 402 END) WHERE lapi_url = $1`,
      [LAPI],
    );
  });
  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await pool?.end();
    await t?.stop();
  });

  const SINCE_QUERIES: Record<string, string> = {
    statsSummary: 'query($since: DateTime) { statsSummary(since: $since) { alerts } }',
    countryStats: 'query($since: DateTime) { countryStats(since: $since) { countryCode } }',
    topAttackers: 'query($since: DateTime) { topAttackers(since: $since) { value } }',
    topScenarios: 'query($since: DateTime) { topScenarios(since: $since) { scenario } }',
    threatStats: 'query($since: DateTime) { threatStats(since: $since, groupBy: [SOURCE_IP]) { count } }',
  };

  it.each(Object.keys(SINCE_QUERIES))(
    '%s refuses year 1, 1900 and one day over the maximum with BAD_USER_INPUT naming the limit',
    async (field) => {
      const before = await statsKeys();
      for (const since of [
        '0001-01-01T00:00:00Z',
        '1900-01-01T00:00:00Z',
        new Date(Date.now() - (MAX_DAYS + 1) * DAY).toISOString(),
      ]) {
        const res = await t.gql(SINCE_QUERIES[field]!, { since }, reader);
        expect(res.data ?? null).toBeNull();
        expect(res.errors?.[0]?.extensions).toEqual({
          code: 'BAD_USER_INPUT',
          argument: 'since',
          limit: MAX_DAYS,
        });
        expect(res.errors?.[0]?.message).toContain(`${MAX_DAYS} days`);
      }
      expect(await statsKeys()).toBe(before);
    },
  );

  it('answers a window of exactly the maximum with exact counts, caching only a few whole answers', async () => {
    const since = new Date(Date.now() - MAX_DAYS * DAY).toISOString();
    const res = await t.gql<{
      statsSummary: Record<string, number>;
      countryStats: { countryCode: string; alerts: number; decisions: number }[];
      topScenarios: { scenario: string; alerts: number; attackers: number }[];
      topAttackers: { value: string; alerts: number }[];
    }>(
      `query($since: DateTime) {
        statsSummary(since: $since) { alerts decisions attackers scenarios countries threatEvents }
        countryStats(since: $since) { countryCode alerts decisions }
        topScenarios(since: $since) { scenario alerts attackers }
        topAttackers(since: $since) { value alerts }
      }`,
      { since },
      reader,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.statsSummary).toEqual({
      alerts: 4,
      decisions: 1,
      attackers: 3,
      scenarios: 2,
      countries: 3,
      threatEvents: 0,
    });
    expect(res.data?.countryStats).toEqual([
      { countryCode: 'DE', alerts: 2, decisions: 1 },
      { countryCode: 'FR', alerts: 1, decisions: 0 },
      { countryCode: 'JP', alerts: 1, decisions: 0 },
    ]);
    expect(res.data?.topScenarios).toEqual([
      { scenario: 'crowdsecurity/http-probing', alerts: 2, attackers: 2 },
      { scenario: 'crowdsecurity/ssh-bf', alerts: 2, attackers: 2 },
    ]);
    // Ties (one alert each) by value.
    expect(res.data?.topAttackers.map((a) => [a.value, a.alerts])).toEqual([
      ['192.0.2.1', 2],
      ['192.0.2.2', 1],
      ['192.0.2.3', 1],
    ]);
    // Buckets are rollup rows in PostgreSQL: the cache holds only the few short-lived
    // whole answers (distinct counts, two top lists, active decisions per source).
    expect(await bucketKeys()).toBe(0);
    expect(await statsKeys()).toBeLessThanOrEqual(8);
  });

  it('timeSeries far in the past is counted, but not cached key by key', async () => {
    const before = await bucketKeys();
    const res = await t.gql<{ timeSeries: { alerts: number }[] }>(
      'query { timeSeries(bucket: DAY, since: "1900-01-01T00:00:00Z", until: "1905-06-01T00:00:00Z") { alerts } }',
      {},
      reader,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.timeSeries).toHaveLength(1977);
    expect(res.data?.timeSeries.reduce((n, b) => n + b.alerts, 0)).toBe(0);
    expect(await bucketKeys()).toBe(before);
  });

  it('timeSeries beyond 2,000 buckets names the limit', async () => {
    const res = await t.gql(
      'query { timeSeries(bucket: DAY, since: "0001-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z") { alerts } }',
      {},
      reader,
    );
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'since', limit: 2000 });
  });
});
