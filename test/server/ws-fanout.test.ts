import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { parse, type GraphQLError } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalHub } from '../../src/platform/event-bus.js';
import { groupKey, SubscriptionFanout } from '../../src/server/ws-fanout.js';
import { createWsTransport, type FrameOutput } from '../../src/server/ws-transport.js';

/**
 * The fan-out on its own, behind a real graphql-ws server and client: one execution per
 * event per group (counted in a resolver), the role splitting groups, a group's source
 * stopping with its last member, and the source's end and failure reaching every member
 * as graphql-ws `complete` and `error`.
 */
const WAIT = { timeout: 10_000, interval: 20 };

const hub = new LocalHub();
let executions = 0;
const schema = makeExecutableSchema<{ role: string }>({
  typeDefs: `type Query { ok: Boolean }
    type Tick { n: Int! role: String! counted: Int! }
    type Subscription { tick(min: Int): Tick! failing: Tick! }`,
  resolvers: {
    Subscription: {
      tick: {
        subscribe: (_p: unknown, args: { min?: number }) =>
          hub.subscribe<{ n: number }>('ticks', (t) => t.n >= (args.min ?? 0)),
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
      counted: () => ++executions,
    },
  },
});

const fanout = new SubscriptionFanout({
  format: (errors: readonly GraphQLError[]) => errors.map((e) => e.toJSON()),
});
let url: string;
let stop: () => Promise<void>;
beforeAll(async () => {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const outputs = new WeakMap<object, { key: string; id: string; output: FrameOutput }>();
  const transport = createWsTransport(
    {
      schema,
      onSubscribe: (ctx, id, payload) => {
        const role = String((ctx.connectionParams as { role?: string } | undefined)?.role);
        const contextValue = { role };
        const output = transport.outputOf(ctx.extra.socket)!;
        outputs.set(contextValue, { key: groupKey(role, payload), id, output });
        return { schema, document: parse(payload.query), variableValues: payload.variables, contextValue };
      },
      subscribe: (args) => {
        const m = outputs.get(args.contextValue as object)!;
        return fanout.subscribe(m.key, args, m.id, m.output);
      },
    },
    wss,
    { logger: pino({ level: 'silent' }), isProd: false },
  );
  http.on('upgrade', (req: IncomingMessage, raw: Duplex, head: Buffer) =>
    wss.handleUpgrade(req, raw, head, (ws) => transport.attach(ws, req, raw)),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  stop = async () => {
    await transport.dispose();
    await new Promise((r) => wss.close(r));
    await new Promise((r) => http.close(r));
  };
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

const TICK = 'subscription($min: Int) { tick(min: $min) { n role counted } }';

describe('subscription fan-out', () => {
  it('executes each event once per group; roles and variables split groups; ids keep results apart', async () => {
    const reader = client('READER');
    const admin = client('ADMIN');
    const subs = [
      listen(reader, TICK, { min: 1 }), // group 1
      listen(reader, TICK, { min: 1 }), // group 1, same socket
      listen(client('READER'), TICK, { min: 1 }), // group 1, another socket
      listen(admin, TICK, { min: 1 }), // group 2: another role
      listen(reader, TICK, { min: 5 }), // group 3: other variables
    ];
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(3), WAIT);
    await vi.waitFor(() => expect(hub.topicCount()).toBe(1), WAIT);
    executions = 0;
    hub.dispatch('ticks', { n: 2 }); // groups 1 and 2 (min 5 filters it out of group 3)
    hub.dispatch('ticks', { n: 7 }); // all three groups
    await vi.waitFor(() => expect(subs.map((s) => s.got.length)).toEqual([2, 2, 2, 2, 1]), WAIT);
    // One execution per event per group: 2 + 2 + 1 = 5, not one per subscription (9).
    expect(executions).toBe(5);
    const view = (s: (typeof subs)[number]) => s.got.map((t) => `${t.n}:${t.role}`);
    expect(subs.map(view)).toEqual([
      ['2:READER', '7:READER'],
      ['2:READER', '7:READER'],
      ['2:READER', '7:READER'],
      ['2:ADMIN', '7:ADMIN'],
      ['7:READER'],
    ]);
    // Group 1's three members saw the very same execution of each event.
    expect(new Set(subs.slice(0, 3).map((s) => JSON.stringify(s.got))).size).toBe(1);
    expect(subs[3]!.got[0]!.counted).not.toBe(subs[0]!.got[0]!.counted);

    // The last member to leave a group stops its source; the others are untouched.
    subs[4]!.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(2), WAIT);
    for (const s of subs.slice(0, 3)) s.unsubscribe();
    await vi.waitFor(() => expect(fanout.groupCount()).toBe(1), WAIT);
    hub.dispatch('ticks', { n: 9 });
    await vi.waitFor(() => expect(subs[3]!.got).toHaveLength(3), WAIT);
    expect(subs.map((s) => s.got.length)).toEqual([2, 2, 2, 3, 1]);
    subs[3]!.unsubscribe();
    await vi.waitFor(() => expect(hub.topicCount()).toBe(0), WAIT);
    expect(fanout.groupCount()).toBe(0);
  });

  it("the source's end completes every member; its failure is an error for every member", async () => {
    const c = client('READER');
    const ended = [listen(c, TICK), listen(client('READER'), TICK)];
    await vi.waitFor(() => expect(hub.topicCount()).toBe(1), WAIT);
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
    expect(fanout.groupCount()).toBe(0);
  });
});
