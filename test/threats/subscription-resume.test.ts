import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionRepository, type DecisionInput } from '../../src/crowdsec/decision-repository.js';
import { TOPICS } from '../../src/crowdsec/crowdsec-types.js';
import { IOC_ENRICHED_TOPIC } from '../../src/iocs/ioc-record.js';
import { RedisEventBus } from '../../src/platform/redis-event-bus.js';
import { redisUrlOrSkip } from '../helpers/services.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { event, INGEST_MANY } from './threat-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

/**
 * Resumable subscriptions through real graphql-ws clients: a client that was away while
 * events were stored comes back with the cursor of the last event it received and gets
 * exactly what it missed, in order, then the live events, none twice.
 */

const SUBSCRIBE = `subscription($after: String, $minSeverity: Int) {
  threatDetected(after: $after, minSeverity: $minSeverity) { cursor externalId severity } }`;

interface Seen {
  cursor: string;
  externalId: string;
  severity: number;
}

interface FormattedError {
  message: string;
  extensions?: { code?: string; argument?: string; reason?: string; windowSeconds?: number };
}

/** Subscribes and keeps what arrives; `until` waits for a condition (never a fixed time). */
function listen<T>(client: Client, query: string, variables: Record<string, unknown>, field: string) {
  const received: T[] = [];
  const errors: FormattedError[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (v) => {
        if (v.data) received.push(v.data[field]!);
        if (v.errors) errors.push(...(v.errors as FormattedError[]));
        wake();
      },
      error: (err: unknown) => {
        errors.push(...(Array.isArray(err) ? (err as FormattedError[]) : [{ message: String(err) }]));
        wake();
      },
      complete: wake,
    },
  );
  const until = async (pred: () => boolean, what: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${received.length}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return { received, errors, until, unsubscribe };
}

/** The first error a subscription gets (it must get one before any result). */
async function refusal(client: Client, variables: Record<string, unknown>): Promise<FormattedError> {
  const l = listen<Seen>(client, SUBSCRIBE, variables, 'threatDetected');
  const deadline = Date.now() + 15_000;
  while (l.errors.length === 0 && l.received.length === 0) {
    if (Date.now() > deadline) throw new Error('no answer');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(l.received).toEqual([]);
  return l.errors[0]!;
}

/** Ingests `ids` in order, `size` per call, each call after the previous one answered. */
async function ingestInOrder(
  senders: readonly TestApp[],
  ids: readonly string[],
  size: number,
  severity: (i: number) => number = () => 5,
): Promise<void> {
  for (let from = 0, call = 0; from < ids.length; from += size, call++) {
    const inputs = ids
      .slice(from, from + size)
      .map((externalId, k) => event({ externalId, severity: severity(from + k) }));
    const res = await senders[call % senders.length]!.gql<{ ingestThreatEvents: { accepted: number } }>(
      INGEST_MANY,
      { inputs },
    );
    expect(res.data?.ingestThreatEvents.accepted).toBe(inputs.length);
  }
}

const range = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${tag}-${String(i).padStart(5, '0')}`);

/**
 * A first client sees `before` arrive and disconnects; 5,000 events are ingested; a new
 * client resumes from the last cursor while live events keep coming. Returns what the
 * resumed clients received with the ids they must have received.
 */
async function missedThenLive(receiver: TestApp, senders: readonly TestApp[], tag: string) {
  const first = receiver.ws();
  const l1 = listen<Seen>(first, SUBSCRIBE, {}, 'threatDetected');
  const before = range(`${tag}-before`, 10);
  // Probes until the first subscription is live, then ten events it must see.
  const isProbe = (e: Seen) => e.externalId.startsWith(`${tag}-probe`);
  for (let i = 0; !l1.received.some(isProbe); i++) {
    expect(i).toBeLessThan(100);
    await ingestInOrder(senders, [`${tag}-probe-${i}`], 1);
    await l1.until(() => l1.received.some(isProbe), 'a probe', 1_000).catch(() => undefined);
  }
  await ingestInOrder(senders, before, 5);
  await l1.until(() => l1.received.some((e) => e.externalId === before.at(-1)), 'the last of before');
  const last = l1.received.at(-1)!;
  expect(last.externalId).toBe(before.at(-1));
  await first.dispose();

  const missed = range(`${tag}-missed`, 5_000);
  // Severity 8 for every third event: a filtered resume gets exactly those.
  const severity = (i: number) => (i % 3 === 0 ? 8 : 5);
  await ingestInOrder(senders, missed, 500, severity);

  const all = listen<Seen>(receiver.ws(), SUBSCRIBE, { after: last.cursor }, 'threatDetected');
  const high = listen<Seen>(
    receiver.ws(),
    SUBSCRIBE,
    { after: last.cursor, minSeverity: 8 },
    'threatDetected',
  );
  // Live events start at once, while the replays run.
  const live = range(`${tag}-live`, 200);
  await ingestInOrder(senders, live, 10, severity);
  const end = `${tag}-end`;
  await ingestInOrder(senders, [end], 1, () => 9);
  await all.until(() => all.received.some((e) => e.externalId === end), 'the end marker');
  await high.until(() => high.received.some((e) => e.externalId === end), 'the end marker (filtered)');
  all.unsubscribe();
  high.unsubscribe();
  const expectedAll = [...missed, ...live, end];
  const expectedHigh = [...missed.filter((_, i) => i % 3 === 0), ...live.filter((_, i) => i % 3 === 0), end];
  return { all: all.received, high: high.received, expectedAll, expectedHigh };
}

function expectExactly(received: readonly Seen[], expected: readonly string[]) {
  const ids = received.map((e) => e.externalId);
  expect(ids.length).toBe(expected.length);
  expect(ids).toEqual(expected);
  expect(new Set(received.map((e) => e.cursor)).size).toBe(received.length);
}

describe('resuming threatDetected on one instance', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('threat_resume');
  });
  afterAll(() => t?.stop());

  it('replays exactly the 5,000 missed events in order, then live ones, none twice (also filtered)', async () => {
    const r = await missedThenLive(t, [t], `one-${Date.now()}`);
    expectExactly(r.all, r.expectedAll);
    expectExactly(r.high, r.expectedHigh);
    expect(r.high.every((e) => e.severity >= 8)).toBe(true);
  }, 180_000);

  it('refuses forged and garbage cursors with BAD_USER_INPUT naming after', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const forged = [
      'not a cursor',
      '',
      'A'.repeat(201),
      'abc\u0000def',
      '\ud800',
      b64('tw1:threatDetected:12x'),
      b64('tw1:threatDetected:-1'),
      b64('tw1:threatDetected:99999999999999999999'), // beyond a bigint
      b64('tw1:threatDetected:900000000000000000'), // ahead of the stream
      b64('tw1:decisionAdded:1'), // another stream's
      b64('tw0:threatDetected:1'),
    ];
    const client = t.ws();
    for (const after of forged) {
      const err = await refusal(client, { after });
      expect({ after, code: err.extensions?.code, argument: err.extensions?.argument }).toEqual({
        after,
        code: 'BAD_USER_INPUT',
        argument: 'after',
      });
      expect(err.extensions?.reason).toBe('INVALID_CURSOR');
    }
  }, 60_000);

  it('refuses a cursor whose replay would start before the window with CURSOR_TOO_OLD', async () => {
    const tag = `old-${Date.now()}`;
    const l = listen<Seen>(t.ws(), SUBSCRIBE, {}, 'threatDetected');
    for (let i = 0; l.received.length === 0; i++) {
      expect(i).toBeLessThan(100);
      await ingestInOrder([t], [`${tag}-${i}`], 1);
      await l.until(() => l.received.length > 0, 'an event', 2_000).catch(() => undefined);
    }
    const cursor = l.received.at(-1)!.cursor;
    l.unsubscribe();
    // The next event after the cursor was stored two hours ago (the window is one hour).
    const pool = testPool(t.databaseUrl, { max: 1 });
    try {
      await pool.query(
        `INSERT INTO threat_events (id, source_ip, threat_type, severity, confidence, occurred_at, ingested_at,
           category, category_confidence, classification_method)
         VALUES (gen_random_uuid(), '203.0.113.9', 'ssh_bruteforce', 5, 0.9, now() - interval '2 hours',
           now() - interval '2 hours', 'BRUTEFORCE', 0.9, 'RULES')`,
      );
    } finally {
      await pool.end();
    }
    const err = await refusal(t.ws(), { after: cursor });
    expect(err.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'after',
      reason: 'CURSOR_TOO_OLD',
      windowSeconds: 3600,
    });
    expect(err.message).toContain('too old');
  }, 60_000);
});

const sharedRedis = redisUrlOrSkip('resuming subscriptions across instances');

describe.runIf(sharedRedis)('resuming subscriptions across two instances sharing Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  const prefix = `tw-resume-${Date.now()}:`;
  beforeAll(async () => {
    db = await createTestDatabase('threat_resume_two');
    const env = { REDIS_URL: sharedRedis!, REDIS_KEY_PREFIX: prefix };
    [a, b] = await Promise.all([
      startTestApp('ra', env, { database: db }),
      startTestApp('rb', env, { database: db }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('threatDetected: replays exactly what was ingested through either instance, then live, none twice', async () => {
    const r = await missedThenLive(b, [a, b], `two-${Date.now()}`);
    expectExactly(r.all, r.expectedAll);
    expectExactly(r.high, r.expectedHigh);
  }, 180_000);

  it('decisionAdded: replays decisions written straight to the table, filtered, then live ones from another instance', async () => {
    const tag = Date.now() % 1_000_000;
    const lapi = `http://lapi-${tag}.test`;
    const pool = testPool(db.url, { max: 2 });
    const repo = new DecisionRepository(pool);
    const publisher = new Redis(sharedRedis!);
    const subscriber = new Redis(sharedRedis!);
    const bus = new RedisEventBus(publisher, subscriber, prefix, pino({ level: 'silent' }));
    const decision = (n: number): DecisionInput => ({
      crowdsecId: tag * 1000 + n,
      origin: 'cscli',
      type: n % 7 === 0 ? 'captcha' : 'ban',
      scope: 'Ip',
      value: `198.51.${Math.floor(n / 250)}.${n % 250}`,
      scenario: `resume/${tag}`,
      simulated: false,
      expiresAt: new Date(Date.now() + 3_600_000),
      geo: {
        country_code: null,
        city: null,
        latitude: null,
        longitude: null,
        geo_approximate: true,
        asn: null,
        as_org: null,
      },
    });
    try {
      await repo.upsertBatch(lapi, [decision(0)]);
      const listed = await b.gql<{ decisions: { edges: { node: { cursor: string; value: string } }[] } }>(
        `query($v: String) { decisions(filter: { value: $v }, first: 1) { edges { node { cursor value } } } }`,
        { v: decision(0).value },
      );
      const cursor = listed.data!.decisions.edges[0]!.node.cursor;
      // Missed: stored while nobody listened, never published.
      const missed = Array.from({ length: 300 }, (_, i) => decision(i + 1));
      for (let i = 0; i < missed.length; i += 50) await repo.upsertBatch(lapi, missed.slice(i, i + 50));

      const l = listen<{ cursor: string; value: string; type: string }>(
        b.ws(),
        `subscription($after: String) { decisionAdded(after: $after, filter: { type: "ban" }) { cursor value type } }`,
        { after: cursor },
        'decisionAdded',
      );
      // Live: stored and published by "another instance", one at a time.
      const live = Array.from({ length: 20 }, (_, i) => decision(i + 301));
      for (const d of live) {
        const [stored] = await repo.upsertBatch(lapi, [d]);
        await bus.publish(TOPICS.decisionAdded, stored!);
      }
      const expected = [...missed, ...live].filter((d) => d.type === 'ban').map((d) => d.value);
      await l.until(() => l.received.some((d) => d.value === expected.at(-1)), 'the last live decision');
      // One more, so that a late duplicate would have arrived before it.
      const [extra] = await repo.upsertBatch(lapi, [decision(321)]);
      await bus.publish(TOPICS.decisionAdded, extra!);
      await l.until(() => l.received.some((d) => d.value === extra!.value), 'the extra decision');
      const got = l.received.map((d) => d.value);
      const want = [...expected, extra!.value];
      const at = got.findIndex((v, i) => v !== want[i]);
      expect({
        length: got.length,
        firstDifference: at,
        around: at === -1 ? [] : got.slice(Math.max(0, at - 2), at + 3),
      }).toEqual({
        length: want.length,
        firstDifference: -1,
        around: [],
      });
      expect(new Set(l.received.map((d) => d.cursor)).size).toBe(l.received.length);
      l.unsubscribe();
    } finally {
      await bus.close();
      publisher.disconnect();
      subscriber.disconnect();
      await pool.end();
    }
  }, 120_000);

  it('iocEnriched: replays score changes written straight to the table, then live ones signalled by another instance', async () => {
    const tag = Date.now() % 200;
    const pool = testPool(db.url, { max: 2 });
    const publisher = new Redis(sharedRedis!);
    const subscriber = new Redis(sharedRedis!);
    const bus = new RedisEventBus(publisher, subscriber, prefix, pino({ level: 'silent' }));
    const value = (n: number) => `10.${tag}.${Math.floor(n / 250)}.${n % 250}`;
    const score = async (n: number, risk: number) => {
      await pool.query(
        `INSERT INTO iocs (type, value, risk_score, risk_level, categories) VALUES ('IPV4', $1, $2, 'HIGH', '{SCAN}')
         ON CONFLICT (value) DO UPDATE SET risk_score = EXCLUDED.risk_score`,
        [value(n), risk],
      );
    };
    try {
      await score(0, 10);
      await score(0, 60); // the update moves its position
      const first = await b.gql<{ ioc: { cursor: string } }>(
        `query($v: String!) { ioc(value: $v) { cursor } }`,
        {
          v: value(0),
        },
      );
      const cursor = first.data!.ioc.cursor;
      // Missed: 100 new IOCs scored, then IOC 0 rescored (it comes again, at its new position).
      for (let n = 1; n <= 100; n++) {
        await score(n, 10);
        await score(n, 70);
      }
      await score(0, 80);
      const l = listen<{ cursor: string; value: string; riskScore: number }>(
        b.ws(),
        `subscription($after: String) { iocEnriched(after: $after) { cursor value riskScore } }`,
        { after: cursor },
        'iocEnriched',
      );
      const expected = [...Array.from({ length: 100 }, (_, i) => `${value(i + 1)}:70`), `${value(0)}:80`];
      await l.until(() => l.received.length >= expected.length, 'the replayed changes');
      // Live: changed and signalled by "another instance", one at a time.
      for (let n = 101; n <= 110; n++) {
        await score(n, 10);
        await score(n, 90);
        const stored = await a.gql<{ ioc: { id: string } }>(`query($v: String!) { ioc(value: $v) { id } }`, {
          v: value(n),
        });
        expect(stored.data?.ioc.id).toBeTruthy();
        // A real instance publishes the whole record; the feed only takes it as a signal.
        await bus.publish(IOC_ENRICHED_TOPIC, { value: value(n), sources: [] } as never);
        expected.push(`${value(n)}:90`);
      }
      await l.until(() => l.received.some((i) => i.value === value(110)), 'the last live change');
      expect(l.received.map((i) => `${i.value}:${i.riskScore}`)).toEqual(expected);
      expect(new Set(l.received.map((i) => i.cursor)).size).toBe(l.received.length);
      l.unsubscribe();
      // A query gives each IOC the cursor of its latest change, as the subscription did.
      const listed = await a.gql<{ iocs: { edges: { node: { value: string; cursor: string } }[] } }>(
        `{ iocs(first: 500) { edges { node { value cursor } } } }`,
      );
      const cursorOf = new Map(listed.data!.iocs.edges.map((e) => [e.node.value, e.node.cursor]));
      expect(l.received.map((i) => cursorOf.get(i.value))).toEqual(l.received.map((i) => i.cursor));
    } finally {
      await bus.close();
      publisher.disconnect();
      subscriber.disconnect();
      await pool.end();
    }
  }, 120_000);
});
