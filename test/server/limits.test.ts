import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('limits', { WS_CONNECTION_INIT_TIMEOUT_MS: '500', RATE_LIMIT_POINTS: '100000' });
});
afterAll(() => t.stop());

async function stillHealthy() {
  const res = await t.gql<{ health: { status: string } }>('{ health { status } }');
  expect(res.data?.health.status).toBe('OK');
}

/** `{ a: health { b: health ... } }` is not valid; nest through a self-referencing path instead. */
function deepQuery(depth: number): string {
  // ApiKeyConnection.edges.node ... there is no recursive type yet, so use fragments on __type.
  let q = 'name';
  for (let i = 0; i < depth; i++) q = `ofType { ${q} }`;
  return `{ __type(name: "Query") { ${q} } }`;
}

describe('query limits over HTTP', () => {
  it('rejects depth 50', async () => {
    const res = await t.gql(deepQuery(50));
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxDepth' });
    await stillHealthy();
  });

  it('rejects 1,000 aliases (the token limit trips first) and 40 aliases (the alias limit)', async () => {
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: viewer { id }`).join(' ');
    const thousand = await t.gql(`{ ${aliases(1000)} }`);
    expect(thousand.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxTokens' });
    const forty = await t.gql(`{ ${aliases(40)} }`);
    expect(forty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxAliases' });
    await stillHealthy();
  });

  it('rejects too many tokens', async () => {
    const fields = Array.from({ length: 6000 }, () => '__typename').join(' ');
    const res = await t.gql(`{ ${fields} }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxTokens' });
    await stillHealthy();
  });

  it('rejects too many directives', async () => {
    const dirs = Array.from({ length: 50 }, () => '@include(if: true)').join(' ');
    const res = await t.gql(`{ __typename ${dirs} }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxDirectives' });
  });

  it('rejects a 2 MB body with 413 in GraphQL error shape', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ query: `{ __typename } #${'x'.repeat(2 * 1024 * 1024)}` }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { extensions: { code: string; limit: string } }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxBodyBytes' });
    await stillHealthy();
  });

  it('refuses batched HTTP requests', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('applies CSRF prevention to simple GET requests', async () => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('never returns stack traces', async () => {
    const res = await t.gql('{ nope }');
    expect(JSON.stringify(res)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  });
});

describe('limits over graphql-ws', () => {
  it('closes a socket that never sends connection_init', async () => {
    const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(4408);
    await stillHealthy();
  });

  it('applies depth and token limits to subscriptions too', async () => {
    const client = t.ws();
    const deep = collect(client, deepQuery(50), 1);
    await expect(deep.done).rejects.toMatchObject({
      errors: expect.arrayContaining([
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: 'maxDepth' } }),
      ]) as unknown,
    });
    const many = collect(client, `{ ${Array.from({ length: 6000 }, () => '__typename').join(' ')} }`, 1);
    await expect(many.done).rejects.toMatchObject({
      errors: [{ extensions: { code: 'BAD_USER_INPUT', limit: 'maxTokens' } }],
    });
  });

  it('refuses a message over maxPayload by closing the socket', async () => {
    const client = t.ws();
    const big = collect(client, `{ __typename } #${'x'.repeat(2 * 1024 * 1024)}`, 1);
    await expect(big.done).rejects.toMatchObject({ closeCode: 1009 });
    await stillHealthy();
  });

  it('caps subscriptions per socket: 10,000 attempts, only the limit is accepted', async () => {
    const client = t.ws();
    const limit = t.config.limits.wsMaxSubscriptions;
    const subs = Array.from({ length: 10_000 }, () =>
      collect(client, 'subscription { heartbeat(intervalSeconds: 3600) }', 1),
    );
    const settled = await Promise.race([
      Promise.allSettled(subs.slice(limit).map((s) => s.done)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 30_000)),
    ]);
    const codes = new Set(
      settled.map((r) =>
        r.status === 'rejected'
          ? (r.reason as { errors?: { extensions?: { limit?: string } }[] }).errors?.[0]?.extensions?.limit
          : 'accepted',
      ),
    );
    expect([...codes]).toEqual(['wsMaxSubscriptions']);
    const metrics = await (await fetch(`${t.origin}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`threatwire_ws_subscriptions ${limit}\\b`));
    for (const s of subs) s.unsubscribe();
    await stillHealthy();
  });
});
