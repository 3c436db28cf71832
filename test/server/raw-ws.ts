import { once } from 'node:events';
import WebSocket from 'ws';

export interface WsMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/**
 * A graphql-ws socket driven frame by frame (the client library hides close codes and
 * refuses to send once closing): what the server sent, how it closed, and raw sends.
 */
export async function rawWs(
  url: string,
  key: string,
  opts: { localAddress?: string; headers?: Record<string, string> } = {},
) {
  const ws = new WebSocket(url, 'graphql-transport-ws', {
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const messages: WsMessage[] = [];
  const state: { close?: { code: number; reason: string } } = {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      state.close = { code, reason: reason.toString() };
      resolve(state.close);
    }),
  );
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as WsMessage));
  ws.on('error', () => undefined);
  await once(ws, 'open');
  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  send({ type: 'connection_init', payload: { apiKey: key } });
  return {
    ws,
    messages,
    closed,
    get close() {
      return state.close;
    },
    acked: () => messages.some((m) => m.type === 'connection_ack'),
    subscribe: (id: string, query: string, variables?: Record<string, unknown>) =>
      send({ id, type: 'subscribe', payload: { query, variables } }),
    complete: (id: string) => send({ id, type: 'complete' }),
    of: (id: string, type?: string) => messages.filter((m) => m.id === id && (!type || m.type === type)),
  };
}

export type RawWs = Awaited<ReturnType<typeof rawWs>>;

/** The value of one unlabelled (or exactly labelled) series on /metrics. */
export async function metric(origin: string, series: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
