/**
 * The outbox is written with the data and only when needed: with delivery off, the rows
 * are there as soon as ingestThreatEvents answers (same statement as the events), and
 * none is written while no active webhook wants THREAT_DETECTED (none at all, one for
 * another event, a paused one). Backoff and signatures are checked as pure functions.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.js';
import { loadConfig } from '../../src/config.js';
import { WebhookSender } from '../../src/webhooks/webhook-sender.js';
import { sign, verify } from '../../src/webhooks/webhook-signer.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createWebhook, deleteWebhook, ingest, newSecret, threats, WEBHOOK_ENV } from './webhook-harness.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  t = await startTestApp('webhook_outbox', { ...WEBHOOK_ENV, WEBHOOK_DELIVERY_ENABLED: 'false' });
  pool = testPool(t.databaseUrl, { max: 1 });
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

async function outboxRows(prefix: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM webhook_outbox WHERE payload->>'externalId' LIKE $1`,
    [`${prefix}-%`],
  );
  return rows[0]!.n;
}

describe('the webhook outbox', () => {
  it('is written in the ingesting statement, and only while an active webhook wants the event', async () => {
    const url = 'http://127.0.0.1:9/hook';
    await ingest(t, threats('none', 5));
    expect(await outboxRows('none')).toBe(0);

    const other = await createWebhook(t, { url, secret: newSecret(), events: ['ALERT_CREATED'] });
    await ingest(t, threats('other', 5));
    expect(await outboxRows('other')).toBe(0);

    const wanted = await createWebhook(t, { url, secret: newSecret(), events: ['THREAT_DETECTED'] });
    await ingest(t, threats('wanted', 5));
    // No waiting: the rows committed with the events, before the call answered.
    expect(await outboxRows('wanted')).toBe(5);

    const paused = await t.gql(`mutation($id: ID!) { setWebhookPaused(id: $id, paused: true) { paused } }`, {
      id: wanted.id,
    });
    expect(paused.errors).toBeUndefined();
    await ingest(t, threats('paused', 5));
    expect(await outboxRows('paused')).toBe(0);

    await deleteWebhook(t, wanted.id);
    await deleteWebhook(t, other.id);
    // A deleted webhook's waiting events go with it.
    expect(await outboxRows('wanted')).toBe(0);
  });
});

describe('backoff and signatures', () => {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const sender = (random: number) =>
    new WebhookSender(
      { timeoutMs: 1000, backoffBaseMs: 100, backoffMaxMs: 1000, retryForMs: 60_000, allowPrivate: [] },
      createLogger(config),
      () => random,
    );

  it('doubles from the base up to the cap, half of each delay jittered', () => {
    // Full delays 100, 200, 400, 800, 1000 (cap), 1000: jitter 0 gives half, jitter → 1 the whole.
    expect([1, 2, 3, 4, 5, 6].map((n) => sender(0).backoffMs(n))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => sender(0.999).backoffMs(n))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('signs t.body with HMAC-SHA256 and verifies only the same secret, body and a recent time', () => {
    const body = '{"events":[]}';
    const header = sign('s3cret-s3cret-s3cret', body, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verify('s3cret-s3cret-s3cret', body, header, 300, 1_700_000_100)).toBe(true);
    expect(verify('other-secret-other', body, header, 300, 1_700_000_100)).toBe(false);
    expect(verify('s3cret-s3cret-s3cret', `${body} `, header, 300, 1_700_000_100)).toBe(false);
    expect(verify('s3cret-s3cret-s3cret', body, header, 300, 1_700_000_301)).toBe(false);
  });
});
