/**
 * Webhook deliveries through the API: signed THREAT_DETECTED deliveries in order, a
 * receiver that is down for a while and comes back (everything delivered, in order,
 * none twice, the failed attempts visible in webhookDeliveries), and a receiver that
 * keeps failing (the webhook is paused with a reason; resuming delivers what waited).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  createWebhook,
  deleteWebhook,
  deliveries,
  ingest,
  newSecret,
  threats,
  WEBHOOK_ENV,
  WEBHOOK_FIELDS,
  type WebhookJson,
} from './webhook-harness.js';
import { validSignature, waitFor, WebhookReceiver } from './webhook-receiver.js';

let t: TestApp;
let flaky: TestApp;

beforeAll(async () => {
  [t, flaky] = await Promise.all([
    startTestApp('webhook_delivery', { ...WEBHOOK_ENV, WEBHOOK_RETRY_FOR_SECONDS: '600' }),
    // Deliveries fail for good after 1 s of retries; two failed in a row pause the webhook.
    startTestApp('webhook_pause', {
      ...WEBHOOK_ENV,
      WEBHOOK_RETRY_FOR_SECONDS: '1',
      WEBHOOK_PAUSE_AFTER_FAILURES: '2',
    }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([t?.stop(), flaky?.stop()]);
});

const externalIds = (r: WebhookReceiver) => r.events().map((e) => String(e.data.externalId));

describe('webhook deliveries', () => {
  it('delivers every stored threat once, signed, with a delivery id, in ingestion order', async () => {
    const receiver = await WebhookReceiver.start();
    const secret = newSecret();
    const hook = await createWebhook(t, { url: receiver.url, secret, events: ['THREAT_DETECTED'] });
    try {
      const inputs = threats(`order-${hook.id}`, 30);
      for (let i = 0; i < 30; i += 3) await ingest(t, inputs.slice(i, i + 3));
      await waitFor(() => (receiver.events().length >= 30 ? true : undefined), '30 events');
      expect(externalIds(receiver)).toEqual(inputs.map((i) => i.externalId));
      for (const req of receiver.requests) {
        expect(validSignature(secret, req)).toBe(true);
        expect(validSignature('another-secret-entirely', req)).toBe(false);
        expect(req.headers['x-threatwire-delivery']).toBe(req.json.deliveryId);
        expect(req.headers['x-threatwire-webhook']).toBe(hook.id);
        expect(req.headers['content-type']).toBe('application/json');
        expect(req.json.webhookId).toBe(hook.id);
        for (const e of req.json.events!) expect(e.type).toBe('THREAT_DETECTED');
      }
      const first = receiver.events()[0]!;
      expect(first.data).toMatchObject({
        externalId: inputs[0]!.externalId,
        sourceIp: inputs[0]!.sourceIp,
        severity: 5,
      });
      // The last outcome is stored just after the receiver answered.
      const ds = await waitFor(async () => {
        const list = await deliveries(t, hook.id);
        return list.every((d) => d.status === 'DELIVERED') ? list : undefined;
      }, 'every delivery recorded');
      expect(ds.reduce((n, d) => n + d.eventCount, 0)).toBe(30);
      expect(new Set(ds.map((d) => d.id))).toEqual(new Set(receiver.requests.map((r) => r.json.deliveryId)));
      for (const d of ds) {
        expect(d).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 200, lastError: null });
        expect(d.lastLatencyMs).toBeGreaterThanOrEqual(0);
        expect(d.attemptHistory).toHaveLength(1);
      }
    } finally {
      await deleteWebhook(t, hook.id);
      await receiver.down();
    }
  });

  it('a receiver down for a while gets everything when it is back: in order, none twice', async () => {
    const receiver = await WebhookReceiver.start();
    const secret = newSecret();
    const hook = await createWebhook(t, { url: receiver.url, secret, events: ['THREAT_DETECTED'] });
    try {
      await receiver.down();
      const inputs = threats(`down-${hook.id}`, 40);
      for (let i = 0; i < 40; i += 4) await ingest(t, inputs.slice(i, i + 4));
      // Down until a delivery has failed at least three times (connection refused).
      await waitFor(async () => {
        const [d] = await deliveries(t, hook.id, 1);
        return d && d.attempts >= 3 ? d : undefined;
      }, 'three failed attempts');
      await receiver.up();
      await waitFor(() => (receiver.events().length >= 40 ? true : undefined), '40 events');
      // Every pending delivery is done once all 40 arrived; nothing more is sent.
      await waitFor(async () => {
        const ds = await deliveries(t, hook.id);
        return ds.every((d) => d.status === 'DELIVERED') ? ds : undefined;
      }, 'all delivered');
      expect(externalIds(receiver)).toEqual(inputs.map((i) => i.externalId));
      const deliveryIds = receiver.requests.map((r) => r.json.deliveryId);
      expect(new Set(deliveryIds).size).toBe(deliveryIds.length);
      for (const req of receiver.requests) expect(validSignature(secret, req)).toBe(true);

      const ds = await deliveries(t, hook.id);
      const retried = ds.filter((d) => d.attempts > 1);
      expect(retried.length).toBeGreaterThanOrEqual(1);
      for (const d of retried) {
        expect(d.attemptHistory.at(-1)).toMatchObject({ statusCode: 200, error: null });
        const failed = d.attemptHistory.slice(0, -1);
        expect(failed.length).toBeGreaterThanOrEqual(1);
        for (const a of failed) {
          expect(a.statusCode).toBeNull();
          expect(a.error).toMatch(/UNREACHABLE|ECONNREFUSED/);
        }
      }
    } finally {
      await deleteWebhook(t, hook.id);
      await receiver.down();
    }
  });

  it('a webhook whose deliveries keep failing is paused with a reason; resuming delivers what waited', async () => {
    const receiver = await WebhookReceiver.start();
    receiver.answer = { status: 503 };
    const secret = newSecret();
    const hook = await createWebhook(flaky, { url: receiver.url, secret, events: ['THREAT_DETECTED'] });
    try {
      const first = threats(`pause-a-${hook.id}`, 1);
      await ingest(flaky, first);
      // The first delivery fails for good (retry window 1 s); the second one pauses the webhook.
      await waitFor(async () => {
        const [d] = await deliveries(flaky, hook.id, 1);
        return d?.status === 'FAILED' ? d : undefined;
      }, 'the first delivery failed');
      const second = threats(`pause-b-${hook.id}`, 1);
      await ingest(flaky, second);
      const paused = await waitFor(async () => {
        const res = await flaky.gql<{ webhook: WebhookJson }>(
          `query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} } }`,
          {
            id: hook.id,
          },
        );
        return res.data?.webhook.paused ? res.data.webhook : undefined;
      }, 'the webhook paused');
      expect(paused.pausedReason).toMatch(/2 deliveries in a row failed; the last: HTTP 503/);
      expect(paused.failedDeliveries).toBe(2);
      const ds = await deliveries(flaky, hook.id);
      expect(ds.map((d) => d.status)).toEqual(['FAILED', 'FAILED']);
      for (const d of ds) expect(d.lastStatusCode).toBe(503);

      // While paused, new events are not collected for it.
      await ingest(flaky, threats(`pause-c-${hook.id}`, 2));
      receiver.answer = { status: 200 };
      const before = receiver.requests.length;
      const resumed = await flaky.gql<{ setWebhookPaused: WebhookJson }>(
        `mutation($id: ID!) { setWebhookPaused(id: $id, paused: false) { ${WEBHOOK_FIELDS} } }`,
        { id: hook.id },
      );
      expect(resumed.data?.setWebhookPaused).toMatchObject({
        paused: false,
        pausedReason: null,
        failedDeliveries: 0,
      });
      const third = threats(`pause-d-${hook.id}`, 3);
      await ingest(flaky, third);
      await waitFor(
        () =>
          receiver.requests.slice(before).flatMap((r) => r.json.events ?? []).length >= 3 ? true : undefined,
        'events after resuming',
      );
      expect(
        receiver.requests.slice(before).flatMap((r) => (r.json.events ?? []).map((e) => e.data.externalId)),
      ).toEqual(third.map((i) => i.externalId));
    } finally {
      await deleteWebhook(flaky, hook.id);
      await receiver.down();
    }
  });
});
