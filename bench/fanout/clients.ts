/**
 * A fan-out benchmark client process (forked by fanout.ts): holds WebSocket subscribers
 * for one target at a time — graphql-ws subscriptions to threatwire, or plain sockets to
 * the raw broadcast server — and counts, per socket, the frames of the current step and
 * their delay from the moment the event was scheduled (carried in its externalId).
 */
import WebSocket from 'ws';

export type ClientCommand =
  | {
      type: 'open';
      target: string;
      url: string;
      /** graphql-ws subscriptions (one per socket), or plain sockets for the raw server. */
      subs: { key: string; query: string; variables?: Record<string, unknown> }[] | { count: number };
    }
  | { type: 'close'; target: string }
  | { type: 'step'; target: string; tag: string }
  | { type: 'report' }
  | { type: 'exit' };

export interface ClientReport {
  type: 'report';
  sockets: number;
  /** Sockets that received at least one frame of the step. */
  live: number;
  /** Fewest and most frames of the step one socket received. */
  min: number;
  max: number;
  total: number;
  /** Delay histogram, 1 ms buckets (the last one: 10 s and more). */
  hist: number[];
  bytes: number;
  errors: string[];
  closed: number;
}

const now = () => performance.timeOrigin + performance.now();
const HIST = 10_001;
const MARK = '"externalId":"';

interface Target {
  sockets: WebSocket[];
  counts: Uint32Array;
  closed: number;
}
const targets = new Map<string, Target>();
let current: { target: Target; tag: string } | undefined;
let hist = new Uint32Array(HIST);
let bytes = 0;
let errors: string[] = [];

function onFrame(t: Target, i: number, data: Buffer) {
  const step = current;
  if (!step || step.target !== t) return;
  const text = data.toString();
  const at = text.indexOf(MARK);
  if (at < 0) {
    if (errors.length < 5 && !text.includes('"connection_ack"')) errors.push(text.slice(0, 300));
    return;
  }
  const end = text.indexOf('"', at + MARK.length);
  const externalId = text.slice(at + MARK.length, end);
  if (!externalId.startsWith(step.tag)) return;
  t.counts[i]! += 1;
  bytes += data.length;
  const delay = now() - Number(externalId.slice(externalId.lastIndexOf('-') + 1));
  hist[Math.min(HIST - 1, Math.max(0, Math.floor(delay)))]! += 1;
}

async function open(cmd: Extract<ClientCommand, { type: 'open' }>): Promise<void> {
  const n = Array.isArray(cmd.subs) ? cmd.subs.length : cmd.subs.count;
  const t: Target = { sockets: [], counts: new Uint32Array(n), closed: 0 };
  targets.set(cmd.target, t);
  const openOne = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const graphql = Array.isArray(cmd.subs) ? cmd.subs[i]! : undefined;
      const ws = new WebSocket(cmd.url, graphql ? 'graphql-transport-ws' : undefined);
      t.sockets[i] = ws;
      ws.on('error', (err) => reject(err));
      ws.on('close', () => (t.closed += 1));
      ws.on('open', () => {
        if (!graphql) return resolve();
        ws.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: graphql.key } }));
      });
      ws.on('message', (data: Buffer) => {
        if (graphql && data.length < 64 && data.toString().includes('"connection_ack"')) {
          ws.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: graphql.query, variables: graphql.variables },
            }),
          );
          return resolve();
        }
        onFrame(t, i, data);
      });
    });
  // A few dozen handshakes at a time, not a thousand at once.
  for (let i = 0; i < n; i += 25)
    await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, k) => openOne(i + k)));
}

function report(): ClientReport {
  const t = current?.target;
  const counts = t ? [...t.counts] : [];
  return {
    type: 'report',
    sockets: counts.length,
    live: counts.filter((c) => c > 0).length,
    min: counts.length ? Math.min(...counts) : 0,
    max: counts.length ? Math.max(...counts) : 0,
    total: counts.reduce((a, b) => a + b, 0),
    hist: [...hist],
    bytes,
    errors,
    closed: t?.closed ?? 0,
  };
}

process.on('message', (cmd: ClientCommand) => {
  const reply = (m: unknown) => process.send!(m);
  switch (cmd.type) {
    case 'open':
      open(cmd).then(
        () => reply({ type: 'opened' }),
        (err: Error) => reply({ type: 'failed', message: err.message }),
      );
      return;
    case 'close': {
      const t = targets.get(cmd.target);
      targets.delete(cmd.target);
      for (const ws of t?.sockets ?? []) ws.close();
      reply({ type: 'closed' });
      return;
    }
    case 'step': {
      const t = targets.get(cmd.target)!;
      t.counts.fill(0);
      hist = new Uint32Array(HIST);
      bytes = 0;
      errors = [];
      current = { target: t, tag: cmd.tag };
      reply({ type: 'stepping' });
      return;
    }
    case 'report':
      reply(report());
      return;
    case 'exit':
      for (const t of targets.values()) for (const ws of t.sockets) ws.terminate();
      process.exit(0);
  }
});
process.send!({ type: 'started' });
