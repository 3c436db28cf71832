import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertParams } from '../../src/threats/threat-insert-params.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_MANY, LIST, type EventView } from './threat-fixtures.js';

/**
 * The bulk INSERT takes each column as one hand-built PostgreSQL array literal
 * (threat-insert-params.ts); whatever text a sensor sends must come back unchanged.
 */
const AWKWARD = [
  'plain',
  '',
  ' padded ',
  'NULL',
  'null',
  '"quoted"',
  'back\\slash',
  'ends with a backslash \\',
  '\\"both\\"',
  '{braces}',
  'comma, separated',
  'tab\tnewline\ncarriage\r',
  'ünïcödé — 攻撃 🛡️',
  "it's",
  '{"json":"inside"}',
];

describe('bulk INSERT literals', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('threat_literals');
  });
  afterAll(() => t?.stop());

  it('stores awkward text, tags, numbers and raw JSON exactly as sent', async () => {
    const kind = `literals-${Date.now()}`;
    const inputs = AWKWARD.map((text, i) =>
      event({
        threatType: kind,
        externalId: `${kind}-${i}-${text}`,
        description: text,
        sensor: text,
        protocol: i % 2 === 0 ? text : null,
        tags: [text, `${text}${text}`, 'x'],
        sourcePort: i % 3 === 0 ? null : i,
        destinationPort: i % 3 === 1 ? null : 65535 - i,
        confidence: [0, 1, 0.1, 1e-7, 0.3333333333333333][i % 5],
        raw: { text, nested: [text, null, 1.5e-9, true], 'key "with" quote': text },
      }),
    );
    const res = await t.gql<{ ingestThreatEvents: { accepted: number; errors: unknown[] } }>(INGEST_MANY, {
      inputs,
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestThreatEvents).toMatchObject({ accepted: AWKWARD.length, errors: [] });

    const page = await t.gql<{ threatEvents: { edges: { node: EventView & Record<string, unknown> }[] } }>(
      LIST,
      { filter: { threatType: kind }, first: 100 },
    );
    expect(page.errors).toBeUndefined();
    const byExternalId = new Map(page.data!.threatEvents.edges.map((e) => [e.node.externalId, e.node]));
    // Validation trims text, turns blank text into null and drops blank or repeated tags.
    const norm = (v: unknown) => (typeof v === 'string' ? v.trim() || null : v);
    const normTags = (tags: string[]) => [...new Set(tags.map((x) => x.trim()))].filter((x) => x !== '');
    inputs.forEach((input) => {
      const stored = byExternalId.get(norm(input.externalId) as string);
      expect(stored, String(input.externalId)).toBeDefined();
      expect(stored).toMatchObject({
        description: norm(input.description),
        sensor: norm(input.sensor),
        protocol: norm(input.protocol),
        tags: normTags(input.tags as string[]),
        sourcePort: input.sourcePort,
        destinationPort: input.destinationPort,
        confidence: input.confidence,
        raw: input.raw,
      });
    });
  });

  it('writes NULL unquoted and quotes everything else', () => {
    const [record] = [
      {
        id: '0190a000-0000-7000-8000-000000000000',
        externalId: null,
        sourceIp: '203.0.113.9',
        destinationIp: null,
        sourcePort: null,
        destinationPort: 22,
        protocol: 'NULL',
        threatType: 'a"b\\c',
        severity: 5,
        confidence: 1e-7,
        description: null,
        sensor: null,
        tags: ['x', 'y"z'],
        occurredAt: new Date('2026-01-01T00:00:00Z'),
        ingestedAt: new Date('2026-01-01T00:00:01Z'),
        countryCode: null,
        city: null,
        latitude: null,
        longitude: null,
        geoApproximate: true,
        asn: null,
        asOrg: null,
        knownIoc: false,
        banned: false,
        category: 'BRUTEFORCE' as const,
        categoryConfidence: 0.5,
        anomalyScore: null,
        isAnomaly: false,
        classificationMethod: 'RULES' as const,
        modelVersion: null,
        label: null,
        raw: null,
        streamPosition: '0',
      },
    ];
    const params = insertParams([record]);
    expect(params).toHaveLength(29);
    expect(params[1]).toBe('{NULL}'); // externalId
    expect(params[5]).toBe('{"22"}');
    expect(params[6]).toBe('{"NULL"}'); // the string, not a null
    expect(params[7]).toBe('{"a\\"b\\\\c"}');
    expect(params[9]).toBe('{"1e-7"}');
    expect(params[12]).toBe('{"{\\"x\\",\\"y\\\\\\"z\\"}"}'); // a text[] literal inside a text[] literal
    expect(params[14]).toBe('2026-01-01T00:00:01.000Z'); // ingested_at, a scalar
    expect(params[19]).toBe('{t}'); // geoApproximate
  });
});
