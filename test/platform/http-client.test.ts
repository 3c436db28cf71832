/**
 * The upstream HTTP client against a scripted loopback server: what the server saw
 * (requests, their order, headers, how much of a body went out), never how long
 * anything took. Waits between retries go through a recorder instead of the clock.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidJsonError,
  jsonOrUndefined,
  openStream,
  parseJson,
  request,
  retryAfterMs,
  UpstreamHttpError,
  withRetries,
  type RetryPolicy,
  type UpstreamRequest,
  type UpstreamResponse,
} from '../../src/platform/http-client.js';
import { scriptedServer } from '../helpers/scripted-server.js';

const upstream = scriptedServer();
afterEach(() => {
  vi.restoreAllMocks();
});

const get = (over: Partial<UpstreamRequest> = {}): Promise<UpstreamResponse> =>
  request({ url: `${upstream.baseUrl}/x`, timeouts: { totalMs: 5_000 }, maxBytes: 1024, ...over });
const failure = (p: Promise<unknown>): Promise<UpstreamHttpError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(UpstreamHttpError);
      return err as UpstreamHttpError;
    },
  );

/** A retry policy whose waits are recorded, with the number of requests the server had seen by then. */
function recorded(over: Partial<RetryPolicy> = {}) {
  const waits: Array<{ ms: number; requestsSoFar: number }> = [];
  const policy: RetryPolicy = {
    retries: 3,
    baseDelayMs: 100,
    jitterMs: 0,
    sleep: (ms) => {
      waits.push({ ms, requestsSoFar: upstream.requests.length });
      return Promise.resolve();
    },
    ...over,
  };
  return { waits, policy };
}

/** Fails on every status from 500 up, handing on the answer's Retry-After. */
class StatusError extends Error {
  constructor(readonly res: UpstreamResponse) {
    super(`HTTP ${res.status}`);
  }
}
const getOrThrow = async (): Promise<UpstreamResponse> => {
  const res = await get();
  if (res.status >= 500) throw new StatusError(res);
  return res;
};
const verdict = (err: unknown) => {
  if (!(err instanceof StatusError)) return false;
  const after = retryAfterMs(err.res.headers);
  return after === undefined ? true : { retryAfterMs: after };
};

describe('request', () => {
  it('sends threatwire/<package.json version> as the user agent, unless the caller names another', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    upstream.handler = (_req, res) => res.end('{}');
    await get();
    await get({ headers: { 'user-agent': 'crowdsec-test/1.4.6' } });
    expect(upstream.requests.map((s) => s.headers['user-agent'])).toEqual([
      `threatwire/${version}`,
      'crowdsec-test/1.4.6',
    ]);
    // The cap counts bytes on the wire, so compression is refused.
    expect(upstream.requests[0]?.headers['accept-encoding']).toBe('identity');
  });

  it('sends query parameters and a JSON body, and ends a DELETE that has no body', async () => {
    upstream.handler = (_req, res) => res.end('"ok"');
    await get({ method: 'POST', searchParams: { a: '1', b: 'x y' }, json: { n: 1 } });
    await get({ method: 'DELETE' });
    expect(upstream.requests.map((s) => [s.method, s.url, s.body, s.headers['content-type']])).toEqual([
      ['POST', '/x?a=1&b=x+y', '{"n":1}', 'application/json'],
      ['DELETE', '/x', '', undefined],
    ]);
  });

  it('accepts a body of exactly maxBytes and refuses one byte more', async () => {
    upstream.handler = (_req, res) => res.end('a'.repeat(1024));
    await expect(get()).resolves.toMatchObject({ status: 200, text: 'a'.repeat(1024) });
    const err = await failure(get({ maxBytes: 1023 }));
    expect([err.kind, err.message]).toEqual(['TOO_LARGE', 'response larger than 1023 bytes']);
  });

  it('abandons a chunked body at the cap: the server cannot finish sending it', async () => {
    const sent = { bytes: 0, completed: false, closed: false };
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    upstream.handler = (_req, res) => {
      res.on('close', () => (sent.closed = true));
      res.writeHead(200); // no Content-Length: the client must count
      const pump = (): void => {
        while (!res.destroyed && sent.bytes < 32 * 1024 * 1024) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) {
          sent.completed = true;
          res.end();
        }
      };
      pump();
    };
    expect((await failure(get({ maxBytes: 100_000 }))).kind).toBe('TOO_LARGE');
    await expect.poll(() => sent.closed).toBe(true);
    expect(sent.completed).toBe(false);
    expect(sent.bytes).toBeLessThan(8 * 1024 * 1024);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    upstream.handler = (_req, res) => res.writeHead(200, { 'content-length': '5000' }).end('b'.repeat(5000));
    expect((await failure(get({ maxBytes: 4999 }))).kind).toBe('TOO_LARGE');
  });

  it('answers a redirect as a status, without following it', async () => {
    upstream.handler = (req, res) =>
      req.url === '/x'
        ? res.writeHead(302, { location: `${upstream.baseUrl}/elsewhere` }).end()
        : res.end('{}');
    const res = await get();
    expect([res.status, res.headers.location]).toEqual([302, `${upstream.baseUrl}/elsewhere`]);
    expect(upstream.requests.map((s) => s.url)).toEqual(['/x']);
  });

  it('fails a silent server as TIMEOUT, naming the phase', async () => {
    upstream.handler = () => undefined; // never answers
    const total = await failure(get({ timeouts: { totalMs: 200 } }));
    expect([total.kind, total.details.phase]).toEqual(['TIMEOUT', 'request']);
    const first = await failure(get({ timeouts: { responseMs: 200 } }));
    expect([first.kind, first.details.phase]).toEqual(['TIMEOUT', 'response']);
  });

  it('fails a stalled body as TIMEOUT (idle socket) after the head arrived', async () => {
    upstream.handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"partial":'); // then silence
    };
    const stream = await openStream({
      url: `${upstream.baseUrl}/x`,
      timeouts: { idleMs: 200 },
      maxBytes: 1024,
    });
    expect(stream.status).toBe(200);
    const read = (async () => {
      for await (const _chunk of stream.body) void _chunk;
    })();
    const err = await failure(read);
    expect([err.kind, err.details.phase]).toEqual(['TIMEOUT', 'socket']);
    stream.close();
  });

  it('fails a refused connection as UNREACHABLE with the network code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(request({ url: `http://127.0.0.1:${port}/`, timeouts: {}, maxBytes: 1 }));
    expect([err.kind, err.details.code]).toEqual(['UNREACHABLE', 'ECONNREFUSED']);
  });

  it('fails as ABORTED when the caller aborts', async () => {
    upstream.handler = () => undefined;
    const controller = new AbortController();
    const pending = get({ signal: controller.signal });
    await expect.poll(() => upstream.requests.length).toBe(1);
    controller.abort();
    expect((await failure(pending)).kind).toBe('ABORTED');
  });

  it('reads only as much of an error body as asked', async () => {
    upstream.handler = (_req, res) => res.writeHead(503).end('e'.repeat(10_000));
    const stream = await openStream({
      url: `${upstream.baseUrl}/x`,
      timeouts: { totalMs: 5_000 },
      maxBytes: 1,
    });
    expect(stream.status).toBe(503);
    expect(await stream.readText(100)).toBe('e'.repeat(100));
    stream.close();
  });
});

describe('parseJson', () => {
  it('parses JSON, and throws InvalidJsonError with an excerpt for anything else', () => {
    expect(parseJson('{"a":[1,null]}')).toEqual({ a: [1, null] });
    for (const text of ['', '<html>', '{"a":', 'x'.repeat(500)]) {
      const err = (() => {
        try {
          parseJson(text);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(InvalidJsonError);
      expect((err as InvalidJsonError).excerpt).toBe(text.slice(0, 200));
      expect((err as Error).message).toMatch(/^response is not valid JSON: /);
    }
  });

  it('jsonOrUndefined: the value, or undefined for a body that is not JSON', () => {
    expect(jsonOrUndefined('null')).toBeNull();
    expect(jsonOrUndefined('{"message":"busy"}')).toEqual({ message: 'busy' });
    expect(jsonOrUndefined('<html>')).toBeUndefined();
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-06-15T12:04:30Z');
  it('reads delta-seconds and HTTP dates; a past date is 0, anything else undefined', () => {
    expect(retryAfterMs({ 'retry-after': '120' }, now)).toBe(120_000);
    expect(retryAfterMs({ 'retry-after': ' 0 ' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'Mon, 15 Jun 2026 12:05:00 GMT' }, now)).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'Mon, 15 Jun 2026 12:00:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
  });
});

describe('withRetries', () => {
  it('retries exactly `retries` times, waiting 100, 200, 400 ms (base 100, doubling)', async () => {
    upstream.handler = (_req, res) => res.writeHead(503).end();
    const { waits, policy } = recorded();
    await expect(withRetries(getOrThrow, verdict, policy)).rejects.toBeInstanceOf(StatusError);
    expect(upstream.requests).toHaveLength(1 + 3);
    expect(waits).toEqual([
      { ms: 100, requestsSoFar: 1 },
      { ms: 200, requestsSoFar: 2 },
      { ms: 400, requestsSoFar: 3 },
    ]);
  });

  it('stops at the first success, and never retries what the verdict refuses', async () => {
    let n = 0;
    upstream.handler = (_req, res) => res.writeHead(n++ === 0 ? 502 : 200).end('{}');
    const { waits, policy } = recorded();
    await expect(withRetries(getOrThrow, verdict, policy)).resolves.toMatchObject({ status: 200 });
    expect([upstream.requests.length, waits.length]).toEqual([2, 1]);

    upstream.requests = [];
    upstream.handler = (_req, res) => res.writeHead(500).end();
    await expect(withRetries(getOrThrow, () => false, recorded().policy)).rejects.toBeInstanceOf(StatusError);
    expect(upstream.requests).toHaveLength(1);
  });

  it('honours Retry-After: waits what the server asked when longer than the backoff, then asks once more', async () => {
    let n = 0;
    upstream.handler = (_req, res) =>
      n++ === 0 ? res.writeHead(503, { 'retry-after': '2' }).end() : res.writeHead(200).end('{}');
    const { waits, policy } = recorded();
    await expect(withRetries(getOrThrow, verdict, policy)).resolves.toMatchObject({ status: 200 });
    expect(waits).toEqual([{ ms: 2_000, requestsSoFar: 1 }]);
    expect(upstream.requests).toHaveLength(2);

    // Shorter than the backoff: the backoff wins (base 100 · 2⁰).
    upstream.requests = [];
    n = 0;
    upstream.handler = (_req, res) =>
      n++ === 0 ? res.writeHead(429, { 'retry-after': '0' }).end() : res.writeHead(200).end('{}');
    const short = recorded();
    const retry429 = async () => {
      const res = await get();
      if (res.status === 429) throw new StatusError(res);
      return res;
    };
    await withRetries(retry429, verdict, short.policy);
    expect(short.waits).toEqual([{ ms: 100, requestsSoFar: 1 }]);
  });

  it('gives up at once when Retry-After asks for longer than maxRetryAfterMs', async () => {
    upstream.handler = (_req, res) => res.writeHead(503, { 'retry-after': '60' }).end();
    const { waits, policy } = recorded({ maxRetryAfterMs: 59_999 });
    await expect(withRetries(getOrThrow, verdict, policy)).rejects.toBeInstanceOf(StatusError);
    expect([upstream.requests.length, waits.length]).toEqual([1, 0]);
  });

  it('adds jitter of up to jitterMs on top of the backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    upstream.handler = (_req, res) => res.writeHead(503).end();
    const { waits, policy } = recorded({ retries: 2, jitterMs: 50 });
    await expect(withRetries(getOrThrow, verdict, policy)).rejects.toBeInstanceOf(StatusError);
    expect(waits.map((w) => w.ms)).toEqual([100 + 25, 200 + 25]);
  });

  it('does not start a wait that would end past the deadline', async () => {
    upstream.handler = (_req, res) => res.writeHead(503).end();
    const { waits, policy } = recorded({ deadline: Date.now() + 60_000, baseDelayMs: 40_000 });
    await expect(withRetries(getOrThrow, verdict, policy)).rejects.toBeInstanceOf(StatusError);
    // 40 s fits before the deadline, the next wait (80 s) does not.
    expect([upstream.requests.length, waits.map((w) => w.ms)]).toEqual([2, [40_000]]);
  });

  it('ends a real wait with ABORTED when the signal fires', async () => {
    upstream.handler = (_req, res) => res.writeHead(503).end();
    const controller = new AbortController();
    const pending = withRetries(getOrThrow, verdict, {
      retries: 1,
      baseDelayMs: 600_000,
      jitterMs: 0,
      signal: controller.signal,
    });
    await expect.poll(() => upstream.requests.length).toBe(1);
    controller.abort();
    expect((await failure(pending)).kind).toBe('ABORTED');
    expect(upstream.requests).toHaveLength(1);
  });
});
