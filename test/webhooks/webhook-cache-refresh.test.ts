import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';
import { createWebhook, newSecret, WEBHOOK_ENV } from './webhook-harness.js';

/**
 * Two instances on one database with no shared event bus (no Redis), so a webhook made
 * on one is never announced to the other: the other's periodic reload of the active
 * webhooks is what makes its writes add outbox rows for it. Delivery is off, so the rows
 * stay where the test counts them.
 */
const ENV = { ...WEBHOOK_ENV, WEBHOOK_DELIVERY_ENABLED: 'false' };
const INGEST = `mutation($x: String!) {
  ingestThreatEvent(input: { externalId: $x, sourceIp: "198.51.100.7", threatType: "scan", severity: 5 }) { id } }`;

let db: TestDatabase;
let a: TestApp;
let b: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('webhook_cache_refresh');
  a = await startTestApp('a', ENV, { database: db });
  b = await startTestApp('b', ENV, { database: db });
  pool = testPool(db.url, { max: 1 });
});

afterAll(async () => {
  await pool?.end();
  await b?.stop();
  await a?.stop();
  await db?.drop();
});

const outboxRows = async () =>
  Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM webhook_outbox')).rows[0]!.n);

it('an instance that missed the announcement adds outbox rows for a new webhook within its reload period', async () => {
  expect((await b.gql(INGEST, { x: 'before' })).errors).toBeUndefined();
  expect(await outboxRows()).toBe(0);
  await createWebhook(a, {
    url: 'http://127.0.0.1:9/hook',
    secret: newSecret(),
    events: ['THREAT_DETECTED'],
  });
  // Ingest on b until one of its writes carries an outbox row: its reload is every 5 s.
  let n = 0;
  await vi.waitFor(
    async () => {
      expect((await b.gql(INGEST, { x: `after-${n++}` })).errors).toBeUndefined();
      expect(await outboxRows()).toBeGreaterThan(0);
    },
    { timeout: 20_000, interval: 250 },
  );
  // From then on every write of b has its row.
  const rows = await outboxRows();
  expect((await b.gql(INGEST, { x: 'last' })).errors).toBeUndefined();
  expect(await outboxRows()).toBe(rows + 1);
}, 60_000);
