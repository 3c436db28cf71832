/**
 * A verdict's expiry through the API: the iocs list filters (minScore, level) and the
 * SCORE order use the post-expiry score from the instant the verdict lapses, with no
 * worker running; a restarted instance stores the expired scores before it serves; and
 * with workers on, the re-scoring worker stores the new score (and a history row)
 * within seconds.
 *
 * Expected scores (docs/scoring.md): AbuseIPDB known-bad 100, OTX and VirusTotal clean 0,
 * all fetched now: (0.90 × 100 + 0.56 × 0 + 0.95 × 0) / (0.90 + 0.56 + 0.95) = 37.34 →
 * 37, MEDIUM. All three clean: 0, LOW. MALICIOUS bounds to at least 90 (CRITICAL),
 * SUSPICIOUS at least 50 (HIGH), BENIGN at most 10 (LOW); no source and no verdict:
 * null.
 */
import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { eventually, startFakes, type Fakes } from './ioc-harness.js';
import { testPool } from '../helpers/test-pool.js';

let fakes: Fakes;

beforeAll(async () => {
  fakes = await startFakes();
}, 30_000);

afterAll(async () => {
  await fakes?.close();
});

/** A fresh /24 of its own per call: 46.a.b. */
const freshNet = (): string => `46.${randomInt(1, 255)}.${randomInt(0, 256)}.`;

async function ok<T>(app: TestApp, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await app.gql<T>(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const lookup = (app: TestApp, v: string) =>
  ok<{ lookupIoc: { id: string; riskScore: number | null } }>(
    app,
    `query($v: String!) { lookupIoc(value: $v) { id riskScore } }`,
    { v },
  ).then((d) => d.lookupIoc);

const setVerdict = (app: TestApp, v: string, verdict: string, e: string | null) =>
  ok<{ setIocVerdict: { id: string; riskScore: number | null; riskLevel: string | null } }>(
    app,
    `mutation($v: String!, $d: Verdict!, $e: DateTime) {
      setIocVerdict(value: $v, verdict: $d, expiresAt: $e) { id riskScore riskLevel } }`,
    { v, d: verdict, e },
  ).then((d) => d.setIocVerdict);

interface Listed {
  value: string;
  riskScore: number | null;
  riskLevel: string | null;
}

/** Every page of the list, `first` rows at a time, following the cursors. */
async function listAll(
  app: TestApp,
  filter: Record<string, unknown>,
  orderBy: string,
  first: number,
): Promise<Listed[]> {
  const out: Listed[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const data: {
      iocs: { edges: { node: Listed }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await ok(
      app,
      `query($f: IocFilter, $o: IocOrder, $n: Int, $a: String) {
        iocs(filter: $f, orderBy: $o, first: $n, after: $a) {
          edges { node { value riskScore riskLevel } } pageInfo { hasNextPage endCursor } } }`,
      { f: filter, o: orderBy, n: first, a: after },
    );
    out.push(...data.iocs.edges.map((e) => e.node));
    if (!data.iocs.pageInfo.hasNextPage) return out;
    after = data.iocs.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

const values = (rows: Listed[]) => rows.map((r) => r.value);

describe('lists after a verdict lapses, with no worker running', () => {
  let db: TestDatabase;
  let t: TestApp;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('ioc_score_lapse');
    t = await startTestApp(
      'ioc_score_lapse',
      { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '', WORKERS: 'off' },
      { database: db },
    );
    pool = testPool(db.url, { max: 2 });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await t?.stop();
    await db?.drop();
  });

  it('minScore, level and the SCORE order use the post-expiry score from the instant of expiry; a restart stores it', async () => {
    const net = freshNet();
    const [a, b, c, d, e] = [11, 12, 13, 14, 15].map((n) => `${net}${n}`) as [
      string,
      string,
      string,
      string,
      string,
    ];
    for (const f of [a, d]) fakes.abuse.setScenario(f, 'known-bad');
    expect((await lookup(t, a)).riskScore).toBe(37);
    expect((await lookup(t, b)).riskScore).toBe(0);
    expect((await lookup(t, d)).riskScore).toBe(37);
    expect((await lookup(t, e)).riskScore).toBe(0);
    // c is never looked up: no source knows it.
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const ids = new Map<string, string>();
    for (const [v, verdict, exp, score, level] of [
      [a, 'MALICIOUS', expiresAt, 90, 'CRITICAL'],
      [b, 'SUSPICIOUS', null, 50, 'HIGH'],
      [c, 'MALICIOUS', expiresAt, 90, 'CRITICAL'],
      [d, 'BENIGN', expiresAt, 10, 'LOW'],
      [e, 'MALICIOUS', null, 90, 'CRITICAL'],
    ] as const) {
      const set = await setVerdict(t, v, verdict, exp);
      expect(set).toMatchObject({ riskScore: score, riskLevel: level });
      ids.set(v, set.id);
    }
    // Ties on the score go by id, highest first, as the list's key is (score, id).
    const byId = (x: string, y: string) => (ids.get(y)! < ids.get(x)! ? -1 : 1);
    const p = { valuePrefix: net };

    expect(values(await listAll(t, p, 'SCORE', 2))).toEqual([...[a, c, e].sort(byId), b, d]);
    expect(values(await listAll(t, { ...p, level: 'LOW' }, 'FIRST_SEEN', 10))).toEqual([d]);

    await eventually(
      async () => {
        const res = await ok<{ a: { verdict: { active: boolean } }; d: { verdict: { active: boolean } } }>(
          t,
          `query($a: String!, $d: String!) { a: ioc(value: $a) { verdict { active } } d: ioc(value: $d) { verdict { active } } }`,
          { a, d },
        );
        return res.a.verdict.active || res.d.verdict.active ? undefined : true;
      },
      30_000,
      'the verdicts to lapse',
    );
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));

    // Nothing has stored the new scores yet: the rows still hold the verdicts' scores.
    const stored = await pool.query<{ value: string; risk_score: number | null }>(
      'SELECT value, risk_score FROM iocs WHERE value = ANY($1) ORDER BY value',
      [[a, c, d]],
    );
    expect(stored.rows).toEqual([
      { value: a, risk_score: 90 },
      { value: c, risk_score: 90 },
      { value: d, risk_score: 10 },
    ]);

    // Feeds and the threat events' known-IOC flag take the same scores as the lists: a
    // firewall stops blocking a and c (their MALICIOUS verdicts lapsed) at once.
    const blocklist = await fetch(new URL('/feeds/blocklist.txt?source=iocs&minScore=50', t.origin), {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(blocklist.status).toBe(200);
    const blocked = (await blocklist.text()).split('\n').filter((line) => line.startsWith(net));
    expect(blocked.sort()).toEqual([b, e].sort());
    const csv = await fetch(new URL('/feeds/iocs.csv?minScore=0', t.origin), {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    const [header, ...lines] = (await csv.text()).trim().split('\n');
    const col = (name: string) => header!.split(',').indexOf(name);
    const scoreOf = new Map(
      lines
        .map((l) => l.split(','))
        .filter((f) => f[col('value')]!.startsWith(net))
        .map((f) => [f[col('value')], `${f[col('risk_score')]} ${f[col('risk_level')]}`]),
    );
    expect(scoreOf).toEqual(
      new Map([
        [a, '37 MEDIUM'],
        [b, '50 HIGH'],
        [d, '37 MEDIUM'],
        [e, '90 CRITICAL'],
      ]),
    );
    const knownIoc = async (ip: string) =>
      (
        await ok<{ ingestThreatEvent: { knownIoc: boolean } }>(
          t,
          `mutation($ip: String!) { ingestThreatEvent(input: { sourceIp: $ip, threatType: "scan", severity: 3 }) { knownIoc } }`,
          { ip },
        )
      ).ingestThreatEvent.knownIoc;
    expect([await knownIoc(a), await knownIoc(b), await knownIoc(c), await knownIoc(e)]).toEqual([
      false,
      true,
      false,
      true,
    ]);

    const scored = await listAll(t, p, 'SCORE', 2);
    expect(values(scored)).toEqual([e, b, ...[a, d].sort(byId), c]);
    expect(scored.map((r) => [r.riskScore, r.riskLevel])).toEqual([
      [90, 'CRITICAL'],
      [50, 'HIGH'],
      [37, 'MEDIUM'],
      [37, 'MEDIUM'],
      [null, null],
    ]);
    // One page at a time crosses from the lapsed rows to the others and back.
    expect(values(await listAll(t, p, 'SCORE', 1))).toEqual(values(scored));
    expect(values(await listAll(t, p, 'SCORE', 50))).toEqual(values(scored));
    const filtered = async (f: Record<string, unknown>) =>
      values(await listAll(t, { ...p, ...f }, 'FIRST_SEEN', 10)).sort();
    expect(await filtered({ minScore: 90 })).toEqual([e]);
    expect(await filtered({ minScore: 37 })).toEqual([a, b, d, e].sort());
    expect(await filtered({ minScore: 38 })).toEqual([b, e].sort());
    expect(await filtered({ minScore: 0 })).toEqual([a, b, d, e].sort());
    expect(await filtered({ level: 'CRITICAL' })).toEqual([e]);
    expect(await filtered({ level: 'MEDIUM' })).toEqual([a, d].sort());
    expect(await filtered({ level: 'LOW' })).toEqual([]);
    expect(values(await listAll(t, { ...p, minScore: 30 }, 'SCORE', 1))).toEqual([
      e,
      b,
      ...[a, d].sort(byId),
    ]);
    const count = await ok<{ iocs: { totalCount: number } }>(
      t,
      `query($f: IocFilter) { iocs(filter: $f) { totalCount } }`,
      { f: { ...p, level: 'MEDIUM' } },
    );
    expect(count.iocs.totalCount).toBe(2);

    // A new instance on the same database stores the expired scores before it serves.
    await t.stop();
    t = await startTestApp(
      'ioc_score_lapse',
      { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '', WORKERS: 'off' },
      { database: db },
    );
    const after = await pool.query<{ value: string; risk_score: number | null; until: Date | null }>(
      'SELECT value, risk_score, score_valid_until AS until FROM iocs WHERE value = ANY($1) ORDER BY value',
      [[a, b, c, d, e]],
    );
    expect(after.rows).toEqual(
      [
        { value: a, risk_score: 37, until: null },
        { value: b, risk_score: 50, until: null },
        { value: c, risk_score: null, until: null },
        { value: d, risk_score: 37, until: null },
        { value: e, risk_score: 90, until: null },
      ].sort((x, y) => (x.value < y.value ? -1 : 1)),
    );
    expect(values(await listAll(t, p, 'SCORE', 2))).toEqual(values(scored));
  }, 90_000);
});

describe('the re-scoring worker', () => {
  it('stores the post-expiry score and a history row within seconds of the expiry', async () => {
    // The collector stays off (fakes.env): only the re-scoring worker can store it.
    const w = await startTestApp('ioc_score_lapse_worker', { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '' });
    const pool = testPool(w.databaseUrl, { max: 2 });
    try {
      const ip = `${freshNet()}21`;
      fakes.abuse.setScenario(ip, 'known-bad');
      expect((await lookup(w, ip)).riskScore).toBe(37);
      const expiresAt = new Date(Date.now() + 2_000).toISOString();
      expect((await setVerdict(w, ip, 'MALICIOUS', expiresAt)).riskScore).toBe(90);
      const storedAt = await eventually(
        async () => {
          const { rows } = await pool.query<{ risk_score: number | null }>(
            'SELECT risk_score FROM iocs WHERE value = $1',
            [ip],
          );
          return rows[0]?.risk_score === 37 ? Date.now() : undefined;
        },
        30_000,
        'the stored score',
      );
      // The worker runs every 2 s; the bound leaves room for a loaded machine.
      expect(storedAt - Date.parse(expiresAt)).toBeLessThan(10_000);
      const history = await ok<{ ioc: { history: { edges: { node: unknown }[] } } }>(
        w,
        `query($v: String!) { ioc(value: $v) { history { edges { node { score level sources } } } } }`,
        { v: ip },
      );
      const vendors = ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'];
      expect(history.ioc.history.edges.map((e) => e.node)).toEqual([
        { score: 37, level: 'MEDIUM', sources: vendors },
        { score: 90, level: 'CRITICAL', sources: [...vendors, 'ANALYST'] },
        { score: 37, level: 'MEDIUM', sources: vendors },
      ]);
    } finally {
      await pool.end();
      await w.stop();
    }
  }, 60_000);
});
