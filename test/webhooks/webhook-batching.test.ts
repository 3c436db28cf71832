/**
 * A bulk ingest of 10,000 threats reaches a webhook in batches: with a batch size of 500
 * and a window longer than the test, only full batches leave, so exactly 10,000 / 500 =
 * 20 requests carry the events, in ingestion order.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createWebhook, deliveries, ingest, newSecret, threats, WEBHOOK_ENV } from './webhook-harness.js';
import { validSignature, waitFor, WebhookReceiver } from './webhook-receiver.js';

const BATCH = 500;
const TOTAL = 10_000;
const PER_CALL = 1_000;

let t: TestApp;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  t = await startTestApp('webhook_batching', {
    ...WEBHOOK_ENV,
    WEBHOOK_BATCH_MAX_EVENTS: String(BATCH),
    WEBHOOK_BATCH_WINDOW_MS: '3600000',
    THREAT_INGEST_MAX_BATCH: String(PER_CALL),
    MAX_BODY_BYTES: String(4 * 1024 * 1024),
  });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await receiver?.down();
});

it('10,000 threats ingested in calls of 1,000 arrive in exactly 20 requests of 500, in order', async () => {
  const secret = newSecret();
  const hook = await createWebhook(t, { url: receiver.url, secret, events: ['THREAT_DETECTED'] });
  const inputs = threats(`bulk-${hook.id}`, TOTAL);
  for (let i = 0; i < TOTAL; i += PER_CALL) await ingest(t, inputs.slice(i, i + PER_CALL));
  await waitFor(() => (receiver.events().length >= TOTAL ? true : undefined), '10,000 events', 120_000);
  expect(receiver.requests).toHaveLength(TOTAL / BATCH);
  for (const req of receiver.requests) {
    expect(req.json.events).toHaveLength(BATCH);
    expect(validSignature(secret, req)).toBe(true);
  }
  expect(receiver.events().map((e) => e.data.externalId)).toEqual(inputs.map((i) => i.externalId));
  // The last outcome is stored just after the receiver answered.
  const ds = await waitFor(async () => {
    const list = await deliveries(t, hook.id);
    return list.every((d) => d.status === 'DELIVERED') ? list : undefined;
  }, 'every delivery recorded');
  expect(ds).toHaveLength(TOTAL / BATCH);
  for (const d of ds) expect(d).toMatchObject({ status: 'DELIVERED', eventCount: BATCH, attempts: 1 });
}, 180_000);
