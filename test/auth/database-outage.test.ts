import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { startPgProxy, type PgProxy } from '../server/pg-proxy.js';
import { metric, rawWs } from '../server/raw-ws.js';

/**
 * PostgreSQL unreachable (the proxy in front of it cut) with key cache entries that
 * expire after 200 ms: a key verified successfully before the outage keeps working
 * (so `health` answers and reports the database DOWN), a key never verified answers
 * UPSTREAM_UNAVAILABLE with HTTP 503 and Retry-After, a key known to be revoked stays
 * refused.
 */
const WAIT = { timeout: 15_000, interval: 100 };
const CREATE = 'mutation($n: String!) { createApiKey(name: $n, role: READER) { secret apiKey { id } } }';
const HEALTH = '{ health { database } }';

let proxy: PgProxy;
let t: TestApp;
const keys = { unused: '', revoked: '' };

beforeAll(async () => {
  proxy = await startPgProxy(await createTestDatabase('auth_db_outage'));
  t = await startTestApp('auth_db_outage', { AUTH_KEY_CACHE_TTL_MS: '200' }, { database: proxy.database });
  type Created = { createApiKey: { secret: string; apiKey: { id: string } } };
  keys.unused = (await t.gql<Created>(CREATE, { n: 'never used' })).data!.createApiKey.secret;
  const revoked = (await t.gql<Created>(CREATE, { n: 'revoked' })).data!.createApiKey;
  keys.revoked = revoked.secret;
  expect((await t.gql(HEALTH, undefined, keys.revoked)).status).toBe(200); // verified once…
  await t.gql('mutation($id: ID!) { revokeApiKey(id: $id) }', { id: revoked.apiKey.id }); // …then revoked
  expect((await t.gql(HEALTH)).status).toBe(200); // the admin key verified before the outage
});
afterAll(async () => {
  await proxy?.restore().catch(() => undefined);
  await t?.stop();
  await proxy?.close();
  await proxy?.database.drop();
});

describe('API keys while PostgreSQL is unreachable', () => {
  it('serves recently verified keys, answers 503 for others, never serves a revoked key', async () => {
    const staleBefore = await metric(t.origin, 'threatwire_auth_checks_total{outcome="stale"}');
    await proxy.cut();
    // The admin key's cache entry expires within 200 ms; from then on it is served stale.
    await vi.waitFor(async () => {
      const res = await t.gql<{ health: { database: string } }>(HEALTH);
      expect(res.status).toBe(200);
      expect(res.data?.health.database).toBe('DOWN');
      expect(await metric(t.origin, 'threatwire_auth_checks_total{outcome="stale"}')).toBeGreaterThan(
        staleBefore,
      );
    }, WAIT);

    const unused = await t.gql(HEALTH, undefined, keys.unused);
    expect(unused.status).toBe(503);
    expect(unused.headers.get('retry-after')).toBe('5');
    expect(unused.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAVAILABLE']);

    const unknown = await t.gql(HEALTH, undefined, `tw_${randomBytes(32).toString('base64url')}`);
    expect(unknown.status).toBe(503);
    expect(unknown.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAVAILABLE']);

    const revoked = await t.gql(HEALTH, undefined, keys.revoked);
    expect(revoked.status).toBe(401);
    expect(revoked.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    const admin = await rawWs(t.wsUrl, t.adminKey);
    await vi.waitFor(() => expect(admin.acked()).toBe(true), WAIT);
    const refused = await rawWs(t.wsUrl, keys.unused);
    expect((await refused.closed).code).toBe(1013);
    admin.ws.close();

    await proxy.restore();
    await vi.waitFor(
      async () => expect((await t.gql(HEALTH, undefined, keys.unused)).status).toBe(200),
      WAIT,
    );
  });
});
