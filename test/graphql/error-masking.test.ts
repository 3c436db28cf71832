import type { FormattedExecutionResult } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * An unexpected failure (here: a table the code needs has vanished) reaches the client
 * only as INTERNAL_SERVER_ERROR with a correlation id, over HTTP and over graphql-ws;
 * the same id is in the server log next to the real error, and nothing of the real
 * error (table names, SQL, stack) is in the answer.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const QUERY = '{ threatEvents(first: 1) { totalCount } }';

let t: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  t = await startTestApp('error-masking', { LOG_LEVEL: 'warn' }, { logLines });
  await withDb((c) => c.query('ALTER TABLE threat_events RENAME TO threat_events_hidden'));
});
afterAll(async () => {
  await withDb((c) => c.query('ALTER TABLE threat_events_hidden RENAME TO threat_events'));
  await t?.stop();
});

async function withDb(fn: (c: pg.Client) => Promise<unknown>) {
  const client = new pg.Client({ connectionString: t.databaseUrl });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

function expectMasked(error: { message: string; extensions?: Record<string, unknown> } | undefined) {
  expect(Object.keys(error?.extensions ?? {}).sort()).toEqual(['code', 'correlationId']);
  expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  const id = String(error?.extensions?.correlationId);
  expect(id).toMatch(UUID);
  expect(error?.message).toBe(`Internal server error (correlation id ${id})`);
  const logged = logLines
    .map((l) => JSON.parse(l) as { correlationId?: string; msg?: string; err?: { message?: string } })
    .filter((l) => l.correlationId === id);
  expect(logged).toHaveLength(1);
  expect(logged[0]?.msg).toBe('unexpected error');
  expect(logged[0]?.err?.message).toMatch(/threat_events/);
  return id;
}

describe('masking of unexpected errors', () => {
  it('over HTTP', async () => {
    const res = await t.gql(QUERY);
    expect(res.status).toBe(200);
    expect(res.errors).toHaveLength(1);
    expect(JSON.stringify(res)).not.toMatch(/threat_events|relation "|SELECT|at \w+ \(/);
    expectMasked(res.errors?.[0]);
  });

  it('over graphql-ws, with an id of its own', async () => {
    const client = t.ws();
    const result = await new Promise<FormattedExecutionResult>((resolve, reject) => {
      client.subscribe({ query: QUERY }, { next: resolve, error: reject, complete: () => undefined });
    });
    expect(result.errors).toHaveLength(1);
    expect(JSON.stringify(result)).not.toMatch(/threat_events|relation "|SELECT/);
    const first = expectMasked(result.errors?.[0]);
    const again = await t.gql(QUERY);
    expect(again.errors?.[0]?.extensions?.correlationId).not.toBe(first);
  });
});
