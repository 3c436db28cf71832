import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestApp } from '../helpers/test-app.js';
import { keyNames, socketWithSubscription, WAIT } from './key-sockets.js';
import { createTestDatabase } from '../helpers/test-database.js';

/**
 * Writes are confirmed with PostgreSQL, not the key cache: a key revoked (or changed) on
 * one instance writes nothing more on another that has not heard of it. The two instances
 * here share PostgreSQL but no event bus (no Redis), their revocation polls are ten
 * minutes apart and their key caches last ten minutes, so without the confirmation the
 * other instance would keep accepting the key for the whole test.
 */
const UNINFORMED = { AUTH_KEY_CACHE_TTL_MS: '600000', AUTH_REVOCATION_POLL_MS: '600000' };
const CREATE_ADMIN = 'mutation($n: String!) { createApiKey(name: $n, role: ADMIN) { secret apiKey { id } } }';
const MINT = 'mutation { createApiKey(name: "minted", role: ADMIN) { secret } }';
const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) }';
const VIEWER = '{ viewer { name role } }';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

async function twoInstances(label: string) {
  const db = await createTestDatabase(label);
  stops.push(() => db.drop());
  const a = await startTestApp('a', UNINFORMED, { database: db });
  stops.push(() => a.stop());
  const b = await startTestApp('b', UNINFORMED, { database: db });
  stops.push(() => b.stop());
  const res = await a.gql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_ADMIN, {
    n: 'victim',
  });
  const victim = { secret: res.data!.createApiKey.secret, id: res.data!.createApiKey.apiKey.id };
  return { a, b, victim, databaseUrl: a.databaseUrl };
}

describe('a write with a key revoked on another instance', () => {
  it('over HTTP: 401 UNAUTHENTICATED, nothing written, and the key stops here at once (reads and sockets)', async () => {
    const { a, b, victim } = await twoInstances('rvw_http');
    // b has verified the key and caches it for ten minutes.
    expect((await b.gql(VIEWER, undefined, victim.secret)).status).toBe(200);
    const s = await socketWithSubscription(b, victim.secret);
    expect((await a.gql(REVOKE, { id: victim.id })).data).toEqual({ revokeApiKey: true });
    // b has heard nothing: its cache still lets the key read.
    expect((await b.gql(VIEWER, undefined, victim.secret)).status).toBe(200);

    const write = await b.gql(MINT, undefined, victim.secret);
    expect(write.status).toBe(401);
    expect(write.data).toBeUndefined();
    expect(write.errors).toEqual([
      expect.objectContaining({
        message: 'This API key has been revoked',
        extensions: { code: 'UNAUTHENTICATED' },
      }),
    ]);
    expect(write.headers.get('www-authenticate')).toBe('Bearer');
    expect(await keyNames(a)).toEqual(['admin (ADMIN_API_KEY)', 'admin (ADMIN_API_KEY)', 'victim']);
    // What the write learnt applies to the whole instance: reads stop, the socket closes.
    const read = await b.gql(VIEWER, undefined, victim.secret);
    expect(read.status).toBe(401);
    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close).toEqual({ code: 4403, reason: 'API key revoked' });
  });

  it('over WebSocket: the mutation gets UNAUTHENTICATED and no result, and its socket closes with 4403', async () => {
    const { a, b, victim } = await twoInstances('rvw_ws');
    const s = await socketWithSubscription(b, victim.secret);
    expect((await a.gql(REVOKE, { id: victim.id })).data).toEqual({ revokeApiKey: true });
    s.subscribe('mint', MINT);
    const close = await vi.waitFor(() => s.close ?? Promise.reject(new Error('still open')), WAIT);
    expect(close.code).toBe(4403);
    expect(s.of('mint', 'next')).toEqual([]);
    expect(await keyNames(a)).toEqual(['admin (ADMIN_API_KEY)', 'admin (ADMIN_API_KEY)', 'victim']);
  });

  it('a read on the uninformed instance still runs until its cache expires (only writes are confirmed)', async () => {
    const { a, b, victim } = await twoInstances('rvw_read');
    expect((await b.gql(VIEWER, undefined, victim.secret)).status).toBe(200);
    expect((await a.gql(REVOKE, { id: victim.id })).data).toEqual({ revokeApiKey: true });
    // The documented window for reads (closed by the bus or the revocation poll in a real
    // deployment; both are switched off here).
    expect((await b.gql(VIEWER, undefined, victim.secret)).data).toEqual({
      viewer: { name: 'victim', role: 'ADMIN' },
    });
    expect((await a.gql(VIEWER, undefined, victim.secret)).status).toBe(401);
  });
});

describe('a write with a key whose role changed in PostgreSQL', () => {
  it('is refused once with UNAUTHENTICATED; sent again, it runs with the new role (FORBIDDEN for a READER)', async () => {
    const { b, victim, databaseUrl } = await twoInstances('rvw_role');
    expect((await b.gql(VIEWER, undefined, victim.secret)).data).toEqual({
      viewer: { name: 'victim', role: 'ADMIN' },
    });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query("UPDATE api_keys SET role = 'READER' WHERE id = $1", [victim.id]);
    } finally {
      await client.end();
    }
    const first = await b.gql(MINT, undefined, victim.secret);
    expect(first.status).toBe(401);
    expect(first.errors?.[0]).toMatchObject({
      message: 'This API key changed; send the request again',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const again = await b.gql(MINT, undefined, victim.secret);
    expect(again.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await b.gql(VIEWER, undefined, victim.secret)).data).toEqual({
      viewer: { name: 'victim', role: 'READER' },
    });
    expect(await keyNames(b)).toEqual(['admin (ADMIN_API_KEY)', 'admin (ADMIN_API_KEY)', 'victim']);
  });
});
