import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { rawWs } from '../server/raw-ws.js';

/**
 * Failed authentications are budgeted per client address (here 3 per 10 minutes).
 * Requests come from distinct loopback addresses (127.0.0.2, .3, …) so each case has
 * an address of its own.
 */
const BUDGET = 3;
const WINDOW_S = 600;
const QUERY = JSON.stringify({ query: '{ __typename }' });

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('auth_failures', {
    AUTH_FAILURE_LIMIT: String(BUDGET),
    AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_S),
  });
});
afterAll(() => t?.stop());

const badKey = () => `tw_${randomBytes(32).toString('base64url')}`;

interface Answer {
  status: number;
  retryAfter: string | undefined;
  codes: unknown[];
}

/** POST a query with `key` from the local address `from`. */
function post(key: string, from: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      t.url,
      {
        method: 'POST',
        localAddress: from,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const body = JSON.parse(text) as { errors?: { extensions?: { code?: unknown } }[] };
          const retry: string | string[] | undefined = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: typeof retry === 'string' ? retry : retry?.[0],
            codes: (body.errors ?? []).map((e) => e.extensions?.code),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(QUERY);
  });
}

async function readerKey(): Promise<string> {
  const res = await t.gql<{ createApiKey: { secret: string } }>(
    'mutation { createApiKey(name: "reader", role: READER) { secret } }',
  );
  return res.data!.createApiKey.secret;
}

describe('failed authentication budget per client address', () => {
  it(`admits exactly ${BUDGET} failures, then 429 RATE_LIMITED with Retry-After`, async () => {
    const from = '127.0.0.2';
    expect((await post(t.adminKey, from)).status).toBe(200); // verified from here before the flood
    const reader = await readerKey(); // exists, never presented to this instance
    const answers: Answer[] = [];
    for (let i = 0; i < BUDGET + 2; i++) answers.push(await post(badKey(), from));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
    expect(answers.map((a) => a.codes)).toEqual([
      ['UNAUTHENTICATED'],
      ['UNAUTHENTICATED'],
      ['UNAUTHENTICATED'],
      ['RATE_LIMITED'],
      ['RATE_LIMITED'],
    ]);
    const retryAfter = Number(answers[3]!.retryAfter);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_S).toBe(true);

    // A key this instance verified recently still works from the blocked address; a key
    // it has not verified is refused without a lookup until the window ends.
    expect((await post(t.adminKey, from)).status).toBe(200);
    expect(await post(reader, from)).toMatchObject({ status: 429, codes: ['RATE_LIMITED'] });

    // Another address is unaffected.
    expect((await post(badKey(), '127.0.0.3')).status).toBe(401);
    expect((await post(reader, '127.0.0.3')).status).toBe(200);
  });

  it('the same bad key repeated counts each time (a negative cache answers, the budget still applies)', async () => {
    const from = '127.0.0.5';
    const key = badKey();
    const statuses: number[] = [];
    for (let i = 0; i < BUDGET + 1; i++) statuses.push((await post(key, from)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('counts WebSocket connection_init failures in the same budget: 4403, then 4429', async () => {
    const from = '127.0.0.4';
    expect((await post(t.adminKey, from)).status).toBe(200);
    expect((await post(badKey(), from)).status).toBe(401);
    const codes: number[] = [];
    for (let i = 0; i < BUDGET; i++) {
      const s = await rawWs(t.wsUrl, badKey(), { localAddress: from });
      codes.push((await s.closed).code);
    }
    expect(codes).toEqual([4403, 4403, 4429]);
    expect((await post(badKey(), from)).status).toBe(429);
    const admin = await rawWs(t.wsUrl, t.adminKey, { localAddress: from });
    await vi.waitFor(() => expect(admin.acked()).toBe(true));
    admin.ws.close();
  });
});
