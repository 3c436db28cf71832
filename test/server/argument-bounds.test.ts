/**
 * Every argument that reaches SQL or sizes work is checked before it does: filter
 * strings (NUL, unpaired surrogates, length), numeric filters (range), cursors (shape
 * of the id, date range), page sizes and list lengths. Each bad input answers
 * BAD_USER_INPUT naming the argument and, where there is one, the limit — never a
 * masked INTERNAL_SERVER_ERROR from the database.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRepository } from '../../src/crowdsec/alert-repository.js';
import { NO_GEO } from '../../src/crowdsec/crowdsec-geo.js';
import { DecisionRepository } from '../../src/crowdsec/decision-repository.js';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { storedAlert } from '../helpers/stored-alert.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;
const LAPI = 'http://lapi.argument-bounds.test';
const IOC = '198.51.100.7';
const UUID = '0b6e3c8e-6a55-4d8a-9a43-2f1e7a0c9d11';
const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

beforeAll(async () => {
  t = await startTestApp('argument_bounds', { RATE_LIMIT_POINTS: '100000' });
  pool = testPool(t.databaseUrl, { max: 2 });
  const at = new Date('2026-03-01T10:00:00Z');
  await new AlertRepository(pool).upsertBatch(LAPI, [
    storedAlert({ crowdsecId: 1, at, cc: 'DE', ip: '192.0.2.1', scenario: 'crowdsecurity/ssh-bf' }),
  ]);
  await new DecisionRepository(pool).upsertBatch(LAPI, [
    {
      crowdsecId: 1,
      origin: 'crowdsec',
      type: 'ban',
      scope: 'Ip',
      value: '192.0.2.1',
      scenario: 'crowdsecurity/ssh-bf',
      simulated: false,
      expiresAt: new Date(Date.now() + 86_400_000),
      geo: { ...NO_GEO, country_code: 'DE' },
    },
  ]);
  const watched = await t.gql('mutation($v: [String!]!) { watchIocs(values: $v) { id } }', { v: [IOC] });
  expect(watched.errors).toBeUndefined();
});
afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

type Ext = Record<string, unknown>;
async function expectBad(query: string, variables: Record<string, unknown>, extensions: Ext) {
  const res = await t.gql(query, variables);
  expect(res.status, JSON.stringify(res.errors)).toBe(200);
  expect(res.errors).toHaveLength(1);
  expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', ...extensions });
}

const DECISIONS = 'query($f: DecisionFilter) { decisions(filter: $f) { totalCount } }';
const ALERTS = 'query($f: AlertFilter) { alerts(filter: $f) { totalCount } }';
const IOCS = 'query($f: IocFilter) { iocs(filter: $f) { totalCount } }';

describe('filter strings', () => {
  const QUERIES: Record<string, string> = { decisions: DECISIONS, alerts: ALERTS, iocs: IOCS };
  const cases: [string, string][] = [
    ...['scope', 'type', 'origin', 'scenario', 'value'].map((f) => ['decisions', f] as [string, string]),
    ...['ip', 'scenario'].map((f) => ['alerts', f] as [string, string]),
    ['iocs', 'valuePrefix'],
  ];
  it.each(cases)('%s filter.%s refuses NUL, a lone surrogate and 2,049 characters', async (name, f) => {
    const q = QUERIES[name]!;
    const argument = `filter.${f}`;
    await expectBad(q, { f: { [f]: 'a\u0000b' } }, { argument });
    await expectBad(q, { f: { [f]: 'x\ud800y' } }, { argument });
    await expectBad(q, { f: { [f]: 'x'.repeat(2049) } }, { argument, limit: 2048 });
  });

  it('countryCode must be two letters; valid filters still match', async () => {
    for (const countryCode of ['Germany', 'D1', 'D\u0000', '\ud800E', 'x'.repeat(2049)]) {
      await expectBad(DECISIONS, { f: { countryCode } }, { argument: 'filter.countryCode' });
      await expectBad(ALERTS, { f: { countryCode } }, { argument: 'filter.countryCode' });
    }
    const ok = await t.gql<{ decisions: { totalCount: number }; alerts: { totalCount: number } }>(
      `{ decisions(filter: { countryCode: "de", scenario: "crowdsecurity/ssh-bf" }) { totalCount }
         alerts(filter: { countryCode: "DE", ip: "192.0.2.1" }) { totalCount } }`,
    );
    expect(ok.data).toEqual({ decisions: { totalCount: 1 }, alerts: { totalCount: 1 } });
    const long = await t.gql<{ iocs: { totalCount: number } }>(IOCS, {
      f: { valuePrefix: 'x'.repeat(2048) },
    });
    expect(long.data?.iocs.totalCount).toBe(0);
  });
});

describe('subscription filters', () => {
  it.each(['decisionAdded', 'decisionDeleted'])(
    '%s refuses the same filter text as decisions',
    async (field) => {
      const ws = t.ws();
      for (const [f, ext] of [
        [{ scope: 'I\u0000p' }, { argument: 'filter.scope' }],
        [{ value: 'x'.repeat(2049) }, { argument: 'filter.value', limit: 2048 }],
        [{ countryCode: 'DEU' }, { argument: 'filter.countryCode' }],
      ] as const) {
        const sub = collect(ws, `subscription($f: DecisionFilter) { ${field}(filter: $f) { id } }`, 1, { f });
        const err = (await sub.done.then(
          () => undefined,
          (e: unknown) => e,
        )) as { errors?: { extensions?: Ext }[] };
        expect(err.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', ...ext });
      }
    },
  );
});

describe('numeric filters and time windows', () => {
  it('iocs.filter.minScore is 0..100', async () => {
    for (const minScore of [-1, 101, 40_000, -40_000, 2_147_483_647])
      await expectBad(IOCS, { f: { minScore } }, { argument: 'filter.minScore', min: 0, limit: 100 });
    for (const minScore of [0, 100]) {
      const res = await t.gql<{ iocs: { totalCount: number } }>(IOCS, { f: { minScore } });
      expect(res.errors).toBeUndefined();
    }
  });

  it('alerts since/until: any DateTime is harmless; since after until is refused', async () => {
    const res = await t.gql<{ alerts: { totalCount: number } }>(ALERTS, {
      f: { since: '0000-01-01T00:00:00Z', until: '9999-12-31T23:59:59Z' },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.alerts.totalCount).toBe(1);
    await expectBad(
      ALERTS,
      { f: { since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' } },
      { argument: 'filter.since' },
    );
  });
});

/** Every connection, with its page arguments as variables $first and $after. */
const CONNECTIONS: Record<string, string> = {
  decisions: 'query($first: Int, $after: String) { decisions(first: $first, after: $after) { totalCount } }',
  alerts: 'query($first: Int, $after: String) { alerts(first: $first, after: $after) { totalCount } }',
  iocs: 'query($first: Int, $after: String) { iocs(first: $first, after: $after) { totalCount } }',
  apiKeys: 'query($first: Int, $after: String) { apiKeys(first: $first, after: $after) { totalCount } }',
  enrichments: `query($first: Int, $after: String) { ioc(value: "${IOC}") {
    enrichments(first: $first, after: $after) { totalCount } } }`,
  threatEvents:
    'query($first: Int, $after: String) { threatEvents(first: $first, after: $after) { totalCount } }',
};
const BIGINT_IDS = new Set(['decisions', 'alerts']);

describe('page sizes and cursors', () => {
  it.each(Object.keys(CONNECTIONS))('%s: first is 1..500', async (name) => {
    for (const first of [0, -1, 501])
      await expectBad(CONNECTIONS[name]!, { first }, { argument: 'first', min: 1, limit: 500 });
    const ok = await t.gql(CONNECTIONS[name]!, { first: 500 });
    expect(ok.errors).toBeUndefined();
  });

  it('classifierModels: first is 1..100 (refused, not clamped)', async () => {
    const q = 'query($first: Int) { classifierModels(first: $first) { id } }';
    for (const first of [0, -1, 101])
      await expectBad(q, { first }, { argument: 'first', min: 1, limit: 100 });
    const ok = await t.gql(q, { first: 100 });
    expect(ok.errors).toBeUndefined();
  });

  it.each(Object.keys(CONNECTIONS))(
    '%s: refuses cursors with a foreign id or an unstorable date',
    async (name) => {
      const goodId = BIGINT_IDS.has(name) ? '12' : UUID;
      const badIds = BIGINT_IDS.has(name) ? [UUID, 'x', '1'.repeat(19), '-1'] : ['x', '12', `${UUID}0`];
      const q = CONNECTIONS[name]!;
      for (const id of badIds)
        await expectBad(q, { after: cursor('2026-01-01T00:00:00.000Z', id) }, { argument: 'after' });
      for (const at of ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '2026-13-01T00:00:00Z'])
        await expectBad(q, { after: cursor(at, goodId) }, { argument: 'after' });
      for (const after of ['%%%', 'A'.repeat(257), Buffer.from('{"a":1}').toString('base64url')])
        await expectBad(q, { after }, { argument: 'after' });
      // A well-formed cursor past every row: an empty page, not an error.
      const ok = await t.gql(q, { after: cursor('0001-01-01T00:00:00.000Z', goodId) });
      expect(ok.errors).toBeUndefined();
    },
  );
});

describe('banIp reason', () => {
  // Checked before anything is posted to a LAPI: the reason comes back as the stored
  // decision's scenario, so text PostgreSQL refuses would leave a ban it never stored.
  const BAN = 'mutation($r: String!) { banIp(value: "192.0.2.9", duration: "4h", reason: $r) { id } }';
  it('refuses NUL, a lone surrogate and 256 characters', async () => {
    await expectBad(BAN, { r: 'spam\u0000' }, { argument: 'reason' });
    await expectBad(BAN, { r: 'spam\udfff' }, { argument: 'reason' });
    await expectBad(BAN, { r: 'x'.repeat(256) }, { argument: 'reason', limit: 255 });
  });
});

describe('list arguments and limits', () => {
  it('geoip takes at most 1,000 addresses', async () => {
    const res = await t.gql('query($ips: [String!]!) { geoip(ips: $ips) { ip } }', {
      ips: Array.from({ length: 1001 }, () => '8.8.8.8'),
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 1000 });
  });

  it('watchIocs takes at most IOC_WATCH_MAX values', async () => {
    await expectBad(
      'mutation($v: [String!]!) { watchIocs(values: $v) { id } }',
      { v: Array.from({ length: 1001 }, (_, i) => `10.0.${Math.floor(i / 256)}.${i % 256}`) },
      { argument: 'values', limit: 1000 },
    );
  });

  it.each([
    ['countryStats', 250],
    ['topAttackers', 100],
    ['topScenarios', 100],
  ])('%s limit is 1..%i', async (field, max) => {
    for (const limit of [0, max + 1])
      await expectBad(
        `query($l: Int) { ${field}(limit: $l) { __typename } }`,
        { l: limit },
        { argument: 'limit', min: 1, limit: max },
      );
  });
});
