/** IOC lookups through the GraphQL API against the fake sources (issue 5). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { BAD_INPUTS } from './bad-inputs.js';
import { IOC_FIELDS, eventually, sourceOf, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';
import { testPool } from '../helpers/test-pool.js';

let fakes: Fakes;
let t: TestApp;

beforeAll(async () => {
  fakes = await startFakes();
  // Quota has its own test (ioc-quota.test.ts): here VirusTotal's budget would run out.
  t = await startTestApp('ioc_api', {
    ...fakes.env,
    VIRUSTOTAL_RATE_LIMITS: '',
    MAX_BODY_BYTES: String(4 * 1024 * 1024),
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await fakes?.close();
});

const LOOKUP = `query($v: String!, $refresh: Boolean, $debug: Boolean) {
  lookupIoc(value: $v, refresh: $refresh, debug: $debug) { ${IOC_FIELDS} sources { source raw } }
}`;

async function lookup(value: string, vars: Record<string, unknown> = {}): Promise<IocJson> {
  const res = await t.gql<{ lookupIoc: IocJson }>(LOOKUP, { v: value, ...vars });
  expect(res.errors).toBeUndefined();
  return res.data!.lookupIoc;
}

const knownBadIp = (): string => {
  const ip = freshIoc('IPV4').value;
  for (const f of fakes.all) f.setScenario(ip, 'known-bad');
  return ip;
};

describe('lookupIoc', () => {
  it('asks all three sources, fuses an explainable score, stores history, then serves the cache', async () => {
    const ip = knownBadIp();
    const ioc = await lookup(` ${ip}\n`);
    expect(ioc).toMatchObject({ type: 'IPV4', value: ip, watched: false });
    expect(ioc.sources.map((s) => [s.source, s.status])).toEqual([
      ['ABUSEIPDB', 'OK'],
      ['OTX', 'OK'],
      ['VIRUSTOTAL', 'OK'],
    ]);
    expect(ioc.riskScore).toBeGreaterThanOrEqual(50);
    expect(['HIGH', 'CRITICAL']).toContain(ioc.riskLevel);
    expect(ioc.categories.length).toBeGreaterThan(0);
    const sum = ioc.scoreBreakdown.reduce((n, c) => n + c.contribution, 0);
    expect(Math.abs(sum - ioc.riskScore!)).toBeLessThanOrEqual(1);
    for (const s of ioc.sources) expect(s.raw).toBeNull();

    const again = await lookup(ip);
    expect(again.riskScore).toBe(ioc.riskScore);
    for (const f of fakes.all) expect(f.callsFor(ip)).toHaveLength(1);

    const stored = await t.gql<{ ioc: IocJson & { enrichments: { totalCount: number } } }>(
      `query($v: String!) { ioc(value: $v) { value riskScore enrichments { totalCount } } }`,
      { v: ip },
    );
    expect(stored.data?.ioc).toMatchObject({
      value: ip,
      riskScore: ioc.riskScore,
      enrichments: { totalCount: 3 },
    });
    const unknown = await t.gql<{ ioc: null }>(`query { ioc(value: "${freshIoc('IPV4').value}") { id } }`);
    expect(unknown.data?.ioc).toBeNull();
  });

  it('shows each source raw body only with debug', async () => {
    const ip = knownBadIp();
    const ioc = await lookup(ip, { debug: true });
    for (const s of ioc.sources) expect(s.raw).toBeTypeOf('object');
    // Cached results get their raw bodies from history.
    const cached = await lookup(ip, { debug: true });
    expect(sourceOf(cached, 'VIRUSTOTAL')?.raw).toEqual(sourceOf(ioc, 'VIRUSTOTAL')?.raw);
    expect(fakes.vt.callsFor(ip)).toHaveLength(1);
  });

  it('never sends a non-routable value upstream', async () => {
    const before = fakes.totalCalls();
    const ioc = await lookup('192.168.44.1');
    expect(ioc.sources.every((s) => s.status === 'SKIPPED' && s.errorKind === 'NOT_ROUTABLE')).toBe(true);
    expect(ioc.riskScore).toBeNull();
    expect(fakes.totalCalls()).toBe(before);
  });

  it('answers BAD_USER_INPUT for the whole bad-input corpus with zero upstream calls, and stays healthy', async () => {
    const before = fakes.totalCalls();
    for (const [name, input] of BAD_INPUTS) {
      const res = await t.gql(`query($v: String!) { lookupIoc(value: $v) { id } }`, { v: input });
      expect(res.errors?.[0]?.extensions?.code, name).toBe('BAD_USER_INPUT');
    }
    expect(fakes.totalCalls()).toBe(before);
    const health = await t.gql<{ health: { status: string } }>('{ health { status } }');
    expect(health.data?.health.status).toBe('OK');
  });

  it('100 concurrent lookups of one new value make exactly one call per source', async () => {
    const ip = freshIoc('IPV4').value;
    for (const f of fakes.all) f.setScenario(ip, 'delayed');
    const results = await Promise.all(Array.from({ length: 100 }, () => lookup(ip)));
    expect(new Set(results.map((r) => r.riskScore)).size).toBe(1);
    for (const f of fakes.all) expect(f.callsFor(ip), f.profile.name).toHaveLength(1);
  });

  it('enrichIoc refreshes, and history pages newest first', async () => {
    const ip = knownBadIp();
    await lookup(ip);
    for (let i = 0; i < 2; i++) {
      const res = await t.gql(`mutation($v: String!) { enrichIoc(value: $v) { id } }`, { v: ip });
      expect(res.errors).toBeUndefined();
    }
    for (const f of fakes.all) expect(f.callsFor(ip)).toHaveLength(3);
    const PAGE = `query($v: String!, $after: String) { ioc(value: $v) { enrichments(first: 4, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id source status fetchedAt } } } } }`;
    type PageJson = {
      ioc: {
        enrichments: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          edges: { node: { id: string; fetchedAt: string } }[];
        };
      };
    };
    const seen: { id: string; fetchedAt: string }[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res: { data?: PageJson } = await t.gql<PageJson>(PAGE, { v: ip, after });
      const conn = res.data!.ioc.enrichments;
      expect(conn.totalCount).toBe(9);
      seen.push(...conn.edges.map((e) => e.node));
      after = conn.pageInfo.endCursor;
      if (!conn.pageInfo.hasNextPage) break;
    }
    expect(seen).toHaveLength(9);
    expect(new Set(seen.map((e) => e.id)).size).toBe(9);
    const times = seen.map((e) => Date.parse(e.fetchedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('publishes iocEnriched over graphql-ws when the verdict changes', async () => {
    type Enriched = { value: string; riskScore: number | null; riskLevel: string | null };
    const ip = freshIoc('IPV4').value;
    const received: Enriched[] = [];
    const stop = t.ws().subscribe<{ iocEnriched: Enriched }>(
      {
        query: `subscription($v: String) { iocEnriched(value: $v) { value riskScore riskLevel } }`,
        variables: { v: ip },
      },
      {
        next: (r) => void received.push(r.data!.iocEnriched),
        error: (err: unknown) =>
          void received.push({ value: `error: ${String(err)}`, riskScore: null, riskLevel: null }),
        complete: () => undefined,
      },
    );
    // Live once a change arrives: flip the value between two verdicts (neither of them
    // the known-bad one asserted below) until the subscription reports one.
    let flip = false;
    await eventually(
      async () => {
        if (received.length > 0) return true;
        flip = !flip;
        for (const f of fakes.all) f.setScenario(ip, flip ? 'unknown' : 'clean');
        const res = await t.gql(`mutation($v: String!) { enrichIoc(value: $v) { id } }`, { v: ip });
        expect(res.errors).toBeUndefined();
        return undefined;
      },
      20_000,
      'the iocEnriched subscription to be live',
    );
    const probed = received.map((e) => e.riskScore);
    for (const f of fakes.all) f.setScenario(ip, 'known-bad');
    const ioc = await lookup(ip, { refresh: true });
    expect(ioc.riskScore).not.toBeNull();
    expect(probed).not.toContain(ioc.riskScore); // so the event below can only be this change
    const event = await eventually(
      () => Promise.resolve(received.find((e) => e.riskScore === ioc.riskScore)),
      10_000,
      'the known-bad verdict to be published',
    );
    stop();
    expect(event).toEqual({ value: ip, riskScore: ioc.riskScore, riskLevel: ioc.riskLevel });
  });

  it('watchIocs registers in bulk, idempotently; iocs filters by type, level, score and prefix', async () => {
    const a = freshIoc('DOMAIN').value;
    const b = freshIoc('SHA256').value;
    const WATCH = `mutation($vs: [String!]!) { watchIocs(values: $vs) { id value type watched nextEnrichAt } }`;
    const first = await t.gql<{ watchIocs: IocJson[] }>(WATCH, { vs: [a, b, a.toUpperCase()] });
    expect(first.errors).toBeUndefined();
    const ids = first.data!.watchIocs.map((i) => i.id);
    expect(ids[0]).toBe(ids[2]);
    expect(first.data!.watchIocs.every((i) => i.watched && i.nextEnrichAt !== null)).toBe(true);
    const second = await t.gql<{ watchIocs: IocJson[] }>(WATCH, { vs: [b, a] });
    expect(second.data!.watchIocs.map((i) => i.id)).toEqual([ids[1], ids[0]]);
    const bad = await t.gql(WATCH, { vs: [a, '0x7f.1'] });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/values\[1\]/);

    const LIST = `query($f: IocFilter) { iocs(filter: $f, first: 50) { totalCount edges { node { value } } } }`;
    const byPrefix = await t.gql<{ iocs: { totalCount: number; edges: { node: { value: string } }[] } }>(
      LIST,
      {
        f: { valuePrefix: b.slice(0, 20), type: 'SHA256', watched: true },
      },
    );
    expect(byPrefix.data?.iocs.edges.map((e) => e.node.value)).toEqual([b]);
    const bad1 = knownBadIp();
    await lookup(bad1);
    const risky = await t.gql<{ iocs: { edges: { node: { value: string } }[] } }>(LIST, {
      f: { type: 'IPV4', minScore: 50 },
    });
    expect(risky.data?.iocs.edges.map((e) => e.node.value)).toContain(bad1);
    const low = await t.gql<{ iocs: { edges: { node: { value: string } }[] } }>(LIST, {
      f: { level: 'LOW' },
    });
    expect(low.data?.iocs.edges.map((e) => e.node.value)).not.toContain(bad1);
  });

  it('lists the active CrowdSec decisions on an IP', async () => {
    const ip = knownBadIp();
    const pool = testPool(t.databaseUrl, { max: 1 });
    try {
      await pool.query(
        `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at, deleted_at)
         VALUES ('http://lapi.test', 1, 'cscli', 'ban', 'Ip', $1, 'manual ban', now() + interval '4 hours', NULL),
                ('http://lapi.test', 2, 'crowdsec', 'ban', 'Ip', $1, 'old ban', now() - interval '1 hour', NULL)`,
        [ip],
      );
    } finally {
      await pool.end();
    }
    const res = await t.gql<{
      lookupIoc: { decisions: { value: string; scenario: string; active: boolean }[] };
    }>(`query($v: String!) { lookupIoc(value: $v) { decisions { value scenario active } } }`, { v: ip });
    expect(res.errors).toBeUndefined();
    expect(res.data?.lookupIoc.decisions).toEqual([{ value: ip, scenario: 'manual ban', active: true }]);
  });

  it('reports the sources in health without touching /readyz', async () => {
    await lookup(knownBadIp()); // spends AbuseIPDB quota whatever ran before
    const res = await t.gql<{
      health: {
        status: string;
        sources: { name: string; configured: boolean; status: string; remainingQuota: number | null }[];
      };
    }>('{ health { status sources { name configured status remainingQuota lastError } } }');
    const sources = res.data!.health.sources;
    expect(sources.map((s) => s.name)).toEqual(['ABUSEIPDB', 'OTX', 'VIRUSTOTAL']);
    expect(sources.every((s) => s.configured && s.status === 'UP')).toBe(true);
    expect(sources.find((s) => s.name === 'OTX')?.remainingQuota).toBeNull();
    // 1,000 a day (the default budget), one spent per request the fake received.
    expect(fakes.abuse.calls.length).toBeGreaterThan(0);
    expect(sources.find((s) => s.name === 'ABUSEIPDB')?.remainingQuota).toBe(1000 - fakes.abuse.calls.length);
    const ready = await fetch(new URL('/readyz', t.origin));
    expect(ready.status).toBe(200);
  });
});
