import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, INGEST_ONE, type IngestResultView } from './threat-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

/**
 * Values PostgreSQL would refuse (or silently alter) must be refused per item at
 * validation: in a batch only that item comes back as an error, and one client's bad
 * single event never fails another client's events written in the same group commit.
 */

/**
 * `[[[…]]]` nested `depth` levels (the top-level array is level 1). Sent as JSON text
 * spliced into the request body: JSON.stringify itself overflows the stack on it.
 */
class Nested {
  constructor(readonly depth: number) {}
  get text() {
    return '['.repeat(this.depth) + ']'.repeat(this.depth);
  }
}
const nested = (depth: number) => new Nested(depth);

interface Answer<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs an operation whose variables may hold Nested values. */
async function send<T>(t: TestApp, query: string, variables: Record<string, unknown>, key: string) {
  const deep: Nested[] = [];
  const body = JSON.stringify({ query, variables }, (_k, v: unknown) => {
    if (!(v instanceof Nested)) return v;
    deep.push(v);
    return `@@nested-${deep.length - 1}@@`;
  }).replace(/"@@nested-(\d+)@@"/g, (_m, i: string) => deep[Number(i)]!.text);
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  return (await res.json()) as Answer<T>;
}

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';

/** [name, field expected in the error, overrides making the event bad]. */
const POISON: [string, string, Record<string, unknown>][] = [
  ['lone surrogate in a raw string', 'raw', { raw: { a: LONE_HIGH } }],
  ['lone surrogate in a raw key', 'raw', { raw: { [`k${LONE_LOW}`]: 1 } }],
  ['raw nested 5,000 deep (10 KB, under the size limit)', 'raw', { raw: nested(5000) }],
  ['raw nested 33 deep (one past the maximum)', 'raw', { raw: nested(33) }],
  ['NUL in a raw string', 'raw', { raw: { a: 'x\u0000y' } }],
  ['lone surrogate in description', 'description', { description: `bad ${LONE_HIGH} text` }],
  ['lone surrogate in a tag', 'tags', { tags: ['ok', `t${LONE_LOW}`] }],
  ['lone surrogate in threatType', 'threatType', { threatType: `ssh${LONE_HIGH}` }],
  ['lone surrogate in sensor', 'sensor', { sensor: `s${LONE_HIGH}` }],
  ['lone surrogate in protocol', 'protocol', { protocol: `tcp${LONE_LOW}` }],
  ['lone surrogate in externalId', 'externalId', { externalId: `id-${LONE_HIGH}` }],
];

describe('poison events', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let keyA: string;
  let keyB: string;
  beforeAll(async () => {
    t = await startTestApp('threat_poison');
    pool = testPool(t.databaseUrl, { max: 2 });
    const key = async (name: string) => {
      const res = await t.gql<{ createApiKey: { secret: string } }>(
        'mutation($n: String!) { createApiKey(name: $n, role: INGESTOR) { secret } }',
        { n: name },
      );
      return res.data!.createApiKey.secret;
    };
    [keyA, keyB] = await Promise.all([key('sensor-a'), key('sensor-b')]);
  });
  afterAll(async () => {
    await pool?.end();
    await t?.stop();
  });

  const storedFor = async (sensor: string) =>
    (
      await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM threat_events WHERE sensor = $1', [
        sensor,
      ])
    ).rows[0]!.n;

  it.each(POISON.map(([name, field, bad], k) => ({ name, field, bad, k })))(
    '999 valid + 1 bad ($name): 999 stored, one error at its index',
    async ({ field, bad, k }) => {
      const sensor = `poison-${k}-${Date.now()}`;
      const badIndex = (k * 97 + 13) % 1000;
      const inputs = Array.from({ length: 1000 }, (_, i) =>
        i === badIndex ? event({ sensor, ...bad }) : event({ sensor, externalId: `${sensor}-${i}` }),
      );
      const res = await send<{ ingestThreatEvents: IngestResultView }>(t, INGEST_MANY, { inputs }, keyA);
      expect(res.errors).toBeUndefined();
      const result = res.data!.ingestThreatEvents;
      expect(result.accepted).toBe(999);
      expect(result.duplicates).toBe(0);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ index: badIndex, field });
      expect(result.errors[0]!.message.startsWith(`${field}: `)).toBe(true);
      expect(await storedFor(sensor)).toBe(999);
    },
  );

  it('accepts raw nested exactly 32 deep (the documented maximum)', async () => {
    const sensor = `deep32-${Date.now()}`;
    const res = await send<{ ingestThreatEvents: IngestResultView }>(
      t,
      INGEST_MANY,
      { inputs: [event({ sensor, raw: nested(32) })] },
      keyA,
    );
    expect(res.data?.ingestThreatEvents).toEqual({ accepted: 1, duplicates: 0, errors: [] });
    expect(await storedFor(sensor)).toBe(1);
  });

  it('200 concurrent valid singles from key A all succeed beside 5 poison singles from key B', async () => {
    const sensorA = `group-a-${Date.now()}`;
    const sensorB = `group-b-${Date.now()}`;
    const good = Array.from({ length: 200 }, (_, i) =>
      event({ sensor: sensorA, externalId: `${sensorA}-${i}` }),
    );
    const poison = POISON.slice(0, 5).map(([, , bad]) => event({ sensor: sensorB, ...bad }));
    // Interleave B's poison among A's events so they arrive in the same groups.
    const calls = good.map((input, i) => ({ input, key: keyA, good: true, i }));
    poison.forEach((input, j) => calls.splice(20 + j * 37, 0, { input, key: keyB, good: false, i: j }));
    const answers = await Promise.all(
      calls.map(async (c) => ({
        c,
        r: await send<{ ingestThreatEvent: { externalId: string } }>(
          t,
          INGEST_ONE,
          { input: c.input },
          c.key,
        ),
      })),
    );
    const failures = answers.filter((a) => a.r.errors !== undefined);
    expect(failures.map((a) => a.c.good)).toEqual([false, false, false, false, false]);
    for (const { r } of failures) expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const { c, r } of answers.filter((a) => a.c.good))
      expect(r.data?.ingestThreatEvent.externalId).toBe(`${sensorA}-${c.i}`);
    expect(await storedFor(sensorA)).toBe(200);
    expect(await storedFor(sensorB)).toBe(0);
  });

  it('refuses a lone surrogate in externalId on every send, storing nothing', async () => {
    const sensor = `surrogate-id-${Date.now()}`;
    const input = event({ sensor, externalId: `dup-${LONE_HIGH}` });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await send<{ ingestThreatEvent: unknown }>(t, INGEST_ONE, { input }, keyA);
      expect(res.data?.ingestThreatEvent ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'externalId' });
      expect(res.errors?.[0]?.message).toMatch(/surrogate/);
    }
    expect(await storedFor(sensor)).toBe(0);
  });
});
