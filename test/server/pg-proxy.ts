import { connect, createServer, type Server, type Socket } from 'node:net';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * A loopback TCP proxy in front of a database: `cut` drops every connection and
 * refuses new ones (PostgreSQL "down"), `hold` stops forwarding what clients send
 * (queries wait, as on a frozen server) until `release`.
 */
export interface PgProxy {
  /** The database's URL rewritten to go through the proxy. */
  database: TestDatabase;
  cut(): Promise<void>;
  restore(): Promise<void>;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startPgProxy(db: TestDatabase): Promise<PgProxy> {
  const target = new URL(db.url);
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  let holding = false;
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => sock.destroy());
        }
        client.on('data', (chunk: Buffer) => {
          const forward = () => void (upstream.destroyed || upstream.write(chunk));
          if (holding) held.push(forward);
          else forward();
        });
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        port = typeof address === 'object' && address ? address.port : port;
        server = s;
        resolve();
      });
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  const url = new URL(db.url);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    database: { url: url.toString(), drop: () => db.drop() },
    cut,
    restore: listen,
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const forward of held.splice(0)) forward();
    },
    close: cut,
  };
}
