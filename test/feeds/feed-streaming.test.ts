/**
 * A feed streams from a cursor as fast as the client reads: with 200,000 IOCs the server
 * holds its snapshot open (idle in transaction between fetches) while the client does
 * not read, and a client that goes away ends the database reads and frees the connection.
 */
import http from 'node:http';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { testPool } from '../helpers/test-pool.js';
import { seedCriticalIps } from './feed-fixtures.js';

let t: TestApp;
let pool: pg.Pool;
const ROWS = 200_000;

beforeAll(async () => {
  // No workers: their statements (the statistics compaction runs every second) would
  // count as the app's transactions below.
  t = await startTestApp('feeds_streaming', { WORKERS: 'off' });
  pool = testPool(t.databaseUrl, { max: 1, application_name: 'feeds-test' });
  await seedCriticalIps(pool, ROWS);
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

/** The app's connections to its database that are inside a transaction (a feed's snapshot). */
async function appTransactions(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'threatwire'
        AND state IN ('active', 'idle in transaction')`,
  );
  return rows[0]!.n;
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('holds one snapshot while the client does not read, and ends the reads when it leaves', async () => {
  expect(await appTransactions()).toBe(0);
  const url = new URL('/feeds/iocs.csv?minScore=0', t.origin);
  const req = http.get(url, { headers: { authorization: `Bearer ${t.adminKey}` } });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  expect(res.statusCode).toBe(200);
  // Read one chunk, then stop reading: the server fills the socket and waits.
  await new Promise<void>((resolve) => res.once('data', () => resolve()));
  res.pause();
  await eventually(async () => (await appTransactions()) === 1, 'the feed snapshot to stay open');
  req.destroy();
  await eventually(async () => (await appTransactions()) === 0, 'the feed to end its snapshot');
  // The connection went back to the pool, usable: the next feed is served in full.
  const full = await fetch(new URL('/feeds/blocklist.txt?source=iocs&minScore=90', t.origin), {
    headers: { authorization: `Bearer ${t.adminKey}` },
  });
  expect((await full.text()).split('\n').length - 1).toBe(ROWS);
}, 60_000);
