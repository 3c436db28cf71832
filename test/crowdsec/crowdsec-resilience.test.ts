import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
import { redisUrlOrSkip } from '../helpers/services.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { agentAlert, agentClient, eventually, lapiEnv } from './crowdsec-fixtures.js';
import { startProxy } from './tcp-proxy.js';

const INTERVAL = 300;
const bins = lapiOrSkip('CrowdSec resilience tests');
let lapi: Lapi;
const apps: TestApp[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  if (bins) lapi = await startLapi();
}, 60_000);
afterAll(async () => {
  for (const a of apps) await a.stop().catch(() => undefined);
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await lapi?.stop();
});

interface CsHealth {
  status: string;
  lastError: string | null;
  decisions: { lastSuccessAt: string | null; lastError: string | null; consecutiveFailures: number };
  alerts: { lastSuccessAt: string | null; lastError: string | null; consecutiveFailures: number };
}
const HEALTH = `{ health { status crowdsec { status lastError
  decisions { lastSuccessAt lastError consecutiveFailures } alerts { lastSuccessAt lastError consecutiveFailures } } } }`;
async function health(t: TestApp) {
  const res = await t.gql<{ health: { status: string; crowdsec: CsHealth } }>(HEALTH);
  expect(res.errors).toBeUndefined();
  return res.data!.health;
}

/** A separate bouncer, so this app's stream position is its own. */
async function newBouncerKey(): Promise<string> {
  const key = randomBytes(16).toString('hex');
  await lapi.cscli(['bouncers', 'add', `tw-${randomBytes(3).toString('hex')}`, '-k', key]);
  return key;
}

async function storedCount(t: TestApp, value: string): Promise<number> {
  const res = await t.gql<{ decisions: { totalCount: number } }>(
    'query($v: String) { decisions(filter: { value: $v }) { totalCount } }',
    { v: value },
  );
  return res.data?.decisions.totalCount ?? 0;
}

/** An app polling the LAPI through a proxy of its own, after its first successful polls. */
async function appBehindProxy(label: string) {
  const proxy = await startProxy(lapi.url);
  cleanups.push(() => proxy.close());
  const t = await startTestApp(label, lapiEnv({ ...lapi, url: proxy.url }, INTERVAL));
  apps.push(t);
  await eventually(
    async () => {
      const h = await health(t);
      return h.crowdsec.decisions.lastSuccessAt && h.crowdsec.alerts.lastSuccessAt;
    },
    10_000,
    'first successful polls',
  );
  return { t, proxy };
}

/**
 * Checks the decisions poller's pacing: from its current run of failures (c >= 1) to
 * `more` failures later takes at least the backoff, interval × 2^(c-1) × (2^more - 1).
 * A lower bound, which a slow machine can only exceed; half a second is left for the
 * health polling that observes the first failure late.
 */
async function expectBackoff(t: TestApp, more: number): Promise<void> {
  const failures = async () => (await health(t)).crowdsec.decisions.consecutiveFailures;
  const from = await eventually(failures, 10_000, 'a first failure');
  const start = Date.now();
  await eventually(async () => (await failures()) >= from + more, 30_000, `${more} more failures`);
  const backoff = INTERVAL * 2 ** (from - 1) * (2 ** more - 1);
  expect(Date.now() - start).toBeGreaterThanOrEqual(backoff - 500);
}

describe.skipIf(!bins)('CrowdSec outages', () => {
  it('LAPI unreachable: health degrades, /readyz stays 200, retries back off, nothing crashes', async () => {
    const { t, proxy } = await appBehindProxy('crowdsec_outage');
    await proxy.cut();
    const down = await eventually(
      async () => {
        const h = await health(t);
        return h.crowdsec.status === 'DOWN' && h;
      },
      5_000,
      'crowdsec DOWN',
    );
    expect(down.status).toBe('DEGRADED');
    expect(down.crowdsec.lastError).toMatch(/cannot reach|ECONNREFUSED|no answer/i);
    expect((await fetch(`${t.origin}/readyz`)).status).toBe(200);
    // Without backoff, three more failures would take 3 intervals (0.9 s), not >= 2.1 s.
    await expectBackoff(t, 3);
    expect((await t.gql('{ health { status } }')).status).toBe(200);
  }, 60_000);

  it('LAPI restarted with a new JWT secret: the pollers recover and decisions added meanwhile are not lost', async () => {
    const { t, proxy } = await appBehindProxy('crowdsec_jwt_restart');
    await proxy.cut();
    await lapi.restart({ newJwtSecret: true });
    await lapi.cscli([
      'decisions',
      'add',
      '--ip',
      '1.0.0.1',
      '--duration',
      '3h',
      '--reason',
      'added during outage',
    ]);
    // Two alerts: the one behind the cscli decision, and the agent's below.
    const alerts = collect<{ alertCreated: { scenario: string } }>(
      t.ws(),
      'subscription { alertCreated { scenario } }',
      2,
    );
    // One instance without Redis: registered on the server is live.
    await eventually(
      async () => /threatwire_ws_subscriptions 1\b/.test(await (await fetch(`${t.origin}/metrics`)).text()),
      10_000,
      'the alertCreated subscription registered',
    );
    await proxy.restore();
    await eventually(
      async () => (await storedCount(t, '1.0.0.1')) === 1,
      15_000,
      'the decision added during the outage',
    );
    // The watcher JWT died with the restart: the alerts poller must log in again by itself.
    await agentClient(lapi).postAlerts([
      agentAlert({ scenario: 'crowdsecurity/http-bad-user-agent', ip: '1.0.0.2' }),
    ]);
    const events = await alerts.done;
    expect(events.map((e) => e.alertCreated.scenario)).toContain('crowdsecurity/http-bad-user-agent');
    const h = await eventually(
      async () => {
        const x = await health(t);
        return x.crowdsec.status === 'UP' && x;
      },
      10_000,
      'crowdsec UP again',
    );
    expect(h.status).toBe('OK');
  }, 60_000);
});

describe.skipIf(!bins)('CrowdSec credentials', () => {
  it('a wrong bouncer key and machine password give a clear health error, no crash loop', async () => {
    const t = await startTestApp('crowdsec_badcreds', {
      ...lapiEnv(lapi, INTERVAL),
      CROWDSEC_BOUNCER_KEY: 'wrong-bouncer-key-0123456789',
      CROWDSEC_MACHINE_PASSWORD: 'wrong-password',
    });
    apps.push(t);
    const h = await eventually(
      async () => {
        const x = await health(t);
        return x.crowdsec.decisions.lastError && x.crowdsec.alerts.lastError && x;
      },
      10_000,
      'both pollers to report',
    );
    expect(h.crowdsec.status).toBe('DOWN');
    expect(h.crowdsec.decisions.lastError).toMatch(/rejected the bouncer API key/);
    expect(h.crowdsec.alerts.lastError).toMatch(/wrong machine id or password/);
    await expectBackoff(t, 2);
    expect((await fetch(`${t.origin}/readyz`)).status).toBe(200);
    const ban = await t.gql('mutation { banIp(value: "9.9.9.9", duration: "1h", reason: "x") { id } }');
    expect(ban.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(ban.errors?.[0]?.message).toMatch(/machine/);
  }, 30_000);

  it('without machine credentials, banIp explains what to configure', async () => {
    const t = await startTestApp('crowdsec_nomachine', {
      CROWDSEC_LAPI_URL: lapi.url,
      CROWDSEC_BOUNCER_KEY: await newBouncerKey(),
      CROWDSEC_POLL_INTERVAL_MS: String(INTERVAL),
    });
    apps.push(t);
    const ban = await t.gql('mutation { banIp(value: "9.9.9.9", duration: "1h", reason: "x") { id } }');
    expect(ban.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(ban.errors?.[0]?.message).toMatch(/CROWDSEC_MACHINE_ID/);
  }, 20_000);
});

/** Every decisionAdded value an instance publishes, in order. */
function listenDecisions(t: TestApp) {
  const values: string[] = [];
  const unsubscribe = t.ws().subscribe<{ decisionAdded: { value: string } }>(
    { query: 'subscription { decisionAdded { value } }' },
    {
      next: (v) => void (v.data && values.push(v.data.decisionAdded.value)),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  cleanups.push(() => Promise.resolve(unsubscribe()));
  return { values };
}

/** `eventually` for a condition that needs no I/O. */
const until = <T>(check: () => T | undefined | false, timeoutMs: number, what: string) =>
  eventually(() => Promise.resolve(check()), timeoutMs, what);

/** Adds probe decisions until the listener saw one: the subscription is live on every hop. */
async function waitLive(seen: { values: string[] }, prefix: string) {
  for (let i = 1; i < 50; i++) {
    await lapi.cscli(['decisions', 'add', '--ip', `${prefix}.${i}`, '--duration', '1h', '--reason', 'probe']);
    try {
      await until(() => seen.values.some((v) => v.startsWith(`${prefix}.`)), 2_000, 'probe');
      return;
    } catch {
      // not live yet
    }
  }
  throw new Error('the decisionAdded subscription never became live');
}

describe.skipIf(!bins)('CrowdSec pollers on two instances', () => {
  const redisUrl = redisUrlOrSkip('two instances share events through Redis');
  it.skipIf(!redisUrl)(
    'only the lock holder polls the bouncer stream; the other takes over within about two intervals',
    async () => {
      const db = await createTestDatabase('crowdsec_two');
      cleanups.push(() => db.drop());
      // One LAPI URL (the poller lock is per LAPI) behind a proxy that sees every request;
      // each instance has its own bouncer key, so the proxy tells their stream calls apart.
      const proxy = await startProxy(lapi.url);
      cleanups.push(() => proxy.close());
      const keys = { a: await newBouncerKey(), b: await newBouncerKey() };
      const redisPrefix = `tw-cs-${randomBytes(3).toString('hex')}:`;
      const env = (bouncerKey: string) =>
        lapiEnv({ ...lapi, url: proxy.url, bouncerKey }, INTERVAL, {
          REDIS_URL: redisUrl!,
          REDIS_KEY_PREFIX: redisPrefix,
        });
      const streamCalls = (key: string) =>
        proxy.count('/v1/decisions/stream', { name: 'x-api-key', value: key });
      const a = await startTestApp('crowdsec_two_a', env(keys.a), { database: db });
      const b = await startTestApp('crowdsec_two_b', env(keys.b), { database: db });
      apps.push(a, b);
      const instances = { a, b } as const;
      // Whoever polled first holds the lock; let it poll ten times (about ten intervals,
      // in which the other asked for the lock about ten times).
      const leaderName = await until(
        () => (streamCalls(keys.a) > 0 ? 'a' : streamCalls(keys.b) > 0 ? 'b' : undefined),
        10_000,
        'a first stream request',
      );
      const followerName = leaderName === 'a' ? 'b' : 'a';
      const [leader, follower] = [instances[leaderName], instances[followerName]];
      await until(() => streamCalls(keys[leaderName]) >= 10, 20_000, 'ten polls by the holder');
      expect(streamCalls(keys[followerName])).toBe(0);

      // A decision is stored once and published once, whichever instance one listens on.
      const value = '1.0.0.3';
      const seen = listenDecisions(follower);
      await waitLive(seen, '1.0.1');
      await lapi.cscli(['decisions', 'add', '--ip', value, '--duration', '1h', '--reason', 'two instances']);
      await until(() => seen.values.includes(value), 10_000, 'the decision published');
      expect(await storedCount(leader, value)).toBe(1);
      // A later decision arrives after any repeat of the first one would have.
      await lapi.cscli(['decisions', 'add', '--ip', '1.0.0.5', '--duration', '1h', '--reason', 'marker']);
      await until(() => seen.values.includes('1.0.0.5'), 10_000, 'the marker published');
      expect(seen.values.filter((v) => v === value)).toHaveLength(1);
      expect(await storedCount(leader, value)).toBe(1);
      expect(await storedCount(follower, value)).toBe(1);

      // syncCrowdsec works on either instance (a non-holder forwards it to the holder).
      for (const t of [a, b])
        expect((await t.gql('mutation { syncCrowdsec { decisionsAdded } }')).errors).toBeUndefined();
      expect(streamCalls(keys[followerName])).toBe(0);

      const before = streamCalls(keys[followerName]);
      await leader.stop();
      apps.splice(apps.indexOf(leader), 1);
      const stoppedAt = Date.now();
      await until(() => streamCalls(keys[followerName]) > before, 10_000, 'the takeover');
      // The follower asks for the lock every interval; the bound only allows for a slow machine.
      expect(Date.now() - stoppedAt).toBeLessThan(2 * INTERVAL + 1_000);
      await lapi.cscli([
        'decisions',
        'add',
        '--ip',
        '1.0.0.4',
        '--duration',
        '1h',
        '--reason',
        'after takeover',
      ]);
      await eventually(
        async () => (await storedCount(follower, '1.0.0.4')) === 1,
        10_000,
        'decision stored after takeover',
      );
    },
    90_000,
  );
});
