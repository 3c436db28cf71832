import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
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

/** Every result of `subscription` on a socket of its own, as it arrives. */
function listen<T>(app: TestApp, query: string) {
  const received: T[] = [];
  const client = app.ws();
  const stop = client.subscribe<T>(
    { query },
    {
      next: (v) => void (v.data && received.push(v.data)),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  return { received, stop: () => (stop(), void client.dispose()) };
}

/**
 * Adds probe decisions (then, for a decisionDeleted subscription, deletes each once it is
 * stored) until `seen` reports one: the subscription is live.
 */
async function waitLive(seen: () => string[], prefix: string, kind: 'added' | 'deleted') {
  for (let i = 1; i < 50; i++) {
    const ip = `${prefix}.${i}`;
    await lapi.cscli(['decisions', 'add', '--ip', ip, '--duration', '1h', '--reason', 'probe']);
    if (kind === 'deleted') {
      await eventually(async () => (await decisionsFor(ip)).length === 1, 10_000, 'the probe stored');
      await lapi.cscli(['decisions', 'delete', '--ip', ip]);
    }
    try {
      await eventually(() => Promise.resolve(seen().includes(ip)), 2_000, 'probe');
      return;
    } catch {
      // not live yet
    }
  }
  throw new Error(`the decision${kind === 'added' ? 'Added' : 'Deleted'} subscription never became live`);
}

describe.skipIf(!bins)('CrowdSec decisions through the API', () => {
  it('cscli decisions add reaches a decisionAdded subscriber, stored and geolocated', async () => {
    const sub = listen<{ decisionAdded: Decision }>(
      t,
      `subscription { decisionAdded { ${DECISION_FIELDS} } }`,
    );
    await waitLive(() => sub.received.map((e) => e.decisionAdded.value), '1.0.1', 'added');
    await lapi.cscli(['decisions', 'add', '--ip', '1.1.1.1', '--duration', '4h', '--reason', 'test ban']);
    // The poller runs every 400 ms; the bound only catches a poller that stopped.
    const event = await eventually(
      () => Promise.resolve(sub.received.find((e) => e.decisionAdded.value === '1.1.1.1')),
      10_000,
      'decisionAdded for 1.1.1.1',
    );
    sub.stop();
    expect(sub.received.filter((e) => e.decisionAdded.value === '1.1.1.1')).toHaveLength(1);
    expect(event.decisionAdded).toMatchObject({
      value: '1.1.1.1',
      origin: 'cscli',
      scenario: 'test ban',
      active: true,
    });
    expect(event.decisionAdded.geo?.countryCode).toMatch(/^[A-Z]{2}$/);
    const expires = Date.parse(event.decisionAdded.expiresAt) - Date.now();
    expect(expires).toBeGreaterThan(3.9 * 3600_000);
    expect(expires).toBeLessThanOrEqual(4 * 3600_000);

    const stored = await decisionsFor('1.1.1.1');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.geo?.countryName).toBeTruthy();
  });

  it('cscli decisions delete produces decisionDeleted and marks the decision inactive', async () => {
    const ip = '1.0.0.1';
    await lapi.cscli(['decisions', 'add', '--ip', ip, '--duration', '4h', '--reason', 'to delete']);
    await eventually(async () => (await decisionsFor(ip)).length === 1, 10_000, 'the decision stored');
    const sub = listen<{ decisionDeleted: Decision }>(
      t,
      `subscription { decisionDeleted { ${DECISION_FIELDS} } }`,
    );
    await waitLive(() => sub.received.map((e) => e.decisionDeleted.value), '1.0.2', 'deleted');
    await lapi.cscli(['decisions', 'delete', '--ip', ip]);
    const event = await eventually(
      () => Promise.resolve(sub.received.find((e) => e.decisionDeleted.value === ip)),
      10_000,
      `decisionDeleted for ${ip}`,
    );
    sub.stop();
    expect(event.decisionDeleted).toMatchObject({ value: ip, active: false, scenario: 'to delete' });
    expect(event.decisionDeleted.deletedAt).toBeTruthy();
    const active = await t.gql<{ decisions: { totalCount: number } }>(
      'query($v: String) { decisions(filter: { value: $v, activeOnly: true }) { totalCount } }',
      { v: ip },
    );
    expect(active.data?.decisions.totalCount).toBe(0);
    expect(await decisionsFor(ip)).toHaveLength(1); // kept, inactive
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
    // Every alertCreated: the agent's alerts arrive among probes and other tests' bans.
    const sub = listen<{ alertCreated: { scenario: string } }>(
      t,
      'subscription { alertCreated { scenario sourceValue } }',
    );
    const seen = () => sub.received.map((e) => e.alertCreated.scenario);
    const agent = agentClient(lapi);
    // Live once a probe alert comes through.
    for (let i = 0; !seen().includes('test/probe'); i++) {
      if (i === 50) throw new Error('the alertCreated subscription never became live');
      await agent.postAlerts([agentAlert({ scenario: 'test/probe', ip: `1.0.3.${i + 1}` })]);
      await eventually(() => Promise.resolve(seen().includes('test/probe')), 2_000, 'probe').catch(
        () => undefined,
      );
    }
    const ids = await agent.postAlerts(agentAlerts.map(agentAlert));
    expect(ids).toHaveLength(agentAlerts.length);
    const expected = agentAlerts.map((a) => a.scenario).sort();
    const agents = () =>
      seen()
        .filter((s) => expected.includes(s))
        .sort();
    await eventually(
      () => Promise.resolve(agents().length >= expected.length),
      10_000,
      'alertCreated for each alert',
    );
    sub.stop();
    expect(agents()).toEqual(expected); // each once

    type Node = Record<string, unknown> & { scenario: string; decisions: unknown[] };
    const list = async (scenario: string) => {
      const res = await t.gql<{ alerts: { edges: { node: Node }[] } }>(
        `query($s: String) { alerts(first: 20, filter: { scenario: $s }) { edges { node { scenario sourceValue
            eventsCount startAt geo { countryCode asn asOrg latitude approximate } decisions { value type active } } } } }`,
        { s: scenario },
      );
      expect(res.errors).toBeUndefined();
      return res.data!.alerts.edges.map((e) => e.node);
    };
    // The linked decision arrives through the bouncer stream, possibly a poll later.
    const ssh = await eventually(
      async () => (await list('crowdsecurity/ssh-bf')).find((x) => x.decisions.length === 1),
      5_000,
      'the ssh-bf alert with its decision',
    );
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
    const [probing, ...more] = await list('crowdsecurity/http-probing');
    expect(more).toEqual([]);
    expect(probing?.decisions).toEqual([]); // kept without decisions
    expect((probing?.geo as { countryCode: string }).countryCode).toMatch(/^[A-Z]{2}$/); // from our GeoIP
    const filtered = await t.gql<{ alerts: { totalCount: number } }>(
      '{ alerts(filter: { scenario: "crowdsecurity/ssh-bf", countryCode: "DE" }) { totalCount } }',
    );
    expect(filtered.data?.alerts.totalCount).toBe(2);
  });

  it('shows the alerts in topScenarios, topAttackers, countryStats, statsSummary and timeSeries', async () => {
    // A LAPI and an instance of its own: these four alerts are all there is to count.
    const ownLapi = await startLapi();
    const own = await startTestApp('crowdsec_stats', lapiEnv(ownLapi, INTERVAL));
    try {
      await agentClient(ownLapi).postAlerts(agentAlerts.map(agentAlert));
      const since = new Date(Date.now() - 3 * 3600_000).toISOString();
      const QUERY = `query($s: DateTime) { topScenarios(since: $s) { scenario alerts attackers }
        topAttackers(since: $s) { value alerts scenarios geo { countryCode } }
        countryStats(since: $s) { countryCode countryName alerts }
        statsSummary(since: $s) { alerts attackers scenarios countries }
        timeSeries(bucket: HOUR, since: $s) { start alerts } }`;
      type Stats = {
        topScenarios: { scenario: string; alerts: number; attackers: number }[];
        topAttackers: { value: string; alerts: number; scenarios: number; geo: { countryCode: string } }[];
        countryStats: { countryCode: string; countryName: string; alerts: number }[];
        statsSummary: { alerts: number; attackers: number; scenarios: number; countries: number };
        timeSeries: { start: string; alerts: number }[];
      };
      // Wait on the uncached alert list: the rankings are cached for a short while, and
      // asking them before the alerts are in would cache an empty answer.
      await eventually(
        async () => {
          const res = await own.gql<{ alerts: { totalCount: number } }>(
            'query($s: DateTime) { alerts(filter: { since: $s }) { totalCount } }',
            { s: since },
          );
          return res.data?.alerts.totalCount === 4;
        },
        10_000,
        'the four alerts polled',
      );
      const res = await own.gql<Stats>(QUERY, { s: since });
      expect(res.errors).toBeUndefined();
      const d = res.data!;
      // ssh-bf twice from one address (DE), http-probing once (8.8.8.8, country from our
      // GeoIP), CVE once (VN).
      expect(d.topScenarios[0]).toEqual({ scenario: 'crowdsecurity/ssh-bf', alerts: 2, attackers: 1 });
      expect(d.topScenarios.slice(1).sort((a, b) => a.scenario.localeCompare(b.scenario))).toEqual([
        { scenario: 'crowdsecurity/CVE-2021-41773', alerts: 1, attackers: 1 },
        { scenario: 'crowdsecurity/http-probing', alerts: 1, attackers: 1 },
      ]);
      expect(d.topAttackers[0]).toEqual({
        value: '45.155.205.10',
        alerts: 2,
        scenarios: 1,
        geo: { countryCode: 'DE' },
      });
      expect(d.topAttackers.map((a) => a.value).sort()).toEqual(['103.145.13.7', '45.155.205.10', '8.8.8.8']);
      expect(d.countryStats.find((c) => c.countryCode === 'DE')).toEqual({
        countryCode: 'DE',
        countryName: 'Germany',
        alerts: 2,
      });
      expect(d.countryStats.find((c) => c.countryCode === 'VN')?.alerts).toBe(1);
      expect(d.countryStats.reduce((n, c) => n + c.alerts, 0)).toBe(4);
      expect(d.statsSummary).toEqual({
        alerts: 4,
        attackers: 3,
        scenarios: 3,
        countries: d.countryStats.length,
      });
      // The alerts started 90, 30, 5 and 2 minutes ago: at least three hourly buckets,
      // zero-filled, summing to 4.
      expect(d.timeSeries.length).toBeGreaterThanOrEqual(3);
      expect(d.timeSeries.reduce((n, b) => n + b.alerts, 0)).toBe(4);
      expect(d.timeSeries.some((b) => b.alerts === 0)).toBe(true);
    } finally {
      await own.stop();
      await ownLapi.stop();
    }
  });

  it('reports health.crowdsec with recent successful polls', async () => {
    type Health = {
      health: {
        status: string;
        crowdsec: Record<string, unknown> & {
          lagSeconds: number;
          decisions: { lastSuccessAt: string | null };
          alerts: { lastSuccessAt: string | null };
        };
      };
    };
    const HEALTH =
      '{ health { status crowdsec { configured status lagSeconds lastError decisions { lastSuccessAt consecutiveFailures } alerts { lastSuccessAt } } } }';
    // Both pollers have run at least once (this test may be the first one in the file).
    const res = await eventually(
      async () => {
        const r = await t.gql<Health>(HEALTH);
        const cs = r.data!.health.crowdsec;
        return cs.decisions.lastSuccessAt !== null && cs.alerts.lastSuccessAt !== null && r;
      },
      10_000,
      'the first polls',
    );
    expect(res.data?.health.crowdsec).toMatchObject({
      configured: true,
      status: 'UP',
      lastError: null,
      decisions: { consecutiveFailures: 0 },
    });
    // Polled every 400 ms: a lag of 10 s means the poller stopped.
    expect(res.data?.health.crowdsec.lagSeconds).toBeLessThan(10);
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
