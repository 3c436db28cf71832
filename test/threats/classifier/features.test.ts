import { describe, expect, it } from 'vitest';

import {
  encodeNumeric,
  encodeText,
  FEATURE_COUNT,
  featureVector,
  NUMERIC_FEATURE_COUNT,
  NUMERIC_FEATURES,
  TEXT_BUCKETS,
  wordBucket,
} from '../../../src/threats/classifier/features.js';
import type { ClassifierInput } from '../../../src/threats/classifier/types.js';

const base: ClassifierInput = {
  threatType: 'x',
  description: null,
  protocol: null,
  sourcePort: null,
  destinationPort: null,
  severity: 3,
  confidence: 0.42,
  tags: [],
};

function numeric(overrides: Partial<ClassifierInput>): Record<string, number> {
  const out = new Float64Array(NUMERIC_FEATURE_COUNT);
  encodeNumeric({ ...base, ...overrides }, out);
  return Object.fromEntries(NUMERIC_FEATURES.map((name, i) => [name, out[i] ?? NaN]));
}

describe('numeric features', () => {
  it('marks unknown values as -1', () => {
    const f = numeric({});
    expect(f.destinationPort).toBe(-1);
    expect(f.sourcePortClass).toBe(-1);
    expect(f.hourOfDayUtc).toBe(-1);
    expect(f.sourceIsPrivate).toBe(-1);
    expect(f.protocolTcp! + f.protocolUdp! + f.protocolIcmp! + f.protocolOther!).toBe(0);
  });

  it('encodes ports, protocol family, hour and privacy', () => {
    const f = numeric({
      destinationPort: 22,
      sourcePort: 51000,
      protocol: 'SSH',
      occurredAt: new Date('2026-03-01T17:45:00Z'),
      sourceIsPrivate: true,
      tags: ['a', 'b'],
      description: 'x'.repeat(100),
    });
    expect(f).toMatchObject({ destinationPort: 22, sourcePortClass: 2, protocolTcp: 1, hourOfDayUtc: 17 });
    expect(f).toMatchObject({ sourceIsPrivate: 1, tagCount: 2, descriptionLengthBits: 7, confidence: 0.4 });
    expect(numeric({ protocol: 'dns' }).protocolUdp).toBe(1);
    expect(numeric({ protocol: 'icmp' }).protocolIcmp).toBe(1);
    expect(numeric({ protocol: 'gre' }).protocolOther).toBe(1);
  });
});

describe('hashed words', () => {
  it('sets the bucket of each word of type, description and tags, case-insensitively', () => {
    const vector = featureVector({
      ...base,
      threatType: 'SQL_Injection',
      description: 'union',
      tags: ['WAF'],
    });
    const set = vector.slice(NUMERIC_FEATURE_COUNT).flatMap((v, i) => (v === 1 ? [i] : []));
    const expected = new Set(['sql', 'injection', 'union', 'waf'].map(wordBucket));
    expect(new Set(set)).toEqual(expected);
    expect(vector).toHaveLength(FEATURE_COUNT);
  });

  it('skips one-letter and all-digit words', () => {
    const out = new Float64Array(FEATURE_COUNT);
    encodeText({ ...base, threatType: 'a 1234 192.168.0.1 7' }, out);
    expect(out.slice(NUMERIC_FEATURE_COUNT).every((v) => v === 0)).toBe(true);
    expect(TEXT_BUCKETS).toBe(FEATURE_COUNT - NUMERIC_FEATURE_COUNT);
  });

  it('clears the previous event from a reused buffer', () => {
    const out = new Float64Array(FEATURE_COUNT);
    encodeText({ ...base, threatType: 'ddos flood' }, out);
    encodeText({ ...base, threatType: 'spam' }, out);
    const set = [...out.slice(NUMERIC_FEATURE_COUNT)].flatMap((v, i) => (v === 1 ? [i] : []));
    expect(set).toEqual([wordBucket('spam')]);
  });
});
