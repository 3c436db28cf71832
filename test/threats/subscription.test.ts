import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrlOrSkip } from '../helpers/services.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { event, INGEST_MANY, IPS } from './threat-fixtures.js';

const SUBSCRIBE = `subscription($minSeverity: Int, $categories: [ThreatCategory!], $countries: [String!]) {
  threatDetected(minSeverity: $minSeverity, categories: $categories, countries: $countries) {
    id externalId severity geo { countryCode } classification { category } } }`;

interface Detected {
  externalId: string;
  severity: number;
  geo: { countryCode: string } | null;
  classification: { category: string };
}

/** Subscribes and keeps everything it receives; `ready` resolves once a probe made it through. */
function listen(client: Client, variables: Record<string, unknown>) {
  const received: Detected[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const unsubscribe = client.subscribe<{ threatDetected: Detected }>(
    { query: SUBSCRIBE, variables },
    {
      next: (v) => {
        if (v.data) received.push(v.data.threatDetected);
        if (v.errors) errors.push(v.errors);
        waiters.splice(0).forEach((w) => w());
      },
      error: (err: unknown) => {
        errors.push(err);
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => undefined,
    },
  );
  const until = async (pred: (r: Detected[]) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred(received)) {
      if (Date.now() > deadline)
        throw new Error(`timed out; received ${JSON.stringify(received.map((r) => r.externalId))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return { received, errors, until, unsubscribe };
}

/** Sends probes through `sender` until the listener saw one: the subscription is live on every hop. */
async function waitLive(sender: TestApp, l: ReturnType<typeof listen>, probe: Record<string, unknown>) {
  for (let i = 0; i < 50; i++) {
    await sender.gql(INGEST_MANY, { inputs: [event({ ...probe, externalId: `probe-${Date.now()}-${i}` })] });
    try {
      await l.until((r) => r.some((e) => e.externalId.startsWith('probe-')), 200);
      return;
    } catch {
      // not subscribed yet
    }
  }
  throw new Error('subscription never became live');
}

const real = (r: Detected[]) => r.filter((e) => !e.externalId.startsWith('probe-'));

describe('threatDetected', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('threat_subscription');
  });
  afterAll(() => t?.stop());

  it('delivers only events at or above minSeverity', async () => {
    const l = listen(t.ws(), { minSeverity: 8 });
    await waitLive(t, l, { severity: 10 });
    const tag = `sev-${Date.now()}`;
    const severities = [5, 8, 6, 9, 7, 10, 1];
    await t.gql(INGEST_MANY, {
      inputs: severities.map((severity, i) => event({ severity, externalId: `${tag}-${i}` })),
    });
    await t.gql(INGEST_MANY, { inputs: [event({ severity: 10, externalId: `${tag}-end` })] });
    await l.until((r) => r.some((e) => e.externalId === `${tag}-end`));
    expect(real(l.received).map((e) => e.severity)).toEqual([8, 9, 10, 10]);
    l.unsubscribe();
  });

  it('filters by category and country together', async () => {
    const l = listen(t.ws(), { categories: ['SCAN'], countries: ['jp'] });
    const scanJp = {
      threatType: 'port_scan',
      description: 'SYN sweep',
      destinationPort: 443,
      sourceIp: IPS.JP,
    };
    await waitLive(t, l, scanJp);
    const tag = `cat-${Date.now()}`;
    await t.gql(INGEST_MANY, {
      inputs: [
        event({ externalId: `${tag}-brute-jp`, sourceIp: IPS.JP }),
        event({ ...scanJp, externalId: `${tag}-scan-us`, sourceIp: IPS.US }),
        event({ ...scanJp, externalId: `${tag}-scan-jp` }),
      ],
    });
    await l.until((r) => r.some((e) => e.externalId === `${tag}-scan-jp`));
    expect(real(l.received).map((e) => e.externalId)).toEqual([`${tag}-scan-jp`]);
    expect(real(l.received)[0]).toMatchObject({
      geo: { countryCode: 'JP' },
      classification: { category: 'SCAN' },
    });
    l.unsubscribe();
  });

  it('rejects an out-of-range minSeverity', async () => {
    const l = listen(t.ws(), { minSeverity: 11 });
    const deadline = Date.now() + 5000;
    while (l.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.stringify(l.errors)).toContain('minSeverity must be between 1 and 10');
    expect(JSON.stringify(l.errors)).toContain('BAD_USER_INPUT');
  });
});

const sharedRedis = redisUrlOrSkip('threatDetected across instances');

describe.runIf(sharedRedis)('threatDetected across instances sharing Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('threat_two_instances');
    const env = { REDIS_URL: sharedRedis!, REDIS_KEY_PREFIX: `tw-threat-${Date.now()}:` };
    [a, b] = await Promise.all([
      startTestApp('ta', env, { database: db }),
      startTestApp('tb', env, { database: db }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('an event ingested through instance A reaches a subscriber on instance B', async () => {
    const l = listen(b.ws(), { minSeverity: 7 });
    await waitLive(a, l, { severity: 9 });
    const tag = `ab-${Date.now()}`;
    await a.gql(INGEST_MANY, {
      inputs: [
        event({ severity: 3, externalId: `${tag}-low` }),
        event({ severity: 7, externalId: `${tag}-hit` }),
      ],
    });
    await l.until((r) => r.some((e) => e.externalId === `${tag}-hit`));
    expect(real(l.received).map((e) => e.externalId)).toEqual([`${tag}-hit`]);
    l.unsubscribe();
  });
});
