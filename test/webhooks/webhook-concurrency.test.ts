/**
 * A receiver that hangs until the request times out holds up only its own webhook: with
 * WEBHOOK_CONCURRENCY senders, another webhook's events keep arriving meanwhile, and
 * the hung webhook's order is kept (one delivery in flight per webhook).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createWebhook, deleteWebhook, ingest, newSecret, threats, WEBHOOK_ENV } from './webhook-harness.js';
import { waitFor, WebhookReceiver } from './webhook-receiver.js';

let t: TestApp;
beforeAll(async () => {
  // A hung request blocks its sender for a minute: longer than this test waits for anything.
  t = await startTestApp('webhook_concurrency', {
    ...WEBHOOK_ENV,
    WEBHOOK_TIMEOUT_MS: '60000',
    WEBHOOK_CONCURRENCY: '2',
  });
}, 60_000);
afterAll(() => t?.stop());

it('delivers to a healthy receiver while another hangs, and the hung one gets its events in order later', async () => {
  const slow = await WebhookReceiver.start();
  const fast = await WebhookReceiver.start();
  slow.answer = 'hang';
  const [slowHook, fastHook] = await Promise.all([
    createWebhook(t, { url: slow.url, secret: newSecret(), events: ['THREAT_DETECTED'] }),
    createWebhook(t, { url: fast.url, secret: newSecret(), events: ['THREAT_DETECTED'] }),
  ]);
  const ids = (r: WebhookReceiver) => r.events().map((e) => String(e.data.externalId));
  try {
    const [first, second] = [threats(`conc-a-${slowHook.id}`, 3), threats(`conc-b-${slowHook.id}`, 2)];
    await ingest(t, first);
    // The slow receiver holds the first batch; the fast one got it.
    await waitFor(
      () => (slow.requests.length === 1 ? true : undefined),
      'the slow receiver to hold a request',
      20_000,
    );
    await waitFor(
      () => (ids(fast).length === 3 ? true : undefined),
      'the first batch at the fast receiver',
      20_000,
    );
    // Later events reach the fast receiver while the slow one still hangs.
    await ingest(t, second);
    await waitFor(
      () => (ids(fast).length === 5 ? true : undefined),
      'the second batch at the fast receiver',
      20_000,
    );
    expect(ids(fast)).toEqual([...first, ...second].map((i) => i.externalId));
    expect(slow.requests).toHaveLength(1); // still one in flight for the hung webhook
    slow.answer = { status: 200 };
    slow.release();
    await waitFor(() => (ids(slow).length === 5 ? true : undefined), 'the slow receiver to catch up', 20_000);
    expect(ids(slow)).toEqual([...first, ...second].map((i) => i.externalId));
  } finally {
    slow.release();
    await Promise.all([deleteWebhook(t, slowHook.id), deleteWebhook(t, fastHook.id)]);
    await Promise.all([slow.down(), fast.down()]);
  }
});
