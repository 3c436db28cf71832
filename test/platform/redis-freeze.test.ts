import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisUrlOrSkip } from '../helpers/services.js';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Redis frozen under a running server (the process stopped with SIGSTOP, or a dead
 * network path): the connection stays open and nothing answers. Requests must keep
 * being answered (rate limits fall back to this instance's memory, writes still store
 * and publish locally), health must say Redis is DOWN, and all must come back when Redis
 * answers again. Redis sits behind a TCP relay the test freezes.
 */
const redisUrl = redisUrlOrSkip('Redis frozen under a running server');
/** Far above any answer here; a request that waits on the frozen connection never ends. */
const ANSWER_WITHIN_MS = 15_000;

let gate: TcpGate;
let t: TestApp;

beforeAll(async () => {
  if (!redisUrl) return;
  const target = new URL(redisUrl);
  gate = await startTcpGate(target.hostname, Number(target.port || 6379));
  t = await startTestApp('redis_freeze', {
    REDIS_URL: `redis://127.0.0.1:${gate.port}`,
    REDIS_KEY_PREFIX: `tw-freeze-${Date.now()}:`,
  });
});

afterAll(async () => {
  await gate?.restore();
  await t?.stop();
  await gate?.close();
});

async function post<T>(query: string, variables?: Record<string, unknown>) {
  const res = await fetch(new URL('/graphql', t.origin), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  });
  return { status: res.status, body: (await res.json()) as { data?: T; errors?: unknown[] } };
}

const HEALTH = '{ health { redis database } }';

describe.runIf(redisUrl)('Redis frozen', () => {
  it('requests, health and writes are answered while it is frozen; all recovers when it answers again', async () => {
    expect((await post<{ health: unknown }>(HEALTH)).body.data).toEqual({
      health: { redis: 'UP', database: 'UP' },
    });
    gate.freeze();
    try {
      // Several rate-limit leases' worth (a lease is 12 requests at the default 600 per
      // minute), 50 at a time: each lease renewal meets the frozen connection.
      const statuses: number[] = [];
      for (let round = 0; round < 6; round++) {
        const answers = await Promise.all(Array.from({ length: 50 }, () => post('{ __typename }')));
        statuses.push(...answers.map((a) => a.status));
      }
      expect(statuses).toEqual(Array<number>(300).fill(200));

      const health = await post<{ health: unknown }>(HEALTH);
      expect(health.status).toBe(200);
      expect(health.body.data).toEqual({ health: { redis: 'DOWN', database: 'UP' } });

      // A write stores its event in PostgreSQL (its live publish goes to this instance only).
      const ingest = await post<{ ingestThreatEvent: { id: string } }>(
        'mutation { ingestThreatEvent(input: { sourceIp: "203.0.113.9", threatType: "scan", severity: 3 }) { id } }',
      );
      expect(ingest.body.errors).toBeUndefined();
      const id = ingest.body.data!.ingestThreatEvent.id;
      const read = await post<{ threatEvent: { id: string; sourceIp: string } }>(
        'query($id: ID!) { threatEvent(id: $id) { id sourceIp } }',
        { id },
      );
      expect(read.body.data).toEqual({ threatEvent: { id, sourceIp: '203.0.113.9' } });
    } finally {
      await gate.restore();
    }
    await vi.waitFor(
      async () =>
        expect((await post<{ health: unknown }>(HEALTH)).body.data).toEqual({
          health: { redis: 'UP', database: 'UP' },
        }),
      { timeout: 30_000, interval: 200 },
    );
    expect((await post('{ __typename }')).status).toBe(200);
  }, 120_000);
});
