import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrlOrSkip } from '../helpers/services.js';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { isCI } from '../helpers/services.js';
import { startFakes, type Fakes } from '../iocs/ioc-harness.js';
import { freshIoc } from '../iocs/ioc-samples.js';

const sharedRedis = redisUrlOrSkip('two instances sharing Redis');

describe.runIf(sharedRedis)('two instances on one database and one Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('two_instances');
    const env = { REDIS_URL: sharedRedis!, REDIS_KEY_PREFIX: `tw-${Date.now()}:` };
    [a, b] = await Promise.all([
      startTestApp('a', env, { database: db }),
      startTestApp('b', env, { database: db }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('both run their cache, event bus and rate limiter on Redis', async () => {
    const health = await a.gql<{ health: { redis: string; components: { name: string; mode: string }[] } }>(
      '{ health { redis components { name mode } } }',
    );
    expect(health.data?.health.redis).toBe('UP');
    expect(a.app.modes.eventBus).toBe('redis');
    expect(b.app.modes.rateLimit).toBe('redis');
  });

  it('a key revoked through instance A stops working on instance B at once', async () => {
    const created = await a.gql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      'mutation { createApiKey(name: "cross", role: READER) { secret apiKey { id } } }',
    );
    const { secret, apiKey } = created.data!.createApiKey;
    expect((await b.gql('{ viewer { id } }', undefined, secret)).status).toBe(200); // now cached on B
    await a.gql('mutation($id: ID!) { revokeApiKey(id: $id) }', { id: apiKey.id });
    await new Promise((r) => setTimeout(r, 200));
    expect((await b.gql('{ viewer { id } }', undefined, secret)).status).toBe(401);
  });
});

const canRunPrivate = privateRedisAvailable();
if (!canRunPrivate && isCI) throw new Error('CI=true but redis-server is not installed');

describe.runIf(canRunPrivate)('Redis outage', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let fakes: Fakes;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    fakes = await startFakes();
    t = await startTestApp('redis_outage', { REDIS_URL: redis.url, ...fakes.env });
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
    await fakes?.close();
  });

  it('keeps serving requests and subscriptions when Redis dies; readiness reports it', async () => {
    expect((await t.gql('{ __typename }')).status).toBe(200);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) {
      const res = await t.gql<{ health: { status: string; redis: string } }>('{ health { status redis } }');
      expect(res.status).toBe(200);
      expect(res.data?.health.redis).toBe('DOWN');
    }
    const ready = await fetch(`${t.origin}/readyz`);
    expect(ready.status).toBe(503);
    const ticks = await collect(t.ws(), 'subscription { heartbeat(intervalSeconds: 1) }', 1).done;
    expect(ticks).toHaveLength(1);
    // Source budgets fall back to per-instance limits instead of failing lookups.
    const lookup = await t.gql<{ lookupIoc: { sources: { source: string; status: string }[] } }>(
      'query($v: String!) { lookupIoc(value: $v) { sources { source status } } }',
      { v: freshIoc('IPV4').value },
    );
    expect(lookup.errors, JSON.stringify(lookup.errors)).toBeUndefined();
    expect(lookup.data?.lookupIoc.sources.every((s) => s.status === 'OK')).toBe(true);
  });
});
