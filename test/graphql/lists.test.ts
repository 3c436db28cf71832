/**
 * The four large lists through GraphQL: totalCount exact up to 10,000 and capped above
 * with totalCountCapped, counts that follow this instance's writes at once, pages asked
 * without cursors that still paginate by pageInfo.endCursor, and the columns a list
 * skips unless asked (raw, description, label, IOC sources) served exactly when asked.
 *
 * Volumes over the cap are stored with one INSERT … SELECT FROM generate_series into the
 * app's own database (as the pollers and ingest would store them, far faster); each test
 * tells its rows apart by a value of its own (threatType, scenario, value prefix).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, INGEST_ONE } from '../threats/threat-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

let app: TestApp;
let db: pg.Pool;
const tag = () => `t${randomBytes(5).toString('hex')}`;

beforeAll(async () => {
  app = await startTestApp('lists');
  db = testPool(app.databaseUrl, { max: 2 });
}, 120_000);

afterAll(async () => {
  await db?.end();
  await app?.stop();
});

interface Connection<N> {
  totalCount?: number;
  totalCountCapped?: boolean;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor?: string; node: N }[];
}

async function list<N>(field: string, query: string, variables: Record<string, unknown>) {
  const res = await app.gql<Record<string, Connection<N>>>(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data![field]!;
}

/** `n` threat events of one threatType, one second apart, stored without the API. */
async function seedEvents(threatType: string, n: number): Promise<void> {
  await db.query(
    `INSERT INTO threat_events (id, source_ip, threat_type, severity, confidence, occurred_at, category,
       category_confidence, classification_method)
     SELECT gen_random_uuid(), '198.51.100.7', $1, 5, 0.5, now() - g * interval '1 second', 'OTHER', 0.5, 'RULES'
       FROM generate_series(1, $2::int) g`,
    [threatType, n],
  );
}

const COUNT_EVENTS = `query($filter: ThreatEventFilter) {
  threatEvents(filter: $filter, first: 1) { totalCount totalCountCapped pageInfo { hasNextPage } edges { node { id } } } }`;

describe('totalCount', () => {
  it('counts threat events exactly up to 10,000 and caps above: 3, 10,000, 10,001 → 10,000 capped', async () => {
    const [three, tenK, over] = [tag(), tag(), tag()];
    await seedEvents(three, 3);
    await seedEvents(tenK, 10_000);
    await seedEvents(over, 10_001);
    const count = (threatType: string) => list('threatEvents', COUNT_EVENTS, { filter: { threatType } });
    expect(await count(three)).toMatchObject({ totalCount: 3, totalCountCapped: false });
    expect(await count(tenK)).toMatchObject({ totalCount: 10_000, totalCountCapped: false });
    expect(await count(over)).toMatchObject({ totalCount: 10_000, totalCountCapped: true });
  }, 120_000);

  it('follows this instance’s writes at once: 2, then 3 after one more ingest, then 5 after two more', async () => {
    const threatType = tag();
    const ingest = async (n: number) => {
      const res = await app.gql<{ ingestThreatEvents: { accepted: number } }>(INGEST_MANY, {
        inputs: Array.from({ length: n }, () => event({ threatType })),
      });
      expect(res.data?.ingestThreatEvents.accepted).toBe(n);
    };
    const count = async () =>
      (await list('threatEvents', COUNT_EVENTS, { filter: { threatType } })).totalCount;
    await ingest(2);
    expect(await count()).toBe(2);
    await ingest(1);
    expect(await count()).toBe(3);
    await ingest(2);
    expect(await count()).toBe(5);
  });

  it('counts decisions and alerts up to 10,000: 10,001 capped, 4 exact, and 4 once a cursor is given', async () => {
    const [big, small] = [`crowdsecurity/${tag()}`, `crowdsecurity/${tag()}`];
    const seedDecisions = (scenario: string, n: number, from: number) =>
      db.query(
        `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at, created_at)
         SELECT 'http://lists.test', $3::bigint + g, 'crowdsec', 'ban', 'Ip', '203.0.113.' || (g % 250), $1,
                now() + interval '1 hour', now() - g * interval '1 second'
           FROM generate_series(1, $2::int) g`,
        [scenario, n, from],
      );
    const seedAlerts = (scenario: string, n: number, from: number) =>
      db.query(
        `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
           lapi_created_at, source_scope, source_value, decision_ids)
         SELECT 'http://lists.test', $3::bigint + g, $1, 'm', 1, now() - g * interval '1 second', now(), now(),
                'Ip', '203.0.113.9', '{}'
           FROM generate_series(1, $2::int) g`,
        [scenario, n, from],
      );
    const base = Number(BigInt(`0x${randomBytes(3).toString('hex')}`)) * 100_000;
    await seedDecisions(big, 10_001, base);
    await seedDecisions(small, 4, base + 20_000);
    await seedAlerts(big, 10_001, base);
    await seedAlerts(small, 4, base + 20_000);
    for (const field of ['decisions', 'alerts'] as const) {
      const type = field === 'decisions' ? 'DecisionFilter' : 'AlertFilter';
      const query = `query($filter: ${type}, $after: String) { ${field}(filter: $filter, first: 2, after: $after) {
        totalCount totalCountCapped pageInfo { hasNextPage endCursor } edges { node { id } } } }`;
      expect(await list(field, query, { filter: { scenario: big } })).toMatchObject({
        totalCount: 10_000,
        totalCountCapped: true,
      });
      const first = await list(field, query, { filter: { scenario: small } });
      expect(first).toMatchObject({
        totalCount: 4,
        totalCountCapped: false,
        pageInfo: { hasNextPage: true },
      });
      // The count is of the filter, not of what is left after the cursor.
      const second = await list(field, query, {
        filter: { scenario: small },
        after: first.pageInfo.endCursor,
      });
      expect(second).toMatchObject({
        totalCount: 4,
        totalCountCapped: false,
        pageInfo: { hasNextPage: false },
      });
      expect(second.edges).toHaveLength(2);
    }
  }, 120_000);

  it('counts IOCs: 3 watched under a fresh prefix, exact and not capped', async () => {
    const prefix = `${tag()}.`;
    const values = [1, 2, 3].map((i) => `${prefix}example${i}.com`);
    const res = await app.gql('mutation($v: [String!]!) { watchIocs(values: $v) { id } }', { v: values });
    expect(res.errors).toBeUndefined();
    const page = await list(
      'iocs',
      `query($filter: IocFilter) { iocs(filter: $filter, first: 2) { totalCount totalCountCapped
         pageInfo { hasNextPage endCursor } edges { node { value } } } }`,
      { filter: { valuePrefix: prefix } },
    );
    expect(page).toMatchObject({ totalCount: 3, totalCountCapped: false, pageInfo: { hasNextPage: true } });
  });
});

describe('pages without cursors', () => {
  it('walks 5 threat events 2 at a time by pageInfo.endCursor alone, newest first, and edge cursors match it', async () => {
    const threatType = tag();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const occurredAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      const res = await app.gql<{ ingestThreatEvent: { id: string } }>(INGEST_ONE, {
        input: event({ threatType, occurredAt }),
      });
      ids.push(res.data!.ingestThreatEvent.id);
    }
    const query = `query($filter: ThreatEventFilter, $after: String) {
      threatEvents(filter: $filter, first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    const hasNext: boolean[] = [];
    do {
      const page: Connection<{ id: string }> = await list('threatEvents', query, {
        filter: { threatType },
        after,
      });
      seen.push(...page.edges.map((e) => e.node.id));
      hasNext.push(page.pageInfo.hasNextPage);
      after = page.pageInfo.endCursor;
    } while (hasNext.at(-1));
    expect(seen).toEqual([...ids].reverse());
    expect(hasNext).toEqual([true, true, false]);

    const withCursors = await list<{ id: string }>(
      'threatEvents',
      `query($filter: ThreatEventFilter) { threatEvents(filter: $filter, first: 2) {
         pageInfo { endCursor } edges { cursor node { id } } } }`,
      { filter: { threatType } },
    );
    expect(withCursors.edges[1]!.cursor).toBe(withCursors.pageInfo.endCursor);
    const fromEdge = await list<{ id: string }>('threatEvents', query, {
      filter: { threatType },
      after: withCursors.edges[0]!.cursor,
    });
    expect(fromEdge.edges.map((e) => e.node.id)).toEqual([ids[3], ids[2]]);
  });
});

describe('columns read only when asked', () => {
  it('serves raw, description and label exactly when asked, directly or through fragments', async () => {
    const threatType = tag();
    const raw = { rule: 'sshd-fail', attempts: [1, 2, 3], nested: { ok: true, note: 'é ✓' } };
    const ingested = await app.gql<{ ingestThreatEvent: { id: string } }>(INGEST_ONE, {
      input: event({ threatType, description: 'three failed logins', raw }),
    });
    const id = ingested.data!.ingestThreatEvent.id;
    const labelled = await app.gql(
      'mutation($id: ID!) { labelThreatEvent(id: $id, category: SCAN) { id } }',
      {
        id,
      },
    );
    expect(labelled.errors).toBeUndefined();

    const narrow = await list<Record<string, unknown>>(
      'threatEvents',
      `query($f: ThreatEventFilter) { threatEvents(filter: $f) { edges { node { id threatType } } } }`,
      { f: { threatType } },
    );
    expect(narrow.edges.map((e) => e.node)).toEqual([{ id, threatType }]);

    const direct = await list<Record<string, unknown>>(
      'threatEvents',
      `query($f: ThreatEventFilter) { threatEvents(filter: $f) { edges { node {
         raw description label classification { category } geo { countryCode } } } } }`,
      { f: { threatType } },
    );
    expect(direct.edges.map((e) => e.node)).toEqual([
      {
        raw,
        description: 'three failed logins',
        label: 'SCAN',
        classification: { category: 'BRUTEFORCE' },
        geo: { countryCode: 'US' },
      },
    ]);

    const viaFragments = await list<Record<string, unknown>>(
      'threatEvents',
      `query($f: ThreatEventFilter) { threatEvents(filter: $f) { ...Page } }
       fragment Page on ThreatEventConnection { edges { node { ...Heavy ... on ThreatEvent { description } } } }
       fragment Heavy on ThreatEvent { raw label }`,
      { f: { threatType } },
    );
    expect(viaFragments.edges.map((e) => e.node)).toEqual([
      { raw, label: 'SCAN', description: 'three failed logins' },
    ]);
  });

  it('serves an IOC’s stored source results when sources are asked, and lists without them otherwise', async () => {
    const value = `${tag()}.example.org`;
    const watched = await app.gql<{ watchIocs: { id: string }[] }>(
      'mutation($v: [String!]!) { watchIocs(values: $v) { id } }',
      { v: [value] },
    );
    const id = watched.data!.watchIocs[0]!.id;
    await db.query(`UPDATE iocs SET sources = $2::jsonb WHERE id = $1`, [
      id,
      JSON.stringify({
        OTX: {
          status: 'OK',
          score: 40,
          categories: ['MALWARE'],
          data: { pulses: 2 },
          durationMs: 12,
          fetchedAt: '2026-01-02T03:04:05.000Z',
        },
      }),
    ]);
    const query = (fields: string) =>
      `query($f: IocFilter) { iocs(filter: $f) { edges { node { ${fields} } } } }`;
    const withSources = await list<Record<string, unknown>>(
      'iocs',
      query('value sources { source status score categories durationMs fetchedAt }'),
      { f: { valuePrefix: value } },
    );
    expect(withSources.edges.map((e) => e.node)).toEqual([
      {
        value,
        sources: [
          {
            source: 'OTX',
            status: 'OK',
            score: 40,
            categories: ['MALWARE'],
            durationMs: 12,
            fetchedAt: '2026-01-02T03:04:05.000Z',
          },
        ],
      },
    ]);
    const without = await list<Record<string, unknown>>('iocs', query('id value'), {
      f: { valuePrefix: value },
    });
    expect(without.edges.map((e) => e.node)).toEqual([{ id, value }]);
  });
});
