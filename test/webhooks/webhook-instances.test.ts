/**
 * Webhook delivery across server processes (src/main.ts run by spawnServer) on one
 * database: two instances deliver every event exactly once between them (SKIP LOCKED),
 * and a `kill -9` of the instance in the middle of a request loses nothing — its
 * transaction dies with the connection, and the other instance sends the same delivery
 * (same id, same body) again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { newSecret, threats, type ThreatInput } from './webhook-harness.js';
import { validSignature, waitFor, WebhookReceiver } from './webhook-receiver.js';

const key = 'tw_test_' + randomBytes(24).toString('base64url');
const servers: SpawnedServer[] = [];
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('webhook_instances');
});
afterAll(async () => {
  for (const s of servers)
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
  await db?.drop();
});

async function start(extra: Record<string, string> = {}): Promise<SpawnedServer> {
  const server = await spawnServer({
    DATABASE_URL: db.url,
    ADMIN_API_KEY: key,
    LOG_LEVEL: 'error',
    WEBHOOK_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8',
    WEBHOOK_POLL_INTERVAL_MS: '20',
    WEBHOOK_BACKOFF_BASE_MS: '50',
    WEBHOOK_BACKOFF_MAX_MS: '200',
    WEBHOOK_BATCH_WINDOW_MS: '20',
    WEBHOOK_BATCH_MAX_EVENTS: '5',
    ...extra,
  });
  servers.push(server);
  return server;
}

async function gql<T>(
  server: SpawnedServer,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await res.json()) as { data?: T; errors?: unknown[] };
  expect(json.errors).toBeUndefined();
  return json.data!;
}

async function createHook(server: SpawnedServer, url: string, secret: string): Promise<string> {
  const data = await gql<{ createWebhook: { id: string } }>(
    server,
    `mutation($url: String!, $secret: String!) {
      createWebhook(url: $url, secret: $secret, events: [THREAT_DETECTED]) { id } }`,
    { url, secret },
  );
  return data.createWebhook.id;
}

async function ingest(server: SpawnedServer, inputs: readonly ThreatInput[]): Promise<void> {
  await gql(server, `mutation($i: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $i) { accepted } }`, {
    i: inputs,
  });
}

describe('webhook delivery across instances', () => {
  it('two instances deliver each event exactly once between them', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const receivers = await Promise.all([
      WebhookReceiver.start(),
      WebhookReceiver.start(),
      WebhookReceiver.start(),
    ]);
    const secret = newSecret();
    try {
      for (const r of receivers) await createHook(a, r.url, secret);
      const inputs = threats(`two-${randomBytes(4).toString('hex')}`, 200);
      // Ingested through A, which created the webhooks: another instance learns of a new
      // webhook through the event bus (Redis) or its periodic refresh, not at once.
      for (let i = 0; i < inputs.length; i += 10) await ingest(a, inputs.slice(i, i + 10));
      for (const r of receivers) {
        await waitFor(() => (r.events().length >= inputs.length ? true : undefined), 'every event', 60_000);
      }
      for (const r of receivers) {
        const ids = r.events().map((e) => String(e.data.externalId));
        expect(ids).toEqual(inputs.map((i) => i.externalId));
        const deliveryIds = r.requests.map((q) => q.json.deliveryId);
        expect(new Set(deliveryIds).size).toBe(deliveryIds.length);
        for (const q of r.requests) expect(validSignature(secret, q)).toBe(true);
      }
    } finally {
      for (const r of receivers) await r.down();
      for (const s of [a, b]) s.child.kill('SIGKILL');
    }
  }, 120_000);

  it('kill -9 of the instance in the middle of a request loses nothing', async () => {
    const receiver = await WebhookReceiver.start();
    const secret = newSecret();
    // The held request must outlast the other instance's start-up.
    const a = await start({ WEBHOOK_TIMEOUT_MS: '120000' });
    try {
      await createHook(a, receiver.url, secret);
      receiver.answer = 'hang';
      const inputs = threats(`kill-${randomBytes(4).toString('hex')}`, 12);
      await ingest(a, inputs);
      const held = await waitFor(() => receiver.requests[0], 'the first request, held open');
      // The other instance runs before the kill: it cannot take the locked delivery.
      const b = await start();
      expect(receiver.requests).toHaveLength(1);
      receiver.answer = { status: 200 };
      a.child.kill('SIGKILL');
      await a.exited;
      receiver.release();
      await waitFor(
        () => (new Set(receiver.events().map((e) => e.id)).size >= inputs.length ? true : undefined),
        'every event after the kill',
        60_000,
      );
      const resent = receiver.requests.filter((r) => r.json.deliveryId === held.json.deliveryId);
      expect(resent).toHaveLength(2);
      expect(resent[1]!.body).toBe(held.body);
      // Beyond the one delivery that was in flight, nothing came twice.
      const after = receiver.requests.slice(1);
      const events = after.flatMap((r) => r.json.events ?? []);
      expect(events.map((e) => e.data.externalId)).toEqual(inputs.map((i) => i.externalId));
      for (const r of receiver.requests) expect(validSignature(secret, r)).toBe(true);
      b.child.kill('SIGKILL');
    } finally {
      await receiver.down();
    }
  }, 120_000);
});
