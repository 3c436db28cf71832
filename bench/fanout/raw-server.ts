/**
 * The fan-out benchmark's baseline (forked by fanout.ts): a bare `ws` server that, for
 * each event POSTed to it, sends one text frame — what graphql-ws would send for the
 * event, `{"id":"1","type":"next","payload":{"data":{"threatDetected":…}}}` — to every
 * open socket, from one Buffer. No protocol, no auth, no execution: the hardware's rate.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const http = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const frame = Buffer.from(
      `{"id":"1","type":"next","payload":{"data":{"threatDetected":${Buffer.concat(chunks).toString()}}}}`,
    );
    for (const ws of wss.clients) ws.send(frame, { binary: false });
    res.end('ok');
  });
});
const wss = new WebSocketServer({ server: http });
http.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'listening', port: (http.address() as AddressInfo).port });
});
process.on('message', (m: { type: string }) => {
  if (m.type !== 'exit') return;
  for (const ws of wss.clients) ws.terminate();
  http.close(() => process.exit(0));
});
