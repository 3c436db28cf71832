import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';

// A budget of 5 requests per key and window (600 s, so it cannot end during the test).
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('unlimited_keys', { RATE_LIMIT_POINTS: '5', RATE_LIMIT_WINDOW_SECONDS: '600' });
});
afterAll(() => t.stop());

interface Created {
  createApiKey: { secret: string; apiKey: { id: string; unlimited: boolean } };
}
const create = async (args: string, key?: string) =>
  t.gql<Created>(`mutation { createApiKey(${args}) { secret apiKey { id unlimited } } }`, undefined, key);

describe('unlimited API keys', () => {
  // Made once: the admin key's own budget (5) covers these three mutations.
  let normal: string;
  let unlimited: string;
  let analyst: string;
  beforeAll(async () => {
    const a = await create('name: "normal", role: READER');
    const b = await create('name: "service", role: READER, unlimited: true');
    const c = await create('name: "analyst", role: ANALYST');
    expect(a.data?.createApiKey.apiKey.unlimited).toBe(false);
    expect(b.data?.createApiKey.apiKey.unlimited).toBe(true);
    [normal, unlimited, analyst] = [a, b, c].map((r) => r.data!.createApiKey.secret) as [
      string,
      string,
      string,
    ];
  });

  it('over HTTP: a normal key gets 5 of 8 and then RATE_LIMITED, an unlimited key with the same budget all 8', async () => {
    const statuses = async (key: string) => {
      const out: (number | string)[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await t.gql<{ viewer: { unlimited: boolean } }>('{ viewer { unlimited } }', undefined, key);
        out.push(r.status === 200 ? 200 : String(r.errors?.[0]?.extensions?.code));
      }
      return out;
    };
    expect(await statuses(normal)).toEqual([
      200,
      200,
      200,
      200,
      200,
      'RATE_LIMITED',
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
    expect(await statuses(unlimited)).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    const viewer = await t.gql<{ viewer: { unlimited: boolean } }>(
      '{ viewer { unlimited } }',
      undefined,
      unlimited,
    );
    expect(viewer.data?.viewer.unlimited).toBe(true);
  });

  it('over WebSocket: 7 of 7 subscribes of an unlimited key start', async () => {
    const client = t.ws(unlimited);
    const subs = Array.from({ length: 7 }, () =>
      collect<{ heartbeat: string }>(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1),
    );
    const settled = await Promise.allSettled(subs.map((s) => s.done));
    for (const s of subs) s.unsubscribe();
    expect(settled.map((r) => r.status)).toEqual(Array(7).fill('fulfilled'));
  });

  it('on the feed routes: 7 of 7 blocklist downloads of an unlimited key are served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${t.origin}/feeds/blocklist.txt?source=decisions`, {
        headers: { authorization: `Bearer ${unlimited}` },
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(7).fill(200));
  });

  it('only an ADMIN can make one: an ANALYST asking for it is FORBIDDEN and no key is made', async () => {
    const refused = await create('name: "sneaky", role: READER, unlimited: true', analyst);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.data ?? null).toBeNull();
    const keys = await t.gql<{ apiKeys: { edges: { node: { name: string } }[] } }>(
      '{ apiKeys(first: 50) { edges { node { name } } } }',
    );
    expect(keys.data?.apiKeys.edges.map((e) => e.node.name)).not.toContain('sneaky');
  });
});
