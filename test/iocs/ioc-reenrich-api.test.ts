/**
 * Re-enrichment through the running app and its collector against the fake sources. Two
 * unwatched IPs are looked up, then their stored results are aged past the TTL (the
 * database is the clock here): the one looked up just now is fetched again from each
 * source exactly once; the one last asked about 30 days ago is put to rest untouched,
 * until a threat event from it (a sighting) wakes it and it is fetched again too.
 * `unwatchIocs` returns how many values were watched.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { eventually, startFakes, type Fakes } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';
import { testPool } from '../helpers/test-pool.js';

let fakes: Fakes;
let t: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  fakes = await startFakes();
  t = await startTestApp('ioc_reenrich_api', {
    ...fakes.env,
    ABUSEIPDB_RATE_LIMITS: '',
    VIRUSTOTAL_RATE_LIMITS: '',
    IOC_COLLECTOR_ENABLED: 'true',
    IOC_COLLECTOR_INTERVAL_MS: '200',
    IOC_REENRICH_RECENT_SECONDS: String(7 * 86_400),
  });
  pool = testPool(t.databaseUrl, { max: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
  await fakes?.close();
});

const ok = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
  const res = await t.gql<T>(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
};

const calls = (value: string) => [fakes.abuse, fakes.otx, fakes.vt].map((f) => f.callsFor(value).length);

const nextEnrichAt = async (value: string): Promise<string | null> =>
  (
    await ok<{ ioc: { nextEnrichAt: string | null } }>(
      `query($v: String!) { ioc(value: $v) { nextEnrichAt } }`,
      { v: value },
    )
  ).ioc.nextEnrichAt;

/** Every stored result fetched two days ago, and the IOC due now (as its TTL would make it). */
async function age(value: string, lastSeenDaysAgo: number): Promise<void> {
  const { rowCount } = await pool.query(
    `UPDATE iocs SET
       sources = (SELECT jsonb_object_agg(k, v || jsonb_build_object('fetchedAt',
         to_char((now() - interval '2 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
         FROM jsonb_each(sources) AS e(k, v)),
       stale_at = now(), next_enrich_at = now(), last_seen_at = now() - make_interval(days => $2)
     WHERE value = $1`,
    [value, lastSeenDaysAgo],
  );
  expect(rowCount).toBe(1);
}

describe('re-enrichment of unwatched IOCs', () => {
  it('re-fetches the recently looked-up IOC once, rests the unused one until a sighting wakes it', async () => {
    const recent = freshIoc('IPV4').value;
    const unused = freshIoc('IPV4').value;
    for (const v of [recent, unused]) {
      await ok(`query($v: String!) { lookupIoc(value: $v) { value } }`, { v });
      expect(calls(v)).toEqual([1, 1, 1]);
    }
    await age(recent, 0);
    await age(unused, 30);

    await eventually(
      () => Promise.resolve(calls(recent).every((n) => n === 2) ? true : undefined),
      30_000,
      'the recent IOC fetched again from each source',
    );
    // Fresh again: due when the new results go stale (24 h), not before.
    const next = await eventually(
      async () => {
        const at = await nextEnrichAt(recent);
        return at !== null && Date.parse(at) > Date.now() + 3_600_000 ? at : undefined;
      },
      30_000,
      'the recent IOC due again in a day',
    );
    expect(Date.parse(next)).toBeLessThanOrEqual(Date.now() + 86_400_000);

    await eventually(
      async () => ((await nextEnrichAt(unused)) === null ? true : undefined),
      30_000,
      'the unused IOC put to rest',
    );
    expect(calls(unused)).toEqual([1, 1, 1]);

    const ingested = await ok<{ ingestThreatEvents: { accepted: number } }>(
      `mutation($in: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $in) { accepted } }`,
      { in: [{ sourceIp: unused, threatType: 'scan', severity: 3, occurredAt: new Date().toISOString() }] },
    );
    expect(ingested.ingestThreatEvents.accepted).toBe(1);
    await eventually(
      () => Promise.resolve(calls(unused).every((n) => n === 2) ? true : undefined),
      30_000,
      'the sighted IOC fetched again from each source',
    );
    expect(calls(recent)).toEqual([2, 2, 2]);
  }, 90_000);

  it('unwatchIocs returns how many of the values were watched', async () => {
    const [a, b, c] = [freshIoc('DOMAIN').value, freshIoc('DOMAIN').value, freshIoc('DOMAIN').value];
    await ok(`mutation($v: [String!]!) { watchIocs(values: $v) { value } }`, { v: [a, b] });
    const unwatch = (v: string[]) =>
      ok<{ unwatchIocs: number }>(`mutation($v: [String!]!) { unwatchIocs(values: $v) }`, { v });
    // Defanged and upper-case spellings name the same IOCs; c was never stored.
    expect((await unwatch([a.toUpperCase().replace('.', '[.]'), c, a])).unwatchIocs).toBe(1);
    expect((await unwatch([a, b])).unwatchIocs).toBe(1);
    const watched = await ok<{ iocs: { totalCount: number } }>(
      `query($p: String!) { iocs(filter: { valuePrefix: $p, watched: true }) { totalCount } }`,
      { p: b },
    );
    expect(watched.iocs.totalCount).toBe(0);
    const bad = await t.gql(`mutation { unwatchIocs(values: ["not an ioc"]) }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
