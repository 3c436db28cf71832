/**
 * A local stand-in for an internet threat-intel API (only internet services are
 * faked; PostgreSQL, Redis and CrowdSec are real). One node:http server on 127.0.0.1, port 0, answering with the
 * vendor's documented shapes; the scenario is chosen per IOC value or per API key, and
 * every call is recorded so tests can count upstream requests.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Scenario =
  | 'known-bad'
  | 'clean'
  | 'unknown'
  | 'whitelisted'
  | 'wrong-key'
  | 'rate-limited'
  | 'rate-limited-date'
  | 'flaky'
  | 'down'
  | 'slow'
  | 'delayed'
  | 'malformed'
  | 'wrong-shape'
  | 'oversized'
  | 'redirect';

export interface FakeReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What differs between vendors: routes, key header, and the bodies they send. */
export interface VendorProfile {
  name: string;
  keyHeader: string;
  /** The IOC value a request asks about, or undefined for a route the vendor does not have. */
  valueOf(url: URL): string | undefined;
  knownBad(value: string): FakeReply;
  clean(value: string): FakeReply;
  unknown(value: string): FakeReply;
  whitelisted(value: string): FakeReply;
  wrongKey: FakeReply;
  rateLimited(retryAfter: string): FakeReply;
  serverError: FakeReply;
}

export interface RecordedCall {
  method: string;
  path: string;
  search: string;
  value: string | undefined;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request arrived. */
  at: number;
}

/** Another loopback address: a different host to the client, still no traffic off the machine. */
const OTHER_HOST = '127.0.0.2';
const OVERSIZED_CHUNK = Buffer.alloc(64 * 1024, 0x20);

export class FakeUpstream {
  readonly calls: RecordedCall[] = [];
  readonly validKey: string;
  /** Scenario for values with none set. */
  defaultScenario: Scenario = 'clean';
  retryAfterSeconds = 60;
  /** How long 'slow' and 'delayed' wait before answering. */
  slowMs = 3_000;
  delayedMs = 150;
  oversizedTotalBytes = 32 * 1024 * 1024;
  /** Where 'redirect' points: another host, whose own calls prove we never went there. */
  redirectTo = 'http://localhost:9/';
  /** Oversized bodies: how many bytes went out before the client hung up (or all of them). */
  readonly oversizedSent: Array<{ bytes: number; completed: boolean }> = [];
  private readonly valueScenarios = new Map<string, Scenario>();
  private readonly keyScenarios = new Map<string, Scenario>();
  private readonly flakyFailed = new Set<string>();
  private inFlight = 0;
  maxInFlight = 0;

  private constructor(
    private readonly server: http.Server,
    readonly profile: VendorProfile,
    readonly baseUrl: string,
  ) {
    this.validKey = `valid-${profile.name.toLowerCase()}-key`;
  }

  static async start(profile: VendorProfile): Promise<FakeUpstream> {
    // The handler needs the instance, which needs the port: bind late through a holder.
    const holder: { fake?: FakeUpstream } = {};
    const server = http.createServer((req, res) => holder.fake?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new FakeUpstream(server, profile, `http://127.0.0.1:${port}/`);
    return holder.fake;
  }

  setScenario(value: string, scenario: Scenario): this {
    this.valueScenarios.set(value, scenario);
    return this;
  }

  setKeyScenario(key: string, scenario: Scenario): this {
    this.keyScenarios.set(key, scenario);
    return this;
  }

  callsFor(value: string): RecordedCall[] {
    return this.calls.filter((c) => c.value === value);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const value = this.profile.valueOf(url);
    this.calls.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      search: url.search,
      value,
      headers: req.headers,
      at: Date.now(),
    });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // 'finish' comes before the client can start its next request; 'close' covers aborts.
    let done = false;
    const leave = (): void => {
      if (!done) this.inFlight--;
      done = true;
    };
    res.on('finish', leave).on('close', leave);
    const key = req.headers[this.profile.keyHeader];
    const keyScenario = typeof key === 'string' ? this.keyScenarios.get(key) : undefined;
    if (value === undefined) return this.reply(res, { status: 404, body: { detail: 'no such route' } });
    if (keyScenario === undefined && key !== this.validKey) return this.reply(res, this.profile.wrongKey);
    this.play(keyScenario ?? this.valueScenarios.get(value) ?? this.defaultScenario, value, res);
  }

  private play(scenario: Scenario, value: string, res: ServerResponse): void {
    const p = this.profile;
    switch (scenario) {
      case 'known-bad':
        return this.reply(res, p.knownBad(value));
      case 'clean':
        return this.reply(res, p.clean(value));
      case 'unknown':
        return this.reply(res, p.unknown(value));
      case 'whitelisted':
        return this.reply(res, p.whitelisted(value));
      case 'wrong-key':
        return this.reply(res, p.wrongKey);
      case 'rate-limited':
        return this.reply(res, p.rateLimited(String(this.retryAfterSeconds)));
      case 'rate-limited-date':
        return this.reply(
          res,
          p.rateLimited(new Date(Date.now() + this.retryAfterSeconds * 1000).toUTCString()),
        );
      case 'flaky':
        if (this.flakyFailed.has(value)) return this.reply(res, p.knownBad(value));
        this.flakyFailed.add(value);
        return this.reply(res, p.serverError);
      case 'down':
        return this.reply(res, p.serverError);
      case 'slow':
        return this.later(res, this.slowMs, () => this.reply(res, p.knownBad(value)));
      case 'delayed':
        return this.later(res, this.delayedMs, () => this.reply(res, p.knownBad(value)));
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"data": {"attributes": {"last_analysis_stats": ');
      case 'wrong-shape':
        return this.reply(res, { status: 200, body: { unexpected: ['not', 'the', 'documented', 'shape'] } });
      case 'oversized':
        return this.streamOversized(res);
      case 'redirect':
        res.writeHead(302, {
          location: new URL(`/stolen?value=${encodeURIComponent(value)}`, this.redirectTo).href,
        });
        return void res.end();
    }
  }

  private reply(res: ServerResponse, reply: FakeReply): void {
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  }

  private later(res: ServerResponse, ms: number, then: () => void): void {
    const timer = setTimeout(then, ms);
    res.on('close', () => clearTimeout(timer));
  }

  /** Chunked, no Content-Length: the client must count bytes as they arrive. */
  private streamOversized(res: ServerResponse): void {
    const record = { bytes: 0, completed: false };
    this.oversizedSent.push(record);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"padding":"');
    const pump = (): void => {
      while (!res.destroyed && record.bytes < this.oversizedTotalBytes) {
        record.bytes += OVERSIZED_CHUNK.length;
        if (!res.write(OVERSIZED_CHUNK)) return void res.once('drain', pump);
      }
      if (!res.destroyed) {
        record.completed = true;
        res.end('"}');
      }
    };
    pump();
  }
}

/** A server on another host name that records whether anything was sent to it. */
export async function startOtherHost(): Promise<{
  baseUrl: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}> {
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://other');
    calls.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      search: url.search,
      value: undefined,
      headers: req.headers,
      at: Date.now(),
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"stolen":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, OTHER_HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://${OTHER_HOST}:${port}/`,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
