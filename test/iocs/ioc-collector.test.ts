/**
 * Two instances on one database run the collector at once: every due IOC is enriched
 * exactly once (FOR UPDATE SKIP LOCKED plus a lease), with no Redis coordination.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { eventually, sourceOf, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';

let fakes: Fakes;
let db: TestDatabase;
const apps: TestApp[] = [];

beforeAll(async () => {
  fakes = await startFakes();
  // Slow answers make the two collectors' passes overlap.
  for (const f of fakes.all) f.defaultScenario = 'delayed';
  db = await createTestDatabase('ioc_collector');
  const env = {
    ...fakes.env,
    ABUSEIPDB_RATE_LIMITS: '',
    VIRUSTOTAL_RATE_LIMITS: '',
    IOC_COLLECTOR_ENABLED: 'true',
    IOC_COLLECTOR_INTERVAL_MS: '200',
    IOC_COLLECTOR_BATCH_SIZE: '4',
  };
  apps.push(await startTestApp('ioc_collector_a', env, { database: db }));
  apps.push(await startTestApp('ioc_collector_b', env, { database: db }));
}, 60_000);

afterAll(async () => {
  for (const a of apps) await a.stop();
  await db?.drop();
  await fakes?.close();
});

it('enriches each watched IOC once with two collectors on one database', async () => {
  const values = [
    ...Array.from({ length: 16 }, () => freshIoc('IPV4').value),
    ...Array.from({ length: 8 }, () => freshIoc('DOMAIN').value),
  ];
  const watched = await apps[0]!.gql<{ watchIocs: { id: string }[] }>(
    `mutation($vs: [String!]!) { watchIocs(values: $vs) { id } }`,
    { vs: values },
  );
  expect(watched.errors).toBeUndefined();

  const done = await eventually(
    async () => {
      const res = await apps[1]!.gql<{ iocs: { edges: { node: IocJson }[] } }>(
        `query { iocs(first: 100, filter: { watched: true }) { edges { node {
           value lastEnrichedAt nextEnrichAt sources { source status } } } } }`,
      );
      const nodes = res.data!.iocs.edges.map((e) => e.node);
      return nodes.length === values.length && nodes.every((n) => n.lastEnrichedAt !== null)
        ? nodes
        : undefined;
    },
    60_000,
    'both collectors to enrich every watched IOC',
  );
  for (const n of done) {
    expect(sourceOf(n, 'OTX')?.status).toBe('OK');
    // Watched: back when the first result goes stale (24 h by default), not before.
    expect(Date.parse(n.nextEnrichAt!)).toBeGreaterThan(Date.now() + 3_600_000);
  }
  // Give a racing second pass the chance to show up before counting.
  await new Promise((r) => setTimeout(r, 500));
  for (const v of values) {
    expect(fakes.otx.callsFor(v), `OTX ${v}`).toHaveLength(1);
    expect(fakes.vt.callsFor(v), `VT ${v}`).toHaveLength(1);
    expect(fakes.abuse.callsFor(v), `AbuseIPDB ${v}`).toHaveLength(v.includes('.') && /^\d/.test(v) ? 1 : 0);
  }
}, 90_000);
