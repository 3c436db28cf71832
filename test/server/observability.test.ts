import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('observability');
});
afterAll(() => t.stop());

describe('health endpoints and metrics', () => {
  it('/healthz answers without a key, /readyz reports the database', async () => {
    const live = await fetch(`${t.origin}/healthz`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${t.origin}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ready: boolean; components: { name: string; status: string }[] };
    expect(body.ready).toBe(true);
    expect(body.components.find((c) => c.name === 'database')?.status).toBe('UP');
  });

  it('health reports components, modes and the GeoIP databases', async () => {
    const res = await t.gql<{
      health: {
        status: string;
        geoip: string;
        version: string;
        components: { name: string; mode: string }[];
        geoipDatabases: { kind: string }[];
      };
    }>(
      '{ health { status geoip version components { name status mode } geoipDatabases { kind databaseType } } }',
    );
    expect(res.data?.health.status).toBe('OK');
    expect(res.data?.health.geoip).toBe('UP');
    expect(res.data?.health.components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['database', 'redis', 'geoip']),
    );
    expect(res.data?.health.geoipDatabases.map((d) => d.kind)).toContain('country');
  });

  it('/metrics exposes request counts by operation and outcome, sockets and event-loop lag', async () => {
    await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ query: 'query MetricsProbe { __typename }', operationName: 'MetricsProbe' }),
    });
    const text = await (await fetch(`${t.origin}/metrics`)).text();
    expect(text).toMatch(
      /threatwire_graphql_requests_total\{operation="MetricsProbe",type="query",outcome="success",transport="http"\} 1/,
    );
    expect(text).toMatch(/threatwire_graphql_request_duration_seconds_bucket\{[^}]*operation="MetricsProbe"/);
    expect(text).toContain('threatwire_ws_connections');
    expect(text).toContain('threatwire_ws_subscriptions');
    expect(text).toContain('threatwire_nodejs_eventloop_lag_seconds');
    expect(text).toContain('threatwire_process_cpu_user_seconds_total');
  });
});

describe('rate limiting per API key', () => {
  // A budget of its own: the other tests here must not spend it, nor be refused by it.
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp('rate_limited', {
      RATE_LIMIT_POINTS: '5',
      RATE_LIMIT_WINDOW_SECONDS: '600',
    });
  });
  afterAll(() => limited.stop());
  const newKey = async (name: string) => {
    const created = await limited.gql<{ createApiKey: { secret: string } }>(
      `mutation { createApiKey(name: "${name}", role: READER) { secret } }`,
    );
    return created.data!.createApiKey.secret;
  };

  it('serves exactly 5 of 7 requests of one key with 429s after, and another key is still served', async () => {
    const [first, second] = [await newKey('first'), await newKey('second')];
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await limited.gql('{ __typename }', undefined, first));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const refused = results[5]!;
    expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const retryAfter = refused.errors?.[0]?.extensions?.retryAfterSeconds as number;
    // The window is 600 s and was opened by this test's first request.
    expect(retryAfter).toBeGreaterThan(500);
    expect(retryAfter).toBeLessThanOrEqual(600);
    expect(Number(refused.headers.get('retry-after'))).toBe(retryAfter);
    const other = await limited.gql<{ __typename: string }>('{ __typename }', undefined, second);
    expect(other.status).toBe(200);
    expect(other.data?.__typename).toBe('Query');
  });

  it('counts each WebSocket subscribe against the key: exactly 5 of 7 start', async () => {
    const key = await newKey('sockets');
    const client = limited.ws(key);
    const subs = Array.from({ length: 7 }, () =>
      collect<{ heartbeat: string }>(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1),
    );
    const settled = await Promise.allSettled(subs.map((s) => s.done));
    for (const s of subs) s.unsubscribe();
    const outcomes = settled.map((r) =>
      r.status === 'fulfilled'
        ? 'served'
        : (r.reason as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code,
    );
    expect(outcomes.filter((o) => o === 'served')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'RATE_LIMITED')).toHaveLength(2);
  });
});

describe('RATE_LIMIT_POINTS=0', () => {
  let open: TestApp;
  beforeAll(async () => {
    open = await startTestApp('rate_limit_off', { RATE_LIMIT_POINTS: '0' });
  });
  afterAll(() => open.stop());

  it('turns operation limiting off: 700 requests of one key (more than the default 600) all pass', async () => {
    expect(open.app.modes.rateLimit).toBe('off');
    const created = await open.gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(name: "unlimited", role: READER) { secret } }',
    );
    const key = created.data!.createApiKey.secret;
    const statuses: number[] = [];
    // 20 at a time: 35 rounds of 20 = 700.
    for (let round = 0; round < 35; round++) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, () => open.gql('{ __typename }', undefined, key)),
      );
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses).toHaveLength(700);
    expect(statuses.filter((s) => s === 200)).toHaveLength(700);
  });

  it('and for WebSocket subscribes: 7 of 7 start', async () => {
    const client = open.ws();
    const subs = Array.from({ length: 7 }, () =>
      collect<{ heartbeat: string }>(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1),
    );
    const settled = await Promise.allSettled(subs.map((s) => s.done));
    for (const s of subs) s.unsubscribe();
    expect(settled.map((r) => r.status)).toEqual(Array(7).fill('fulfilled'));
  });
});

describe('operation log', () => {
  it('logs a summary per operation name at info, failed operations one by one, and no line per successful one', async () => {
    const lines: string[] = [];
    const app = await startTestApp('operation_log', { LOG_LEVEL: 'info' }, { logLines: lines });
    try {
      for (let i = 0; i < 3; i++) await app.gql('query Probe { __typename }');
      // Over the documented batch limit of 1,000 addresses: BAD_USER_INPUT from the resolver.
      const tooMany = { ips: Array.from({ length: 1001 }, () => '192.0.2.1') };
      for (let i = 0; i < 2; i++)
        await app.gql('query Broken($ips: [String!]!) { geoip(ips: $ips) { ip } }', tooMany);
      await app.gql('{ __typename }');
    } finally {
      await app.stop(); // the last summary is written on stop
    }
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const perOperation = logged.filter((l) => l.msg === 'graphql operation');
    expect(perOperation.map((l) => [l.operation, l.outcome, l.errorCodes])).toEqual([
      ['Broken', 'error', ['BAD_USER_INPUT']],
      ['Broken', 'error', ['BAD_USER_INPUT']],
    ]);
    const summaries = logged.filter((l) => l.msg === 'graphql operations');
    const counts = summaries
      .flatMap((l) => l.operations as { operation: string; count: number; errors: number }[])
      .map((o) => [o.operation, o.count, o.errors]);
    // The admin key's createApiKey etc. are not sent here: exactly these six operations.
    expect(counts.sort()).toEqual([
      ['Broken', 2, 2],
      ['Probe', 3, 0],
      ['anonymous', 1, 0],
    ]);
  });
});

describe('CORS and WebSocket origin allow-list', () => {
  it('answers preflight for the server’s own origin but not for others', async () => {
    const own = await fetch(t.url, {
      method: 'OPTIONS',
      headers: {
        origin: t.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(own.headers.get('access-control-allow-origin')).toBe(t.origin);
    const evil = await fetch(t.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a WebSocket upgrade from a foreign Origin and accepts none or its own', async () => {
    const attempt = (origin?: string) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
        ws.on('error', () => resolve('error'));
      });
    expect(await attempt('https://evil.example')).toBe('403');
    expect(await attempt(t.origin)).toBe('open');
    expect(await attempt()).toBe('open');
  });
});

describe('WORKERS=only', () => {
  it('keeps health and metrics but serves no GraphQL', async () => {
    const w = await startTestApp('workers_only', { WORKERS: 'only' });
    try {
      expect((await fetch(`${w.origin}/healthz`)).status).toBe(200);
      expect((await fetch(`${w.origin}/metrics`)).status).toBe(200);
      const res = await fetch(w.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(404);
    } finally {
      await w.stop();
    }
  });
});
