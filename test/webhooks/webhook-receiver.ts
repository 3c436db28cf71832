/**
 * A webhook receiver on loopback: records every request (headers, raw body) and answers
 * as told — 200, a status, or not at all until released. `down()` closes the port
 * (connection refused) and `up()` listens on the same port again.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: {
    deliveryId?: string;
    webhookId?: string;
    test?: boolean;
    text?: string;
    events?: { id: string; type: string; createdAt: string; data: Record<string, unknown> }[];
  };
}

export type Answer = { status: number } | 'hang';

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  answer: Answer = { status: 200 };
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hung: http.ServerResponse[] = [];
  private port = 0;

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    await r.up();
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async up(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ headers: req.headers, body, json: JSON.parse(body) as ReceivedRequest['json'] });
        const answer = this.answer;
        if (answer === 'hang') this.hung.push(res);
        else res.writeHead(answer.status).end('ok');
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the port and every open connection. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers the requests held by 'hang' with `status`. */
  release(status = 200): void {
    for (const res of this.hung.splice(0)) if (!res.writableEnded) res.writeHead(status).end('ok');
  }

  /** Every event received, in arrival order. */
  events() {
    return this.requests.flatMap((r) => r.json.events ?? []);
  }
}

/** The check a receiver makes, written here from the documented rule (not the server's code). */
export function validSignature(secret: string, req: ReceivedRequest, toleranceSeconds = 300): boolean {
  const header = String(req.headers['x-threatwire-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${req.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
