/**
 * `Ioc.decisions` and `Alert.decisions` through the GraphQL API, batched: a page of IOCs
 * or of alerts asking for their decisions costs one decisions query, counted on the
 * driver, and each row gets exactly its own decisions (active ones only for an IOC,
 * newest first; an alert's by crowdsec id, from its own LAPI only).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { freshIoc } from './ioc-samples.js';
import { statementsDuring } from '../helpers/statements.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  t = await startTestApp('ioc_decisions_batch', { IOC_COLLECTOR_ENABLED: 'false' });
  pool = testPool(t.databaseUrl, { max: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

let nextId = 1;
async function decision(
  lapi: string,
  value: string,
  scenario: string,
  opts: { createdAgoMin?: number; deleted?: boolean; expired?: boolean } = {},
): Promise<number> {
  const id = nextId++;
  await pool.query(
    `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at,
       created_at, deleted_at)
     VALUES ($1, $2, 'cscli', 'ban', 'Ip', $3, $4,
       now() + CASE WHEN $6 THEN interval '-1 hour' ELSE interval '1 hour' END,
       now() - make_interval(mins => $5), CASE WHEN $7 THEN now() END)`,
    [lapi, id, value, scenario, opts.createdAgoMin ?? 0, opts.expired ?? false, opts.deleted ?? false],
  );
  return id;
}

const decisionQueries = (texts: string[]) => texts.filter((s) => /crowdsec_decisions/.test(s));

describe('Ioc.decisions', () => {
  it('a page of IOCs costs one decisions query; each IP gets its active decisions, newest first', async () => {
    const [a, b, c] = [freshIoc('IPV4').value, freshIoc('IPV4').value, freshIoc('IPV6').value];
    const domain = `${randomBytes(4).toString('hex')}.com`;
    const lapi = 'http://lapi-ioc.test';
    await decision(lapi, a, 'a-old', { createdAgoMin: 30 });
    await decision(lapi, a, 'a-new', { createdAgoMin: 1 });
    await decision(lapi, a, 'a-deleted', { deleted: true });
    await decision(lapi, a, 'a-expired', { expired: true });
    await decision(lapi, c, 'c-only', { createdAgoMin: 5 });
    await decision(lapi, domain, 'domain', {});
    const watched = await t.gql(`mutation($v: [String!]!) { watchIocs(values: $v) { value } }`, {
      v: [a, b, c, domain],
    });
    expect(watched.errors).toBeUndefined();
    const ids = (
      await pool.query<{ id: string; value: string }>('SELECT id, value FROM iocs WHERE value = ANY($1)', [
        [a, b, c, domain],
      ])
    ).rows;
    expect(ids).toHaveLength(4);
    let data: {
      iocs: { edges: { node: { value: string; decisions: { scenario: string; active: boolean }[] } }[] };
    } = { iocs: { edges: [] } };
    const texts = await statementsDuring(async () => {
      const res = await t.gql<typeof data>(
        `{ iocs(filter: { watched: true }, first: 50) { edges { node { value decisions { scenario active } } } } }`,
      );
      expect(res.errors).toBeUndefined();
      data = res.data!;
    });
    expect(decisionQueries(texts)).toHaveLength(1);
    const byValue = Object.fromEntries(data.iocs.edges.map((e) => [e.node.value, e.node.decisions]));
    expect(byValue).toEqual({
      [a]: [
        { scenario: 'a-new', active: true },
        { scenario: 'a-old', active: true },
      ],
      [b]: [],
      [c]: [{ scenario: 'c-only', active: true }],
      // Only IP IOCs list decisions.
      [domain]: [],
    });
  });
});

describe('Alert.decisions', () => {
  it('a page of alerts costs one decisions query; each alert gets its own decisions from its own LAPI', async () => {
    const lapi1 = 'http://lapi-one.test';
    const lapi2 = 'http://lapi-two.test';
    const ip = freshIoc('IPV4').value;
    const d1 = await decision(lapi1, ip, 'one');
    const d2 = await decision(lapi1, ip, 'two');
    const d3 = await decision(lapi2, ip, 'three');
    const scenario = `batch-${randomBytes(4).toString('hex')}`;
    const alert = (lapi: string, id: number, decisionIds: number[]) =>
      pool.query(
        `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
           lapi_created_at, source_scope, source_value, source_ip, decision_ids)
         VALUES ($1, $2, $3, 'm', 1, now() - make_interval(mins => $6), now(), now(), 'Ip', $4, $4, $5)`,
        [lapi, id, scenario, ip, decisionIds, id],
      );
    // Alert 2 names d3's crowdsec id, but on lapi1 where no decision has it.
    await alert(lapi1, 1, [d2, d1]);
    await alert(lapi1, 2, [d3]);
    await alert(lapi2, 3, [d3]);
    await alert(lapi2, 4, []);
    let data: { alerts: { edges: { node: { crowdsecId: number; decisions: { scenario: string }[] } }[] } } = {
      alerts: { edges: [] },
    };
    const texts = await statementsDuring(async () => {
      const res = await t.gql<typeof data>(
        `query($s: String!) { alerts(filter: { scenario: $s }, first: 50) { edges { node { crowdsecId decisions { scenario } } } } }`,
        { s: scenario },
      );
      expect(res.errors).toBeUndefined();
      data = res.data!;
    });
    expect(decisionQueries(texts)).toHaveLength(1);
    const byAlert = Object.fromEntries(
      data.alerts.edges.map((e) => [e.node.crowdsecId, e.node.decisions.map((d) => d.scenario)]),
    );
    expect(byAlert).toEqual({ 1: ['one', 'two'], 2: [], 3: ['three'], 4: [] });
  });
});
