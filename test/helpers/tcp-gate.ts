/**
 * A loopback TCP relay in front of a real server (PostgreSQL, Redis) that a test can
 * cut (connections reset, new ones refused) or freeze (connections stay open but no
 * byte moves either way, as with a server stopped by SIGSTOP), then restore.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpGate {
  readonly port: number;
  /** Resets every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Holds every byte, on open and new connections, until `restore()`. */
  freeze(): void;
  /** Back to relaying (listening again after a cut, releasing held bytes after a freeze). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpGate(targetHost: string, targetPort: number): Promise<TcpGate> {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  let server: Server | undefined;
  let port = 0;
  const held: (() => void)[] = [];

  const relay = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (frozen) {
        from.pause();
        held.push(() => {
          to.write(chunk);
          from.resume();
        });
      } else if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        const pair: [Socket, Socket] = [client, upstream];
        pairs.add(pair);
        for (const sock of pair) {
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
          sock.on('close', () => {
            pairs.delete(pair);
            client.destroy();
            upstream.destroy();
          });
        }
        relay(client, upstream);
        relay(upstream, client);
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
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    freeze() {
      frozen = true;
    },
    async restore() {
      frozen = false;
      for (const release of held.splice(0)) release();
      if (!server) await listen();
    },
    close: cut,
  };
}
