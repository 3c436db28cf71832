/** A loopback TCP proxy that a test can cut and restore: the LAPI "goes away" without being stopped. */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Proxy {
  url: string;
  /** Request heads (request line and headers) clients sent through the proxy, in order. */
  readonly heads: readonly string[];
  /** How many requests went to `path` (query ignored) with the header value, when given. */
  count(path: string, header?: { name: string; value: string }): number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const heads: string[] = [];
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(Number(targetPort), hostname);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => sock.destroy());
        }
        // Keep what the client sent until a head is complete: a head may span packets.
        let pending = '';
        let bodyLeft = 0;
        client.on('data', (chunk: Buffer) => {
          pending += chunk.toString('latin1');
          for (;;) {
            const skipped = Math.min(bodyLeft, pending.length);
            pending = pending.slice(skipped);
            bodyLeft -= skipped;
            const end = bodyLeft > 0 ? -1 : pending.indexOf('\r\n\r\n');
            if (end < 0) break;
            const head = pending.slice(0, end);
            if (/^[A-Z]+ \S+ HTTP\/1\.[01]/.test(head)) heads.push(head);
            bodyLeft = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
            pending = pending.slice(end + 4);
          }
        });
        client.pipe(upstream).pipe(client);
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
  const count = (path: string, header?: { name: string; value: string }) =>
    heads.filter((head) => {
      const [line = '', ...fields] = head.split('\r\n');
      if (line.split(' ')[1]?.split('?')[0] !== path) return false;
      if (!header) return true;
      return fields.some((f) => {
        const colon = f.indexOf(':');
        return (
          f.slice(0, colon).trim().toLowerCase() === header.name.toLowerCase() &&
          f.slice(colon + 1).trim() === header.value
        );
      });
    }).length;
  return { url: `http://127.0.0.1:${port}`, heads, count, cut, restore: listen, close: cut };
}
