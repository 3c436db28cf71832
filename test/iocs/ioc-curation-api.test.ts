/**
 * Analyst curation through the GraphQL API against the fake sources: verdicts that
 * override three vendors (exact scores and breakdown rows), an allowlisted CIDR capping
 * a scored IP while its neighbour outside stays scored, a verdict lapsing at its expiry,
 * the audit's exact before/after, the score history, the iocs orders, and the checks.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { eventually, startFakes, type Fakes } from './ioc-harness.js';

let fakes: Fakes;
let t: TestApp;
let analyst: { id: string; name: string; secret: string };
let reader: string;

const CURATED = `
  value riskScore riskLevel
  scoreBreakdown { source status subScore weight reliability contribution note setBy { id name } expiresAt }
  verdict { verdict note setBy { id name } expiresAt active }
  allowlistedBy { kind value }
`;

interface Row {
  source: string;
  status: string;
  subScore: number | null;
  weight: number;
  reliability: number;
  contribution: number;
  note: string;
  setBy: { id: string; name: string } | null;
  expiresAt: string | null;
}
interface CuratedIoc {
  value: string;
  riskScore: number | null;
  riskLevel: string | null;
  scoreBreakdown: Row[];
  verdict: {
    verdict: string;
    note: string;
    setBy: { id: string; name: string };
    expiresAt: string | null;
    active: boolean;
  } | null;
  allowlistedBy: { kind: string; value: string } | null;
}

beforeAll(async () => {
  fakes = await startFakes();
  // No VirusTotal budget: every lookup here asks all three vendors.
  t = await startTestApp('ioc_curation_api', { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '' });
  const make = async (name: string, role: string) => {
    const res = await t.gql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      `mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { secret apiKey { id } } }`,
      { n: name, r: role },
    );
    expect(res.errors).toBeUndefined();
    return { id: res.data!.createApiKey.apiKey.id, name, secret: res.data!.createApiKey.secret };
  };
  analyst = await make('soc-analyst', 'ANALYST');
  reader = (await make('curation-reader', 'READER')).secret;
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await fakes?.close();
});

/** A fresh /24 of its own per call: 45.a.b.0/24. */
const freshNet = (): string => `45.${randomInt(1, 255)}.${randomInt(0, 256)}`;
const knownBad = (ip: string): string => {
  for (const f of fakes.all) f.setScenario(ip, 'known-bad');
  return ip;
};

async function ok<T>(
  query: string,
  variables: Record<string, unknown> = {},
  key = analyst.secret,
): Promise<T> {
  const res = await t.gql<T>(query, variables, key);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const lookup = async (v: string) =>
  (await ok<{ lookupIoc: CuratedIoc }>(`query($v: String!) { lookupIoc(value: $v) { ${CURATED} } }`, { v }))
    .lookupIoc;
const stored = async (v: string) =>
  (await ok<{ ioc: CuratedIoc }>(`query($v: String!) { ioc(value: $v) { ${CURATED} } }`, { v })).ioc;
const setVerdict = async (v: string, verdict: string, note?: string, expiresAt?: string) =>
  (
    await ok<{ setIocVerdict: CuratedIoc }>(
      `mutation($v: String!, $d: Verdict!, $n: String, $e: DateTime) {
        setIocVerdict(value: $v, verdict: $d, note: $n, expiresAt: $e) { ${CURATED} } }`,
      { v, d: verdict, n: note, e: expiresAt },
    )
  ).setIocVerdict;

// Known-bad on all three fakes: AbuseIPDB 100; OTX 4 pulses with a malware family
// → 40 + 15·log2(4) + 10 = 80; VirusTotal (12 + 0.5·2)/90 engines > 10 % → 100.
// (0.90·100 + 0.56·80 + 0.95·100) / (0.90 + 0.56 + 0.95) = 229.8 / 2.41 = 95.35 → 95.
const KNOWN_BAD_VENDORS = [
  { source: 'ABUSEIPDB', subScore: 100, weight: 1, reliability: 0.9, contribution: 37.34 },
  { source: 'OTX', subScore: 80, weight: 0.8, reliability: 0.7, contribution: 18.59 },
  { source: 'VIRUSTOTAL', subScore: 100, weight: 1, reliability: 0.95, contribution: 39.42 },
];
// Clean on all three: every sub-score 0, so the mean is 0.
const CLEAN_VENDORS = [
  { source: 'ABUSEIPDB', subScore: 0, contribution: 0 },
  { source: 'OTX', subScore: 0, contribution: 0 },
  { source: 'VIRUSTOTAL', subScore: 0, contribution: 0 },
];

describe('analyst verdicts', () => {
  it('BENIGN caps a value three vendors call malicious at 10; clearing it restores 95; history and audit are exact', async () => {
    const ip = knownBad(`${freshNet()}.7`);
    const before = await lookup(ip);
    expect(before).toMatchObject({ riskScore: 95, riskLevel: 'CRITICAL', verdict: null });
    expect(before.scoreBreakdown).toMatchObject(KNOWN_BAD_VENDORS);

    const benign = await setVerdict(ip, 'BENIGN', 'our VPN exit');
    expect(benign).toMatchObject({ riskScore: 10, riskLevel: 'LOW' });
    expect(benign.verdict).toEqual({
      verdict: 'BENIGN',
      note: 'our VPN exit',
      setBy: { id: analyst.id, name: 'soc-analyst' },
      expiresAt: null,
      active: true,
    });
    expect(benign.scoreBreakdown).toHaveLength(4);
    expect(benign.scoreBreakdown.slice(0, 3)).toMatchObject(KNOWN_BAD_VENDORS);
    const row = benign.scoreBreakdown[3]!;
    expect(row).toMatchObject({
      source: 'ANALYST',
      status: 'OK',
      subScore: 10,
      weight: 1,
      reliability: 1,
      contribution: 0,
      setBy: { id: analyst.id, name: 'soc-analyst' },
      expiresAt: null,
    });
    expect(row.note).toMatch(
      new RegExp(
        `^analyst verdict BENIGN set by "soc-analyst" \\(key ${analyst.id}\\) at \\S+Z: fused score capped at 10$`,
      ),
    );
    // Served from the store the same way.
    expect(await stored(ip)).toMatchObject({ riskScore: 10, riskLevel: 'LOW' });

    const cleared = await ok<{ clearIocVerdict: CuratedIoc }>(
      `mutation($v: String!) { clearIocVerdict(value: $v) { ${CURATED} } }`,
      { v: ip },
    );
    expect(cleared.clearIocVerdict).toMatchObject({ riskScore: 95, riskLevel: 'CRITICAL', verdict: null });
    expect(cleared.clearIocVerdict.scoreBreakdown).toHaveLength(3);

    const history = await ok<{ ioc: { history: { totalCount: number; edges: { node: unknown }[] } } }>(
      `query($v: String!) { ioc(value: $v) { history { totalCount edges { node { score level sources } } } } }`,
      { v: ip },
    );
    expect(history.ioc.history.totalCount).toBe(3);
    expect(history.ioc.history.edges.map((e) => e.node)).toEqual([
      { score: 95, level: 'CRITICAL', sources: ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'] },
      { score: 10, level: 'LOW', sources: ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL', 'ANALYST'] },
      { score: 95, level: 'CRITICAL', sources: ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'] },
    ]);

    const audit = await ok<{
      curationChanges: { totalCount: number; edges: { node: Record<string, unknown> }[] };
    }>(
      `query($s: String!) { curationChanges(subject: $s) { totalCount
        edges { node { kind action subject before after actor { id name } at } } } }`,
      { s: ip },
    );
    expect(audit.curationChanges.totalCount).toBe(2);
    const [clear, set] = audit.curationChanges.edges.map((e) => e.node);
    const verdictJson = {
      verdict: 'BENIGN',
      note: 'our VPN exit',
      setAt: expect.stringMatching(/Z$/) as unknown,
      expiresAt: null,
      setBy: { id: analyst.id, name: 'soc-analyst' },
    };
    expect(set).toMatchObject({
      kind: 'VERDICT',
      action: 'SET',
      subject: ip,
      before: null,
      after: verdictJson,
    });
    expect(clear).toMatchObject({
      kind: 'VERDICT',
      action: 'CLEAR',
      subject: ip,
      before: verdictJson,
      after: null,
    });
    expect((clear!.before as { setAt: string }).setAt).toBe((set!.after as { setAt: string }).setAt);
    expect(clear!.actor).toEqual({ id: analyst.id, name: 'soc-analyst' });
  });

  it('MALICIOUS floors a value three vendors call clean at 90, also before any lookup', async () => {
    const ip = `${freshNet()}.9`;
    const set = await setVerdict(ip, 'MALICIOUS', 'confirmed C2');
    // Never enriched: no vendor rows yet, the verdict alone gives 90.
    expect(set).toMatchObject({ riskScore: 90, riskLevel: 'CRITICAL' });
    expect(set.scoreBreakdown.map((r) => r.source)).toEqual(['ANALYST']);
    const looked = await lookup(ip);
    expect(looked).toMatchObject({ riskScore: 90, riskLevel: 'CRITICAL' });
    expect(looked.scoreBreakdown).toMatchObject([
      ...CLEAN_VENDORS,
      { source: 'ANALYST', subScore: 90, contribution: 0, setBy: { id: analyst.id, name: 'soc-analyst' } },
    ]);
    expect(looked.scoreBreakdown[3]!.note).toMatch(/: fused score at least 90$/);
  });

  it('a verdict stops counting once it expires', async () => {
    const ip = `${freshNet()}.11`;
    expect(await lookup(ip)).toMatchObject({ riskScore: 0, riskLevel: 'LOW' });
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const set = await setVerdict(ip, 'SUSPICIOUS', '', expiresAt);
    expect(set).toMatchObject({ riskScore: 50, riskLevel: 'HIGH' });
    expect(set.verdict).toMatchObject({ verdict: 'SUSPICIOUS', expiresAt, active: true });
    expect(set.scoreBreakdown[3]).toMatchObject({ source: 'ANALYST', subScore: 50, expiresAt });
    const lapsed = await eventually(
      async () => {
        const ioc = await stored(ip);
        return ioc.verdict?.active === false ? ioc : undefined;
      },
      30_000,
      'the verdict to lapse',
    );
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(lapsed).toMatchObject({ riskScore: 0, riskLevel: 'LOW' });
    expect(lapsed.scoreBreakdown.map((r) => r.source)).toEqual(['ABUSEIPDB', 'OTX', 'VIRUSTOTAL']);
  });

  it('a READER cannot set or clear verdicts nor change the allowlist', async () => {
    const ip = `${freshNet()}.13`;
    for (const [query, variables] of [
      [`mutation($v: String!) { setIocVerdict(value: $v, verdict: MALICIOUS) { value } }`, { v: ip }],
      [`mutation($v: String!) { clearIocVerdict(value: $v) { value } }`, { v: ip }],
      [`mutation($v: String!) { addAllowlistEntry(value: $v) { id } }`, { v: `${freshNet()}.0/24` }],
      [`mutation($v: String!) { removeAllowlistEntry(value: $v) }`, { v: `${freshNet()}.0/24` }],
    ] as const) {
      const res = await t.gql(query, variables, reader);
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const audit = await ok<{ curationChanges: { totalCount: number } }>(
      `query($s: String!) { curationChanges(subject: $s) { totalCount } }`,
      { s: ip },
      reader,
    );
    expect(audit.curationChanges.totalCount).toBe(0);
  });

  it('refuses bad input with BAD_USER_INPUT and a message saying what is wrong', async () => {
    const ip = `${freshNet()}.15`;
    const year = new Date().getUTCFullYear();
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        `setIocVerdict(value: $v, verdict: BENIGN, note: $n)`,
        { v: ip, n: 'x'.repeat(1001) },
        /note is 1001 characters long; at most 1000/,
      ],
      [
        `setIocVerdict(value: $v, verdict: BENIGN, note: $n)`,
        { v: ip, n: 'a\u0000b' },
        /note must not contain NUL/,
      ],
      [
        `setIocVerdict(value: $v, verdict: BENIGN, expiresAt: $e)`,
        { v: ip, e: '2020-01-01T00:00:00Z' },
        /expiresAt 2020-01-01T00:00:00.000Z is not in the future/,
      ],
      [
        `setIocVerdict(value: $v, verdict: BENIGN, expiresAt: $e)`,
        { v: ip, e: `${year + 20}-01-01T00:00:00Z` },
        /expiresAt is more than 1830 days ahead/,
      ],
      [`setIocVerdict(value: $v, verdict: BENIGN)`, { v: 'not an ioc!' }, /./],
      [`addAllowlistEntry(value: $v)`, { v: '10.0.0.300/8' }, /is not a CIDR block/],
      [`addAllowlistEntry(value: $v)`, { v: '10.1.2.3/8' }, /has host bits set: the block is 10\.0\.0\.0\/8/],
      [`addAllowlistEntry(value: $v)`, { v: '0.0.0.0/0' }, /wider than \/8/],
      [`addAllowlistEntry(value: $v)`, { v: 'com' }, /neither a CIDR block nor a domain suffix/],
      [
        `addAllowlistEntry(value: $v, note: $n)`,
        { v: 'corp.example.net', n: 'x\u0000' },
        /note must not contain NUL/,
      ],
    ];
    for (const [field, variables, message] of cases) {
      const decl = Object.keys(variables)
        .map((k) => `$${k}: ${k === 'e' ? 'DateTime' : k === 'v' ? 'String!' : 'String'}`)
        .join(', ');
      const res = await t.gql(`mutation(${decl}) { ${field} { __typename } }`, variables, analyst.secret);
      expect(res.errors?.[0]?.extensions?.code, field).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(message);
    }
    expect(await stored(ip)).toBeNull();
  });
});

describe('allowlist', () => {
  it('an allowlisted CIDR caps a scored IP inside it at 10, not the one just outside; removing it restores the score', async () => {
    const net = freshNet();
    const [a, b] = net.split('.').slice(1).map(Number) as [number, number];
    const inside = knownBad(`${net}.255`);
    const outside = knownBad(`45.${a}.${(b + 1) % 256}.0`);
    expect((await lookup(inside)).riskScore).toBe(95);
    expect((await lookup(outside)).riskScore).toBe(95);

    const added = await ok<{
      addAllowlistEntry: { kind: string; value: string; note: string; createdBy: unknown };
    }>(
      `mutation($v: String!) { addAllowlistEntry(value: $v, note: "office network") { kind value note createdBy { id name } } }`,
      { v: `${net}.0/24` },
    );
    expect(added.addAllowlistEntry).toEqual({
      kind: 'CIDR',
      value: `${net}.0/24`,
      note: 'office network',
      createdBy: { id: analyst.id, name: 'soc-analyst' },
    });
    const capped = await stored(inside);
    expect(capped).toMatchObject({
      riskScore: 10,
      riskLevel: 'LOW',
      allowlistedBy: { kind: 'CIDR', value: `${net}.0/24` },
    });
    expect(capped.scoreBreakdown).toMatchObject([
      ...KNOWN_BAD_VENDORS,
      { source: 'ALLOWLIST', subScore: 10, contribution: 0, setBy: { id: analyst.id, name: 'soc-analyst' } },
    ]);
    expect(capped.scoreBreakdown[3]!.note).toMatch(
      new RegExp(
        `^covered by allowlist entry ${net.replace(/\./g, '\\.')}\\.0/24 added by "soc-analyst" .*: fused score capped at 10$`,
      ),
    );
    expect(await stored(outside)).toMatchObject({ riskScore: 95, allowlistedBy: null });
    // A new address in the block is capped on its first lookup.
    expect(await lookup(knownBad(`${net}.1`))).toMatchObject({ riskScore: 10, riskLevel: 'LOW' });

    // An IOC's own verdict wins over the range.
    expect(await setVerdict(inside, 'MALICIOUS')).toMatchObject({ riskScore: 95, riskLevel: 'CRITICAL' });
    await ok(`mutation($v: String!) { clearIocVerdict(value: $v) { value } }`, { v: inside });
    // 95 → 10 (entry added) → 95 (MALICIOUS over it) → 10 (cleared): the overridden entry did not count.
    const history = await ok<{ ioc: { history: { edges: { node: unknown }[] } } }>(
      `query($v: String!) { ioc(value: $v) { history { edges { node { score level sources } } } } }`,
      { v: inside },
    );
    const vendors = ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'];
    expect(history.ioc.history.edges.map((e) => e.node)).toEqual([
      { score: 10, level: 'LOW', sources: [...vendors, 'ALLOWLIST'] },
      { score: 95, level: 'CRITICAL', sources: [...vendors, 'ANALYST'] },
      { score: 10, level: 'LOW', sources: [...vendors, 'ALLOWLIST'] },
      { score: 95, level: 'CRITICAL', sources: vendors },
    ]);

    const removed = await ok<{ removeAllowlistEntry: boolean }>(
      `mutation($v: String!) { removeAllowlistEntry(value: $v) }`,
      { v: `${net}.0/24` },
    );
    expect(removed.removeAllowlistEntry).toBe(true);
    expect(await stored(inside)).toMatchObject({ riskScore: 95, riskLevel: 'CRITICAL', allowlistedBy: null });

    const audit = await ok<{ curationChanges: { edges: { node: Record<string, unknown> }[] } }>(
      `query($s: String!) { curationChanges(subject: $s) { edges { node { kind action before after actor { name } } } } }`,
      { s: `${net}.0/24` },
    );
    const entry = { kind: 'CIDR', value: `${net}.0/24`, note: 'office network' };
    expect(audit.curationChanges.edges.map((e) => e.node)).toEqual([
      { kind: 'ALLOWLIST', action: 'REMOVE', before: entry, after: null, actor: { name: 'soc-analyst' } },
      { kind: 'ALLOWLIST', action: 'ADD', before: null, after: entry, actor: { name: 'soc-analyst' } },
    ]);
  });

  it('a domain suffix covers the domain and the names below it, not look-alike neighbours', async () => {
    const base = `corp-${randomInt(1e9)}.net`;
    for (const d of [base, `vpn.${base}`, `x${base}`])
      for (const f of fakes.all) f.setScenario(d, 'known-bad');
    await ok(`mutation($v: String!) { addAllowlistEntry(value: $v) { id } }`, { v: `*.${base}` });
    const list = await ok<{ allowlist: { value: string; kind: string }[] }>(
      `query { allowlist { value kind } }`,
    );
    expect(list.allowlist).toContainEqual({ value: base, kind: 'DOMAIN' });
    expect((await lookup(base)).riskScore).toBe(10);
    expect((await lookup(`vpn.${base}`)).riskScore).toBe(10);
    expect((await lookup(`x${base}`)).riskScore).not.toBe(10);
  });
});

describe('iocs orders', () => {
  it('sorts by score (unscored last), last enrichment and last sighting, with cursors that page in that order', async () => {
    const net = freshNet();
    const bad = knownBad(`${net}.1`);
    const clean = `${net}.2`;
    const unscored = `${net}.3`;
    await lookup(clean);
    await lookup(bad);
    await ok(`mutation($v: [String!]!) { watchIocs(values: $v) { value } }`, { v: [unscored] });
    const page = async (orderBy: string, after?: string) =>
      (
        await ok<{
          iocs: {
            edges: { node: { value: string } }[];
            pageInfo: { endCursor: string; hasNextPage: boolean };
          };
        }>(
          `query($p: String!, $o: IocOrder!, $a: String) {
            iocs(filter: { valuePrefix: $p }, orderBy: $o, first: 2, after: $a) {
              edges { node { value } } pageInfo { endCursor hasNextPage } } }`,
          { p: `${net}.`, o: orderBy, a: after },
        )
      ).iocs;
    // Sightings: a threat event from `clean` an hour ago, from `unscored` a minute ago;
    // none from `bad`.
    const now = Date.now();
    const ingested = await ok<{ ingestThreatEvents: { accepted: number } }>(
      `mutation($in: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $in) { accepted } }`,
      {
        in: [
          {
            sourceIp: clean,
            threatType: 'scan',
            severity: 3,
            occurredAt: new Date(now - 3_600_000).toISOString(),
          },
          {
            sourceIp: unscored,
            threatType: 'scan',
            severity: 3,
            occurredAt: new Date(now - 60_000).toISOString(),
          },
        ],
      },
    );
    expect(ingested.ingestThreatEvents.accepted).toBe(2);
    for (const [order, expected] of [
      ['SCORE', [bad, clean, unscored]],
      ['LAST_ENRICHED', [bad, clean, unscored]],
      ['LAST_SIGHTING', [unscored, clean, bad]],
      ['FIRST_SEEN', [unscored, bad, clean]],
    ] as const) {
      const first = await page(order);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = await page(order, first.pageInfo.endCursor);
      expect(second.pageInfo.hasNextPage).toBe(false);
      expect(
        [...first.edges, ...second.edges].map((e) => e.node.value),
        order,
      ).toEqual(expected);
    }
  });
});

describe('a lapsed verdict with the collector running', () => {
  it('the collector comes back at expiresAt and stores the vendors’ score again, with a history row', async () => {
    const c = await startTestApp('ioc_curation_collector', {
      ...fakes.env,
      VIRUSTOTAL_RATE_LIMITS: '',
      IOC_COLLECTOR_ENABLED: 'true',
      IOC_COLLECTOR_INTERVAL_MS: '200',
    });
    try {
      const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
        const res = await c.gql<T>(query, variables);
        expect(res.errors).toBeUndefined();
        return res.data!;
      };
      const ip = `${freshNet()}.21`;
      await gql(`query($v: String!) { lookupIoc(value: $v) { riskScore } }`, { v: ip });
      const expiresAt = new Date(Date.now() + 2_000).toISOString();
      await gql(
        `mutation($v: String!, $e: DateTime) { setIocVerdict(value: $v, verdict: MALICIOUS, expiresAt: $e) { riskScore } }`,
        { v: ip, e: expiresAt },
      );
      // minScore follows the expiry at once (ioc-score-lapse-api.test.ts), so it says
      // nothing about the stored score; the history row comes from the re-scoring worker
      // or the collector, whichever is first: wait for that row.
      const highCount = async () =>
        (
          await gql<{ iocs: { totalCount: number } }>(
            `query($p: String!) { iocs(filter: { valuePrefix: $p, minScore: 50 }) { totalCount } }`,
            { p: ip },
          )
        ).iocs.totalCount;
      expect(await highCount()).toBe(1);
      const readHistory = () =>
        gql<{ ioc: { history: { edges: { node: unknown }[] } } }>(
          `query($v: String!) { ioc(value: $v) { history { edges { node { score level sources } } } } }`,
          { v: ip },
        );
      const history = await eventually(
        async () => {
          const h = await readHistory();
          return h.ioc.history.edges.length >= 3 ? h : undefined;
        },
        30_000,
        'the history row of the lapsed verdict',
      );
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
      expect(await highCount()).toBe(0);
      const vendors = ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'];
      expect(history.ioc.history.edges.map((e) => e.node)).toEqual([
        { score: 0, level: 'LOW', sources: vendors },
        { score: 90, level: 'CRITICAL', sources: [...vendors, 'ANALYST'] },
        { score: 0, level: 'LOW', sources: vendors },
      ]);
    } finally {
      await c.stop();
    }
  }, 60_000);
});
