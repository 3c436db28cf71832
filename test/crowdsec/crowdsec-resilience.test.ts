import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
import { redisUrlOrSkip } from '../helpers/services.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { agentAlert, agentClient, eventually, lapiEnv } from './crowdsec-fixtures.js';
import { startProxy, type Proxy } from './tcp-proxy.js';

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

describe.skipIf(!bins)('CrowdSec outages', () => {
  let proxy: Proxy;
  let t: TestApp;

  it('LAPI unreachable: health degrades, /readyz stays 200, retries are paced, nothing crashes', async () => {
    proxy = await startProxy(lapi.url);
    cleanups.push(() => proxy.close());
    t = await startTestApp('crowdsec_outage', lapiEnv({ ...lapi, url: proxy.url }, INTERVAL));
    apps.push(t);
    await eventually(
      async () => {
        const h = await health(t);
        return h.crowdsec.decisions.lastSuccessAt && h.crowdsec.alerts.lastSuccessAt;
      },
      10_000,
      'first successful polls',
    );

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

    await new Promise((r) => setTimeout(r, 4_000));
    const later = await health(t);
    // Backoff: 0.3 + 0.6 + 1.2 + 2.4 s … so about five attempts in five seconds, not seventeen.
    expect(later.crowdsec.decisions.consecutiveFailures).toBeLessThanOrEqual(6);
    expect((await t.gql('{ health { status } }')).status).toBe(200);
  }, 30_000);

  it('LAPI restarted with a new JWT secret: the pollers recover and decisions added meanwhile are not lost', async () => {
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
    const ws = t.ws();
    // Two alerts: the one behind the cscli decision, and the agent's below.
    const alerts = collect<{ alertCreated: { scenario: string } }>(
      ws,
      'subscription { alertCreated { scenario } }',
      2,
    );
    await new Promise((r) => setTimeout(r, 200));
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
  }, 40_000);
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
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await health(t)).crowdsec.decisions.consecutiveFailures).toBeLessThanOrEqual(5);
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

describe.skipIf(!bins)('CrowdSec pollers on two instances', () => {
  const redisUrl = redisUrlOrSkip('two instances share events through Redis');
  it.skipIf(!redisUrl)(
    'each poller runs on one instance; the other takes over when it stops',
    async () => {
      const db = await createTestDatabase('crowdsec_two');
      cleanups.push(() => db.drop());
      const env = lapiEnv({ ...lapi, bouncerKey: await newBouncerKey() }, INTERVAL, {
        REDIS_URL: redisUrl!,
        REDIS_KEY_PREFIX: `tw-cs-${randomBytes(3).toString('hex')}:`,
      });
      const a = await startTestApp('crowdsec_two_a', env, { database: db });
      const b = await startTestApp('crowdsec_two_b', env, { database: db });
      apps.push(a, b);
      const pool = new pg.Pool({ connectionString: db.url, max: 1 });
      cleanups.push(() => pool.end());
      const heldLocks = async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 1953955841
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        return rows[0]!.n;
      };
      await eventually(async () => (await heldLocks()) === 2, 5_000, 'both poller locks taken');
      await new Promise((r) => setTimeout(r, 3 * INTERVAL));
      expect(await heldLocks()).toBe(2); // one holder per poller, never a second

      const sub = collect<{ decisionAdded: { value: string } }>(
        b.ws(),
        'subscription { decisionAdded(filter: { value: "1.0.0.3" }) { value } }',
        2,
      );
      await new Promise((r) => setTimeout(r, 300));
      await lapi.cscli([
        'decisions',
        'add',
        '--ip',
        '1.0.0.3',
        '--duration',
        '1h',
        '--reason',
        'two instances',
      ]);
      await eventually(async () => (await storedCount(a, '1.0.0.3')) === 1, 5_000, 'decision stored');
      await new Promise((r) => setTimeout(r, 4 * INTERVAL));
      sub.unsubscribe();
      expect((await sub.done).length).toBe(1); // published once across both instances
      expect(await storedCount(b, '1.0.0.3')).toBe(1);

      // syncCrowdsec works on either instance (a non-holder forwards it to the holder).
      for (const t of [a, b])
        expect((await t.gql('mutation { syncCrowdsec { decisionsAdded } }')).errors).toBeUndefined();

      await a.stop();
      apps.splice(apps.indexOf(a), 1);
      await eventually(async () => (await heldLocks()) === 2, 3_000, 'locks held by the remaining instance');
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
        async () => (await storedCount(b, '1.0.0.4')) === 1,
        5_000,
        'decision stored after takeover',
      );
    },
    60_000,
  );
});
