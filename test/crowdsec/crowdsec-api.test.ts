import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { agentAlert, agentClient, eventually, lapiEnv } from './crowdsec-fixtures.js';

const INTERVAL = 400;
const bins = lapiOrSkip('CrowdSec API tests');
let lapi: Lapi;
let t: TestApp;

beforeAll(async () => {
  if (!bins) return;
  lapi = await startLapi();
  t = await startTestApp('crowdsec_api', lapiEnv(lapi, INTERVAL));
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await lapi?.stop();
});

const DECISION_FIELDS =
  'id crowdsecId origin type scope value scenario active expiresAt deletedAt geo { countryCode countryName }';
interface Decision {
  id: string;
  crowdsecId: number;
  value: string;
  active: boolean;
  origin: string;
  scenario: string;
  expiresAt: string;
  deletedAt: string | null;
  geo: { countryCode: string | null; countryName: string | null } | null;
}

async function decisionsFor(value: string) {
  const res = await t.gql<{ decisions: { totalCount: number; edges: { node: Decision }[] } }>(
    `query($v: String) { decisions(filter: { value: $v }) { totalCount edges { node { ${DECISION_FIELDS} } } } }`,
    { v: value },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.decisions.edges.map((e) => e.node);
}

describe.skipIf(!bins)('CrowdSec decisions through the API', () => {
  it('cscli decisions add reaches a decisionAdded subscriber within two poll intervals, stored and geolocated', async () => {
    // Let the startup snapshot run first, so the timing measures a delta.
    await eventually(
      async () =>
        (
          await t.gql<{ health: { crowdsec: { decisions: { lastSuccessAt: string | null } } } }>(
            '{ health { crowdsec { decisions { lastSuccessAt } } } }',
          )
        ).data?.health.crowdsec.decisions.lastSuccessAt,
      10_000,
      'first decisions poll',
    );
    const ws = t.ws();
    const sub = collect<{ decisionAdded: Decision }>(
      ws,
      `subscription { decisionAdded(filter: { value: "1.1.1.1" }) { ${DECISION_FIELDS} } }`,
      1,
    );
    await new Promise((r) => setTimeout(r, 300)); // subscription registered
    await lapi.cscli(['decisions', 'add', '--ip', '1.1.1.1', '--duration', '4h', '--reason', 'test ban']);
    const added = Date.now();
    const [event] = await sub.done;
    expect(Date.now() - added).toBeLessThan(2 * INTERVAL + 1_500); // two intervals + cscli/transport slack
    expect(event!.decisionAdded).toMatchObject({
      value: '1.1.1.1',
      origin: 'cscli',
      scenario: 'test ban',
      active: true,
    });
    expect(event!.decisionAdded.geo?.countryCode).toMatch(/^[A-Z]{2}$/);
    const expires = Date.parse(event!.decisionAdded.expiresAt) - Date.now();
    expect(expires).toBeGreaterThan(3.9 * 3600_000);
    expect(expires).toBeLessThanOrEqual(4 * 3600_000);

    const stored = await decisionsFor('1.1.1.1');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.geo?.countryName).toBeTruthy();
  });

  it('cscli decisions delete produces decisionDeleted and marks the decision inactive', async () => {
    const ws = t.ws();
    const sub = collect<{ decisionDeleted: Decision }>(
      ws,
      `subscription { decisionDeleted(filter: { value: "1.1.1.1" }) { ${DECISION_FIELDS} } }`,
      1,
    );
    await new Promise((r) => setTimeout(r, 300));
    await lapi.cscli(['decisions', 'delete', '--ip', '1.1.1.1']);
    const [event] = await sub.done;
    expect(event!.decisionDeleted).toMatchObject({ value: '1.1.1.1', active: false });
    expect(event!.decisionDeleted.deletedAt).toBeTruthy();
    const active = await t.gql<{ decisions: { totalCount: number } }>(
      '{ decisions(filter: { value: "1.1.1.1", activeOnly: true }) { totalCount } }',
    );
    expect(active.data?.decisions.totalCount).toBe(0);
  });

  it('banIp shows up in cscli decisions list; deleteDecision removes it', async () => {
    const res = await t.gql<{ banIp: Decision }>(
      `mutation { banIp(value: "8.8.4.4", duration: "2h", reason: "manual ban from threatwire") { ${DECISION_FIELDS} } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.banIp).toMatchObject({
      value: '8.8.4.4',
      active: true,
      scenario: 'manual ban from threatwire',
    });
    const listed = JSON.stringify(
      JSON.parse((await lapi.cscli(['decisions', 'list', '-o', 'json'])) || 'null'),
    );
    expect(listed).toContain('8.8.4.4');

    const del = await t.gql<{ deleteDecision: boolean }>('mutation($id: ID!) { deleteDecision(id: $id) }', {
      id: res.data!.banIp.id,
    });
    expect(del.errors).toBeUndefined();
    expect(del.data?.deleteDecision).toBe(true);
    const after = (await lapi.cscli(['decisions', 'list', '-o', 'json'])).trim();
    expect(after === 'null' ? '' : after).not.toContain('8.8.4.4');
    const [stored] = await decisionsFor('8.8.4.4');
    expect(stored?.active).toBe(false);
  });

  it('banIp refuses a bad value, scope or duration with BAD_USER_INPUT', async () => {
    const cases = [
      { value: 'not-an-ip', duration: '4h', scope: 'Ip' },
      { value: '10.0.0.0/33', duration: '4h', scope: 'Range' },
      { value: '8.8.8.8', duration: '4x', scope: 'Ip' },
      { value: '8.8.8.8', duration: '-1h', scope: 'Ip' },
      { value: '8.8.8.8', duration: '4h', scope: 'Country' },
    ];
    for (const c of cases) {
      const res = await t.gql(
        'mutation($v: String!, $d: String!, $s: String) { banIp(value: $v, duration: $d, reason: "x", scope: $s) { id } }',
        { v: c.value, d: c.duration, s: c.scope },
      );
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(c)).toBe('BAD_USER_INPUT');
    }
  });

  it('deleteDecision of an unknown id is NOT_FOUND; a READER may not ban (FORBIDDEN)', async () => {
    const res = await t.gql('mutation { deleteDecision(id: "987654321") }');
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const key = await t.gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(name: "r", role: READER) { secret } }',
    );
    const ban = await t.gql(
      'mutation { banIp(value: "9.9.9.9", duration: "1h", reason: "r") { id } }',
      undefined,
      key.data!.createApiKey.secret,
    );
    expect(ban.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe.skipIf(!bins)('CrowdSec alerts and statistics through the API', () => {
  const agentAlerts = [
    {
      scenario: 'crowdsecurity/ssh-bf',
      ip: '45.155.205.10',
      cn: 'DE',
      asNumber: '3320',
      asName: 'Deutsche Telekom AG',
      latitude: 52.52,
      longitude: 13.4,
      ban: '4h',
      minutesAgo: 90,
    },
    {
      scenario: 'crowdsecurity/ssh-bf',
      ip: '45.155.205.10',
      cn: 'DE',
      asNumber: '3320',
      asName: 'Deutsche Telekom AG',
      latitude: 52.52,
      longitude: 13.4,
      minutesAgo: 5,
    },
    { scenario: 'crowdsecurity/http-probing', ip: '8.8.8.8', minutesAgo: 30 },
    { scenario: 'crowdsecurity/CVE-2021-41773', ip: '103.145.13.7', cn: 'VN', ban: '4h', minutesAgo: 2 },
  ];

  it('stores posted alerts and publishes alertCreated for each', async () => {
    const ws = t.ws();
    // Every alertCreated until the agent's alerts are all in: the same poll may also bring
    // alerts that earlier tests made (e.g. the manual ban's), in any order around them.
    const seen: string[] = [];
    const stop = ws.subscribe<{ alertCreated: { scenario: string } }>(
      { query: 'subscription { alertCreated { scenario sourceValue } }' },
      {
        next: (v) => void (v.data && seen.push(v.data.alertCreated.scenario)),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    const ids = await agentClient(lapi).postAlerts(agentAlerts.map(agentAlert));
    expect(ids).toHaveLength(agentAlerts.length);
    const expected = agentAlerts.map((a) => a.scenario).sort();
    const agents = () => seen.filter((s) => expected.includes(s)).sort();
    await eventually(
      () => Promise.resolve(agents().length >= expected.length),
      10_000,
      'alertCreated for each alert',
    );
    stop();
    expect(agents()).toEqual(expected); // each once

    type Node = Record<string, unknown> & { scenario: string; decisions: unknown[] };
    const list = async () => {
      const res = await t.gql<{ alerts: { edges: { node: Node }[] } }>(
        `{ alerts(first: 20) { totalCount edges { node { scenario sourceValue eventsCount startAt
            geo { countryCode asn asOrg latitude approximate } decisions { value type active } } } } }`,
      );
      expect(res.errors).toBeUndefined();
      return res.data!.alerts.edges.map((e) => e.node);
    };
    // The linked decision arrives through the bouncer stream, possibly a poll later.
    const nodes = await eventually(
      async () => {
        const n = await list();
        return n.some((x) => x.scenario === 'crowdsecurity/ssh-bf' && x.decisions.length === 1) && n;
      },
      5_000,
      'the ssh-bf alert with its decision',
    );
    const ssh = nodes.find((n) => n.scenario === 'crowdsecurity/ssh-bf' && n.decisions.length === 1);
    expect(ssh).toMatchObject({
      sourceValue: '45.155.205.10',
      geo: {
        countryCode: 'DE',
        asn: 3320,
        asOrg: 'Deutsche Telekom AG',
        latitude: 52.52,
        approximate: false,
      },
    });
    const probing = nodes.find((n) => n.scenario === 'crowdsecurity/http-probing');
    expect(probing?.decisions).toEqual([]); // kept without decisions
    expect((probing?.geo as { countryCode: string }).countryCode).toMatch(/^[A-Z]{2}$/); // from our GeoIP
    const filtered = await t.gql<{ alerts: { totalCount: number } }>(
      '{ alerts(filter: { scenario: "crowdsecurity/ssh-bf", countryCode: "DE" }) { totalCount } }',
    );
    expect(filtered.data?.alerts.totalCount).toBe(2);
  });

  it('shows the alerts in topScenarios, topAttackers, countryStats, statsSummary and timeSeries', async () => {
    const since = new Date(Date.now() - 3 * 3600_000).toISOString();
    const res = await t.gql<{
      topScenarios: { scenario: string; alerts: number }[];
      topAttackers: { value: string; alerts: number; geo: { countryCode: string } }[];
      countryStats: { countryCode: string; countryName: string; alerts: number }[];
      statsSummary: { alerts: number; attackers: number; scenarios: number };
      timeSeries: { start: string; alerts: number }[];
    }>(
      `query($s: DateTime) { topScenarios(since: $s) { scenario alerts attackers }
        topAttackers(since: $s) { value alerts scenarios geo { countryCode } }
        countryStats(since: $s) { countryCode countryName alerts decisions activeDecisions }
        statsSummary(since: $s) { alerts decisions activeDecisions attackers scenarios countries }
        timeSeries(bucket: HOUR, since: $s) { start alerts decisions } }`,
      { s: since },
    );
    expect(res.errors).toBeUndefined();
    const d = res.data!;
    expect(d.topScenarios[0]).toMatchObject({ scenario: 'crowdsecurity/ssh-bf', alerts: 2 });
    expect(d.topScenarios.map((s) => s.scenario)).toContain('crowdsecurity/CVE-2021-41773');
    expect(d.topAttackers[0]).toMatchObject({
      value: '45.155.205.10',
      alerts: 2,
      geo: { countryCode: 'DE' },
    });
    const de = d.countryStats.find((c) => c.countryCode === 'DE');
    expect(de).toMatchObject({ alerts: 2, countryName: 'Germany' });
    expect(d.countryStats.find((c) => c.countryCode === 'VN')?.alerts).toBe(1);
    // Earlier tests' manual bans (cscli, banIp) are alerts too.
    const all = await t.gql<{ alerts: { totalCount: number } }>(
      'query($s: DateTime) { alerts(filter: { since: $s }) { totalCount } }',
      { s: since },
    );
    const total = all.data!.alerts.totalCount;
    expect(total).toBeGreaterThanOrEqual(4);
    expect(d.statsSummary.alerts).toBe(total);
    expect(d.statsSummary.attackers).toBeGreaterThanOrEqual(3);
    expect(d.statsSummary.scenarios).toBeGreaterThanOrEqual(3);
    expect(d.timeSeries.length).toBeGreaterThanOrEqual(3);
    expect(d.timeSeries.reduce((n, b) => n + b.alerts, 0)).toBe(total);
    expect(d.timeSeries.some((b) => b.alerts === 0)).toBe(true); // zero-filled
  });

  it('reports health.crowdsec with recent successful polls', async () => {
    const res = await t.gql<{ health: { status: string; crowdsec: Record<string, unknown> } }>(
      '{ health { status crowdsec { configured status lagSeconds lastError decisions { lastSuccessAt consecutiveFailures } alerts { lastSuccessAt } } } }',
    );
    expect(res.data?.health.crowdsec).toMatchObject({ configured: true, status: 'UP', lastError: null });
    expect(res.data?.health.crowdsec.lagSeconds as number).toBeLessThan(10);
  });

  it('syncCrowdsec pulls now and reports counts', async () => {
    // An instance of its own whose pollers run once at start and then not for an hour, on
    // a bouncer key of its own: whatever the LAPI has new is for this sync alone.
    const bouncerKey = randomBytes(16).toString('hex');
    await lapi.cscli(['bouncers', 'add', `tw-sync-${randomBytes(3).toString('hex')}`, '-k', bouncerKey]);
    const own = await startTestApp('crowdsec_sync', lapiEnv({ ...lapi, bouncerKey }, 3_600_000));
    try {
      await eventually(
        async () => {
          const h = await own.gql<{ health: { crowdsec: { decisions: { lastSuccessAt: string | null } } } }>(
            '{ health { crowdsec { decisions { lastSuccessAt } alerts { lastSuccessAt } } } }',
          );
          return h.data?.health.crowdsec.decisions.lastSuccessAt;
        },
        10_000,
        'the first polls',
      );
      const ip = '9.9.9.9';
      await lapi.cscli(['decisions', 'add', '--ip', ip, '--duration', '1h', '--reason', 'sync test']);
      const res = await own.gql<{
        syncCrowdsec: { decisionsAdded: number; decisionsDeleted: number; snapshot: boolean };
      }>('mutation { syncCrowdsec { decisionsAdded decisionsDeleted snapshot } }');
      expect(res.errors).toBeUndefined();
      expect(res.data?.syncCrowdsec).toEqual({ decisionsAdded: 1, decisionsDeleted: 0, snapshot: false });
      const stored = await own.gql<{ decisions: { totalCount: number } }>(
        'query($v: String) { decisions(filter: { value: $v }) { totalCount } }',
        { v: ip },
      );
      expect(stored.data?.decisions.totalCount).toBe(1);
    } finally {
      await own.stop();
    }
  });
});
