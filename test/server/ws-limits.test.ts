import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { startPgProxy } from './pg-proxy.js';
import { metric, rawWs, type RawWs } from './raw-ws.js';

const WAIT = { timeout: 15_000, interval: 50 };
const HB = 'subscription { heartbeat(intervalSeconds: 1) }';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

async function readerKeys(t: TestApp, n: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.gql<{ createApiKey: { secret: string } }>(
      'mutation($n: String!) { createApiKey(name: $n, role: READER) { secret } }',
      { n: `reader ${i}` },
    );
    keys.push(res.data!.createApiKey.secret);
  }
  return keys;
}

async function acked(t: TestApp, key: string): Promise<RawWs> {
  const s = await rawWs(t.wsUrl, key);
  stops.push(() => Promise.resolve(s.ws.close()));
  await vi.waitFor(() => expect(s.acked()).toBe(true), WAIT);
  return s;
}

/** Subscribes and waits for the first result or error: 'next' (admitted) or the error's extensions. */
async function subscribe(s: RawWs, id: string): Promise<'next' | Record<string, unknown>> {
  s.subscribe(id, HB);
  const first = await vi.waitFor(() => s.of(id)[0] ?? Promise.reject(new Error('no answer yet')), WAIT);
  if (first.type === 'next') return 'next';
  const errors = first.payload as { extensions?: Record<string, unknown> }[];
  return errors[0]?.extensions ?? {};
}

describe('WebSocket operations per API key and per process', () => {
  it('cap N admits exactly N; the next is refused naming the limit; completing one frees a slot', async () => {
    const t = await startTestApp('ws_caps', {
      WS_MAX_SUBSCRIPTIONS_PER_KEY: '3',
      WS_MAX_SUBSCRIPTIONS_PER_PROCESS: '5',
    });
    stops.push(() => t.stop());
    const [a, b] = await readerKeys(t, 2);
    const a1 = await acked(t, a!);
    const a2 = await acked(t, a!);
    const b1 = await acked(t, b!);
    const perKey = { code: 'BAD_USER_INPUT', limit: 'wsMaxSubscriptionsPerKey', max: 3 };
    const perProcess = { code: 'BAD_USER_INPUT', limit: 'wsMaxSubscriptionsPerProcess', max: 5 };

    // Key A: three across two sockets, the fourth refused (per key, not per socket).
    expect([await subscribe(a1, '1'), await subscribe(a1, '2'), await subscribe(a2, '3')]).toEqual([
      'next',
      'next',
      'next',
    ]);
    expect(await subscribe(a2, '4')).toMatchObject(perKey);
    // Key B: two more fill the process (5); the next is refused per process.
    expect([await subscribe(b1, '5'), await subscribe(b1, '6')]).toEqual(['next', 'next']);
    expect(await subscribe(b1, '7')).toMatchObject(perProcess);
    expect(await metric(t.origin, 'threatwire_ws_subscriptions')).toBe(5);

    a1.complete('1');
    await vi.waitFor(async () => expect(await metric(t.origin, 'threatwire_ws_subscriptions')).toBe(4), WAIT);
    expect(await subscribe(b1, '8')).toBe('next');
    expect(await subscribe(a2, '9')).toMatchObject(perProcess);
  });
});

describe('the connections gauge', () => {
  it('returns to its exact starting value when sockets close while their key is being checked', async () => {
    const proxy = await startPgProxy(await createTestDatabase('ws_gauge'));
    stops.push(() => proxy.database.drop());
    stops.push(() => proxy.close());
    const t = await startTestApp('ws_gauge', {}, { database: proxy.database });
    stops.push(() => t.stop());
    const n = 8; // fewer than the pool's connections: every lookup is in flight at once
    const keys = await readerKeys(t, n);
    const connections = await metric(t.origin, 'threatwire_ws_connections');
    const ok = await metric(t.origin, 'threatwire_auth_checks_total{outcome="ok"}');

    proxy.hold(); // key lookups wait on the database…
    const sockets = await Promise.all(keys.map((k) => rawWs(t.wsUrl, k)));
    for (const s of sockets) s.ws.close(); // …while their sockets go away
    await Promise.all(sockets.map((s) => s.closed));
    proxy.release();

    // Every held check finishes (successfully: the keys are valid), and none is counted.
    await vi.waitFor(
      async () => expect(await metric(t.origin, 'threatwire_auth_checks_total{outcome="ok"}')).toBe(ok + n),
      WAIT,
    );
    expect(await metric(t.origin, 'threatwire_ws_connections')).toBe(connections);
    expect(sockets.filter((s) => s.acked())).toEqual([]);
  });
});
