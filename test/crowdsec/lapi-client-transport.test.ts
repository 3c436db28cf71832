/**
 * Transport behaviour that a healthy real LAPI cannot show (hanging, 5xx, huge or
 * malformed bodies, short-lived tokens), against a scripted loopback HTTP server.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LapiClient, type LapiClientOptions } from '../../src/crowdsec/lapi-client.js';
import type { LapiError } from '../../src/crowdsec/lapi-types.js';
import { json, scriptedServer } from '../helpers/scripted-server.js';

const upstream = scriptedServer();
afterEach(() => {
  vi.useRealTimers();
});

const client = (over: Partial<LapiClientOptions> = {}) =>
  new LapiClient({
    baseUrl: `${upstream.baseUrl}/`,
    bouncerKey: 'key',
    machineId: 'm',
    machinePassword: 'p',
    userAgent: 'threatwire/0.1.0',
    timeoutMs: 1_000,
    logger: pino({ level: 'silent' }),
    ...over,
  });

describe('LapiClient transport', () => {
  it('refuses a User-Agent that LAPI 1.4 would reject at login', () => {
    expect(() => client({ userAgent: 'threatwire' })).toThrow(/name\/version/);
  });

  it('times out instead of hanging, and does not repeat a delta', async () => {
    upstream.handler = () => undefined; // never answers (a hang fails the test by its own timeout)
    await expect(client({ timeoutMs: 300 }).decisionsStream({ startup: false })).rejects.toMatchObject({
      kind: 'TIMEOUT',
      message: 'GET /v1/decisions/stream: no answer within 300 ms',
    });
    expect(upstream.hits()).toEqual(['GET /v1/decisions/stream']);
  });

  it('cuts off a response larger than the cap', async () => {
    upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"new":[${'{"x":1},'.repeat(10_000)}{}],"deleted":null}`);
    };
    await expect(
      client({ maxResponseBytes: 10_000 }).decisionsStream({ startup: true }),
    ).rejects.toMatchObject({
      kind: 'RESPONSE_TOO_LARGE',
    });
  });

  it('retries a snapshot after 5xx a bounded number of times, a delta never', async () => {
    upstream.handler = (_req, res) => json(res, 502, { message: 'bad gateway' });
    await expect(client({ retries: 2 }).decisionsStream({ startup: true })).rejects.toMatchObject({
      kind: 'SERVER_ERROR',
      status: 502,
      lapiMessage: 'bad gateway',
    });
    expect(upstream.hits()).toHaveLength(3);

    upstream.requests = [];
    await expect(client().decisionsStream({ startup: false })).rejects.toMatchObject({
      kind: 'SERVER_ERROR',
    });
    expect(upstream.hits()).toHaveLength(1);
  });

  it('recovers when a retry succeeds, and sends the filters', async () => {
    let calls = 0;
    upstream.handler = (_req, res) =>
      calls++ === 0 ? json(res, 503, {}) : json(res, 200, { new: null, deleted: null });
    const stream = await client().decisionsStream({
      startup: true,
      scopes: ['ip', 'range'],
      origins: ['cscli'],
    });
    expect(stream).toEqual({ new: [], deleted: [] });
    expect(upstream.hits()[1]).toBe('GET /v1/decisions/stream?startup=true&scopes=ip%2Crange&origins=cscli');
  });

  it('comes back after a 429 or 503 when the LAPI says when, unless it asks for more than 10 s', async () => {
    let calls = 0;
    upstream.handler = (_req, res) =>
      calls++ === 0
        ? res.writeHead(429, { 'retry-after': '0' }).end('{"message":"slow down"}')
        : json(res, 200, { new: null, deleted: null });
    await expect(client().decisionsStream({ startup: true })).resolves.toEqual({ new: [], deleted: [] });
    expect(upstream.hits()).toHaveLength(2);

    upstream.requests = [];
    upstream.handler = (_req, res) =>
      res.writeHead(503, { 'retry-after': '11' }).end('{"message":"maintenance"}');
    await expect(client().decisionsStream({ startup: true })).rejects.toMatchObject({
      kind: 'SERVER_ERROR',
      status: 503,
      lapiMessage: 'maintenance',
      details: { retryAfterMs: 11_000 },
    });
    expect(upstream.hits()).toHaveLength(1);

    // A 429 asking for more than 10 s is the LAPI's load, never the API user's input.
    upstream.requests = [];
    upstream.handler = (_req, res) =>
      res.writeHead(429, { 'retry-after': '30' }).end('{"message":"slow down"}');
    const refused = await client()
      .decisionsStream({ startup: true })
      .catch((err: unknown) => err);
    expect(refused).toMatchObject({ kind: 'RATE_LIMITED', status: 429, details: { retryAfterMs: 30_000 } });
    expect((refused as LapiError).toAppError().code).toBe('UPSTREAM_UNAVAILABLE');
    expect(upstream.hits()).toHaveLength(1);
  });

  it('rejects a 2xx body of the wrong shape as BAD_RESPONSE', async () => {
    upstream.handler = (_req, res) => json(res, 200, { new: [{ id: 'not-a-number' }], deleted: [] });
    await expect(client().decisionsStream({ startup: true })).rejects.toMatchObject({ kind: 'BAD_RESPONSE' });
    upstream.handler = (_req, res) => res.writeHead(200).end('<html>');
    await expect(client().decisionsStream({ startup: true })).rejects.toMatchObject({ kind: 'BAD_RESPONSE' });
  });

  it('renews the JWT before it expires, and on a 401', async () => {
    // Only Date is faked: the client reads the clock for renewal, sockets keep real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    let logins = 0;
    let validToken = '';
    upstream.handler = (req, res) => {
      if (req.url === '/v1/watchers/login') {
        logins++;
        validToken = `token-${logins}`;
        // Expires in 1.5 s: the client renews at half-life for such short tokens.
        return json(res, 200, {
          code: 200,
          expire: new Date(Date.now() + 1_500).toISOString(),
          token: validToken,
        });
      }
      if (req.headers.authorization !== `Bearer ${validToken}`)
        return json(res, 401, { code: 401, message: 'expired' });
      return json(res, 200, null);
    };
    const c = client();
    expect(await c.alerts({ since: '1h' })).toEqual([]);
    expect(await c.alerts()).toEqual([]);
    expect(logins).toBe(1);
    const loggedInAt = Date.now();
    vi.setSystemTime(loggedInAt + 749); // the half-life of a 1.5 s token is 750 ms
    await c.alerts();
    expect(logins).toBe(1);
    vi.setSystemTime(loggedInAt + 750);
    await c.alerts();
    expect(logins).toBe(2);

    validToken = 'revoked-by-restart';
    await c.alerts();
    expect(logins).toBe(3);
    expect(upstream.hits().filter((h) => h.startsWith('GET'))).toHaveLength(6); // one 401, answered by one re-login
  });

  it('passes alert filters with the LAPI’s names and validates durations locally', async () => {
    let token = 0;
    const c = client();
    upstream.handler = (req, res) =>
      req.url === '/v1/watchers/login'
        ? json(res, 200, { expire: new Date(Date.now() + 3_600_000).toISOString(), token: `t${++token}` })
        : json(res, 200, null);
    await c.alerts({
      since: '90m',
      limit: 0,
      decisionType: 'ban',
      hasActiveDecision: true,
      value: '1.2.3.4',
    });
    expect(upstream.hits().at(-1)).toBe(
      'GET /v1/alerts?since=90m&limit=0&value=1.2.3.4&decision_type=ban&has_active_decision=true',
    );
    upstream.requests = [];
    await expect(c.alerts({ until: '2 days' })).rejects.toMatchObject({ kind: 'BAD_REQUEST' });
    expect(upstream.hits()).toEqual([]);
  });

  it('does not retry a POST', async () => {
    upstream.handler = (req, res) =>
      req.url === '/v1/watchers/login'
        ? json(res, 200, { expire: new Date(Date.now() + 3_600_000).toISOString(), token: 't' })
        : json(res, 500, { message: 'database is locked' });
    await expect(client().postAlerts([])).rejects.toMatchObject({ kind: 'SERVER_ERROR' });
    expect(upstream.hits().filter((h) => h.startsWith('POST /v1/alerts'))).toHaveLength(1);
  });
});
