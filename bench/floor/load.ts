/**
 * Closed-loop HTTP load for the floor benchmark, run as a child process of its own so it
 * has a core to itself: `connections` keep-alive sockets, each sending one prebuilt POST
 * and the next as soon as the answer is complete (no HTTP client library in the way: the
 * generator must cost far less per request than the servers it measures).
 *
 * The parent sends `{ target, seconds, warmupSeconds }` over IPC; the child answers
 * `{ phase: 'measuring' }` when the warm-up ends and `{ phase: 'done', … }` with the
 * counts of the measured window.
 */
import net from 'node:net';

export interface LoadTarget {
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  key?: string;
  body: string;
  connections: number;
}

export interface LoadResult {
  phase: 'done';
  requests: number;
  errors: number;
  seconds: number;
  /** The first unexpected answer, to say what went wrong. */
  sample?: string;
}

function requestBytes(t: LoadTarget): Buffer {
  const u = new URL(t.url);
  const head = [
    `POST ${u.pathname} HTTP/1.1`,
    `host: ${u.host}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(t.body)}`,
    ...(t.key ? [`authorization: Bearer ${t.key}`] : []),
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), Buffer.from(t.body)]);
}

async function run(t: LoadTarget, warmupSeconds: number, seconds: number): Promise<LoadResult> {
  const u = new URL(t.url);
  const request = requestBytes(t);
  let measuring = false;
  let requests = 0;
  let errors = 0;
  let sample: string | undefined;
  let stopped = false;
  const sockets: net.Socket[] = [];

  const open = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: u.hostname, port: Number(u.port), noDelay: true });
      sockets.push(socket);
      let buffered: Buffer = Buffer.alloc(0);
      socket.once('connect', () => {
        socket.write(request);
        resolve();
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffered.toString('latin1', 0, end);
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
          if (!Number.isFinite(length)) throw new Error(`no content-length in answer:\n${head}`);
          if (buffered.length < end + 4 + length) return;
          const body = buffered.toString('utf8', end + 4, end + 4 + length);
          buffered = buffered.subarray(end + 4 + length);
          const ok = head.startsWith('HTTP/1.1 200') && !body.includes('"errors"');
          if (measuring) {
            requests += 1;
            if (!ok) {
              errors += 1;
              sample ??= `${head}\n\n${body}`;
            }
          }
          if (!stopped) socket.write(request);
        }
      });
    });

  await Promise.all(Array.from({ length: t.connections }, open));
  await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
  measuring = true;
  process.send?.({ phase: 'measuring' });
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stopped = true;
  for (const s of sockets) s.destroy();
  return { phase: 'done', requests, errors, seconds: elapsed, ...(sample ? { sample } : {}) };
}

process.once('message', (msg: { target: LoadTarget; warmupSeconds: number; seconds: number }) => {
  void run(msg.target, msg.warmupSeconds, msg.seconds).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
