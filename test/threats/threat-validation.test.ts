import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../src/threats/threat-validation.js';
import { uuid7 } from '../../src/threats/uuid7.js';

const NOW = Date.UTC(2026, 10, 22, 12);
const base = { sourceIp: '203.0.113.9', threatType: 'port_scan', severity: 3 };

function errorOf(input: Record<string, unknown>) {
  const r = validateEvent({ ...base, ...input }, NOW);
  return r.ok ? null : r.error;
}

describe('validateEvent', () => {
  it('normalises a valid event and applies defaults', () => {
    const r = validateEvent(
      {
        ...base,
        sourceIp: '::FFFF:198.51.100.7',
        protocol: ' TCP ',
        tags: ['a', 'a', ' b '],
        externalId: '  x-1 ',
      },
      NOW,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).toMatchObject({
      sourceIp: '::ffff:198.51.100.7',
      geoKey: '198.51.100.7',
      sourceRange: 'DOCUMENTATION',
      protocol: 'tcp',
      tags: ['a', 'b'],
      externalId: 'x-1',
      confidence: 1,
      occurredAt: new Date(NOW),
    });
  });

  it.each([
    ['sourceIp', { sourceIp: '0x7f.1' }],
    ['sourceIp', { sourceIp: '' }],
    ['destinationIp', { destinationIp: '10.0.0.256' }],
    ['sourcePort', { sourcePort: 65536 }],
    ['destinationPort', { destinationPort: 1.5 }],
    ['severity', { severity: 0 }],
    ['confidence', { confidence: Number.NaN }],
    ['confidence', { confidence: -0.1 }],
    ['occurredAt', { occurredAt: 'yesterday' }],
    ['occurredAt', { occurredAt: new Date(NOW + 6 * 60_000).toISOString() }],
    ['occurredAt', { occurredAt: '1999-12-31T23:59:59Z' }],
    ['externalId', { externalId: 'e'.repeat(201) }],
    ['threatType', { threatType: 't'.repeat(201) }],
    ['protocol', { protocol: 'p'.repeat(33) }],
    ['sensor', { sensor: 's\u0000' }],
    ['tags', { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }],
    ['tags', { tags: ['x'.repeat(65)] }],
    ['raw', { raw: { big: 'x'.repeat(17_000) } }],
  ])('rejects bad input %# in %s', (field, input) => {
    const error = errorOf(input);
    expect(error?.field).toBe(field);
    expect(error?.message.startsWith(`${field}: `)).toBe(true);
  });

  it('accepts the documented boundaries', () => {
    expect(errorOf({ sourcePort: 0, destinationPort: 65535, severity: 10, confidence: 0 })).toBeNull();
    expect(
      errorOf({ occurredAt: new Date(NOW + 5 * 60_000).toISOString(), description: 'd'.repeat(4000) }),
    ).toBeNull();
  });
});

describe('uuid7', () => {
  it('is a version-7 UUID that sorts by time', () => {
    const a = uuid7(1_000);
    const b = uuid7(2_000);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 10_000 }, () => uuid7(5))).size).toBe(10_000);
  });
});
