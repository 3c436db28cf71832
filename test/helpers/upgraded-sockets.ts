import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { vi } from 'vitest';

export interface UpgradedSocket {
  raw: Socket;
  ws: WebSocket;
}

/**
 * The server-side ends of every socket upgraded from now on in this test file, captured
 * where ws-server.ts hands them to `ws` (a spy on WebSocketServer.handleUpgrade): tests
 * read a socket's buffered bytes or stop it reading.
 */
export function captureUpgradedSockets(): UpgradedSocket[] {
  const upgraded: UpgradedSocket[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its server below
  const handleUpgrade = WebSocketServer.prototype.handleUpgrade;
  vi.spyOn(WebSocketServer.prototype, 'handleUpgrade').mockImplementation(function (
    this: WebSocketServer,
    req: IncomingMessage,
    raw: Duplex,
    head: Buffer,
    cb: (ws: WebSocket, req: IncomingMessage) => void,
  ) {
    handleUpgrade.call(this, req, raw, head, (ws: WebSocket, r: IncomingMessage) => {
      upgraded.push({ raw: raw as Socket, ws });
      cb(ws, r);
    });
  });
  return upgraded;
}
