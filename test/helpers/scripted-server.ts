/**
 * A loopback HTTP server whose answers a test scripts, for the clients of upstreams:
 * set `handler`, then read `requests` (method, URL, headers and body of each, in the
 * order they arrived). `scriptedServer()` gives a test file one, listening for the whole
 * file and with its record cleared before each test.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export type ScriptedHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export class ScriptedServer {
  handler: ScriptedHandler = (_req, res) => void res.writeHead(404).end();
  requests: SeenRequest[] = [];
  private port = 0;
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      this.handler(req, res);
    });
  });

  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Each request as `METHOD /path?query`. */
  hits(): string[] {
    return this.requests.map((r) => `${r.method} ${r.url}`);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export function scriptedServer(): ScriptedServer {
  const server = new ScriptedServer();
  beforeAll(() => server.listen());
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests = [];
  });
  return server;
}

/** Answers with a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
