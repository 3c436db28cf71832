import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { isCI, redisUrlOrSkip } from '../helpers/services.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { keyNames, socketWithSubscription, WAIT } from './key-sockets.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { metric, rawWs } from '../server/raw-ws.js';

/**
 * A revoked key loses an open WebSocket: the socket closes with 4403, its subscription
 * ends, and an operation sent after the revocation does not run. The key cache is made
 * to last ten minutes here, so only the revocation itself (never an expiring cache
 * entry) can close the socket within the wait.
 */
const LONG_CACHE = { AUTH_KEY_CACHE_TTL_MS: '600000' };
const NO_POLL = { ...LONG_CACHE, AUTH_REVOCATION_POLL_MS: '600000' };
const CREATE_ADMIN = 'mutation($n: String!) { createApiKey(name: $n, role: ADMIN) { secret apiKey { id } } }';
const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) }';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

async function adminKey(t: TestApp, name: string) {
  const res = await t.gql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_ADMIN, {
    n: name,
  });
  return { secret: res.data!.createApiKey.secret, id: res.data!.createApiKey.apiKey.id };
}

describe('revoking a key closes its open sockets', () => {
  it('on the instance that revoked it: 4403, the subscription ends, a later mutation does not run', async () => {
    const t = await startTestApp('revoke_ws', NO_POLL);
    stops.push(() => t.stop());
    const victim = await adminKey(t, 'victim');
    const subsBefore = await metric(t.origin, 'threatwire_ws_subscriptions');
    const s = await socketWithSubscription(t, victim.secret);
    expect(await metric(t.origin, 'threatwire_ws_subscriptions')).toBe(subsBefore + 1);

    expect((await t.gql(REVOKE, { id: victim.id })).data).toEqual({ revokeApiKey: true });
    // Sent after the revocation answered, on the same socket, with the revoked ADMIN key.
    s.subscribe('mint', 'mutation { createApiKey(name: "minted", role: ADMIN) { secret } }');
    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close.code).toBe(4403);
    expect(s.of('mint', 'next')).toEqual([]);
    expect(await keyNames(t)).toEqual(['admin (ADMIN_API_KEY)', 'victim']);
    await vi.waitFor(
      async () => expect(await metric(t.origin, 'threatwire_ws_subscriptions')).toBe(subsBefore),
      WAIT,
    );
    // A new socket with the key is refused.
    const again = await rawWs(t.wsUrl, victim.secret);
    expect((await again.closed).code).toBe(4403);
  });

  const sharedRedis = redisUrlOrSkip('revocation across two instances');
  it.runIf(sharedRedis)('on another instance sharing PostgreSQL and Redis (through the bus)', async () => {
    const db = await createTestDatabase('revoke_two');
    stops.push(() => db.drop());
    const env = { ...NO_POLL, REDIS_URL: sharedRedis!, REDIS_KEY_PREFIX: `tw-rv-${Date.now()}:` };
    const a = await startTestApp('a', env, { database: db });
    stops.push(() => a.stop());
    const b = await startTestApp('b', env, { database: db });
    stops.push(() => b.stop());
    const victim = await adminKey(a, 'victim');
    const s = await socketWithSubscription(b, victim.secret);
    expect((await b.gql('{ viewer { name } }', undefined, victim.secret)).status).toBe(200);

    expect((await a.gql(REVOKE, { id: victim.id })).data).toEqual({ revokeApiKey: true });
    s.subscribe('mint', 'mutation { createApiKey(name: "minted", role: ADMIN) { secret } }');
    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close.code).toBe(4403);
    // Each instance inserted its own ADMIN_API_KEY; nothing was minted.
    expect(await keyNames(a)).toEqual(['admin (ADMIN_API_KEY)', 'admin (ADMIN_API_KEY)', 'victim']);
    expect((await b.gql('{ viewer { name } }', undefined, victim.secret)).status).toBe(401);
  });
});

describe('open sockets re-check their key when its cache entry expires', () => {
  // No bus message and no poll: only the re-check can notice these changes.
  const env = { AUTH_KEY_CACHE_TTL_MS: '300', AUTH_REVOCATION_POLL_MS: '600000' };
  const sql = async (url: string, text: string, values: unknown[]) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(text, values);
    } finally {
      await client.end();
    }
  };

  it('a revocation written straight to PostgreSQL closes the socket with 4403', async () => {
    const t = await startTestApp('recheck_revoked', env);
    stops.push(() => t.stop());
    const victim = await adminKey(t, 'victim');
    const s = await socketWithSubscription(t, victim.secret);
    await sql(t.databaseUrl, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1', [victim.id]);
    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close).toEqual({ code: 4403, reason: 'This API key has been revoked' });
  });

  it('a role changed in PostgreSQL closes the socket with 4403; a new socket gets the new role', async () => {
    const t = await startTestApp('recheck_role', env);
    stops.push(() => t.stop());
    const victim = await adminKey(t, 'victim');
    const s = await socketWithSubscription(t, victim.secret);
    await sql(t.databaseUrl, "UPDATE api_keys SET role = 'READER' WHERE id = $1", [victim.id]);
    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close).toEqual({ code: 4403, reason: 'API key changed' });
    // Reconnecting works, with the new role.
    const again = await rawWs(t.wsUrl, victim.secret);
    await vi.waitFor(() => expect(again.acked()).toBe(true), WAIT);
    again.subscribe('mint', 'mutation { createApiKey(name: "minted", role: ADMIN) { secret } }');
    const answer = await vi.waitFor(
      () => again.of('mint')[0] ?? Promise.reject(new Error('no answer')),
      WAIT,
    );
    expect(JSON.stringify(answer.payload)).toContain('FORBIDDEN');
    again.ws.close();
  });
});

const canRunPrivate = privateRedisAvailable();
if (!canRunPrivate && isCI) throw new Error('CI=true but redis-server is not installed');

describe.runIf(canRunPrivate)('revocation while Redis is down', () => {
  it('answers true, and the other instance stops accepting the key (HTTP and WS) by its poll', async () => {
    const redis: PrivateRedis = await startPrivateRedis();
    stops.push(() => redis.stop());
    const db = await createTestDatabase('revoke_redis_down');
    stops.push(() => db.drop());
    const env = { ...LONG_CACHE, AUTH_REVOCATION_POLL_MS: '500', REDIS_URL: redis.url };
    const a = await startTestApp('a', env, { database: db });
    stops.push(() => a.stop());
    const b = await startTestApp('b', env, { database: db });
    stops.push(() => b.stop());
    const victim = await adminKey(a, 'victim');
    const s = await socketWithSubscription(b, victim.secret);
    expect((await b.gql('{ viewer { name } }', undefined, victim.secret)).status).toBe(200); // cached on B

    await redis.stop();
    const revoked = await a.gql(REVOKE, { id: victim.id });
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data).toEqual({ revokeApiKey: true });

    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close.code).toBe(4403);
    expect((await b.gql('{ viewer { name } }', undefined, victim.secret)).status).toBe(401);
    const again = await rawWs(b.wsUrl, victim.secret);
    expect((await again.closed).code).toBe(4403);
  });
});
