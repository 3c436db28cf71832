import type { GraphQLError } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalHub } from '../../src/platform/event-bus.js';
import { SubscriptionFanout } from '../../src/server/ws-fanout.js';
import { startFanoutServer } from './fanout-server.js';

/**
 * The fan-out on its own, behind a real graphql-ws server and client: one execution per
 * event per group (counted in a resolver), the role splitting groups, a group's source
 * stopping with its last member, and the source's end and failure reaching every member
 * as graphql-ws `complete` and `error`.
 */
const WAIT = { timeout: 10_000, interval: 20 };

const hub = new LocalHub();
/** Executions of `Tick.counted`, by tick number. */
const executions = new Map<number, number>();
const schema = makeExecutableSchema<{ role: string }>({
  typeDefs: `type Query { ok: Boolean }
    type Tick { n: Int! role: String! counted: Int! }
    type Subscription { tick(topic: String!, min: Int): Tick! failing: Tick! }`,
  resolvers: {
    Subscription: {
      tick: {
        subscribe: (_p: unknown, args: { topic: string; min?: number }) =>
          hub.subscribe<{ n: number }>(args.topic, (t) => t.n >= (args.min ?? 0)),
        resolve: (t: { n: number }) => t,
      },
      failing: {
        subscribe: async function* () {
          // Time for every member sent together to join before the first event.
          await new Promise((r) => setTimeout(r, 100));
          yield { n: 1 };
          throw new Error('source broke');
        },
        resolve: (t: { n: number }) => t,
      },
    },
    Tick: {
      role: (_t: unknown, _a: unknown, ctx: { role: string }) => ctx.role,
      counted: (t: { n: number }) => {
        executions.set(t.n, (executions.get(t.n) ?? 0) + 1);
        return executions.get(t.n);
      },
    },
  },
});

const fanout = new SubscriptionFanout({
  format: (errors: readonly GraphQLError[]) => errors.map((e) => e.toJSON()),
});
let url: string;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ url, stop } = await startFanoutServer(schema, fanout));
});
afterAll(() => stop?.());

const clients: Client[] = [];
function client(role: string): Client {
  const c = createClient({ url, webSocketImpl: WebSocket, connectionParams: { role }, retryAttempts: 0 });
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map(async (c) => c.dispose()));
});

interface Tick {
  n: number;
  role: string;
  counted: number;
}
function listen(c: Client, query: string, variables?: Record<string, unknown>) {
  const got: Tick[] = [];
  const state = { completed: false, error: undefined as unknown };
  const unsubscribe = c.subscribe<{ tick?: Tick; failing?: Tick }>(
    { query, variables },
    {
      next: (v) => void got.push((v.data?.tick ?? v.data?.failing)!),
      error: (err) => (state.error = err),
      complete: () => (state.completed = true),
    },
  );
  return { got, state, unsubscribe };
}

const TICK = 'subscription($topic: String!, $min: Int) { tick(topic: $topic, min: $min) { n role counted } }';
const PROBE = 100;

/** Sends probe ticks (n = 100) until every subscription got one: all of them are live. */
async function live(topic: string, subs: ReturnType<typeof listen>[]) {
  await vi.waitFor(() => {
    hub.dispatch(topic, { n: PROBE });
    for (const s of subs) expect(s.got.some((t) => t.n === PROBE)).toBe(true);
  }, WAIT);
}
const real = (s: ReturnType<typeof listen>) => s.got.filter((t) => t.n !== PROBE);

describe('subscription fan-out', () => {
  it('executes each event once per group; roles and variables split groups; ids keep results apart', async () => {
    const before = fanout.groupCount();
    const reader = client('READER');
    const admin = client('ADMIN');
    const t1 = { topic: 't1', min: 1 };
    const subs = [
      listen(reader, TICK, t1), // group 1
      listen(reader, TICK, t1), // group 1, same socket
      listen(client('READER'), TICK, t1), // group 1, another socket
      listen(admin, TICK, t1), // group 2: another role
      listen(reader, TICK, { ...t1, min: 5 }), // group 3: other variables
    ];
    await live('t1', subs);
    expect(fanout.groupCount()).toBe(before + 3);
    hub.dispatch('t1', { n: 2 }); // groups 1 and 2 (min 5 filters it out of group 3)
    hub.dispatch('t1', { n: 7 }); // all three groups
    await vi.waitFor(() => expect(subs.map((s) => real(s).length)).toEqual([2, 2, 2, 2, 1]), WAIT);
    // One execution per event per group: 2 of tick 2, 3 of tick 7 — not one per subscription.
    expect([executions.get(2), executions.get(7)]).toEqual([2, 3]);
    const view = (s: (typeof subs)[number]) => real(s).map((t) => `${t.n}:${t.role}`);
    expect(subs.map(view)).toEqual([
      ['2:READER', '7:READER'],
      ['2:READER', '7:READER'],
      ['2:READER', '7:READER'],
      ['2:ADMIN', '7:ADMIN'],
      ['7:READER'],
    ]);
    // Group 1's three members saw the very same execution of each event; group 2 its own.
    expect(new Set(subs.slice(0, 3).map((s) => JSON.stringify(real(s)))).size).toBe(1);
    expect(real(subs[3]!)[0]!.counted).not.toBe(real(subs[0]!)[0]!.counted);

    // The last member to leave a group stops its source; the others are untouched.
    subs[4]!.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(before + 2), WAIT);
    for (const s of subs.slice(0, 3)) s.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(before + 1), WAIT);
    hub.dispatch('t1', { n: 9 });
    await vi.waitFor(() => expect(real(subs[3]!)).toHaveLength(3), WAIT);
    expect(subs.map((s) => real(s).length)).toEqual([2, 2, 2, 3, 1]);
    subs[3]!.unsubscribe();
    await vi.waitFor(() => expect(hub.listening('t1')).toBe(false), WAIT);
    expect(fanout.groupCount()).toBe(before);
  });

  it("the source's end completes every member; its failure is an error for every member", async () => {
    const before = fanout.groupCount();
    const c = client('READER');
    const ended = [listen(c, TICK, { topic: 't2' }), listen(client('READER'), TICK, { topic: 't2' })];
    await live('t2', ended);
    hub.closeAll(); // every bus iterator ends
    await vi.waitFor(() => expect(ended.map((s) => s.state.completed)).toEqual([true, true]), WAIT);
    expect(ended.map((s) => s.state.error)).toEqual([undefined, undefined]);

    const failing = [
      listen(c, 'subscription { failing { n } }'),
      listen(c, 'subscription { failing { n } }'),
    ];
    await vi.waitFor(
      () => expect(failing.map((s) => s.state.error !== undefined)).toEqual([true, true]),
      WAIT,
    );
    for (const s of failing) {
      expect(s.got).toEqual([{ n: 1 }]);
      expect(s.state.error).toEqual([expect.objectContaining({ message: 'source broke' })]);
    }
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(before), WAIT);
  });
});
