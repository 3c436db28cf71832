import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('auth');
});
afterAll(() => t.stop());

const HEALTH = '{ health { status database redis geoip } }';
const CREATE =
  'mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { secret apiKey { id prefix role name } } }';

async function createKey(role: string, name = `k-${role}`) {
  const res = await t.gql<{ createApiKey: { secret: string; apiKey: { id: string; prefix: string } } }>(
    CREATE,
    { n: name, r: role },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createApiKey;
}

describe('API keys over HTTP', () => {
  it('answers with a valid key', async () => {
    const res = await t.gql<{ health: { status: string; database: string } }>(HEALTH);
    expect(res.status).toBe(200);
    expect(res.data?.health.database).toBe('UP');
  });

  it('refuses a request without a key with UNAUTHENTICATED and 401', async () => {
    const res = await t.gql(HEALTH, undefined, null);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data).toBeUndefined();
  });

  it('refuses a wrong key', async () => {
    const res = await t.gql(HEALTH, undefined, 'tw_' + 'x'.repeat(43));
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('accepts X-API-Key as well as Bearer', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t.adminKey },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { role: 'ADMIN' } } });
  });

  it('creates keys that are shown once, stored hashed, with a visible prefix', async () => {
    const created = await createKey('READER');
    expect(created.secret).toMatch(/^tw_[A-Za-z0-9_-]{43}$/);
    expect(created.secret.startsWith(created.apiKey.prefix)).toBe(true);
    const list = await t.gql<{ apiKeys: { edges: { node: Record<string, unknown> }[] } }>(
      '{ apiKeys(first: 500) { edges { node { id prefix name role } } totalCount } }',
    );
    const json = JSON.stringify(list);
    expect(json).toContain(created.apiKey.id);
    expect(json).not.toContain(created.secret);
  });

  it('enforces roles: a READER cannot create keys (FORBIDDEN) but can read', async () => {
    const reader = await createKey('READER');
    const read = await t.gql<{ viewer: { role: string } }>('{ viewer { role } }', undefined, reader.secret);
    expect(read.data?.viewer.role).toBe('READER');
    const res = await t.gql(CREATE, { n: 'nope', r: 'ADMIN' }, reader.secret);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await t.gql('{ apiKeys { totalCount } }', undefined, reader.secret);
    expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a revoked key stops working at once', async () => {
    const k = await createKey('ANALYST');
    expect((await t.gql('{ viewer { id } }', undefined, k.secret)).errors).toBeUndefined();
    const revoked = await t.gql<{ revokeApiKey: boolean }>('mutation($id: ID!) { revokeApiKey(id: $id) }', {
      id: k.apiKey.id,
    });
    expect(revoked.data?.revokeApiKey).toBe(true);
    const again = await t.gql<{ revokeApiKey: boolean }>('mutation($id: ID!) { revokeApiKey(id: $id) }', {
      id: k.apiKey.id,
    });
    expect(again.data?.revokeApiKey).toBe(false);
    const res = await t.gql('{ viewer { id } }', undefined, k.secret);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.message).toMatch(/revoked/);
  });

  it('validates createApiKey and revokeApiKey input', async () => {
    const empty = await t.gql(CREATE, { n: '   ', r: 'READER' });
    expect(empty.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badId = await t.gql('mutation { revokeApiKey(id: "not-a-uuid") }');
    expect(badId.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const missing = await t.gql('mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") }');
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('API keys over graphql-ws', () => {
  it('rejects a bad key at connection_init with close code 4403', async () => {
    const client = t.ws('tw_' + 'y'.repeat(43));
    const sub = collect(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1);
    await expect(sub.done).rejects.toMatchObject({ closeCode: 4403 });
  });

  it('rejects a revoked key', async () => {
    const k = await createKey('READER');
    await t.gql('mutation($id: ID!) { revokeApiKey(id: $id) }', { id: k.apiKey.id });
    const sub = collect(t.ws(k.secret), 'subscription { heartbeat(intervalSeconds: 1) }', 1);
    await expect(sub.done).rejects.toMatchObject({ closeCode: 4403 });
  });

  it('delivers subscriptions to a valid key and applies roles', async () => {
    const reader = await createKey('READER');
    const client = t.ws(reader.secret);
    const sub = collect<{ heartbeat: string }>(client, 'subscription { heartbeat(intervalSeconds: 1) }', 2);
    const ticks = await sub.done;
    expect(ticks).toHaveLength(2);
    expect(Number.isNaN(Date.parse(ticks[0]!.heartbeat))).toBe(false);
    const forbidden = collect(client, 'mutation { createApiKey(name: "x", role: ADMIN) { secret } }', 1);
    await expect(forbidden.done).rejects.toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
  });
});
