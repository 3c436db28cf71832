/**
 * threatStats(groupBy: [SOURCE_IP]) and [DESTINATION_PORT] through the GraphQL API: read
 * from the narrow rollups (by source alone, by port alone) and the journal, with the
 * partial days at a window's edges counted from the rows. Hand-placed events over a
 * window of ~ 47 days that holds a whole month, a whole week, whole days and a partial
 * day at either end; checked with every write still in the journal, after compaction,
 * and after a compacted event is deleted (its −1 in the journal, then compacted too).
 * Expected values are worked out in the comments.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThreatStatsRepository } from '../../src/threats/threat-stats-repository.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, IPS, type IngestResultView } from '../threats/threat-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

// M: 00:00 UTC on the 1st of the month three months back; M1: the 1st of the month after.
const today = new Date();
const M = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 3, 1);
const M1 = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 2, 1);
// The window [S, U): a partial day (from 06:00), two whole days, the month [M, M1), 14 days
// after M1 (at least one whole Monday-week among them) and a partial day (to 05:00).
const S = M - 3 * DAY + 6 * HOUR;
const U = M1 + 14 * DAY + 5 * HOUR;
// The previous window [P, S), of the same length.
const P = S - (U - S);

const { US, DE, JP } = IPS;
const EVENTS = {
  e1: { at: P - 1, ip: JP, port: 443 }, // before the previous window: nowhere
  e2: { at: P, ip: DE, port: 22 }, // first of previous
  e13: { at: P + HOUR, ip: JP, port: 22 }, // previous
  e11: { at: P + (S - P) / 2, ip: US, port: 443 }, // previous
  e3: { at: S - 1, ip: JP, port: 22 }, // last of previous, on the window's first (partial) day
  e4: { at: S, ip: US, port: 22 }, // first of window: partial day, from the rows
  e5: { at: M - DAY + HOUR, ip: DE, port: 443 }, // a whole day
  e6: { at: M + 10 * DAY, ip: US, port: 22 }, // the whole month
  e7: { at: M + 20 * DAY + 3 * HOUR, ip: JP, port: null }, // the whole month, no port
  e12: { at: M + 12 * DAY, ip: JP, port: 443 }, // the whole month; deleted in the last step
  e8: { at: M1 + 7 * DAY + 12 * HOUR, ip: US, port: 443 }, // a whole week
  e9: { at: U - 1, ip: DE, port: 22 }, // last of window: partial day, from the rows
  e10: { at: U, ip: US, port: 22 }, // at until: outside
};

const ROW = 'sourceIp destinationPort count previousCount';

describe('threatStats by source IP or destination port alone', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let repo: ThreatStatsRepository;

  beforeAll(async () => {
    // No workers: the test decides when the journal is compacted.
    t = await startTestApp('threat_narrow_stats', { RATE_LIMIT_POINTS: '100000', WORKERS: 'off' });
    pool = testPool(t.databaseUrl, { max: 2 });
    repo = new ThreatStatsRepository(pool);
    const inputs = Object.values(EVENTS).map((e) =>
      event({ sourceIp: e.ip, destinationPort: e.port, occurredAt: iso(e.at) }),
    );
    const res = await t.gql<{ ingestThreatEvents: IngestResultView }>(INGEST_MANY, { inputs });
    expect(res.data?.ingestThreatEvents.accepted).toBe(inputs.length);
  });
  afterAll(async () => {
    await pool?.end();
    await t?.stop();
  });

  const stats = async (args: string) => {
    const res = await t.gql<{ threatStats: Record<string, unknown>[] }>(
      `query { threatStats(${args}) { ${ROW} } }`,
    );
    expect(res.errors).toBeUndefined();
    return res.data!.threatStats;
  };
  const src = (ip: string, count: number, previousCount: number | null = null) => ({
    sourceIp: ip,
    destinationPort: null,
    count,
    previousCount,
  });
  const port = (p: number | null, count: number, previousCount: number | null = null) => ({
    sourceIp: null,
    destinationPort: p,
    count,
    previousCount,
  });
  const journal = async () =>
    Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM stats_threat_pending')).rows[0]!.n);

  /** Every expectation below; e12 counts in the month [M, M1) until it is deleted. */
  async function expectCounts(withE12: boolean): Promise<void> {
    const e12 = withE12 ? 1 : 0;
    const window = `since: "${iso(S)}", until: "${iso(U)}"`;
    // [S, U): e4 US/22, e5 DE/443, e6 US/22, e7 JP/none, e8 US/443, e9 DE/22 (+ e12 JP/443).
    // Previous [P, S): e2 DE/22, e13 JP/22, e11 US/443, e3 JP/22.
    // By source: US 3 (e4 e6 e8; previous e11: 1), DE 2 (e5 e9; previous e2: 1),
    // JP 1 + e12 (e7; previous e13 e3: 2). With e12, JP ties DE at 2: 5.9.0.1 < 133.242.0.1.
    expect(await stats(`${window}, groupBy: [SOURCE_IP], previous: true`)).toEqual([
      src(US, 3, 1),
      src(DE, 2, 1),
      src(JP, 1 + e12, 2),
    ]);
    // By port: 22 ×3 (e4 e6 e9; previous e2 e13 e3: 3), 443 ×2 + e12 (e5 e8; previous e11:
    // 1), none ×1 (e7; previous 0). With e12, 443 (3) ties 22 (3): 22 first.
    expect(await stats(`${window}, groupBy: [DESTINATION_PORT], previous: true`)).toEqual([
      port(22, 3, 3),
      port(443, 2 + e12, 1),
      port(null, 1, 0),
    ]);
    expect(await stats(`${window}, groupBy: [SOURCE_IP], limit: 1`)).toEqual([src(US, 3)]);
    // The month [M, M1) alone (its monthly rows only): e6 US/22, e7 JP/none (+ e12 JP/443).
    // Ties by key: 8.8.8.8 < 133.242.0.1; no port (−1) < 22 < 443.
    const month = `since: "${iso(M)}", until: "${iso(M1)}"`;
    expect(await stats(`${month}, groupBy: [SOURCE_IP]`)).toEqual(
      withE12 ? [src(JP, 2), src(US, 1)] : [src(US, 1), src(JP, 1)],
    );
    expect(await stats(`${month}, groupBy: [DESTINATION_PORT]`)).toEqual([
      port(null, 1),
      port(22, 1),
      ...(withE12 ? [port(443, 1)] : []),
    ]);
    // Partial days only, [S, M − 2 days) and around U: e4 alone, then e9 alone (e10 at U is out).
    expect(await stats(`since: "${iso(S)}", until: "${iso(M - 2 * DAY)}", groupBy: [SOURCE_IP]`)).toEqual([
      src(US, 1),
    ]);
    expect(
      await stats(`since: "${iso(U - 5 * HOUR)}", until: "${iso(U)}", groupBy: [DESTINATION_PORT]`),
    ).toEqual([port(22, 1)]);
    // Two dimensions still read the endpoint rollups: [S, U) by source and port.
    expect(await stats(`${window}, groupBy: [SOURCE_IP, DESTINATION_PORT]`)).toEqual([
      { sourceIp: US, destinationPort: 22, count: 2, previousCount: null }, // e4 e6
      { sourceIp: DE, destinationPort: 22, count: 1, previousCount: null }, // e9
      { sourceIp: DE, destinationPort: 443, count: 1, previousCount: null }, // e5
      { sourceIp: US, destinationPort: 443, count: 1, previousCount: null }, // e8
      { sourceIp: JP, destinationPort: null, count: 1, previousCount: null }, // e7
      ...(withE12 ? [{ sourceIp: JP, destinationPort: 443, count: 1, previousCount: null }] : []),
    ]);
    await expectSeries();
  }

  /** threatTimeSeries by source IP in days reads the same rollups (e12 is outside its window). */
  async function expectSeries(): Promise<void> {
    const res = await t.gql<{ threatTimeSeries: { start: string; count: number; groups: unknown[] }[] }>(
      `query { threatTimeSeries(bucket: DAY, since: "${iso(M - DAY)}", until: "${iso(M + 11 * DAY)}",
                 groupBy: SOURCE_IP, limit: 1) { start count groups { sourceIp count } } }`,
    );
    expect(res.errors).toBeUndefined();
    // Twelve days from M − 1 day: e5 (DE) on the first, e6 (US) on the twelfth (M + 10 days).
    // DE and US tie at 1: DE (5.9.0.1) is the top group.
    expect(res.data?.threatTimeSeries).toEqual(
      Array.from({ length: 12 }, (_, i) => ({
        start: iso(M + (i - 1) * DAY),
        count: i === 0 || i === 11 ? 1 : 0,
        groups: [{ sourceIp: DE, count: i === 0 ? 1 : 0 }],
      })),
    );
  }

  it('counts from the journal, from the rollups after compaction, and after a compacted event is deleted', async () => {
    expect(await journal()).toBe(Object.keys(EVENTS).length);
    await expectCounts(true);

    await repo.compactPending();
    expect(await journal()).toBe(0);
    await expectCounts(true);

    // Deleted as retention deletes rows: a −1 in the journal, read beside the rollups' +1 …
    const deleted = await pool.query('DELETE FROM threat_events WHERE occurred_at = $1', [
      new Date(EVENTS.e12.at),
    ]);
    expect(deleted.rowCount).toBe(1);
    expect(await journal()).toBe(1);
    await expectCounts(false);
    // … and compacted into every level of the narrow rollups.
    await repo.compactPending();
    expect(await journal()).toBe(0);
    await expectCounts(false);
  });
});
