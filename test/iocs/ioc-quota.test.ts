/**
 * VirusTotal's public budget (4 requests per window; the window is shortened here):
 * a burst of 20 enrichments spends at most the budget, reports the rest as deferred —
 * not failed — and the collector finishes them in later windows without ever asking
 * VirusTotal twice for one IOC. Uses the Redis-backed gate when REDIS_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { redisUrlOrSkip } from '../helpers/services.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { IOC_FIELDS, eventually, sourceOf, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';

const WINDOW_SECONDS = 3;
let fakes: Fakes;
let t: TestApp;

beforeAll(async () => {
  fakes = await startFakes();
  const redisUrl = redisUrlOrSkip('IOC quota shared through Redis (falls back to the memory gate)');
  t = await startTestApp('ioc_quota', {
    ...fakes.env,
    VIRUSTOTAL_RATE_LIMITS: `4/${WINDOW_SECONDS}`,
    IOC_COLLECTOR_ENABLED: 'true',
    IOC_COLLECTOR_INTERVAL_MS: '300',
    ...(redisUrl
      ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `tw-test-${randomBytes(4).toString('hex')}:` }
      : {}),
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await fakes?.close();
});

it('spends at most 4 VirusTotal calls on 20 IOCs, defers the rest, and the collector finishes them', async () => {
  const values = Array.from({ length: 20 }, () => freshIoc('IPV4').value);
  const results = await Promise.all(
    values.map(async (v) => {
      const res = await t.gql<{ enrichIoc: IocJson }>(
        `mutation($v: String!) { enrichIoc(value: $v) { ${IOC_FIELDS} } }`,
        { v },
      );
      expect(res.errors).toBeUndefined();
      return res.data!.enrichIoc;
    }),
  );
  const spent = fakes.vt.calls.length;
  expect(spent).toBeGreaterThan(0);
  expect(spent).toBeLessThanOrEqual(4);
  const vt = results.map((r) => sourceOf(r, 'VIRUSTOTAL')!);
  expect(vt.filter((s) => s.status === 'ERROR')).toEqual([]);
  const deferred = results.filter((r) => sourceOf(r, 'VIRUSTOTAL')!.deferred);
  expect(deferred).toHaveLength(20 - spent);
  for (const r of deferred) {
    const s = sourceOf(r, 'VIRUSTOTAL')!;
    expect(s).toMatchObject({ status: 'SKIPPED', errorKind: 'QUOTA_DEFERRED' });
    expect(Date.parse(s.retryAt!)).toBeGreaterThan(Date.now() - 1000);
    expect(r.nextEnrichAt).not.toBeNull();
    // The other sources answered: a deferred source does not hold the verdict back.
    expect(sourceOf(r, 'ABUSEIPDB')?.status).toBe('OK');
  }

  await eventually(
    async () => {
      const res = await t.gql<{ iocs: { edges: { node: IocJson }[] } }>(
        `query { iocs(first: 100, filter: { type: IPV4 }) { edges { node { value sources { source status } } } } }`,
      );
      const done = res.data!.iocs.edges.filter((e) => sourceOf(e.node, 'VIRUSTOTAL')?.status === 'OK');
      return done.length >= 20 ? true : undefined;
    },
    60_000,
    'the collector to finish the deferred VirusTotal lookups',
  );
  expect(fakes.vt.calls).toHaveLength(20);
  for (const v of values) expect(fakes.vt.callsFor(v), v).toHaveLength(1);
  const health = await t.gql<{ health: { sources: { name: string; remainingQuota: number }[] } }>(
    '{ health { sources { name remainingQuota } } }',
  );
  const remaining = health.data!.health.sources.find((s) => s.name === 'VIRUSTOTAL')!.remainingQuota;
  expect(remaining).toBeGreaterThanOrEqual(0);
  expect(remaining).toBeLessThanOrEqual(4);
}, 90_000);
