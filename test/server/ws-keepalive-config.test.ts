import { once } from 'node:events';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('ws_keepalive', { WS_KEEPALIVE_SECONDS: '1' });
});
afterAll(() => t.stop());

/** An authenticated socket that answers pings only if `pong` is true. */
async function socket(
  pong: boolean,
): Promise<{ ws: WebSocket; pings: () => number; closed: Promise<unknown> }> {
  const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws', { autoPong: pong });
  let pings = 0;
  ws.on('ping', () => pings++);
  const closed = once(ws, 'close');
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: t.adminKey } }));
  await once(ws, 'message');
  return { ws, pings: () => pings, closed };
}

it('WS_KEEPALIVE_SECONDS sets the ping rhythm: a silent socket is dropped, an answering one stays', async () => {
  const silent = await socket(false);
  const answering = await socket(true);
  // Terminated at the first ping left without a pong: about 2 s here. With the default
  // rhythm (12 s) it takes 24 s, past this test's 15 s limit, so the setting is what passes it.
  await silent.closed;
  expect(silent.pings()).toBe(1);
  // The answering socket got its pings too, and stays open past the silent one's end.
  await expect.poll(() => answering.pings(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
  expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  answering.ws.close();
}, 15_000);
