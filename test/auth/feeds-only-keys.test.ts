/**
 * Feeds-only keys (createApiKey(feedsOnly: true)): they read /feeds/* and nothing else.
 * The GraphQL API refuses them over HTTP (403, FORBIDDEN) and over WebSocket (closed
 * with 4403 before anything runs); the existing createApiKey signature still makes
 * ordinary keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { rawWs } from '../server/raw-ws.js';

const MESSAGE =
  'This API key reads the feeds (/feeds/*) only; use a key created without feedsOnly for the GraphQL API';
const CREATE = `mutation($n: String!, $f: Boolean) {
  createApiKey(name: $n, role: ADMIN, feedsOnly: $f) { secret apiKey { id role feedsOnly } }
}`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('feeds_only_keys', { WORKERS: 'off' });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function create(name: string, feedsOnly?: boolean) {
  const res = await t.gql<{
    createApiKey: { secret: string; apiKey: { id: string; role: string; feedsOnly: boolean } };
  }>(CREATE, feedsOnly === undefined ? { n: name } : { n: name, f: feedsOnly });
  expect(res.errors).toBeUndefined();
  return res.data!.createApiKey;
}

const feed = (key: string, path = '/feeds/blocklist.txt') =>
  fetch(new URL(path, t.origin), { headers: { authorization: `Bearer ${key}` } });

describe('feeds-only keys', () => {
  it('are made on request, and the old signature makes an ordinary key', async () => {
    expect((await create('firewall', true)).apiKey).toMatchObject({ role: 'ADMIN', feedsOnly: true });
    expect((await create('plain')).apiKey).toMatchObject({ role: 'ADMIN', feedsOnly: false });
    const old = await t.gql<{ createApiKey: { apiKey: { feedsOnly: boolean } } }>(
      'mutation { createApiKey(name: "old style", role: READER) { apiKey { feedsOnly } } }',
    );
    expect(old.data).toEqual({ createApiKey: { apiKey: { feedsOnly: false } } });
  });

  it('read every feed', async () => {
    const { secret } = await create('firewall feeds', true);
    for (const path of ['/feeds/blocklist.txt', '/feeds/iocs.csv', '/feeds/stix']) {
      const res = await feed(secret, path);
      await res.arrayBuffer();
      expect([path, res.status]).toEqual([path, 200]);
    }
  });

  it('are refused by GraphQL over HTTP with FORBIDDEN, whether the key is cached or not', async () => {
    const { secret } = await create('firewall http', true);
    // The first request verifies the key; the second is answered from the key cache.
    for (let i = 0; i < 2; i++) {
      const res = await t.gql('{ viewer { id } }', {}, secret);
      expect(res.status).toBe(403);
      expect(res.data).toBeUndefined();
      expect(res.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['FORBIDDEN', MESSAGE]]);
    }
    // Not even a mutation that an ADMIN role would allow.
    const mint = await t.gql('mutation { createApiKey(name: "minted", role: ADMIN) { secret } }', {}, secret);
    expect(mint.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const names = await t.gql<{ apiKeys: { edges: { node: { name: string } }[] } }>(
      '{ apiKeys(first: 100) { edges { node { name } } } }',
    );
    expect(names.data!.apiKeys.edges.map((e) => e.node.name)).not.toContain('minted');
  });

  it('are refused by GraphQL over WebSocket: closed with 4403 and the reason', async () => {
    const { secret } = await create('firewall ws', true);
    const s = await rawWs(t.wsUrl, secret);
    const close = await s.closed;
    expect(close).toEqual({ code: 4403, reason: `FORBIDDEN: ${MESSAGE}` });
    expect(s.acked()).toBe(false);
  });

  it('leave ordinary keys alone on both', async () => {
    const { secret } = await create('ordinary');
    expect((await t.gql('{ viewer { feedsOnly } }', {}, secret)).data).toEqual({
      viewer: { feedsOnly: false },
    });
    const res = await feed(secret);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  });
});
