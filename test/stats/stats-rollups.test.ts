/**
 * The rollups stay equal to a full recount of the rows after any mix of writes: threat
 * events ingested through the API (many late, occurredAt days in the past), CrowdSec
 * alerts and decisions as the pollers write them, alerts re-geolocated (UPDATE),
 * retention deletes (the retention worker's own repository call), decisions deleted
 * (the LAPI's deletion, and rows removed outright). The recount is plain SQL written
 * here, independently of the migration; the statistics are then checked through the
 * GraphQL API against the same kind of plain SQL over the rows.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRepository, type AlertInput } from '../../src/crowdsec/alert-repository.js';
import { NO_GEO } from '../../src/crowdsec/crowdsec-geo.js';
import { DecisionRepository } from '../../src/crowdsec/decision-repository.js';
import { PgThreatEventRepository } from '../../src/threats/threat-event-repository.js';
import { ThreatStatsRepository } from '../../src/threats/threat-stats-repository.js';
import { CrowdsecStatsRepository } from '../../src/crowdsec/crowdsec-stats-repository.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, IPS, type IngestResultView } from '../threats/threat-fixtures.js';
import { storedAlert } from '../helpers/stored-alert.js';
import { testPool } from '../helpers/test-pool.js';

const HOUR = 3_600_000;
const LAPI = 'http://lapi.rollups.test';

/** Each rollup: its table, key columns, and the same keys computed from the rows. */
const cc = `coalesce(country_code, '')`;
const THREAT_KEYS = ['country_code', 'category', 'threat_type', 'severity'];
const THREAT_EXPRS = [cc, 'category', 'threat_type', 'severity'];
const MAP_KEYS = ['country_code', 'city', 'latitude', 'longitude', 'approximate', 'category', 'severity'];
const MAP_EXPRS = [
  cc,
  `coalesce(city, '')`,
  'latitude',
  'longitude',
  'geo_approximate',
  'category',
  'severity',
];
/** Each source table's journal of rows not compacted into its rollups yet. */
const JOURNAL: Record<string, string> = {
  crowdsec_alerts: 'stats_alert_pending',
  crowdsec_decisions: 'stats_decision_pending',
  threat_events: 'stats_threat_pending',
};
const LEVELS = { hourly: 'hour', daily: 'day', weekly: 'week', monthly: 'month' } as const;
type Level = keyof typeof LEVELS;
const at = (level: Level, c: string) => `date_trunc('${LEVELS[level]}', ${c}, 'UTC')`;
const ROLLUPS: { table: string; source: string; keys: string[]; exprs: string[]; where?: string }[] = [
  ...(['hourly', 'daily', 'monthly'] as const).map((l) => ({
    table: `stats_alert_${l}`,
    source: 'crowdsec_alerts',
    keys: ['country_code', 'scenario'],
    exprs: [at(l, 'start_at'), cc, 'scenario'],
  })),
  ...(['daily', 'weekly', 'monthly'] as const).map((l) => ({
    table: `stats_alert_source_${l}`,
    source: 'crowdsec_alerts',
    keys: ['source_value', 'scenario'],
    exprs: [at(l, 'start_at'), 'source_value', 'scenario'],
  })),
  ...(['hourly', 'daily', 'monthly'] as const).map((l) => ({
    table: `stats_decision_${l}`,
    source: 'crowdsec_decisions',
    keys: ['country_code'],
    exprs: [at(l, 'created_at'), cc],
  })),
  ...(['hourly', 'daily', 'monthly'] as const).map((l) => ({
    table: `stats_threat_${l}`,
    source: 'threat_events',
    keys: THREAT_KEYS,
    exprs: [at(l, 'occurred_at'), ...THREAT_EXPRS],
  })),
  ...(['daily', 'weekly', 'monthly'] as const).map((l) => ({
    table: `stats_threat_endpoint_${l}`,
    source: 'threat_events',
    keys: [...THREAT_KEYS, 'source_ip', 'destination_port'],
    exprs: [at(l, 'occurred_at'), ...THREAT_EXPRS, 'source_ip', 'coalesce(destination_port, -1)'],
  })),
  ...(['daily', 'weekly', 'monthly'] as const).map((l) => ({
    table: `stats_threat_source_${l}`,
    source: 'threat_events',
    keys: ['source_ip'],
    exprs: [at(l, 'occurred_at'), 'source_ip'],
  })),
  ...(['daily', 'weekly', 'monthly'] as const).map((l) => ({
    table: `stats_threat_port_${l}`,
    source: 'threat_events',
    keys: ['destination_port'],
    exprs: [at(l, 'occurred_at'), 'coalesce(destination_port, -1)'],
  })),
  ...(['hourly', 'daily', 'monthly'] as const).map((l) => ({
    table: `stats_threat_map_${l}`,
    source: 'threat_events',
    keys: MAP_KEYS,
    exprs: [at(l, 'occurred_at'), ...MAP_EXPRS],
    where: 'latitude IS NOT NULL AND longitude IS NOT NULL',
  })),
];

/** A write, as fast-check generates it. */
type Op =
  | { kind: 'ingest'; events: { ageH: number; ip: number; sev: number; type: number; port: number }[] }
  | { kind: 'alerts'; alerts: { ageH: number; cc: number; src: number; scenario: number }[] }
  | { kind: 'decisions'; decisions: { ageH: number; cc: number; value: number }[] }
  | { kind: 'regeo'; mod: number }
  | { kind: 'retention'; ageH: number }
  | { kind: 'deleteDecisions'; mod: number; hard: boolean };

const small = (max: number) => fc.integer({ min: 0, max });
/** Hours back: mostly the last four days, some up to nine weeks (weekly and monthly buckets). */
const age = fc.oneof(small(96), small(63 * 24));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('ingest' as const),
    events: fc.array(
      fc.record({
        ageH: age,
        ip: small(3),
        sev: fc.integer({ min: 1, max: 10 }),
        type: small(2),
        port: small(2),
      }),
      { minLength: 1, maxLength: 15 },
    ),
  }),
  fc.record({
    kind: fc.constant('alerts' as const),
    alerts: fc.array(fc.record({ ageH: age, cc: small(3), src: small(4), scenario: small(2) }), {
      minLength: 1,
      maxLength: 15,
    }),
  }),
  fc.record({
    kind: fc.constant('decisions' as const),
    decisions: fc.array(fc.record({ ageH: age, cc: small(3), value: small(5) }), {
      minLength: 1,
      maxLength: 8,
    }),
  }),
  fc.record({ kind: fc.constant('regeo' as const), mod: fc.integer({ min: 2, max: 4 }) }),
  fc.record({ kind: fc.constant('retention' as const), ageH: fc.integer({ min: 24, max: 64 * 24 }) }),
  fc.record({
    kind: fc.constant('deleteDecisions' as const),
    mod: fc.integer({ min: 2, max: 4 }),
    hard: fc.boolean(),
  }),
);

const COUNTRIES = ['DE', 'FR', 'JP', null];
const SOURCE_IPS = [IPS.US, IPS.DE, IPS.JP, '10.1.2.3'];
const TYPES = ['ssh_bruteforce', 'port_scan', 'sql_injection'];
const PORTS = [22, 443, null];

describe('rollups under a random mix of writes', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let alerts: AlertRepository;
  let decisions: DecisionRepository;
  let events: PgThreatEventRepository;
  let crowdsecStats: CrowdsecStatsRepository;
  let threatStats: ThreatStatsRepository;
  let nextId = 1;

  beforeAll(async () => {
    // No workers: the test decides when the journals are compacted.
    t = await startTestApp('stats_rollups', { RATE_LIMIT_POINTS: '1000000', WORKERS: 'off' });
    pool = testPool(t.databaseUrl, { max: 2 });
    alerts = new AlertRepository(pool);
    decisions = new DecisionRepository(pool);
    events = new PgThreatEventRepository(pool);
    crowdsecStats = new CrowdsecStatsRepository(pool);
    threatStats = new ThreatStatsRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await t?.stop();
  });

  const alertInput = (a: { ageH: number; cc: number; src: number; scenario: number }): AlertInput => {
    const at = new Date(Date.now() - a.ageH * HOUR - 1000);
    const ip = `198.51.100.${a.src + 1}`;
    return storedAlert({
      crowdsecId: nextId++,
      at,
      cc: COUNTRIES[a.cc] ?? null,
      ip,
      scenario: `crowdsecurity/s${a.scenario}`,
    });
  };

  async function apply(op: Op): Promise<void> {
    switch (op.kind) {
      case 'ingest': {
        const inputs = op.events.map((e) =>
          event({
            sourceIp: SOURCE_IPS[e.ip],
            severity: e.sev,
            threatType: TYPES[e.type],
            destinationPort: PORTS[e.port],
            occurredAt: new Date(Date.now() - e.ageH * HOUR - 1000).toISOString(),
          }),
        );
        const res = await t.gql<{ ingestThreatEvents: IngestResultView }>(INGEST_MANY, { inputs });
        expect(res.data?.ingestThreatEvents.accepted).toBe(inputs.length);
        return;
      }
      case 'alerts':
        await alerts.upsertBatch(LAPI, op.alerts.map(alertInput));
        return;
      case 'decisions': {
        const stored = await decisions.upsertBatch(
          LAPI,
          op.decisions.map((d) => ({
            crowdsecId: nextId++,
            origin: 'crowdsec',
            type: 'ban',
            scope: 'Ip',
            value: `203.0.113.${d.value}`,
            scenario: 'crowdsecurity/ssh-bf',
            simulated: false,
            expiresAt: new Date(Date.now() + HOUR),
            geo: { ...NO_GEO, country_code: COUNTRIES[d.cc] ?? null },
          })),
        );
        // Stored "now"; spread them over the past as a long-running instance would have.
        await pool.query(
          `UPDATE crowdsec_decisions d SET created_at = now() - make_interval(hours => x.h)
             FROM unnest($1::bigint[], $2::int[]) AS x(id, h) WHERE d.id = x.id`,
          [stored.map((s) => s.id), op.decisions.map((d) => d.ageH)],
        );
        return;
      }
      case 'regeo':
        await pool.query(
          `UPDATE crowdsec_alerts SET country_code = CASE WHEN country_code = 'DE' THEN 'FR' ELSE 'DE' END
            WHERE id % $1 = 0`,
          [op.mod],
        );
        return;
      case 'retention':
        while ((await events.deleteOlderThan(new Date(Date.now() - op.ageH * HOUR), 7)) === 7);
        return;
      case 'deleteDecisions': {
        const { rows } = await pool.query<{ crowdsec_id: string }>(
          'SELECT crowdsec_id FROM crowdsec_decisions WHERE id % $1 = 0',
          [op.mod],
        );
        if (op.hard) await pool.query('DELETE FROM crowdsec_decisions WHERE id % $1 = 0', [op.mod]);
        else
          await decisions.markDeleted(
            LAPI,
            rows.map((r) => Number(r.crowdsec_id)),
          );
        return;
      }
    }
  }

  /** A rollup's rows, with its journal's not yet compacted rows added when asked. */
  async function stored(r: (typeof ROLLUPS)[number], withJournal: boolean) {
    const cols = ['bucket', ...r.keys];
    const order = cols.map((_, i) => i + 1).join(', ');
    const level = LEVELS[r.table.slice(r.table.lastIndexOf('_') + 1) as Level];
    const journal = withJournal
      ? ` UNION ALL SELECT date_trunc('${level}', at, 'UTC'), ${r.keys.join(', ')}, n FROM ${JOURNAL[r.source]}` +
        (r.where ? ` WHERE ${r.where}` : '')
      : '';
    return (
      await pool.query<Record<string, unknown>>(
        `SELECT ${cols.join(', ')}, sum(n)::int AS n FROM (SELECT ${cols.join(', ')}, n FROM ${r.table}${journal}) x
          GROUP BY ${order} HAVING sum(n) <> 0 ORDER BY ${order}`,
      )
    ).rows;
  }

  async function recount(r: (typeof ROLLUPS)[number]) {
    const cols = ['bucket', ...r.keys];
    const order = cols.map((_, i) => i + 1).join(', ');
    return (
      await pool.query<Record<string, unknown>>(
        `SELECT ${r.exprs.map((e, i) => `${e} AS ${cols[i]}`).join(', ')}, count(*)::int AS n
           FROM ${r.source} ${r.where ? `WHERE ${r.where}` : ''} GROUP BY ${order} ORDER BY ${order}`,
      )
    ).rows;
  }

  const journalRows = async () =>
    Number(
      (
        await pool.query<{ n: string }>(
          `SELECT ${Object.values(JOURNAL)
            .map((j) => `(SELECT count(*) FROM ${j})`)
            .join(' + ')} AS n`,
        )
      ).rows[0]!.n,
    );

  /**
   * Rollups plus journals equal the recount before compaction and after a partial one
   * (a few journal rows moved); after a full compaction the rollups alone equal it, the
   * journals are empty, and no rollup count is below zero at any point.
   */
  async function expectRecount(): Promise<void> {
    for (const r of ROLLUPS) expect(await stored(r, true), `${r.table} + journal`).toEqual(await recount(r));
    for (const j of Object.values(JOURNAL)) await pool.query(`SELECT ${j}_compact(3)`);
    for (const r of ROLLUPS) {
      expect(await stored(r, true), `${r.table} + journal, partly compacted`).toEqual(await recount(r));
      const negative = await pool.query(`SELECT 1 FROM ${r.table} WHERE n < 0`);
      expect(negative.rowCount, `${r.table} below zero`).toBe(0);
    }
    await crowdsecStats.compactPending();
    await threatStats.compactPending();
    expect(await journalRows()).toBe(0);
    for (const r of ROLLUPS) expect(await stored(r, false), r.table).toEqual(await recount(r));
  }

  it('equal a full recount after every run, and the statistics equal counts of the rows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), async (ops) => {
        for (const op of ops) await apply(op);
        await expectRecount();
      }),
      { numRuns: 12 },
    );

    // Writes left in the journals: the statistics add them to the rollups.
    for (const op of [
      {
        kind: 'ingest',
        events: [
          { ageH: 5, ip: 1, sev: 3, type: 0, port: 0 },
          { ageH: 30, ip: 2, sev: 9, type: 1, port: 2 },
        ],
      },
      {
        kind: 'alerts',
        alerts: [
          { ageH: 6, cc: 1, src: 3, scenario: 1 },
          { ageH: 40, cc: 3, src: 0, scenario: 2 },
        ],
      },
      { kind: 'decisions', decisions: [{ ageH: 7, cc: 2, value: 4 }] },
      { kind: 'retention', ageH: 90 },
      { kind: 'regeo', mod: 3 },
    ] satisfies Op[])
      await apply(op);
    expect(await journalRows()).toBeGreaterThan(0);
    // Hours at both edges; two weeks (a whole week inside); nine weeks (a whole month inside).
    const spans = [47 * HOUR + 12 * 60_000, 14 * 24 * HOUR, 63 * 24 * HOUR];
    for (const span of spans) await expectStatistics(span, 0);
    await crowdsecStats.compactPending();
    await threatStats.compactPending();
    expect(await journalRows()).toBe(0);
    // Another window (1 ms wider), so no answer comes from the statistics' short cache.
    for (const span of spans) await expectStatistics(span, 1);
  });

  /** Statistics through the API, over a window with partial hours at both edges. */
  async function expectStatistics(spanMs: number, shiftMs: number): Promise<void> {
    const until = new Date(Date.now() - 3 * HOUR - 5 * 60_000);
    const since = new Date(until.getTime() - spanMs - shiftMs);
    const res = await t.gql<{
      statsSummary: Record<string, number>;
      threatStats: { category: string; severity: number; count: number }[];
      sources: { sourceIp: string; destinationPort: number | null; count: number }[];
      bySourceIp: { sourceIp: string; count: number }[];
      byPort: { destinationPort: number | null; count: number }[];
      topScenarios: { scenario: string; alerts: number; attackers: number }[];
    }>(
      `query($since: DateTime, $until: DateTime) {
        statsSummary(since: $since, until: $until) { alerts decisions attackers scenarios threatEvents }
        threatStats(since: $since, until: $until, groupBy: [CATEGORY, SEVERITY], limit: 1000) { category severity count }
        sources: threatStats(since: $since, until: $until, groupBy: [SOURCE_IP, DESTINATION_PORT], limit: 1000) {
          sourceIp destinationPort count
        }
        bySourceIp: threatStats(since: $since, until: $until, groupBy: [SOURCE_IP], limit: 1000) { sourceIp count }
        byPort: threatStats(since: $since, until: $until, groupBy: [DESTINATION_PORT], limit: 1000) {
          destinationPort count
        }
        topScenarios(since: $since, until: $until, limit: 100) { scenario alerts attackers }
      }`,
      { since: since.toISOString(), until: until.toISOString() },
    );
    expect(res.errors).toBeUndefined();
    const one = async (sql: string) => (await pool.query<Record<string, unknown>>(sql, [since, until])).rows;
    const [totals] = await one(
      `SELECT (SELECT count(*)::int FROM crowdsec_alerts WHERE start_at >= $1 AND start_at < $2) AS alerts,
              (SELECT count(*)::int FROM crowdsec_decisions WHERE created_at >= $1 AND created_at < $2) AS decisions,
              (SELECT count(DISTINCT source_value)::int FROM crowdsec_alerts WHERE start_at >= $1 AND start_at < $2) AS attackers,
              (SELECT count(DISTINCT scenario)::int FROM crowdsec_alerts WHERE start_at >= $1 AND start_at < $2) AS scenarios,
              (SELECT count(*)::int FROM threat_events WHERE occurred_at >= $1 AND occurred_at < $2) AS "threatEvents"`,
    );
    expect(res.data?.statsSummary).toEqual(totals);
    const byKey = await one(
      `SELECT category::text AS category, severity::int AS severity, count(*)::int AS count FROM threat_events
        WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2 ORDER BY count DESC, category, severity`,
    );
    expect(res.data?.threatStats).toEqual(byKey);
    const bySource = await one(
      `SELECT host(source_ip) AS "sourceIp", destination_port AS "destinationPort", count(*)::int AS count
         FROM threat_events WHERE occurred_at >= $1 AND occurred_at < $2
        GROUP BY source_ip, destination_port ORDER BY count DESC, source_ip, coalesce(destination_port, -1)`,
    );
    expect(res.data?.sources).toEqual(bySource);
    // One dimension alone: read from the narrow rollups (by source, by port).
    const bySourceIp = await one(
      `SELECT host(source_ip) AS "sourceIp", count(*)::int AS count FROM threat_events
        WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY source_ip ORDER BY count DESC, source_ip`,
    );
    expect(res.data?.bySourceIp).toEqual(bySourceIp);
    const byPort = await one(
      `SELECT destination_port AS "destinationPort", count(*)::int AS count FROM threat_events
        WHERE occurred_at >= $1 AND occurred_at < $2
        GROUP BY destination_port ORDER BY count DESC, coalesce(destination_port, -1)`,
    );
    expect(res.data?.byPort).toEqual(byPort);
    const scenarios = await one(
      `SELECT scenario, count(*)::int AS alerts, count(DISTINCT source_value)::int AS attackers FROM crowdsec_alerts
        WHERE start_at >= $1 AND start_at < $2 GROUP BY 1 ORDER BY alerts DESC, scenario`,
    );
    expect(res.data?.topScenarios).toEqual(scenarios);
  }

  it('TRUNCATE empties the rollups of the table too (alerts; threat events, narrow rollups included)', async () => {
    await alerts.upsertBatch(LAPI, [alertInput({ ageH: 2, cc: 0, src: 0, scenario: 0 })]);
    await pool.query('TRUNCATE crowdsec_alerts');
    const { rows } = await pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM stats_alert_hourly) + (SELECT count(*) FROM stats_alert_daily)
            + (SELECT count(*) FROM stats_alert_source_daily) AS n`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
    const threatRollupRows = async () =>
      (
        await Promise.all(
          ROLLUPS.filter((r) => r.source === 'threat_events').map(async (r) => {
            const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${r.table}`);
            return [r.table, Number(rows[0]!.n)] as const;
          }),
        )
      ).filter(([, n]) => n > 0);
    await apply({ kind: 'ingest', events: [{ ageH: 2, ip: 0, sev: 5, type: 0, port: 0 }] });
    await threatStats.compactPending();
    expect((await threatRollupRows()).length).toBe(
      ROLLUPS.filter((r) => r.source === 'threat_events').length,
    );
    // CASCADE: other tables (IOC sightings) reference threat events.
    await pool.query('TRUNCATE threat_events CASCADE');
    expect(await threatRollupRows()).toEqual([]);
    await expectRecount();
  });
});
