/**
 * A feed or export download that is streaming when its key is revoked through the API
 * stops: the connection closes without the body's end (a client sees an incomplete
 * response, not a shorter list that looks whole), whether or not the client was reading.
 */
import http from 'node:http';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createKey, revokeKey, seedCriticalIps } from './feed-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;
const ROWS = 50_000;

beforeAll(async () => {
  t = await startTestApp('feeds_revocation', { WORKERS: 'off' });
  pool = testPool(t.databaseUrl, { max: 1 });
  await seedCriticalIps(pool, ROWS);
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

interface Download {
  status: number;
  /** Resolves when the response ends: complete (the final chunk arrived) or not. */
  done: Promise<{ complete: boolean; lines: number }>;
  pause(): void;
  resume(): void;
}

/** Starts a GET and resolves once the first chunk of the body has arrived. */
async function download(path: string, key?: string): Promise<Download> {
  const req = http.get(new URL(path, t.origin), {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  let lines = 0;
  const done = new Promise<{ complete: boolean; lines: number }>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    res.once('error', () => undefined);
    res.once('close', () => resolve({ complete: res.complete, lines }));
  });
  await new Promise<void>((resolve) => res.once('data', () => resolve()));
  return { status: res.statusCode ?? 0, done, pause: () => res.pause(), resume: () => res.resume() };
}

describe('revoking a key mid-stream', () => {
  it('cuts a feed the client had stopped reading', async () => {
    const key = await createKey(t, 'READER');
    const d = await download('/feeds/iocs.csv?minScore=0', key.secret);
    expect(d.status).toBe(200);
    d.pause();
    await revokeKey(t, key.id);
    d.resume();
    const { complete, lines } = await d.done;
    expect(complete).toBe(false);
    expect(lines).toBeLessThan(ROWS + 1);
  });

  it('cuts a feed the client keeps reading', async () => {
    const key = await createKey(t, 'READER');
    const d = await download('/feeds/blocklist.txt?source=iocs&minScore=0', key.secret);
    await revokeKey(t, key.id);
    const { complete, lines } = await d.done;
    expect(complete).toBe(false);
    expect(lines).toBeLessThan(ROWS);
  });

  it('cuts an export download', async () => {
    const key = await createKey(t, 'READER');
    const res = await t.gql<{ exportIocs: { path: string } }>(
      'mutation { exportIocs(format: CSV) { path } }',
      {},
      key.secret,
    );
    expect(res.errors).toBeUndefined();
    const d = await download(res.data!.exportIocs.path);
    expect(d.status).toBe(200);
    d.pause();
    await revokeKey(t, key.id);
    d.resume();
    const { complete, lines } = await d.done;
    expect(complete).toBe(false);
    expect(lines).toBeLessThan(ROWS + 1);
  });

  it('leaves the downloads of other keys whole', async () => {
    const [mine, other] = [await createKey(t, 'READER'), await createKey(t, 'READER')];
    const d = await download('/feeds/iocs.csv?minScore=0', mine.secret);
    d.pause();
    await revokeKey(t, other.id);
    d.resume();
    expect(await d.done).toEqual({ complete: true, lines: ROWS + 1 });
  });
});
