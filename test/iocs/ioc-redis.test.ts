/**
 * Two instances sharing PostgreSQL and Redis: concurrent lookups of one new value on
 * both make exactly one call per source (the Redis enrichment lock), and they share
 * one request budget per source (the Redis rate gate).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrlOrSkip } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { sourceOf, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';

const redisUrl = redisUrlOrSkip('IOC single flight and quota across instances');
let fakes: Fakes;
let db: TestDatabase;
const apps: TestApp[] = [];

describe.skipIf(!redisUrl)('IOC enrichment across instances (Redis)', () => {
  beforeAll(async () => {
    fakes = await startFakes();
    db = await createTestDatabase('ioc_redis');
    const env = {
      ...fakes.env,
      REDIS_URL: redisUrl!,
      REDIS_KEY_PREFIX: `tw-test-${randomBytes(4).toString('hex')}:`,
      VIRUSTOTAL_RATE_LIMITS: '3/600',
    };
    apps.push(await startTestApp('ioc_redis_a', env, { database: db }));
    apps.push(await startTestApp('ioc_redis_b', env, { database: db }));
  }, 60_000);

  afterAll(async () => {
    for (const a of apps) await a.stop();
    await db?.drop();
    await fakes?.close();
  });

  const lookup = async (app: TestApp, v: string) => {
    const res = await app.gql<{ lookupIoc: IocJson }>(
      `query($v: String!) { lookupIoc(value: $v) { value riskScore sources { source status deferred } } }`,
      { v },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.lookupIoc;
  };

  it('40 concurrent lookups of one new value over two instances make one call per source', async () => {
    const v = freshIoc('IPV4').value;
    for (const f of fakes.all) f.setScenario(v, 'delayed');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => lookup(apps[i % 2]!, v)));
    expect(new Set(results.map((r) => r.riskScore)).size).toBe(1);
    expect(fakes.abuse.callsFor(v)).toHaveLength(1);
    expect(fakes.otx.callsFor(v)).toHaveLength(1);
    // VirusTotal's tiny budget here is shared with the other test: it may be spent already.
    const vtDeferred = sourceOf(results[0]!, 'VIRUSTOTAL')?.deferred === true;
    expect(fakes.vt.callsFor(v)).toHaveLength(vtDeferred ? 0 : 1);
  });

  it('both instances spend one shared VirusTotal budget', async () => {
    const values = Array.from({ length: 6 }, () => freshIoc('SHA256').value);
    const before = fakes.vt.calls.length;
    const results = await Promise.all(values.map((v, i) => lookup(apps[i % 2]!, v)));
    const spent = fakes.vt.calls.length - before;
    // 3 per window across both instances, whatever other tests here already spent.
    expect(fakes.vt.calls.length).toBeLessThanOrEqual(3);
    expect(spent).toBeGreaterThan(0);
    expect(results.filter((r) => sourceOf(r, 'VIRUSTOTAL')?.deferred)).toHaveLength(values.length - spent);
  });
});
