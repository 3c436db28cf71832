import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * A cursor written into the query text takes the resume path (its own replay, then the
 * live group of the document without it). Hostile literals answer BAD_USER_INPUT on the
 * subscription alone and the socket goes on; a real one resumes exactly after itself.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('literal_cursor');
});
afterAll(async () => {
  await t?.stop();
});

const sub = (literal: string) => `subscription { threatDetected(after: ${literal}) { externalId cursor } }`;
const INGEST = 'mutation($i: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $i) { accepted } }';
const inputs = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    externalId: `${prefix}-${i}`,
    sourceIp: '203.0.113.20',
    threatType: 'scan',
    severity: 5,
  }));

describe('a cursor written in the subscription text', () => {
  it('garbage, NUL, a lone surrogate or 50,000 characters: a documented code, and the socket goes on', async () => {
    const client = t.ws();
    // A lone surrogate escape is not valid GraphQL text: the parser refuses it first.
    for (const [literal, code] of [
      ['"garbage"', 'BAD_USER_INPUT'],
      ['"\\u0000"', 'BAD_USER_INPUT'],
      ['"\\ud800"', 'GRAPHQL_PARSE_FAILED'],
      [JSON.stringify('x'.repeat(50_000)), 'BAD_USER_INPUT'],
      ['""', 'BAD_USER_INPUT'],
    ]) {
      const err = (await collect(client, sub(literal!), 1).done.then(
        () => new Error('accepted'),
        (e: unknown) => e,
      )) as { errors?: { extensions?: { code?: string } }[]; message: string };
      expect(
        err.errors?.map((e) => e.extensions?.code),
        `${literal!.slice(0, 20)}: ${err.message}`,
      ).toEqual([code]);
    }
    const ticks = await collect(client, 'subscription { heartbeat(intervalSeconds: 1) }', 1).done;
    expect(ticks).toHaveLength(1);
  });

  it('a real cursor replays exactly what came after it, then the live events, none twice', async () => {
    const client = t.ws();
    const seen: { externalId: string; cursor: string }[] = [];
    const stop = client.subscribe<{ threatDetected: { externalId: string; cursor: string } }>(
      { query: 'subscription { threatDetected { externalId cursor } }' },
      {
        next: (v) => void seen.push(v.data!.threatDetected),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    // Running once an event ingested now reaches it.
    let probes = 0;
    await vi.waitFor(
      async () => {
        expect((await t.gql(INGEST, { i: inputs(`probe${probes++}`, 1) })).errors).toBeUndefined();
        expect(seen.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 50 },
    );
    await vi.waitFor(() => expect(seen.at(-1)?.externalId).toBe(`probe${probes - 1}-0`), {
      timeout: 10_000,
      interval: 20,
    });
    stop();
    const cursor = seen.at(-1)!.cursor;
    expect((await t.gql(INGEST, { i: inputs('b', 2) })).errors).toBeUndefined();
    const resumed = collect<{ threatDetected: { externalId: string } }>(
      client,
      sub(JSON.stringify(cursor)),
      4,
    );
    // The two before the resume come from its replay; wait for them, then two live ones.
    const got: string[] = [];
    const replayed = client.subscribe<{ threatDetected: { externalId: string } }>(
      { query: sub(JSON.stringify(cursor)) },
      {
        next: (v) => void got.push(v.data!.threatDetected.externalId),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await vi.waitFor(() => expect(got).toEqual(['b-0', 'b-1']), { timeout: 10_000, interval: 20 });
    expect((await t.gql(INGEST, { i: inputs('c', 2) })).errors).toBeUndefined();
    expect((await resumed.done).map((r) => r.threatDetected.externalId)).toEqual([
      'b-0',
      'b-1',
      'c-0',
      'c-1',
    ]);
    await vi.waitFor(() => expect(got).toEqual(['b-0', 'b-1', 'c-0', 'c-1']), {
      timeout: 10_000,
      interval: 20,
    });
    replayed();
    resumed.unsubscribe();
  });
});
