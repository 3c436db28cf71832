import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, IPS } from './threat-fixtures.js';
import { THREAT_CATEGORIES } from '../../src/threats/classifier/types.js';

/**
 * threatEvents and threatMap: every argument that sizes work or reaches SQL is checked
 * first; bad ones answer BAD_USER_INPUT naming the argument (and the limit, where there
 * is one), never INTERNAL_SERVER_ERROR.
 */
const DAY = 86_400_000;
const MAP = 'query($since: DateTime, $min: Int) { threatMap(since: $since, minSeverity: $min) { count } }';
const EVENTS = `query($f: ThreatEventFilter, $after: String) {
  threatEvents(filter: $f, after: $after, first: 10) { totalCount edges { node { externalId } } } }`;
const CATEGORIES = THREAT_CATEGORIES;
const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

describe('threat query bounds', () => {
  let t: TestApp;
  let reader: string;
  const sensor = `bounds-${Date.now()}`;
  beforeAll(async () => {
    t = await startTestApp('threat_query_bounds');
    const key = await t.gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(name: "r", role: READER) { secret } }',
    );
    reader = key.data!.createApiKey.secret;
    const res = await t.gql(INGEST_MANY, {
      inputs: [
        event({
          sensor,
          externalId: `${sensor}-de`,
          sourceIp: IPS.DE,
          occurredAt: new Date(Date.now() - 60_000),
        }),
        event({
          sensor,
          externalId: `${sensor}-jp`,
          sourceIp: IPS.JP,
          occurredAt: new Date(Date.now() - 89 * DAY),
        }),
      ],
    });
    expect(res.errors).toBeUndefined();
  });
  afterAll(() => t?.stop());

  async function expectBad(
    query: string,
    variables: Record<string, unknown>,
    extensions: Record<string, unknown>,
  ) {
    const res = await t.gql(query, variables, reader);
    expect(res.status, JSON.stringify(res.errors)).toBe(200);
    expect(res.data ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', ...extensions });
  }

  it('threatMap: since at most 90 days back, minSeverity 1..10', async () => {
    for (const since of ['0001-01-01T00:00:00Z', '1900-01-01T00:00:00Z', new Date(Date.now() - 91 * DAY)])
      await expectBad(MAP, { since }, { argument: 'since', limit: 90 });
    for (const min of [0, 11]) await expectBad(MAP, { min }, { argument: 'minSeverity', min: 1, limit: 10 });
    const ok = await t.gql<{ threatMap: { count: number }[] }>(
      MAP,
      { since: new Date(Date.now() - 90 * DAY + 60_000) },
      reader,
    );
    expect(ok.errors).toBeUndefined();
    // Both seeded events, DE and JP, in the window.
    expect(ok.data!.threatMap.reduce((n, p) => n + p.count, 0)).toBe(2);
  });

  it('threatEvents: text filters refuse NUL, lone surrogates and over-long values', async () => {
    for (const threatType of ['ssh\u0000', 'ssh\ud800'])
      await expectBad(EVENTS, { f: { threatType } }, { argument: 'filter.threatType' });
    await expectBad(
      EVENTS,
      { f: { threatType: 't'.repeat(201) } },
      { argument: 'filter.threatType', limit: 200 },
    );
    for (const sourceIp of ['8.8.8.8\u0000', '8.8.8.\udc00', 'not-an-ip'])
      await expectBad(EVENTS, { f: { sourceIp } }, { argument: 'filter.sourceIp' });
    await expectBad(EVENTS, { f: { sourceIp: '1'.repeat(65) } }, { argument: 'filter.sourceIp', limit: 64 });
  });

  it('threatEvents: list filters are bounded (250 countries, 11 categories)', async () => {
    const countries = Array.from({ length: 251 }, (_, i) => `${String.fromCharCode(65 + (i % 26))}A`);
    await expectBad(EVENTS, { f: { countries } }, { argument: 'filter.countries', limit: 250 });
    await expectBad(EVENTS, { f: { countries: ['Germany'] } }, { argument: 'filter.countries' });
    await expectBad(
      EVENTS,
      { f: { categories: [...CATEGORIES, 'SCAN'] } },
      { argument: 'filter.categories', limit: 11 },
    );
    // The maximum sizes are accepted and still filter exactly.
    const res = await t.gql<{
      threatEvents: { totalCount: number; edges: { node: { externalId: string } }[] };
    }>(
      EVENTS,
      {
        f: {
          threatType: 'ssh_bruteforce',
          countries: [...countries.slice(0, 249), 'de'],
          categories: CATEGORIES,
        },
      },
      reader,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.threatEvents.edges.map((e) => e.node.externalId)).toEqual([`${sensor}-de`]);
  });

  it('threatEvents: since/until outside the stored range are harmless; since after until is refused', async () => {
    const wide = await t.gql<{ threatEvents: { totalCount: number } }>(
      EVENTS,
      { f: { since: '0000-01-01T00:00:00Z', until: '9999-12-31T23:59:59Z', threatType: 'ssh_bruteforce' } },
      reader,
    );
    expect(wide.errors).toBeUndefined();
    expect(wide.data!.threatEvents.totalCount).toBe(2);
    await expectBad(
      EVENTS,
      { f: { since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' } },
      { argument: 'filter.since' },
    );
  });

  it('threatEvents: cursors with a foreign id or an unstorable date are refused', async () => {
    const id = '0b6e3c8e-6a55-4d8a-9a43-2f1e7a0c9d11';
    for (const after of [
      cursor('2026-01-01T00:00:00.000Z', 'x'),
      cursor('2026-01-01T00:00:00.000Z', `${id}0`),
      cursor('-271821-04-20T00:00:00.000Z', id),
      cursor('+275760-09-13T00:00:00.000Z', id),
    ])
      await expectBad(EVENTS, { after }, { argument: 'after' });
    const past = await t.gql<{ threatEvents: { totalCount: number } }>(
      EVENTS,
      { after: cursor('0001-01-01T00:00:00.000Z', id) },
      reader,
    );
    expect(past.errors).toBeUndefined();
  });
});
