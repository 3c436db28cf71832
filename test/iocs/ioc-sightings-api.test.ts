/**
 * Where an IOC was seen, through the GraphQL API: `Ioc.sightings` counted from threat
 * events ingested with ingestThreatEvents and from alerts and decisions of a real
 * CrowdSec LAPI, and the way back (`ThreatEvent.ioc`, `Alert.ioc`), batched: a page of
 * 50 events costs one IOC query, counted on the driver.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { agentAlert, agentClient, eventually, lapiEnv } from '../crowdsec/crowdsec-fixtures.js';
import { freshIoc } from './ioc-samples.js';
import { statementsDuring } from '../helpers/statements.js';

const bins = lapiOrSkip('IOC sightings from CrowdSec');
let lapi: Lapi | undefined;
let t: TestApp;

beforeAll(async () => {
  lapi = bins ? await startLapi() : undefined;
  t = await startTestApp('ioc_sightings', {
    IOC_COLLECTOR_ENABLED: 'false',
    ...(lapi ? lapiEnv(lapi, 400) : {}),
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await lapi?.stop();
});

interface Count {
  count: number;
  countCapped: boolean;
  latestAt: string | null;
  latestIds: string[];
}
interface Sightings {
  threatEvents: Count;
  alerts: Count;
  decisions: Count;
}

const COUNT = 'count countCapped latestAt latestIds';
const SIGHTINGS = `sightings { threatEvents { ${COUNT} } alerts { ${COUNT} } decisions { ${COUNT} } }`;
const NONE: Count = { count: 0, countCapped: false, latestAt: null, latestIds: [] };

async function ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await t.gql<T>(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const watch = (values: string[]) =>
  ok(`mutation($v: [String!]!) { watchIocs(values: $v) { value } }`, { v: values });

async function sightingsOf(value: string): Promise<Sightings> {
  const data = await ok<{ ioc: { sightings: Sightings } }>(
    `query($v: String!) { ioc(value: $v) { ${SIGHTINGS} } }`,
    { v: value },
  );
  return data.ioc.sightings;
}

async function ingest(events: Record<string, unknown>[]): Promise<void> {
  const data = await ok<{ ingestThreatEvents: { accepted: number; errors: unknown[] } }>(
    `mutation($in: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $in) { accepted errors { index message } } }`,
    { in: events },
  );
  expect(data.ingestThreatEvents).toEqual({ accepted: events.length, errors: [] });
}

const HOUR = 3_600_000;

describe('Ioc.sightings from threat events', () => {
  it('counts the events from an IP, with the newest time and ids newest first; other IOCs see none', async () => {
    const ip = freshIoc('IPV4').value;
    const other = freshIoc('IPV4').value;
    const domain = freshIoc('DOMAIN').value;
    const hash = freshIoc('SHA256').value;
    const tag = randomBytes(4).toString('hex');
    // Fixed past times, sent out of order: the newest is e2 (1 h ago), then e3, then e1.
    const base = Math.floor(Date.now() / HOUR) * HOUR;
    const at = { e1: base - 5 * HOUR, e2: base - HOUR, e3: base - 3 * HOUR };
    await ingest([
      ...Object.entries(at).map(([name, ms]) => ({
        externalId: `${tag}-${name}`,
        sourceIp: ip,
        threatType: 'ssh-bruteforce',
        severity: 5,
        occurredAt: new Date(ms).toISOString(),
      })),
      { externalId: `${tag}-other`, sourceIp: other, threatType: 'scan', severity: 3 },
    ]);
    await watch([ip, domain, hash]);

    const events = await ok<{ threatEvents: { edges: { node: { id: string; externalId: string } }[] } }>(
      `query($ip: String!) { threatEvents(filter: { sourceIp: $ip }) { edges { node { id externalId } } } }`,
      { ip },
    );
    const idOf = new Map(events.threatEvents.edges.map((e) => [e.node.externalId, e.node.id]));
    expect(await sightingsOf(ip)).toEqual({
      threatEvents: {
        count: 3,
        countCapped: false,
        latestAt: new Date(at.e2).toISOString(),
        latestIds: [`${tag}-e2`, `${tag}-e3`, `${tag}-e1`].map((x) => idOf.get(x)),
      },
      alerts: NONE,
      decisions: NONE,
    });
    // Threat events carry no domain; hashes are never a source.
    expect(await sightingsOf(domain)).toEqual({ threatEvents: NONE, alerts: NONE, decisions: NONE });
    expect(await sightingsOf(hash)).toEqual({ threatEvents: NONE, alerts: NONE, decisions: NONE });
  });

  it('ThreatEvent.ioc on a page of 50 events costs one IOC query; Ioc.sightings on a page costs one', async () => {
    const threatType = `sightings-${randomBytes(4).toString('hex')}`;
    const ips = Array.from({ length: 50 }, () => freshIoc('IPV4').value);
    expect(new Set(ips).size).toBe(50);
    const stored = ips.filter((_, i) => i % 2 === 0); // 25 stored IOCs, 25 addresses never looked up
    await ingest(ips.map((sourceIp) => ({ sourceIp, threatType, severity: 4 })));
    await watch(stored);

    let page: { threatEvents: { edges: { node: { sourceIp: string; ioc: { value: string } | null } }[] } };
    const texts = await statementsDuring(async () => {
      page = await ok(
        `query($tt: String!) { threatEvents(first: 50, filter: { threatType: $tt }) {
          edges { node { sourceIp ioc { value type watched } } } } }`,
        { tt: threatType },
      );
    });
    const nodes = page!.threatEvents.edges.map((e) => e.node);
    expect(nodes).toHaveLength(50);
    const storedSet = new Set(stored);
    for (const n of nodes)
      expect(n.ioc).toEqual(
        storedSet.has(n.sourceIp) ? { value: n.sourceIp, type: 'IPV4', watched: true } : null,
      );
    expect(nodes.filter((n) => n.ioc !== null)).toHaveLength(25);
    expect(texts.filter((q) => /\bFROM iocs\b/.test(q))).toHaveLength(1);

    // The other way: the 25 stored IOCs' sightings in one statement, one event each.
    let iocs: {
      iocs: { edges: { node: { value: string; sightings: { threatEvents: { count: number } } } }[] };
    };
    const sightingTexts = await statementsDuring(async () => {
      iocs = await ok(
        `query { iocs(first: 500, filter: { watched: true, type: IPV4 }) {
          edges { node { value sightings { threatEvents { count } } } } } }`,
      );
    });
    const counts = new Map(iocs!.iocs.edges.map((e) => [e.node.value, e.node.sightings.threatEvents.count]));
    for (const ip of stored) expect(counts.get(ip)).toBe(1);
    expect(sightingTexts.filter((q) => /\bFROM threat_events\b/.test(q))).toHaveLength(1);
  });
});

describe.skipIf(!bins)('Ioc.sightings from a real CrowdSec LAPI', () => {
  it('counts an alert whose source is a domain (a custom scope) for the domain IOC', async () => {
    const domain = freshIoc('DOMAIN').value;
    const alert = agentAlert({ scenario: 'custom/phishing-domain', ip: '1.1.1.1', minutesAgo: 15 });
    alert.source = { scope: 'Domain', value: domain };
    await agentClient(lapi!).postAlerts([alert]);
    await watch([domain]);
    const id = await eventually(
      async () => {
        const d = await ok<{ alerts: { edges: { node: { id: string; ioc: { value: string } | null } }[] } }>(
          `query($v: String!) { alerts(filter: { ip: $v }) { edges { node { id ioc { value } } } } }`,
          { v: domain },
        );
        return d.alerts.edges[0]?.node.ioc?.value === domain ? d.alerts.edges[0].node.id : undefined;
      },
      20_000,
      'the domain alert stored',
    );
    expect(await sightingsOf(domain)).toEqual({
      threatEvents: NONE,
      alerts: {
        count: 1,
        countCapped: false,
        latestAt: new Date(alert.start_at).toISOString(),
        latestIds: [id],
      },
      decisions: NONE,
    });
  });

  it('counts the alerts and decisions whose source is the IP, with the newest; Alert.ioc resolves back', async () => {
    const ip = freshIoc('IPV4').value;
    const agent = agentClient(lapi!);
    const older = agentAlert({ scenario: 'crowdsecurity/ssh-bf', ip, minutesAgo: 40, ban: '4h' });
    const newer = agentAlert({ scenario: 'crowdsecurity/http-probing', ip, minutesAgo: 10 });
    // A range alert names the address only as its source IP: a sighting too, and the newest.
    const range = `${ip.split('.').slice(0, 3).join('.')}.0/24`;
    const ranged = agentAlert({ scenario: 'crowdsecurity/http-crawl-non_statics', ip, minutesAgo: 5 });
    ranged.source = { ...ranged.source, scope: 'Range', value: range, range };
    const unrelated = agentAlert({ scenario: 'crowdsecurity/ssh-bf', ip: freshIoc('IPV4').value, ban: '1h' });
    await agent.postAlerts([older, newer, ranged, unrelated]);
    await watch([ip]);

    // Three alerts and the one decision the older one carried, once the pollers stored them.
    // (cscli's own bans are left out: cscli wraps each in an alert of its own, and the
    // bouncer stream hands out one decision per value.)
    const listed = await eventually(
      async () => {
        const d = await ok<{
          alerts: { edges: { node: { id: string; startAt: string; ioc: { value: string } | null } }[] };
          decisions: { edges: { node: { id: string; createdAt: string } }[] };
        }>(
          `query($ip: String!) {
            alerts(filter: { ip: $ip }) { edges { node { id startAt ioc { value } } } }
            decisions(filter: { value: $ip }) { edges { node { id createdAt } } }
          }`,
          { ip },
        );
        return d.alerts.edges.length === 3 && d.decisions.edges.length === 1 ? d : undefined;
      },
      20_000,
      'three alerts and one decision stored',
    );
    const alerts = listed.alerts.edges.map((e) => e.node);
    expect(alerts.map((a) => a.ioc)).toEqual([{ value: ip }, { value: ip }, { value: ip }]);
    const byStart = new Map(alerts.map((a) => [a.startAt, a.id]));
    const rangedStart = new Date(ranged.start_at).toISOString();
    const newerStart = new Date(newer.start_at).toISOString();
    const olderStart = new Date(older.start_at).toISOString();
    const decision = listed.decisions.edges[0]!.node;

    expect(await sightingsOf(ip)).toEqual({
      threatEvents: NONE,
      alerts: {
        count: 3,
        countCapped: false,
        latestAt: rangedStart,
        latestIds: [byStart.get(rangedStart), byStart.get(newerStart), byStart.get(olderStart)],
      },
      decisions: { count: 1, countCapped: false, latestAt: decision.createdAt, latestIds: [decision.id] },
    });
  });
});
