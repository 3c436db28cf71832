import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, IPS, type IngestResultView } from './threat-fixtures.js';
import { THREAT_CATEGORIES } from '../../src/threats/classifier/types.js';

/**
 * threatDetected filters are bounded and cheap: oversized lists are refused, and 500
 * subscriptions with maximum-size filters receive exactly their matches of a 1,000-event
 * ingest while the server keeps answering other requests.
 */
const SUBSCRIBE = `subscription($minSeverity: Int, $categories: [ThreatCategory!], $countries: [String!]) {
  threatDetected(minSeverity: $minSeverity, categories: $categories, countries: $countries) { externalId } }`;
const CATEGORIES = THREAT_CATEGORIES;
const MAX_COUNTRIES = 250;
const SOCKETS = 5;
const PER_SOCKET = 100;
const EVENTS = 1000;

/** Well-formed codes that are none of US, DE, JP (the countries the events come from). */
const FILLER = Array.from({ length: 26 * 26 }, (_, i) =>
  String.fromCharCode(65 + Math.floor(i / 26), 65 + (i % 26)),
).filter((c) => !['US', 'DE', 'JP'].includes(c));

interface Sub {
  minSeverity: number;
  categories: string[] | null;
  countries: string[];
}

/** Subscription i: always US and BRUTEFORCE (so one probe reaches every one of them). */
function subscription(i: number): Sub {
  const real = ['US', ...(i % 5 === 0 ? ['DE'] : []), ...(i % 7 === 0 ? ['JP'] : [])];
  const countries = [...real, ...FILLER.slice(0, MAX_COUNTRIES - real.length)];
  const categories = [[...CATEGORIES], ['BRUTEFORCE'], ['SCAN', 'BRUTEFORCE'], null][i % 4]!;
  return { minSeverity: 8 + (i % 3), categories, countries };
}

const SCAN = { threatType: 'port_scan', description: 'SYN sweep', destinationPort: 443 };
/**
 * Where event k comes from: mostly private addresses (no country, matching no
 * subscription), so the matches stay a few thousand frames in all. The test's client
 * shares the server's event loop; tens of thousands of frames would keep it from
 * answering the server's keep-alive pings on a loaded machine.
 */
const SOURCES = [
  ['US', IPS.US],
  ['DE', IPS.DE],
  ['JP', IPS.JP],
  ...Array.from({ length: 17 }, () => [null, '10.1.2.3'] as const),
] as const;

/** Event k of the burst, with the country and category it must come out with. */
function burstEvent(tag: string, k: number) {
  const [country, sourceIp] = SOURCES[k % SOURCES.length]!;
  const category = Math.floor(k / 200) % 2 === 0 ? 'BRUTEFORCE' : 'SCAN';
  const severity = 1 + (Math.floor(k / SOURCES.length) % 10);
  const input = event({
    externalId: `${tag}-${k}`,
    sourceIp,
    severity,
    ...(category === 'SCAN' ? SCAN : {}),
  });
  return { input, country, category, severity };
}

function listen(client: Client, variables: Sub) {
  const received: string[] = [];
  const errors: unknown[] = [];
  client.subscribe<{ threatDetected: { externalId: string } }>(
    { query: SUBSCRIBE, variables: { ...variables } },
    {
      next: (v) => {
        if (v.data) received.push(v.data.threatDetected.externalId);
        if (v.errors) errors.push(v.errors);
      },
      error: (err: unknown) => errors.push(err),
      complete: () => undefined,
    },
  );
  return { received, errors };
}

async function until(condition: () => boolean, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('threatDetected fan-out', () => {
  let t: TestApp;
  let readers: string[];
  beforeAll(async () => {
    t = await startTestApp('threat_fanout');
    readers = await Promise.all(
      Array.from({ length: SOCKETS }, async (_, i) => {
        const res = await t.gql<{ createApiKey: { secret: string } }>(
          'mutation($n: String!) { createApiKey(name: $n, role: READER) { secret } }',
          { n: `dashboard-${i}` },
        );
        return res.data!.createApiKey.secret;
      }),
    );
  });
  afterAll(() => t?.stop());

  it('refuses oversized filter lists, naming the limit', async () => {
    const client = t.ws(readers[0]);
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ countries: FILLER.slice(0, MAX_COUNTRIES + 1) }, { argument: 'countries', limit: MAX_COUNTRIES }],
      [
        { countries: Array.from({ length: 10_000 }, () => 'US') },
        { argument: 'countries', limit: MAX_COUNTRIES },
      ],
      [{ categories: [...CATEGORIES, 'SCAN'] }, { argument: 'categories', limit: CATEGORIES.length }],
      [{ countries: ['USA'] }, { argument: 'countries' }],
    ];
    for (const [variables, extensions] of cases) {
      const err = (await collect(client, SUBSCRIBE, 1, variables).done.then(
        () => null,
        (e: unknown) => e,
      )) as { errors?: { extensions?: Record<string, unknown> }[] } | null;
      expect(err?.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', ...extensions });
    }
    await client.dispose();
  });

  it('500 subscriptions with maximum-size filters each get exactly their matches; /healthz answers meanwhile', async () => {
    const clients = readers.map((key) => t.ws(key));
    const subs = Array.from({ length: SOCKETS * PER_SOCKET }, (_, i) => subscription(i));
    const listeners = subs.map((s, i) => listen(clients[Math.floor(i / PER_SOCKET)]!, s));

    // Live on every subscription: a probe every one of them matches has arrived everywhere.
    const probe = (name: string) => event({ externalId: name, sourceIp: IPS.US, severity: 10 });
    for (let round = 0; !listeners.every((l) => l.received.some((id) => id.startsWith('probe-'))); round++) {
      expect(listeners.flatMap((l) => l.errors)).toEqual([]);
      if (round > 120) throw new Error('subscriptions never became live');
      await t.gql(INGEST_MANY, { inputs: [probe(`probe-${Date.now()}-${round}`)] });
      await new Promise((r) => setTimeout(r, 500));
    }

    const tag = `burst-${Date.now()}`;
    const burst = Array.from({ length: EVENTS }, (_, k) => burstEvent(tag, k));
    const expected = subs.map((s) =>
      burst
        .filter(
          (e) =>
            e.severity >= s.minSeverity &&
            e.country !== null &&
            s.countries.includes(e.country) &&
            (s.categories === null || s.categories.includes(e.category)),
        )
        .map((e) => e.input.externalId as string),
    );
    const ingest = t.gql<{ ingestThreatEvents: IngestResultView }>(INGEST_MANY, {
      inputs: burst.map((e) => e.input),
    });
    const health = fetch(new URL('/healthz', t.origin)).then((r) => r.status);
    const result = await ingest;
    expect(result.data?.ingestThreatEvents).toEqual({ accepted: EVENTS, duplicates: 0, errors: [] });
    expect(await health).toBe(200);
    // Again, with the deliveries (most likely) still on their way out:
    expect(await fetch(new URL('/healthz', t.origin)).then((r) => r.status)).toBe(200);

    const real = (l: { received: string[] }) => l.received.filter((id) => id.startsWith(tag));
    await until(() => listeners.every((l, i) => real(l).length >= expected[i]!.length), 'every match');
    // An end marker every subscription matches: anything extra would have come before it.
    const end = `probe-end-${Date.now()}`;
    await t.gql(INGEST_MANY, { inputs: [probe(end)] });
    await until(() => listeners.every((l) => l.received.includes(end)), 'the end marker');

    expect(listeners.flatMap((l) => l.errors)).toEqual([]);
    listeners.forEach((l, i) => expect(real(l)).toEqual(expected[i]));
    const total = expected.reduce((n, e) => n + e.length, 0);
    expect(listeners.reduce((n, l) => n + real(l).length, 0)).toBe(total);
    await Promise.all(clients.map(async (c) => c.dispose()));
  });
});
