/**
 * Every event kind reaches a webhook, signed: THREAT_DETECTED (ingestion), DECISION_ADDED,
 * ALERT_CREATED and DECISION_DELETED (a real CrowdSec LAPI through the pollers), and
 * IOC_ENRICHED (enrichIoc against the fake sources). Filters keep out what they should,
 * and the Slack format carries a `text` line per event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { lapiEnv } from '../crowdsec/crowdsec-fixtures.js';
import { startFakes, type Fakes } from '../iocs/ioc-harness.js';
import { freshIoc } from '../iocs/ioc-samples.js';
import { createWebhook, deleteWebhook, ingest, newSecret, WEBHOOK_ENV } from './webhook-harness.js';
import { validSignature, waitFor, WebhookReceiver } from './webhook-receiver.js';

const bins = lapiOrSkip('webhook CrowdSec events');
let lapi: Lapi | undefined;
let fakes: Fakes;
let t: TestApp;

beforeAll(async () => {
  fakes = await startFakes();
  lapi = bins ? await startLapi() : undefined;
  t = await startTestApp('webhook_events', {
    ...WEBHOOK_ENV,
    ...fakes.env,
    VIRUSTOTAL_RATE_LIMITS: '',
    ...(lapi ? lapiEnv(lapi, 300) : {}),
  });
}, 90_000);
afterAll(async () => {
  await t?.stop();
  await lapi?.stop();
  await fakes?.close();
});

const ip = (n: number) => `203.0.113.${n}`;

describe('webhook events', () => {
  it('THREAT_DETECTED honours minSeverity, categories and countries; SLACK gets text lines', async () => {
    const all = await WebhookReceiver.start();
    const severe = await WebhookReceiver.start();
    const elsewhere = await WebhookReceiver.start();
    const slack = await WebhookReceiver.start();
    const secret = newSecret();
    const hooks = [
      await createWebhook(t, { url: all.url, secret, events: ['THREAT_DETECTED'] }),
      await createWebhook(t, {
        url: severe.url,
        secret,
        events: ['THREAT_DETECTED'],
        filter: { minSeverity: 8, categories: ['BRUTEFORCE'] },
      }),
      await createWebhook(t, {
        url: elsewhere.url,
        secret,
        events: ['THREAT_DETECTED'],
        filter: { countries: ['ZZ'] },
      }),
      await createWebhook(t, { url: slack.url, secret, events: ['THREAT_DETECTED'], format: 'SLACK' }),
    ];
    try {
      const tag = hooks[0]!.id;
      await ingest(t, [
        { externalId: `${tag}-low`, sourceIp: ip(1), threatType: 'ssh-bruteforce', severity: 3 },
        { externalId: `${tag}-high`, sourceIp: ip(2), threatType: 'ssh-bruteforce', severity: 9 },
        { externalId: `${tag}-scan`, sourceIp: ip(3), threatType: 'port-scan', severity: 9 },
      ]);
      await waitFor(() => (all.events().length >= 3 ? true : undefined), 'three events');
      await waitFor(() => (severe.events().length >= 1 ? true : undefined), 'the severe one');
      await waitFor(() => (slack.requests.length >= 1 ? true : undefined), 'the Slack message');
      expect(all.events().map((e) => e.data.externalId)).toEqual([
        `${tag}-low`,
        `${tag}-high`,
        `${tag}-scan`,
      ]);
      expect(severe.events().map((e) => e.data.externalId)).toEqual([`${tag}-high`]);
      expect(severe.events()[0]!.data).toMatchObject({
        severity: 9,
        category: 'BRUTEFORCE',
        sourceIp: ip(2),
      });
      for (const r of [...all.requests, ...severe.requests, ...slack.requests])
        expect(validSignature(secret, r)).toBe(true);
      const text = slack.requests.map((r) => r.json.text ?? '').join('\n');
      expect(Object.keys(slack.requests[0]!.json)).toEqual(['text']);
      for (const n of [1, 2, 3]) expect(text).toContain(`from ${ip(n)}`);
      // Nothing matched the country filter: no request at all (its events never entered the outbox).
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      for (const h of hooks) await deleteWebhook(t, h.id);
      for (const r of [all, severe, elsewhere, slack]) await r.down();
    }
  });

  it('IOC_ENRICHED after enrichIoc, with minRiskLevel', async () => {
    const any = await WebhookReceiver.start();
    const high = await WebhookReceiver.start();
    const secret = newSecret();
    const hooks = [
      await createWebhook(t, { url: any.url, secret, events: ['IOC_ENRICHED'] }),
      await createWebhook(t, {
        url: high.url,
        secret,
        events: ['IOC_ENRICHED'],
        filter: { minRiskLevel: 'HIGH' },
      }),
    ];
    try {
      const bad = freshIoc('IPV4').value;
      for (const f of fakes.all) f.setScenario(bad, 'known-bad');
      const clean = freshIoc('IPV4').value;
      for (const v of [bad, clean]) {
        const res = await t.gql(`mutation($v: String!) { enrichIoc(value: $v) { id riskLevel } }`, { v });
        expect(res.errors).toBeUndefined();
      }
      await waitFor(() => (any.events().length >= 2 ? true : undefined), 'two enrichments');
      await waitFor(() => (high.events().length >= 1 ? true : undefined), 'the risky one');
      expect(any.events().map((e) => [e.type, e.data.value])).toEqual([
        ['IOC_ENRICHED', bad],
        ['IOC_ENRICHED', clean],
      ]);
      expect(high.events().map((e) => e.data.value)).toEqual([bad]);
      expect(['HIGH', 'CRITICAL']).toContain(high.events()[0]!.data.riskLevel);
      for (const r of [...any.requests, ...high.requests]) expect(validSignature(secret, r)).toBe(true);
    } finally {
      for (const h of hooks) await deleteWebhook(t, h.id);
      for (const r of [any, high]) await r.down();
    }
  });

  it.skipIf(!bins)(
    'DECISION_ADDED, ALERT_CREATED and DECISION_DELETED from the CrowdSec LAPI',
    async () => {
      const receiver = await WebhookReceiver.start();
      const other = await WebhookReceiver.start();
      const secret = newSecret();
      const hooks = [
        await createWebhook(t, {
          url: receiver.url,
          secret,
          events: ['DECISION_ADDED', 'DECISION_DELETED', 'ALERT_CREATED'],
        }),
        await createWebhook(t, {
          url: other.url,
          secret,
          events: ['ALERT_CREATED'],
          filter: { scenarios: ['crowdsecurity/none-such'] },
        }),
      ];
      try {
        const value = ip(77);
        const reason = `webhook test ${hooks[0]!.id}`;
        await lapi!.cscli(['decisions', 'add', '--ip', value, '--duration', '1h', '--reason', reason]);
        const mine = () =>
          receiver.events().filter((e) => e.data.value === value || e.data.sourceValue === value);
        await waitFor(
          () =>
            mine().some((e) => e.type === 'DECISION_ADDED') && mine().some((e) => e.type === 'ALERT_CREATED')
              ? true
              : undefined,
          'the decision and its alert',
        );
        await lapi!.cscli(['decisions', 'delete', '--ip', value]);
        await waitFor(
          () => (mine().some((e) => e.type === 'DECISION_DELETED') ? true : undefined),
          'the deletion',
        );
        const byType = (type: string) => mine().filter((e) => e.type === type);
        expect(byType('DECISION_ADDED')).toHaveLength(1);
        expect(byType('DECISION_ADDED')[0]!.data).toMatchObject({ value, type: 'ban', scenario: reason });
        expect(byType('ALERT_CREATED')).toHaveLength(1);
        expect(byType('ALERT_CREATED')[0]!.data).toMatchObject({ sourceValue: value, scenario: reason });
        expect(byType('DECISION_DELETED')).toHaveLength(1);
        expect(byType('DECISION_DELETED')[0]!.data.deletedAt).toBeTruthy();
        for (const r of receiver.requests) expect(validSignature(secret, r)).toBe(true);
        expect(other.requests).toHaveLength(0);
      } finally {
        for (const h of hooks) await deleteWebhook(t, h.id);
        for (const r of [receiver, other]) await r.down();
      }
    },
    60_000,
  );
});
