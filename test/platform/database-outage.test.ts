import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/**
 * PostgreSQL stopped or frozen under a running server: requests that need it answer
 * UPSTREAM_UNAVAILABLE with HTTP 503 and Retry-After within the configured timeouts
 * (never a 500 or a hang), `health` still answers and says the database is DOWN, and
 * everything works again once the database is back. The database sits behind a TCP
 * relay the test cuts (connections reset: a stopped server) or freezes (no byte moves:
 * a server stopped with SIGSTOP or a dead network path).
 */
let db: TestDatabase;
let gate: TcpGate;
let t: TestApp;

const HEALTH = '{ health { status database } }';
const NEEDS_DB = '{ iocs(first: 1) { totalCount } }';
/** A write: its key is confirmed with PostgreSQL first, which the outage refuses. */
const WRITE = 'mutation { createApiKey(name: "during-outage", role: READER) { secret } }';
const KEY_NAMES = '{ apiKeys(first: 10) { edges { node { name } } } }';

beforeAll(async () => {
  db = await createTestDatabase('db-outage');
  const target = new URL(db.url);
  gate = await startTcpGate(target.hostname, Number(target.port || 5432));
  const viaGate = new URL(db.url);
  viaGate.hostname = '127.0.0.1';
  viaGate.port = String(gate.port);
  t = await startTestApp('db-outage', {
    DATABASE_URL: viaGate.toString(),
    DATABASE_POOL_SIZE: '2',
    DATABASE_STATEMENT_TIMEOUT_MS: '1000',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    // The admin key stays verified throughout; what happens to keys during an outage
    // has tests of its own.
    AUTH_KEY_CACHE_TTL_MS: '600000',
  });
});

afterAll(async () => {
  await t?.stop();
  await gate?.close();
  await db?.drop();
});

async function untilHealthy(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await t.gql<{ health: { database: string } }>(HEALTH);
    if (res.data?.health.database === 'UP') return;
    if (Date.now() > deadline) throw new Error(`database never came back: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function expectUnavailable(query = NEEDS_DB): Promise<void> {
  const res = await t.gql(query);
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAVAILABLE']);
  expect(res.errors?.[0]?.extensions?.retryAfterSeconds).toBe(5);
  expect(res.data ?? null).toBeNull();
}

describe('PostgreSQL outage', () => {
  it('answers normally before the outage', async () => {
    const res = await t.gql<{ iocs: { totalCount: number } }>(NEEDS_DB);
    expect(res.status).toBe(200);
    expect(res.data?.iocs.totalCount).toBe(0);
    const health = await t.gql<{ health: unknown }>(HEALTH);
    expect(health.data?.health).toEqual({ status: 'OK', database: 'UP' });
  });

  it('stopped: 503 UPSTREAM_UNAVAILABLE with Retry-After; health reports the database DOWN; recovers', async () => {
    await untilHealthy(); // also verifies the key, which then outlives the outage
    await gate.cut();
    try {
      await expectUnavailable();
      await expectUnavailable(WRITE);
      const health = await t.gql<{ health: unknown }>(HEALTH);
      expect(health.status, JSON.stringify(health)).toBe(200);
      expect(health.data?.health).toEqual({ status: 'DOWN', database: 'DOWN' });
      const ready = await fetch(new URL('/readyz', t.url));
      expect(ready.status).toBe(503);
    } finally {
      await gate.restore();
    }
    await untilHealthy();
    const res = await t.gql<{ iocs: { totalCount: number } }>(NEEDS_DB);
    expect(res.data?.iocs.totalCount).toBe(0);
  });

  it('frozen: the same answers come within the timeouts instead of hanging; recovers', async () => {
    await untilHealthy();
    gate.freeze();
    try {
      // Open connections hit the client-side query timeout, new ones the connect timeout.
      await expectUnavailable();
      await expectUnavailable(WRITE);
      await expectUnavailable();
      const health = await t.gql<{ health: unknown }>(HEALTH);
      expect(health.data?.health).toEqual({ status: 'DOWN', database: 'DOWN' });
    } finally {
      await gate.restore();
    }
    await untilHealthy();
    const res = await t.gql<{ iocs: { totalCount: number } }>(NEEDS_DB);
    expect(res.status).toBe(200);
    // Neither outage let the write through, whole or in part.
    const keys = await t.gql<{ apiKeys: { edges: { node: { name: string } }[] } }>(KEY_NAMES);
    expect(keys.data?.apiKeys.edges.map((e) => e.node.name)).toEqual(['admin (ADMIN_API_KEY)']);
  }, 60_000);
});
