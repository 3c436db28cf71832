import type { Socket } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_HIGH_WATER_MARK } from '../../src/server/ws-transport.js';
import { redisUrlOrSkip } from '../helpers/services.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { metric } from '../server/raw-ws.js';
import { event, INGEST_MANY } from './threat-fixtures.js';
import { captureUpgradedSockets } from '../helpers/upgraded-sockets.js';

/**
 * A resumed subscription replays what it missed on its own, then joins the subscription
 * group of the same operation without `after`: through real graphql-ws clients, with
 * events ingested all through the replay, it gets exactly the missed events in order,
 * then the live ones, none twice; afterwards one execution per event serves it and a
 * fresh subscriber alike (the executions and groups on /metrics); two resumed
 * subscribers with different cursors share one group; a resumed subscriber that stops
 * reading is held at the high-water mark without holding back its group.
 */

const SUBSCRIBE = `subscription($after: String) { threatDetected(after: $after) { cursor externalId } }`;
const WITH_TEXT = `subscription($after: String) {
  threatDetected(after: $after) { cursor externalId description } }`;
const WAIT = { timeout: 60_000, interval: 50 };

/** Server-side ends of every upgraded socket, captured where ws-server.ts hands them over. */
const upgraded = captureUpgradedSockets();

interface Seen {
  cursor: string;
  externalId: string;
}

/** A graphql-ws client (its own socket) subscribed to `query`; what arrives is kept. */
function listen(app: TestApp, query: string, variables: Record<string, unknown>, stopReading = false) {
  let socket: WebSocket | undefined;
  const received: Seen[] = [];
  const errors: unknown[] = [];
  const client: Client = createClient({
    url: app.wsUrl,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        socket = this; // eslint-disable-line @typescript-eslint/no-this-alias
      }
    },
    connectionParams: { apiKey: app.adminKey },
    retryAttempts: 0,
    // Once acknowledged (its subscribe still goes out), the client reads no more.
    on: stopReading ? { connected: () => tcpOf(socket)!.pause() } : {},
  });
  client.subscribe<{ threatDetected: Seen }>(
    { query, variables },
    {
      next: (v) => {
        if (v.data) received.push(v.data.threatDetected);
        if (v.errors) errors.push(v.errors);
      },
      error: (err: unknown) => errors.push(err),
      complete: () => undefined,
    },
  );
  const ids = (prefix: string) => received.map((e) => e.externalId).filter((id) => id.startsWith(prefix));
  return { client, received, errors, ids, tcp: () => tcpOf(socket) };
}

/** A client WebSocket's TCP socket. */
const tcpOf = (ws: WebSocket | undefined) => (ws as unknown as { _socket?: Socket } | undefined)?._socket;

async function ingest(app: TestApp, ids: readonly string[], extra: Record<string, unknown> = {}) {
  const res = await app.gql<{ ingestThreatEvents: { accepted: number } }>(INGEST_MANY, {
    inputs: ids.map((externalId) => event({ externalId, ...extra })),
  });
  expect(res.data?.ingestThreatEvents.accepted).toBe(ids.length);
}

const range = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${tag}-${String(i).padStart(5, '0')}`);

const executions = (app: TestApp, phase: 'live' | 'replay') =>
  metric(app.origin, `threatwire_subscription_executions_total{field="threatDetected",phase="${phase}"}`);
const groups = (app: TestApp) => metric(app.origin, 'threatwire_ws_subscription_groups');

/** Waits until the app runs no subscription group (earlier tests' sockets are gone). */
async function idle(app: TestApp) {
  await vi.waitFor(async () => expect(await groups(app)).toBe(0), WAIT);
}

/** Ingests probes until `sub` got one: it is live. */
async function live(app: TestApp, sub: ReturnType<typeof listen>, tag: string) {
  for (let i = 0; sub.ids(`${tag}-probe`).length === 0; i++) {
    expect(i).toBeLessThan(200);
    await ingest(app, [`${tag}-probe-${i}`]);
    await vi
      .waitFor(() => expect(sub.ids(`${tag}-probe`).length).toBeGreaterThan(0), {
        timeout: 500,
        interval: 20,
      })
      .catch(() => undefined);
  }
}

/** The stream position a threatDetected cursor names. */
const positionOf = (cursor: string) => BigInt(Buffer.from(cursor, 'base64url').toString().split(':')[2]!);

/** Concurrent ingest loops during the resume: commits land at every moment of the replay. */
const FIRE_LOOPS = 3;

/**
 * A fresh subscriber is live and has seen `before`; its last cursor is the cursor of a
 * console that went away. 1,000 events are ingested; the console comes back with that
 * cursor while live events are ingested (5 per call, FIRE_LOOPS calls at a time, through
 * `senders` in turn) before, during and after its replay. It must get exactly the missed
 * events, then every live one, in commit order (what the fresh subscriber, a plain group
 * member, saw; and increasing positions), none twice; afterwards both are served by one
 * group, one execution per event.
 */
async function seamUnderFire(receiver: TestApp, senders: readonly TestApp[], tag: string) {
  await idle(receiver);
  const fresh = listen(receiver, SUBSCRIBE, {});
  await live(senders[0]!, fresh, tag);
  const before = range(`${tag}-before`, 10);
  await ingest(senders[0]!, before);
  await vi.waitFor(() => expect(fresh.ids(`${tag}-before`)).toEqual(before), WAIT);
  const cursor = fresh.received.at(-1)!.cursor;
  const seenBefore = fresh.received.length;

  const missed = range(`${tag}-missed`, 1000);
  for (let i = 0; i < missed.length; i += 100)
    await ingest(senders[(i / 100) % senders.length]!, missed.slice(i, i + 100));
  const replayedBefore = await executions(receiver, 'replay');

  // Live events from now until well after the resumed subscriber has had live ones.
  const liveIds: string[] = [];
  let firing = true;
  const fire = Array.from({ length: FIRE_LOOPS }, async (_, loop) => {
    for (let call = 0; firing; call++) {
      const ids = range(`${tag}-live-${loop}-${String(call).padStart(4, '0')}`, 5);
      await ingest(senders[(call + loop) % senders.length]!, ids);
      liveIds.push(...ids);
    }
  });
  // Let the fire start before the resume, so the replay runs under it from its first read.
  await vi.waitFor(() => expect(fresh.ids(`${tag}-live`).length).toBeGreaterThan(0), WAIT);
  const resumed = listen(receiver, SUBSCRIBE, { after: cursor });
  await vi.waitFor(() => expect(resumed.ids(`${tag}-live`).length).toBeGreaterThan(50), WAIT);
  const more = liveIds.length + 50;
  await vi.waitFor(() => expect(liveIds.length).toBeGreaterThan(more), WAIT);
  firing = false;
  await Promise.all(fire);
  const end = `${tag}-end`;
  await ingest(senders[0]!, [end]);
  await vi.waitFor(() => expect(resumed.ids(end)).toHaveLength(1), WAIT);
  await vi.waitFor(() => expect(fresh.ids(end)).toHaveLength(1), WAIT);

  // The fresh subscriber's sequence after the cursor: the missed, then each live one once, then the end.
  const expected = fresh.received.slice(seenBefore).map((e) => e.externalId);
  expect(expected.slice(0, missed.length)).toEqual(missed);
  expect(expected.at(-1)).toBe(end);
  expect([...expected.slice(missed.length, -1)].sort()).toEqual([...liveIds].sort());
  const got = resumed.received.map((e) => e.externalId);
  const at = got.findIndex((id, i) => id !== expected[i]);
  // Where it went wrong, if it did (a gap or a duplicate shows as the first difference).
  expect({
    length: got.length,
    firstDifference: at,
    around: at < 0 ? [] : got.slice(Math.max(0, at - 2), at + 3),
  }).toEqual({
    length: expected.length,
    firstDifference: -1,
    around: [],
  });
  const positions = resumed.received.map((e) => positionOf(e.cursor));
  expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
  expect(positions[0]! > positionOf(cursor)).toBe(true);
  expect([...fresh.errors, ...resumed.errors]).toEqual([]);
  // The replay executed the missed events and the live ones it read before the seam;
  // more than the missed ones: live events fell into the replay, so the seam was crossed
  // under fire (the group had them too, and dropped them for this subscriber).
  const replayed = (await executions(receiver, 'replay')) - replayedBefore;
  console.info(`${tag}: replay executed ${replayed} events (1,000 missed, ${replayed - 1000} live)`);
  expect(replayed).toBeGreaterThan(missed.length);
  expect(replayed).toBeLessThan(expected.length);

  // One group for both, one execution per event, none for the replay any more.
  expect(await groups(receiver)).toBe(1);
  const liveBefore = await executions(receiver, 'live');
  const replayAfter = await executions(receiver, 'replay');
  const after = range(`${tag}-after`, 20);
  await ingest(senders[0]!, after);
  await vi.waitFor(() => expect(resumed.ids(`${tag}-after`)).toEqual(after), WAIT);
  await vi.waitFor(() => expect(fresh.ids(`${tag}-after`)).toEqual(after), WAIT);
  expect((await executions(receiver, 'live')) - liveBefore).toBe(after.length);
  expect(await executions(receiver, 'replay')).toBe(replayAfter);
  await Promise.all([fresh.client.dispose(), resumed.client.dispose()]);
  await idle(receiver);
}

describe('a resumed subscription joins the group of the same subscription without after', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Pings unanswered by the stopped reader must not end it within the test.
    t = await startTestApp('resume_groups', {
      MAX_BODY_BYTES: String(16 * 1024 * 1024),
      WS_KEEPALIVE_SECONDS: '600',
    });
  });
  afterAll(() => t?.stop());

  it('1,000 missed events, then live ones ingested all through the replay, none twice; then one execution per event', async () => {
    await seamUnderFire(t, [t], `seam-${Date.now()}`);
  }, 180_000);

  it('two resumed subscribers with different cursors end up in one group', async () => {
    await idle(t);
    const tag = `two-${Date.now()}`;
    const first = listen(t, SUBSCRIBE, {});
    await live(t, first, tag);
    const part = [range(`${tag}-a`, 300), range(`${tag}-b`, 300)];
    await ingest(t, part[0]!);
    await vi.waitFor(() => expect(first.ids(`${tag}-a`)).toEqual(part[0]), WAIT);
    const cursorA = first.received.at(-1)!.cursor;
    await ingest(t, part[1]!);
    await vi.waitFor(() => expect(first.ids(`${tag}-b`)).toEqual(part[1]), WAIT);
    const cursorB = first.received.at(-1)!.cursor;
    await first.client.dispose();
    await idle(t);
    const missed = range(`${tag}-missed`, 200);
    await ingest(t, missed);

    const a = listen(t, SUBSCRIBE, { after: cursorA });
    const b = listen(t, SUBSCRIBE, { after: cursorB });
    const mark = `${tag}-mark`;
    await ingest(t, [mark]);
    await vi.waitFor(() => expect([a.ids(mark), b.ids(mark)]).toEqual([[mark], [mark]]), WAIT);
    expect(a.received.map((e) => e.externalId)).toEqual([...part[1]!, ...missed, mark]);
    expect(b.received.map((e) => e.externalId)).toEqual([...missed, mark]);
    // Both replays are over (each had the mark after them): one group, one execution per event.
    expect(await groups(t)).toBe(1);
    const liveBefore = await executions(t, 'live');
    const after = range(`${tag}-after`, 30);
    await ingest(t, after);
    await vi.waitFor(
      () => expect([a.ids(`${tag}-after`), b.ids(`${tag}-after`)]).toEqual([after, after]),
      WAIT,
    );
    expect((await executions(t, 'live')) - liveBefore).toBe(after.length);
    expect([...a.errors, ...b.errors]).toEqual([]);
    await Promise.all([a.client.dispose(), b.client.dispose()]);
  }, 120_000);

  it('a resumed subscriber that stops reading is held at the high-water mark; its group goes on; it catches up exactly', async () => {
    await idle(t);
    const tag = `slow-${Date.now()}`;
    const description = 'x'.repeat(2000);
    const fast = listen(t, WITH_TEXT, {});
    await live(t, fast, tag);
    const cursor = fast.received.at(-1)!.cursor;
    // 5,000 events of ~2 KB missed: ten times the high-water mark.
    const missed = range(`${tag}-missed`, 5000);
    for (let i = 0; i < missed.length; i += 1000) await ingest(t, missed.slice(i, i + 1000), { description });
    await vi.waitFor(() => expect(fast.ids(`${tag}-missed`)).toHaveLength(5000), WAIT);

    const slow = listen(t, WITH_TEXT, { after: cursor }, true);
    await vi.waitFor(() => expect(slow.tcp()?.isPaused()).toBe(true), WAIT);
    const clientSocket = slow.tcp()!;
    await vi.waitFor(
      () => expect(upgraded.some((u) => u.raw.remotePort === clientSocket.localPort)).toBe(true),
      WAIT,
    );
    const server = upgraded.find((u) => u.raw.remotePort === clientSocket.localPort)!;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, server.ws.bufferedAmount)), 1);
    const replayBefore = await executions(t, 'replay');
    try {
      // The replay filled the socket up to the high-water mark and waits.
      await vi.waitFor(
        () => expect(server.ws.bufferedAmount).toBeGreaterThanOrEqual(DEFAULT_HIGH_WATER_MARK),
        WAIT,
      );
      // Live events meanwhile: the other member of the group gets every one at once.
      const liveIds = range(`${tag}-live`, 2000);
      for (let i = 0; i < liveIds.length; i += 500)
        await ingest(t, liveIds.slice(i, i + 500), { description });
      await vi.waitFor(() => expect(fast.ids(`${tag}-live`)).toEqual(liveIds), WAIT);
      const replayedWhilePaused = (await executions(t, 'replay')) - replayBefore;
      console.info(
        `${tag}: peak server bufferedAmount ${peak} bytes; the replay executed ${replayedWhilePaused} of 5,000 while the reader was stopped`,
      );
      expect(peak).toBeLessThan(DEFAULT_HIGH_WATER_MARK + 64 * 1024);
      expect(replayedWhilePaused).toBeLessThan(missed.length);
      clientSocket.resume();
      const end = `${tag}-end`;
      await ingest(t, [end]);
      await vi.waitFor(() => expect(slow.ids(end)).toHaveLength(1), WAIT);
      expect(slow.received.map((e) => e.externalId)).toEqual([...missed, ...liveIds, end]);
      expect(slow.errors).toEqual([]);
      expect(await groups(t)).toBe(1);
    } finally {
      clearInterval(sampler);
    }
    await Promise.all([fast.client.dispose(), slow.client.dispose()]);
  }, 180_000);
});

const sharedRedis = redisUrlOrSkip('a resumed subscription joining its group across instances');

describe.runIf(sharedRedis)('across two instances sharing Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('resume_groups_two');
    const env = { REDIS_URL: sharedRedis!, REDIS_KEY_PREFIX: `tw-resume-groups-${Date.now()}:` };
    [a, b] = await Promise.all([
      startTestApp('rga', env, { database: db }),
      startTestApp('rgb', env, { database: db }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('resumed on one instance while both ingest: exactly the missed, then live, none twice; then one group', async () => {
    await seamUnderFire(b, [a, b], `seam2-${Date.now()}`);
  }, 180_000);
});
