/**
 * Managing webhooks through the API: ADMIN manages, ANALYST reads (with the URL cut to
 * its origin), lower roles are refused; the secret is never returned nor logged; targets
 * are validated (http/https, no credentials, no private address outside the allow-list);
 * testWebhook sends one signed request; updates and deletes take effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  createWebhook,
  deleteWebhook,
  newSecret,
  WEBHOOK_ENV,
  WEBHOOK_FIELDS,
  type WebhookJson,
} from './webhook-harness.js';
import { validSignature, WebhookReceiver } from './webhook-receiver.js';

let t: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  t = await startTestApp('webhook_api', { ...WEBHOOK_ENV, LOG_LEVEL: 'debug' }, { logLines });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function keyWith(role: string): Promise<string> {
  const res = await t.gql<{ createApiKey: { secret: string } }>(
    'mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { secret } }',
    { n: `webhook ${role}`, r: role },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createApiKey.secret;
}

const CREATE = `mutation($url: String!, $secret: String!, $events: [WebhookEvent!]!) {
  createWebhook(url: $url, secret: $secret, events: $events) { id } }`;

describe('webhook management', () => {
  it('ADMIN creates, updates, pauses and deletes; ANALYST reads with the URL cut to its origin; READER is refused', async () => {
    const receiver = await WebhookReceiver.start();
    const secret = newSecret();
    const url = `${receiver.url}/T000/B000/token-in-the-path`;
    const hook = await createWebhook(t, { url, secret, events: ['THREAT_DETECTED', 'THREAT_DETECTED'] });
    try {
      expect(hook).toMatchObject({ url, events: ['THREAT_DETECTED'], format: 'THREATWIRE', paused: false });
      expect(hook.filter).toEqual({
        minSeverity: null,
        categories: [],
        countries: [],
        scenarios: [],
        minRiskLevel: null,
      });

      const analyst = await keyWith('ANALYST');
      const read = await t.gql<{ webhooks: WebhookJson[] }>(`{ webhooks { id url } }`, {}, analyst);
      expect(read.errors).toBeUndefined();
      expect(read.data!.webhooks.find((w) => w.id === hook.id)?.url).toBe(new URL(receiver.url).origin);
      const refused = await t.gql(CREATE, { url, secret, events: ['THREAT_DETECTED'] }, analyst);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const reader = await keyWith('READER');
      const hidden = await t.gql(`{ webhooks { id } }`, {}, reader);
      expect(hidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      // The schema has no field that could return the secret.
      const asked = await t.gql(`{ webhooks { id secret } }`);
      expect(asked.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

      const updated = await t.gql<{ updateWebhook: WebhookJson }>(
        `mutation($id: ID!) { updateWebhook(id: $id, events: [ALERT_CREATED], filter: { scenarios: ["crowdsecurity/ssh-bf"] },
           format: SLACK, description: "SOC channel") { ${WEBHOOK_FIELDS} } }`,
        { id: hook.id },
      );
      expect(updated.errors).toBeUndefined();
      expect(updated.data!.updateWebhook).toMatchObject({
        url,
        events: ['ALERT_CREATED'],
        format: 'SLACK',
        description: 'SOC channel',
        filter: { scenarios: ['crowdsecurity/ssh-bf'] },
      });
      const paused = await t.gql<{ setWebhookPaused: WebhookJson }>(
        `mutation($id: ID!) { setWebhookPaused(id: $id, paused: true) { paused pausedReason } }`,
        { id: hook.id },
      );
      expect(paused.data!.setWebhookPaused).toEqual({
        paused: true,
        pausedReason: 'paused by an administrator',
      });

      const deleted = await t.gql<{ deleteWebhook: boolean }>(
        `mutation($id: ID!) { deleteWebhook(id: $id) }`,
        { id: hook.id },
      );
      expect(deleted.data!.deleteWebhook).toBe(true);
      const again = await t.gql<{ deleteWebhook: boolean }>(`mutation($id: ID!) { deleteWebhook(id: $id) }`, {
        id: hook.id,
      });
      expect(again.data!.deleteWebhook).toBe(false);
      const gone = await t.gql(`query($id: ID!) { webhookDeliveries(webhookId: $id) { totalCount } }`, {
        id: hook.id,
      });
      expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    } finally {
      await receiver.down();
    }
  });

  it('testWebhook sends one signed request; neither the secret nor the URL path reaches the logs', async () => {
    const receiver = await WebhookReceiver.start();
    const secret = newSecret();
    const url = `${receiver.url}/secret-path-token`;
    const hook = await createWebhook(t, { url, secret, events: ['IOC_ENRICHED'] });
    try {
      const res = await t.gql<{
        testWebhook: { ok: boolean; statusCode: number; latencyMs: number; error: string | null };
      }>(`mutation($id: ID!) { testWebhook(id: $id) { ok statusCode latencyMs error } }`, { id: hook.id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.testWebhook).toMatchObject({ ok: true, statusCode: 200, error: null });
      expect(receiver.requests).toHaveLength(1);
      const req = receiver.requests[0]!;
      expect(req.json).toMatchObject({ webhookId: hook.id, test: true, events: [] });
      expect(validSignature(secret, req)).toBe(true);

      receiver.answer = { status: 500 };
      const failed = await t.gql<{ testWebhook: { ok: boolean; statusCode: number; error: string } }>(
        `mutation($id: ID!) { testWebhook(id: $id) { ok statusCode error } }`,
        { id: hook.id },
      );
      expect(failed.data!.testWebhook).toEqual({ ok: false, statusCode: 500, error: 'HTTP 500' });
      const logs = logLines.join('\n');
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain('secret-path-token');
    } finally {
      await deleteWebhook(t, hook.id);
      await receiver.down();
    }
  });

  it('refuses bad targets, secrets and events with BAD_USER_INPUT naming the argument', async () => {
    const secret = newSecret();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ url: 'ftp://127.0.0.1/x' }, 'url', /http or https/],
      [{ url: 'not a url' }, 'url', /not a URL/],
      [{ url: 'http://user:pass@127.0.0.1/x' }, 'url', /credentials/],
      [{ url: 'http://10.1.2.3/hook' }, 'url', /private address/],
      [{ url: 'http://169.254.169.254/latest' }, 'url', /linkLocal address/],
      [{ url: 'http://[::1]:8080/hook' }, 'url', /loopback address/],
      [{ url: 'http://[::ffff:10.0.0.1]/hook' }, 'url', /private address/],
      [{ secret: 'short' }, 'secret', /at least 16/],
      [{ events: [] }, 'events', /at least one/],
    ];
    for (const [vars, argument, message] of cases) {
      const res = await t.gql(CREATE, {
        url: 'http://127.0.0.1:9/hook',
        secret,
        events: ['THREAT_DETECTED'],
        ...vars,
      });
      expect(res.errors?.[0]?.extensions, JSON.stringify(vars)).toMatchObject({
        code: 'BAD_USER_INPUT',
        argument,
      });
      expect(res.errors?.[0]?.message).toMatch(message);
    }
    const filter = await t.gql(
      `mutation($f: WebhookFilter) { createWebhook(url: "http://127.0.0.1:9/h", secret: "${secret}", events: [THREAT_DETECTED], filter: $f) { id } }`,
      { f: { minSeverity: 11 } },
    );
    expect(filter.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'filter.minSeverity',
      limit: 10,
    });
    const countries = await t.gql(
      `mutation($f: WebhookFilter) { createWebhook(url: "http://127.0.0.1:9/h", secret: "${secret}", events: [THREAT_DETECTED], filter: $f) { id } }`,
      { f: { countries: ['FRA'] } },
    );
    expect(countries.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'filter.countries',
    });
  });
});
