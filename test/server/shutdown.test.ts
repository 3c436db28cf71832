import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { spawnServer } from '../helpers/spawn-server.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('shutdown');
});
afterAll(() => db.drop());

it('SIGTERM: finishes in-flight requests, closes sockets with 1001, stops accepting, exits 0', async () => {
  const key = 'tw_test_' + randomBytes(24).toString('base64url');
  const server = await spawnServer({
    DATABASE_URL: db.url,
    ADMIN_API_KEY: key,
    SHUTDOWN_TIMEOUT_MS: '10000',
  });

  // A live subscription whose socket must be closed with 1001 (Going Away).
  let closeCode = 0;
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { apiKey: key },
    retryAttempts: 0,
    on: { closed: (e) => (closeCode = (e as { code: number }).code) },
  });
  const firstTick = new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: 'subscription { heartbeat(intervalSeconds: 1) }' },
      { next: () => resolve(), error: () => undefined, complete: () => undefined },
    );
    setTimeout(() => reject(new Error('no tick')), 5000);
  });
  await firstTick;

  // An HTTP request in flight: headers and half the body sent before the signal.
  const body = JSON.stringify({ query: '{ health { database } }' });
  const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${key}`,
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.write(body.slice(0, 10));
    setTimeout(() => req.end(body.slice(10)), 500);
  });
  await new Promise((r) => setTimeout(r, 100));

  const signalledAt = Date.now();
  server.child.kill('SIGTERM');

  const finished = await inFlight;
  expect(finished.status).toBe(200);
  expect(JSON.parse(finished.text)).toEqual({ data: { health: { database: 'UP' } } });

  const exit = await server.exited;
  if (exit.code !== 0) console.log(server.output());
  expect(exit.code).toBe(0);
  expect(Date.now() - signalledAt).toBeLessThan(10_000);
  expect(closeCode).toBe(1001);
  await expect(fetch(`${server.origin}/healthz`)).rejects.toThrow();
  await client.dispose();
});
