import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  event,
  INGEST_MANY,
  INGEST_ONE,
  IPS,
  LIST,
  type EventView,
  type IngestResultView,
} from './threat-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

const MAX_BATCH = 60;

describe('threat-event ingestion over GraphQL', () => {
  let t: TestApp;
  let ingestorKey: string;
  let readerKey: string;
  beforeAll(async () => {
    t = await startTestApp('threat_ingest', { THREAT_INGEST_MAX_BATCH: String(MAX_BATCH) });
    const key = async (role: string) => {
      const res = await t.gql<{ createApiKey: { secret: string } }>(
        'mutation($r: Role!) { createApiKey(name: "k", role: $r) { secret } }',
        { r: role },
      );
      return res.data!.createApiKey.secret;
    };
    [ingestorKey, readerKey] = await Promise.all([key('INGESTOR'), key('READER')]);
  });
  afterAll(() => t?.stop());

  const ingestMany = async (inputs: unknown[], key?: string) => {
    const res = await t.gql<{ ingestThreatEvents: IngestResultView }>(INGEST_MANY, { inputs }, key);
    expect(res.errors).toBeUndefined();
    return res.data!.ingestThreatEvents;
  };

  it('stores one event with GeoIP and rule classification', async () => {
    const res = await t.gql<{ ingestThreatEvent: EventView }>(
      INGEST_ONE,
      { input: event({ sourceIp: IPS.DE }) },
      ingestorKey,
    );
    expect(res.errors).toBeUndefined();
    const e = res.data!.ingestThreatEvent;
    expect(e.sourceIp).toBe(IPS.DE);
    expect(e.geo).toMatchObject({ countryCode: 'DE', countryName: 'Germany', approximate: true });
    expect(e.geo?.latitude).toBeTypeOf('number');
    expect(e.classification).toMatchObject({ category: 'BRUTEFORCE', method: 'RULES', modelVersion: null });
    expect(e.classification.confidence).toBeGreaterThan(0.5);
    const again = await t.gql<{ threatEvent: { id: string } }>(
      'query($id: ID!) { threatEvent(id: $id) { id } }',
      { id: e.id },
    );
    expect(again.data?.threatEvent.id).toBe(e.id);
  });

  it('canonicalises addresses and leaves private sources without a location', async () => {
    const res = await t.gql<{ ingestThreatEvent: EventView }>(INGEST_ONE, {
      input: event({ sourceIp: '2001:DB8:0:0::1', destinationIp: null }),
    });
    expect(res.data?.ingestThreatEvent.sourceIp).toBe('2001:db8::1');
    expect(res.data?.ingestThreatEvent.geo).toBeNull();
  });

  it('flags sources that are known IOCs or banned by CrowdSec, from stored data only', async () => {
    const pool = testPool(t.databaseUrl, { max: 1 });
    try {
      await pool.query(
        `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at)
         VALUES ('http://lapi.test', 1, 'cscli', 'ban', 'Ip', '9.9.9.9', 'test', now() + interval '1 hour'),
                ('http://lapi.test', 2, 'cscli', 'ban', 'Ip', '1.0.0.1', 'test', now() - interval '1 hour')`,
      );
      await pool.query(
        `INSERT INTO iocs (type, value, risk_score) VALUES ('IPV4', '1.1.1.1', 80), ('IPV4', '1.0.0.2', 10)`,
      );
    } finally {
      await pool.end();
    }
    const res = await t.gql<{ ingestThreatEvent: EventView & { knownIoc: boolean; banned: boolean } }>(
      INGEST_ONE,
      {
        input: event({ sourceIp: '9.9.9.9' }),
      },
    );
    expect(res.data?.ingestThreatEvent).toMatchObject({ banned: true, knownIoc: false });
    const flags = async (ip: string) =>
      (
        await t.gql<{ ingestThreatEvent: { knownIoc: boolean; banned: boolean } }>(INGEST_ONE, {
          input: event({ sourceIp: ip }),
        })
      ).data?.ingestThreatEvent;
    expect(await flags('1.1.1.1')).toMatchObject({ knownIoc: true, banned: false });
    expect(await flags('1.0.0.1')).toMatchObject({ knownIoc: false, banned: false }); // expired ban
    expect(await flags('1.0.0.2')).toMatchObject({ knownIoc: false, banned: false }); // low-risk IOC
  });

  it('reports invalid items by index and stores the valid ones', async () => {
    const inputs = [
      event(),
      event({ sourceIp: '999.1.1.1' }),
      event({ destinationPort: 70000 }),
      event({ severity: 11 }),
      event({ confidence: 1.5 }),
      event({ occurredAt: new Date(Date.now() + 3_600_000).toISOString() }),
      event({ description: 'x'.repeat(4001) }),
      event({ threatType: 'ssh\u0000bruteforce' }),
      event({ tags: ['a\u0000'] }),
      event({ raw: { note: 'bad\u0000' } }),
      event({ threatType: '   ' }),
      event({ raw: { ok: true } }),
    ];
    const result = await ingestMany(inputs);
    expect(result.accepted).toBe(2);
    expect(result.duplicates).toBe(0);
    expect(result.errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'sourceIp'],
      [2, 'destinationPort'],
      [3, 'severity'],
      [4, 'confidence'],
      [5, 'occurredAt'],
      [6, 'description'],
      [7, 'threatType'],
      [8, 'tags'],
      [9, 'raw'],
      [10, 'threatType'],
    ]);
    expect(result.errors[1]?.message).toMatch(/destinationPort: must be an integer between 0 and 65535/);
    expect(result.errors[6]?.message).toMatch(/NUL/);
  });

  it('is idempotent by externalId: a re-sent batch stores nothing twice', async () => {
    const tag = `resend-${Date.now()}`;
    const batch = Array.from({ length: 20 }, (_, i) => event({ externalId: `${tag}-${i}` }));
    expect(await ingestMany(batch)).toEqual({ accepted: 20, duplicates: 0, errors: [] });
    expect(await ingestMany(batch)).toEqual({ accepted: 0, duplicates: 20, errors: [] });
    const mixed = [
      ...batch.slice(0, 5),
      event({ externalId: `${tag}-new` }),
      event({ externalId: `${tag}-new` }),
    ];
    expect(await ingestMany(mixed)).toEqual({ accepted: 1, duplicates: 6, errors: [] });

    const first = await t.gql<{ ingestThreatEvent: EventView }>(INGEST_ONE, {
      input: event({ externalId: `${tag}-one` }),
    });
    const second = await t.gql<{ ingestThreatEvent: EventView }>(INGEST_ONE, {
      input: event({ externalId: `${tag}-one` }),
    });
    expect(second.data?.ingestThreatEvent.id).toBe(first.data?.ingestThreatEvent.id);
  });

  it('enforces the maximum batch size and the INGESTOR role', async () => {
    const tooMany = await t.gql(INGEST_MANY, {
      inputs: Array.from({ length: MAX_BATCH + 1 }, () => event()),
    });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toContain(`At most ${MAX_BATCH} events`);
    const reader = await t.gql(INGEST_MANY, { inputs: [event()] }, readerKey);
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const single = await t.gql(INGEST_ONE, { input: event({ sourcePort: -1 }) });
    expect(single.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'sourcePort' } });
  });

  it('filters and pages threatEvents newest first', async () => {
    const base = Date.now() - 30 * 86_400_000; // a window no other test writes to
    const inputs = Array.from({ length: 7 }, (_, i) =>
      event({
        severity: i + 1,
        sourceIp: i % 2 ? IPS.JP : IPS.US,
        occurredAt: new Date(base + i * 1000).toISOString(),
      }),
    );
    await ingestMany(inputs);
    const window = { since: new Date(base).toISOString(), until: new Date(base + 10_000).toISOString() };
    const filter = { ...window, minSeverity: 3, countries: ['us'] };
    type Page = {
      threatEvents: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string };
        edges: { node: EventView }[];
      };
    };
    const p1 = await t.gql<Page>(LIST, { filter, first: 2 }, readerKey);
    expect(p1.errors).toBeUndefined();
    expect(p1.data!.threatEvents.totalCount).toBe(3); // severities 3, 5, 7 from the US
    expect(p1.data!.threatEvents.edges.map((e) => e.node.severity)).toEqual([7, 5]);
    expect(p1.data!.threatEvents.pageInfo.hasNextPage).toBe(true);
    const p2 = await t.gql<Page>(LIST, { filter, first: 2, after: p1.data!.threatEvents.pageInfo.endCursor });
    expect(p2.data!.threatEvents.edges.map((e) => e.node.severity)).toEqual([3]);
    expect(p2.data!.threatEvents.pageInfo.hasNextPage).toBe(false);

    const byIp = await t.gql<Page>(LIST, {
      filter: { ...window, sourceIp: IPS.JP, categories: ['BRUTEFORCE'] },
    });
    expect(byIp.data!.threatEvents.edges.map((e) => e.node.severity)).toEqual([6, 4, 2]);
    const bad = await t.gql(LIST, { filter: { sourceIp: 'nope' } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('aggregates the map by location with count and max severity', async () => {
    // An instance and database of its own: the map has no upper time bound, so events the
    // file's other tests store around the same moment (in any order) would be counted.
    const own = await startTestApp('threat_map');
    try {
      await mapCase(own);
    } finally {
      await own.stop();
    }
  });

  async function mapCase(t: TestApp) {
    const since = new Date(Date.now() - 1000).toISOString();
    const res0 = await t.gql<{ ingestThreatEvents: IngestResultView }>(INGEST_MANY, {
      inputs: [
        event({ sourceIp: IPS.JP, severity: 4, occurredAt: new Date().toISOString() }),
        event({ sourceIp: IPS.JP, severity: 9, occurredAt: new Date().toISOString() }),
        event({ sourceIp: IPS.DE, severity: 2, occurredAt: new Date().toISOString() }),
        event({ sourceIp: '10.1.2.3', severity: 10, occurredAt: new Date().toISOString() }),
      ],
    });
    expect(res0.data?.ingestThreatEvents.accepted).toBe(4);
    type MapView = {
      threatMap: {
        countryCode: string;
        count: number;
        maxSeverity: number;
        approximate: boolean;
        latitude: number;
      }[];
    };
    const res = await t.gql<MapView>(
      'query($since: DateTime) { threatMap(since: $since) { countryCode countryName latitude longitude approximate count maxSeverity } }',
      { since },
    );
    expect(res.errors).toBeUndefined();
    const points = res.data!.threatMap;
    expect(points.map((p) => [p.countryCode, p.count, p.maxSeverity])).toEqual([
      ['JP', 2, 9],
      ['DE', 1, 2],
    ]);
    expect(points[0]?.approximate).toBe(true);
    const severe = await t.gql<MapView>(
      'query($since: DateTime) { threatMap(since: $since, minSeverity: 5) { countryCode count } }',
      { since },
    );
    expect(severe.data!.threatMap).toEqual([{ countryCode: 'JP', count: 1 }]);
  }

  it('adds threat events to statsSummary, countryStats and timeSeries', async () => {
    // Two hours back: closed buckets, so the stats cache path is exercised (and must see late data).
    const at = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000 + 60_000);
    const since = new Date(at.getTime() - 60_000).toISOString();
    const until = new Date(at.getTime() + 3_600_000).toISOString();
    type Stats = {
      statsSummary: { threatEvents: number };
      countryStats: { countryCode: string; threatEvents: number }[];
      timeSeries: { start: string; threatEvents: number }[];
    };
    const query = `query($since: DateTime, $until: DateTime) {
      statsSummary(since: $since) { threatEvents }
      countryStats(since: $since) { countryCode threatEvents }
      timeSeries(bucket: HOUR, since: $since, until: $until) { start threatEvents } }`;
    const before = await t.gql<Stats>(query, { since, until });
    expect(before.errors).toBeUndefined();
    const jp = (s: Stats) => s.countryStats.find((c) => c.countryCode === 'JP')?.threatEvents ?? 0;
    const inHour = (s: Stats) =>
      s.timeSeries.find((b) => new Date(b.start).getTime() === at.getTime() - 60_000)?.threatEvents ?? 0;
    await ingestMany([
      event({ sourceIp: IPS.JP, occurredAt: at.toISOString() }),
      event({ sourceIp: IPS.JP, occurredAt: at.toISOString() }),
      event({ sourceIp: IPS.DE, occurredAt: at.toISOString() }),
    ]);
    const after = await t.gql<Stats>(query, { since, until });
    expect(after.data!.statsSummary.threatEvents - before.data!.statsSummary.threatEvents).toBe(3);
    expect(jp(after.data!) - jp(before.data!)).toBe(2);
    expect(inHour(after.data!) - inHour(before.data!)).toBe(3);
  });

  it('loses nothing when 50 clients ingest at once', async () => {
    const sensor = `concurrent-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, c) =>
        ingestMany(
          Array.from({ length: 20 }, (_, i) => event({ sensor, externalId: `${sensor}-${c}-${i}` })),
          ingestorKey,
        ),
      ),
    );
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(1000);
    const count = await t.gql<{ threatEvents: { totalCount: number } }>(
      'query($s: String!) { threatEvents(filter: { threatType: $s }) { totalCount } }',
      { s: 'ssh_bruteforce' },
    );
    expect(count.data!.threatEvents.totalCount).toBeGreaterThanOrEqual(1000);
  });
});
