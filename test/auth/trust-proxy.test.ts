import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { rawWs } from '../server/raw-ws.js';

/**
 * Behind a reverse proxy every request comes from the proxy's address. With TRUST_PROXY
 * naming it, the failed-authentication budget (here 2) is counted per address in
 * X-Forwarded-For; without it, per TCP peer (a forged header changes nothing).
 */
const BUDGET = 2;
const QUERY = JSON.stringify({ query: '{ __typename }' });
const badKey = () => `tw_${randomBytes(32).toString('base64url')}`;

function post(t: TestApp, from: string, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      t.url,
      {
        method: 'POST',
        localAddress: from,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${badKey()}`,
          'x-forwarded-for': forwardedFor,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(QUERY);
  });
}

async function statuses(t: TestApp, from: string, forwardedFor: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await post(t, from, forwardedFor));
  return out;
}

describe('TRUST_PROXY', () => {
  let proxied: TestApp;
  let direct: TestApp;
  beforeAll(async () => {
    const env = { AUTH_FAILURE_LIMIT: String(BUDGET), AUTH_FAILURE_WINDOW_SECONDS: '600' };
    [proxied, direct] = await Promise.all([
      startTestApp('trust_proxy', { ...env, TRUST_PROXY: '127.0.0.0/8' }),
      startTestApp('no_trust_proxy', env),
    ]);
  });
  afterAll(async () => {
    await Promise.all([proxied?.stop(), direct?.stop()]);
  });

  it('counts failures per forwarded client behind a trusted proxy, over HTTP and WebSocket', async () => {
    const proxy = '127.0.0.21';
    expect(await statuses(proxied, proxy, '198.51.100.7', BUDGET + 1)).toEqual([401, 401, 429]);
    // Another client behind the same proxy still has its whole budget.
    expect(await statuses(proxied, proxy, '198.51.100.8', 1)).toEqual([401]);
    // The nearest untrusted address counts: a client cannot pick its bucket by prepending.
    expect(await statuses(proxied, proxy, '203.0.113.99, 198.51.100.7', 1)).toEqual([429]);

    const socket = await rawWs(proxied.wsUrl, badKey(), {
      localAddress: proxy,
      headers: { 'x-forwarded-for': '198.51.100.7' },
    });
    expect((await socket.closed).code).toBe(4429);
    const other = await rawWs(proxied.wsUrl, badKey(), {
      localAddress: proxy,
      headers: { 'x-forwarded-for': '198.51.100.9' },
    });
    expect((await other.closed).code).toBe(4403);
  });

  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    const peer = '127.0.0.22';
    expect(await statuses(direct, peer, '198.51.100.7', 2)).toEqual([401, 401]);
    expect(await statuses(direct, peer, '198.51.100.8', 1)).toEqual([429]);
  });

  it('refuses a malformed list at start-up, naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/99' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: ' loopback, 10.0.0.0/8 ' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
  });
});
