import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import {
  encodeCursor,
  OrderedFeed,
  subscribeResumable,
  type StreamStore,
} from '../../src/platform/resumable-stream.js';
import { SubscriptionFanout } from '../../src/server/ws-fanout.js';
import { startFanoutServer } from './fanout-server.js';

/**
 * The seam of a resumed subscription that hands over to its group, made to happen on
 * purpose: a stream kept in memory whose reads the test holds, so that live events are
 * committed and delivered to the group exactly while the resumed subscription reads
 * its head (they are then both replayed and in the group's backlog: the backlog must
 * skip them) or its replay page (they are above the replay: only the backlog has them).
 * Behind a real graphql-ws server and client, wired as ws-server.ts wires the fan-out.
 */
const WAIT = { timeout: 10_000, interval: 10 };
const TOPIC = 'ticks';

interface Ev {
  n: number;
}
const rows: Ev[] = [];
/** Held reads: each resolves when the test opens it. */
const gates = { head: undefined as Promise<void> | undefined, read: undefined as Promise<void> | undefined };
const waiting = { head: 0, read: 0 };
const store: StreamStore<Ev> = {
  stream: 'tick',
  topic: TOPIC,
  unpack: (message) => message as Ev[],
  position: (e) => BigInt(e.n),
  async readAfter(after, limit) {
    waiting.read += 1;
    await gates.read;
    waiting.read -= 1;
    return rows.filter((r) => BigInt(r.n) > after).slice(0, limit);
  },
  async head() {
    waiting.head += 1;
    await gates.head;
    waiting.head -= 1;
    return BigInt(rows.at(-1)?.n ?? 0);
  },
  firstWrittenAfter: (after) => Promise.resolve(rows.some((r) => BigInt(r.n) > after) ? new Date() : null),
};
const bus = new MemoryEventBus();
// No quiet-stream reads: every read of the store is the replay's (the test holds them).
const feed = new OrderedFeed(bus, store, pino({ level: 'silent' }), undefined, 3_600_000);
/** Commits events `from`..`to` (their positions) and publishes them, as a writer does. */
async function commit(from: number, to: number) {
  const batch = Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i }));
  rows.push(...batch);
  await bus.publish(TOPIC, batch);
}
function hold(which: 'head' | 'read'): () => void {
  let open!: () => void;
  gates[which] = new Promise<void>((resolve) => (open = resolve));
  return () => {
    gates[which] = undefined;
    open();
  };
}

const schema = makeExecutableSchema({
  typeDefs: `type Query { ok: Boolean }
    type Tick { n: Int! cursor: String! }
    type Subscription { tick(after: String): Tick! }`,
  resolvers: {
    Subscription: {
      tick: {
        subscribe: (_p: unknown, args: { after?: string | null }) =>
          subscribeResumable(feed, store, () => true, args.after, { windowMs: 3_600_000 }),
        resolve: (e: Ev) => e,
      },
    },
    Tick: { cursor: (e: Ev) => encodeCursor('tick', BigInt(e.n)) },
  },
});

const executed = { live: 0, replay: 0 };
/** A small MAX_LAG: a replay that outlasts 10 + 1,024 results of its group is refused. */
const fanout = new SubscriptionFanout({
  format: (errors: readonly GraphQLError[]) => errors.map((e) => e.toJSON()),
  onExecute: (_field, phase) => void (executed[phase] += 1),
  maxLag: 10,
});
let url: string;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ url, stop } = await startFanoutServer(schema, fanout));
});
afterAll(() => stop?.());

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map(async (c) => c.dispose()));
});

const TICK = 'subscription($after: String) { tick(after: $after) { n } }';
function listen(after?: string) {
  const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(c);
  const got: number[] = [];
  const errors: unknown[] = [];
  const unsubscribe = c.subscribe<{ tick: Ev }>(
    { query: TICK, variables: after === undefined ? {} : { after } },
    {
      next: (v) => void got.push(v.data!.tick.n),
      error: (e) => void errors.push(e),
      complete: () => undefined,
    },
  );
  return { got, errors, unsubscribe };
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Resumes with the cursor written in the query text instead of a variable. */
function listenLiteral(after: string) {
  const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(c);
  const got: number[] = [];
  const unsubscribe = c.subscribe<{ tick: Ev }>(
    { query: `subscription { tick(after: ${JSON.stringify(after)}) { n } }` },
    { next: (v) => void got.push(v.data!.tick.n), error: () => undefined, complete: () => undefined },
  );
  return { got, unsubscribe };
}

/**
 * A live subscriber that has received something: positions are committed one at a time
 * until it has one. Returns it and the position the next commit takes.
 */
async function liveSubscriber() {
  const fresh = listen();
  let next = rows.length + 1;
  await vi.waitFor(async () => {
    await commit(next, next);
    next += 1;
    expect(fresh.got.length).toBeGreaterThan(0);
  }, WAIT);
  return { fresh, next };
}

describe('a resumed subscription handing over to its group', () => {
  it('events delivered while it reads its head are skipped in the backlog; those above its replay come from it', async () => {
    const { fresh, next: start } = await liveSubscriber();
    let next = start;
    const cursor = encodeCursor('tick', BigInt(next - 1));
    const missed = range(next, next + 99);
    await commit(missed[0]!, missed.at(-1)!);
    next += 100;
    await vi.waitFor(() => expect(fresh.got.slice(-100)).toEqual(missed), WAIT);
    const before = { ...executed };

    // The resumed subscription has joined the group and reads its head: held.
    const openHead = hold('head');
    const resumed = listen(cursor);
    await vi.waitFor(() => expect(waiting.head).toBe(1), WAIT);
    // Ten events committed and delivered to the group meanwhile: below the head it
    // will read, so replayed, and in the group's backlog for it as well.
    const underHead = range(next, next + 9);
    await commit(underHead[0]!, underHead.at(-1)!);
    next += 10;
    await vi.waitFor(() => expect(fresh.got.slice(-10)).toEqual(underHead), WAIT);
    // Then the replay's first read is held, and ten more are delivered: above the head,
    // so the replay stops below them and only the backlog has them.
    const openRead = hold('read');
    openHead();
    await vi.waitFor(() => expect(waiting.read).toBe(1), WAIT);
    const aboveHead = range(next, next + 9);
    await commit(aboveHead[0]!, aboveHead.at(-1)!);
    next += 10;
    await vi.waitFor(() => expect(fresh.got.slice(-10)).toEqual(aboveHead), WAIT);
    openRead();
    const liveAfter = range(next, next + 4);
    await commit(liveAfter[0]!, liveAfter.at(-1)!);
    next += 5;
    await vi.waitFor(() => expect(resumed.got.at(-1)).toBe(liveAfter.at(-1)), WAIT);
    expect(resumed.got).toEqual([...missed, ...underHead, ...aboveHead, ...liveAfter]);
    expect(resumed.errors).toEqual([]);
    // Replayed: the missed ones and those under its head; everything else, once per group.
    expect(executed.replay - before.replay).toBe(missed.length + underHead.length);
    expect(executed.live - before.live).toBe(underHead.length + aboveHead.length + liveAfter.length);
    expect(fanout.groupCount()).toBe(1);
    fresh.unsubscribe();
    resumed.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(0), WAIT);
  });

  it('cursors written in the query text: each replays its own gap, then both share one live group', async () => {
    const { fresh, next: start } = await liveSubscriber();
    let next = start;
    const from1 = next;
    const c1 = encodeCursor('tick', BigInt(next - 1));
    await commit(next, next + 4);
    next += 5;
    const from2 = next;
    const c2 = encodeCursor('tick', BigInt(next - 1));
    await commit(next, next + 4);
    next += 5;
    await vi.waitFor(() => expect(fresh.got.at(-1)).toBe(next - 1), WAIT);
    fresh.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(0), WAIT);

    const first = listenLiteral(c1);
    const second = listenLiteral(c2);
    await vi.waitFor(() => expect(first.got).toEqual(range(from1, next - 1)), WAIT);
    await vi.waitFor(() => expect(second.got).toEqual(range(from2, next - 1)), WAIT);
    expect(fanout.groupCount()).toBe(1);
    const before = { ...executed };
    const live = range(next, next + 4);
    await commit(live[0]!, live.at(-1)!);
    next += 5;
    await vi.waitFor(() => expect([first.got.at(-1), second.got.at(-1)]).toEqual([next - 1, next - 1]), WAIT);
    expect(first.got).toEqual([...range(from1, from2 + 4), ...live]);
    expect(second.got).toEqual([...range(from2, from2 + 4), ...live]);
    // One execution per live event for the two of them.
    expect(executed.live - before.live).toBe(live.length);
    first.unsubscribe();
    second.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(0), WAIT);
  });

  it('a replay that outlasts the group backlog it may hold fails with REPLAY_OVERFLOW; the group goes on', async () => {
    const { fresh, next: start } = await liveSubscriber();
    let next = start;
    const cursor = encodeCursor('tick', BigInt(next - 1));
    await commit(next, next + 9);
    next += 10;
    const openRead = hold('read');
    const resumed = listen(cursor);
    await vi.waitFor(() => expect(waiting.read).toBe(1), WAIT);
    // 10 + 1,024 results of the group while the replay waits: the oldest are dropped.
    const burst = range(next, next + 1099);
    for (let i = 0; i < burst.length; i += 100) await commit(burst[i]!, burst[i]! + 99);
    next += burst.length;
    await vi.waitFor(() => expect(fresh.got.at(-1)).toBe(burst.at(-1)), WAIT);
    openRead();
    await vi.waitFor(() => expect(resumed.errors).toHaveLength(1), WAIT);
    expect(resumed.errors[0]).toEqual([
      expect.objectContaining({ message: 'Fell too far behind while replaying; resume again' }),
    ]);
    // It sent its replay (the ten before the burst) and nothing of the group's.
    expect(resumed.got).toEqual(range(next - burst.length - 10, next - burst.length - 1));
    await commit(next, next);
    await vi.waitFor(() => expect(fresh.got.at(-1)).toBe(next), WAIT);
    expect(fanout.groupCount()).toBe(1);
    fresh.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(0), WAIT);
  });
  it('completed during its replay: the replay stops, nothing more is sent, the group goes on without it', async () => {
    const { fresh, next: start } = await liveSubscriber();
    let next = start;
    const cursor = encodeCursor('tick', BigInt(next - 1));
    await commit(next, next + 9);
    next += 10;
    const before = { ...executed };
    const openRead = hold('read');
    const resumed = listen(cursor);
    await vi.waitFor(() => expect(waiting.read).toBe(1), WAIT);
    resumed.unsubscribe();
    // The group's live results would be kept for it if it had not left.
    await commit(next, next + 4);
    next += 5;
    await vi.waitFor(() => expect(fresh.got.at(-1)).toBe(next - 1), WAIT);
    openRead();
    await commit(next, next);
    await vi.waitFor(() => expect(fresh.got.at(-1)).toBe(next), WAIT);
    expect(resumed.got).toEqual([]);
    expect(resumed.errors).toEqual([]);
    expect(executed.replay - before.replay).toBe(0);
    expect(fanout.groupCount()).toBe(1);
    fresh.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(0), WAIT);
  });
});
