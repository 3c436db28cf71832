import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rawWs, type RawWs } from '../server/raw-ws.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, IPS } from './threat-fixtures.js';

/**
 * Subscriptions that share an execution (same role, operation, variables and query) and
 * those that do not, side by side on the same sockets: each subscription gets exactly
 * its own payloads under its own id, nothing its filter excludes, and the frames are
 * graphql-ws's own.
 */
const WAIT = { timeout: 15_000, interval: 50 };
const BY_SEVERITY = `subscription($min: Int) { threatDetected(minSeverity: $min) { externalId severity } }`;
const WITH_TEXT = `subscription($min: Int) { threatDetected(minSeverity: $min) { externalId description } }`;
const ONLY_ID = `subscription { threatDetected { externalId } }`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('subscription_groups');
});
afterAll(() => t?.stop());

async function socket(): Promise<RawWs> {
  const s = await rawWs(t.wsUrl, t.adminKey);
  await vi.waitFor(() => expect(s.acked()).toBe(true), WAIT);
  return s;
}

/** The `threatDetected` payloads subscription `id` received, in order. */
const payloads = (s: RawWs, id: string) =>
  s
    .of(id, 'next')
    .map((m) => (m.payload as { data: { threatDetected: Record<string, unknown> } }).data.threatDetected);
const tagged = (s: RawWs, id: string, tag: string) =>
  payloads(s, id).filter((p) => String(p.externalId).startsWith(tag));

/** Sends probes every subscription matches until each listed one has received one. */
async function waitLive(subs: [RawWs, string][]) {
  await vi.waitFor(
    async () => {
      await t.gql(INGEST_MANY, {
        inputs: [event({ externalId: `probe-${Date.now()}-${Math.random()}`, severity: 10 })],
      });
      for (const [s, id] of subs)
        expect(payloads(s, id).some((p) => String(p.externalId).startsWith('probe-'))).toBe(true);
    },
    { timeout: 20_000, interval: 200 },
  );
}

describe('subscriptions sharing and not sharing an execution', () => {
  it('each gets exactly its selection, its filter and its id; a completed one stops, the others go on', async () => {
    const a = await socket();
    const b = await socket();
    // a: two subscriptions with the same operation (one group), one with another filter,
    // one with another selection and no filter; b: the same operation as a's first two.
    a.subscribe('sev8-1', BY_SEVERITY, { min: 8 });
    a.subscribe('sev8-2', BY_SEVERITY, { min: 8 });
    a.subscribe('sev3', BY_SEVERITY, { min: 3 });
    a.subscribe('text3', WITH_TEXT, { min: 3 });
    a.subscribe('all', ONLY_ID);
    b.subscribe('sev8-1', BY_SEVERITY, { min: 8 });
    const subs: [RawWs, string][] = [
      [a, 'sev8-1'],
      [a, 'sev8-2'],
      [a, 'sev3'],
      [a, 'text3'],
      [a, 'all'],
      [b, 'sev8-1'],
    ];
    await waitLive(subs);

    const tag = `grp-${Date.now()}`;
    const severities = [2, 5, 9, 3, 8, 1];
    await t.gql(INGEST_MANY, {
      inputs: severities.map((severity, i) =>
        event({ externalId: `${tag}-${i}`, severity, description: `d${i}`, sourceIp: IPS.DE }),
      ),
    });
    // Worked out from the filters: >= 8 → events 2 (9) and 4 (8); >= 3 → 1, 2, 3, 4.
    const sev8 = [
      { externalId: `${tag}-2`, severity: 9 },
      { externalId: `${tag}-4`, severity: 8 },
    ];
    const sev3 = [1, 2, 3, 4].map((i) => ({ externalId: `${tag}-${i}`, severity: severities[i] }));
    const text3 = [1, 2, 3, 4].map((i) => ({ externalId: `${tag}-${i}`, description: `d${i}` }));
    const all = severities.map((_, i) => ({ externalId: `${tag}-${i}` }));
    await vi.waitFor(() => expect(tagged(a, 'all', tag)).toHaveLength(6), WAIT);
    await vi.waitFor(() => expect(tagged(b, 'sev8-1', tag)).toHaveLength(2), WAIT);
    // An end marker every subscription matches: anything extra would have come before it.
    await t.gql(INGEST_MANY, { inputs: [event({ externalId: `${tag}-end`, severity: 10 })] });
    await vi.waitFor(() => {
      for (const [s, id] of subs)
        expect(payloads(s, id).some((p) => p.externalId === `${tag}-end`)).toBe(true);
    }, WAIT);

    expect(tagged(a, 'sev8-1', tag).slice(0, 2)).toEqual(sev8);
    expect(tagged(a, 'sev8-2', tag).slice(0, 2)).toEqual(sev8);
    expect(tagged(b, 'sev8-1', tag).slice(0, 2)).toEqual(sev8);
    expect(tagged(a, 'sev3', tag).slice(0, 4)).toEqual(sev3);
    expect(tagged(a, 'text3', tag).slice(0, 4)).toEqual(text3);
    expect(tagged(a, 'all', tag).slice(0, 6)).toEqual(all);
    // Nothing else on any id (the end marker last), and no frame for an id never used.
    const counts = subs.map(([s, id]) => tagged(s, id, tag).length);
    expect(counts).toEqual([3, 3, 5, 5, 7, 3]);
    const ids = new Set(['sev8-1', 'sev8-2', 'sev3', 'text3', 'all']);
    expect(a.messages.filter((m) => m.id !== undefined && !ids.has(m.id))).toEqual([]);
    expect(b.messages.filter((m) => m.id !== undefined && m.id !== 'sev8-1')).toEqual([]);
    expect([...a.messages, ...b.messages].filter((m) => m.type === 'error')).toEqual([]);

    // The exact frame graphql-ws would send, spliced around the shared payload.
    const raw: string[] = [];
    b.ws.on('message', (data: Buffer) => raw.push(data.toString()));
    a.complete('sev8-1');
    const tag2 = `${tag}-after`;
    await t.gql(INGEST_MANY, { inputs: [event({ externalId: tag2, severity: 9 })] });
    await vi.waitFor(() => expect(tagged(a, 'sev8-2', tag2)).toHaveLength(1), WAIT);
    await vi.waitFor(() => expect(tagged(b, 'sev8-1', tag2)).toHaveLength(1), WAIT);
    expect(tagged(a, 'sev8-1', tag2)).toEqual([]);
    expect(raw.filter((f) => f.includes(tag2))).toEqual([
      JSON.stringify({
        id: 'sev8-1',
        type: 'next',
        payload: { data: { threatDetected: { externalId: tag2, severity: 9 } } },
      }),
    ]);
    // The server never completes a subscription the client completed (graphql-ws semantics).
    expect(a.of('sev8-1', 'complete')).toEqual([]);
    a.ws.close();
    b.ws.close();
  });

  it('a refused subscription gets its error under its own id, then complete; its neighbour keeps running', async () => {
    const s = await socket();
    s.subscribe('good', BY_SEVERITY, { min: 9 });
    s.subscribe('bad', BY_SEVERITY, { min: 11 });
    // Arguments are checked when the subscription starts: graphql-js answers with one
    // result carrying the error, and graphql-ws sends it as `next`, then `complete`.
    await vi.waitFor(() => expect(s.of('bad', 'complete')).toHaveLength(1), WAIT);
    expect(s.of('bad').map((m) => m.type)).toEqual(['next', 'complete']);
    expect(s.of('bad', 'next')[0]!.payload).toEqual({
      errors: [
        expect.objectContaining({
          message: 'minSeverity must be between 1 and 10',
          extensions: { code: 'BAD_USER_INPUT', argument: 'minSeverity', min: 1, limit: 10 },
        }),
      ],
    });
    await waitLive([[s, 'good']]);
    expect(s.of('bad')).toHaveLength(2);
    // The id is free again; the same bad variables are refused again, not joined to anything.
    s.subscribe('bad', BY_SEVERITY, { min: 11 });
    await vi.waitFor(() => expect(s.of('bad', 'complete')).toHaveLength(2), WAIT);
    expect(s.of('bad').map((m) => m.type)).toEqual(['next', 'complete', 'next', 'complete']);
    s.ws.close();
  });
});
