import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildSchema } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWsTransport, DEFAULT_HIGH_WATER_MARK } from '../../src/server/ws-transport.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY } from '../threats/threat-fixtures.js';
import { captureUpgradedSockets } from '../helpers/upgraded-sockets.js';

const ONLY_ID = `subscription { threatDetected { externalId } }`;
const WITH_TEXT = `subscription { threatDetected { externalId description } }`;

/** Server-side ends of every upgraded socket, captured where ws-server.ts hands them over. */
const upgraded = captureUpgradedSockets();

const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('ws_transport', { MAX_BODY_BYTES: String(16 * 1024 * 1024) });
});
afterAll(() => t?.stop());

/** A graphql-ws client subscribed to `query`; `server` is the server's end of its socket once live. */
async function subscriber(query: string) {
  let socket: WebSocket | undefined;
  const client: Client = createClient({
    url: t.wsUrl,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        socket = this; // eslint-disable-line @typescript-eslint/no-this-alias
      }
    },
    connectionParams: { apiKey: t.adminKey },
    retryAttempts: 0,
  });
  const ids: string[] = [];
  const state = { completed: false, closed: false };
  client.on('closed', () => (state.closed = true));
  const unsubscribe = client.subscribe<{ threatDetected: { externalId: string } }>(
    { query },
    {
      next: (v) => void (v.data && ids.push(v.data.threatDetected.externalId)),
      error: () => (state.closed = true),
      complete: () => (state.completed = true),
    },
  );
  await vi.waitFor(
    async () => {
      await t.gql(INGEST_MANY, { inputs: [event({ externalId: `probe-${randomUUID()}` })] });
      expect(ids.some((id) => id.startsWith('probe-'))).toBe(true);
    },
    { timeout: 15_000, interval: 200 },
  );
  const client_ = socketOf(socket!);
  const server = upgraded.find((u) => u.raw.remotePort === client_.localPort)!;
  return { client, ids, state, unsubscribe, raw: client_, server };
}

const ingest = (tag: string, from: number, n: number, extra: Record<string, unknown> = {}) =>
  t.gql(INGEST_MANY, {
    inputs: Array.from({ length: n }, (_, i) => event({ externalId: `${tag}-${from + i}`, ...extra })),
  });
const tagged = (ids: string[], tag: string) => ids.filter((id) => id.startsWith(`${tag}-`));
const sequence = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

/** Counts the writes that reach the socket handle (one writev/write syscall each). */
function countWrites(raw: Socket) {
  const counter = { calls: 0 };
  const s = raw as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  for (const name of ['_write', '_writev'] as const) {
    const original = s[name];
    s[name] = (...args) => {
      counter.calls += 1;
      original.apply(raw, args);
    };
  }
  return counter;
}

async function subscriptionsGauge(): Promise<number> {
  const text = await (await fetch(`${t.origin}/metrics`)).text();
  return Number(/^threatwire_ws_subscriptions (\d+)/m.exec(text)?.[1]);
}

describe('graphql-ws transport on the real server', () => {
  it('delivers all 1,000 events of one bulk ingest in order, then completes on unsubscribe', async () => {
    // Tests run in any order: the sockets other tests disposed leave the gauge asynchronously.
    await vi.waitFor(async () => expect(await subscriptionsGauge()).toBe(0), { timeout: 15_000 });
    const before = 0;
    const s = await subscriber(ONLY_ID);
    expect(await subscriptionsGauge()).toBe(before + 1);
    const tag = `bulk-${randomUUID()}`;
    expect((await ingest(tag, 0, 1000)).errors).toBeUndefined();
    await vi.waitFor(() => expect(tagged(s.ids, tag)).toHaveLength(1000), { timeout: 15_000 });
    expect(tagged(s.ids, tag)).toEqual(sequence(tag, 1000));
    s.unsubscribe();
    await vi.waitFor(async () => expect(await subscriptionsGauge()).toBe(before));
    expect(s.state).toEqual({ completed: true, closed: false });
    await s.client.dispose();
  });

  it('coalesces the frames of one loop turn into few socket writes', async () => {
    const s = await subscriber(ONLY_ID);
    const writes = countWrites(s.server.raw);
    let chunks = 0;
    s.raw.on('data', () => (chunks += 1));
    const tag = `tick-${randomUUID()}`;
    await ingest(tag, 0, 1000);
    await vi.waitFor(() => expect(tagged(s.ids, tag)).toHaveLength(1000), { timeout: 15_000 });
    console.info(`1,000 events: ${writes.calls} server socket writes, ${chunks} client TCP reads`);
    // The client's read count is only reported: in one process it reads late and merges
    // even 1,000 separate writes into a handful of reads.
    expect(writes.calls).toBeLessThan(20);
    await s.client.dispose();
  });

  it('holds at most about the high-water mark for a reader that stopped reading', async () => {
    const s = await subscriber(WITH_TEXT);
    const tag = `slow-${randomUUID()}`;
    const description = 'x'.repeat(2000);
    s.raw.pause();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, s.server.ws.bufferedAmount)), 1);
    try {
      for (let i = 0; i < 20; i++)
        expect((await ingest(tag, i * 1000, 1000, { description })).errors).toBeUndefined();
      await new Promise((r) => setTimeout(r, 200));
      const health = await t.gql<{ health: { status: string } }>('{ health { status } }');
      expect(health.data?.health.status).toBe('OK');
    } finally {
      clearInterval(sampler);
    }
    console.info(`peak server bufferedAmount ${peak} bytes while 20,000 events of ~2 KB waited`);
    expect(peak).toBeGreaterThan(DEFAULT_HIGH_WATER_MARK / 2);
    expect(peak).toBeLessThan(DEFAULT_HIGH_WATER_MARK + 64 * 1024);
    s.raw.resume();
    await vi.waitFor(() => expect(s.state.closed || tagged(s.ids, tag).length === 20_000).toBe(true), {
      timeout: 30_000,
    });
    if (!s.state.closed) expect(tagged(s.ids, tag)).toEqual(sequence(tag, 20_000));
    await s.client.dispose();
  });
});

describe('one subscription group, one reader stopped', () => {
  it('the other member of the group gets everything meanwhile; the stopped one catches up in order', async () => {
    // Same query, same key: one group, one execution per event, two sockets.
    const slow = await subscriber(WITH_TEXT);
    const fast = await subscriber(WITH_TEXT);
    const tag = `group-${randomUUID()}`;
    const description = 'x'.repeat(2000);
    slow.raw.pause();
    for (let i = 0; i < 5; i++)
      expect((await ingest(tag, i * 1000, 1000, { description })).errors).toBeUndefined();
    // 5,000 frames of ~2 KB: ten times the high-water mark, all of it for `fast`.
    await vi.waitFor(() => expect(tagged(fast.ids, tag)).toHaveLength(5000), { timeout: 30_000 });
    expect(tagged(fast.ids, tag)).toEqual(sequence(tag, 5000));
    expect(slow.server.ws.bufferedAmount).toBeLessThan(DEFAULT_HIGH_WATER_MARK + 64 * 1024);
    expect(tagged(slow.ids, tag).length).toBeLessThan(5000);
    slow.raw.resume();
    await vi.waitFor(() => expect(tagged(slow.ids, tag)).toHaveLength(5000), { timeout: 30_000 });
    expect(tagged(slow.ids, tag)).toEqual(sequence(tag, 5000));
    await Promise.all([slow.client.dispose(), fast.client.dispose()]);
  });
});

describe('keep-alive', () => {
  it('terminates a socket that never answers pings and keeps one that does', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    const transport = createWsTransport({ schema: buildSchema('type Query { ok: Boolean }') }, wss, {
      logger: pino({ level: 'silent' }),
      isProd: false,
      keepAliveMs: 200,
    });
    http.on('upgrade', (req: IncomingMessage, raw: Duplex, head: Buffer) =>
      wss.handleUpgrade(req, raw, head, (ws) => transport.attach(ws, req, raw)),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const open = (autoPong: boolean) => {
      const ws = new WebSocket(url, 'graphql-transport-ws', { autoPong });
      const closed = new Promise<number>((resolve) => ws.on('close', resolve));
      return { ws, closed };
    };
    try {
      const silent = open(false);
      const healthy = open(true);
      const started = Date.now();
      expect(await silent.closed).toBe(1006);
      expect(Date.now() - started).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
      healthy.ws.close();
    } finally {
      await transport.dispose();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => http.close(r));
    }
  });
});
