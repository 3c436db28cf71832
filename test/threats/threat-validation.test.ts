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

describe('validateEvent messages and boundaries', () => {
  const ok = (input: Record<string, unknown>) => {
    const r = validateEvent({ ...base, ...input }, NOW);
    if (!r.ok) throw new Error(`refused: ${r.error.message}`);
    return r.event;
  };

  it.each([
    ['sourceIp', { sourceIp: 'a'.repeat(65) }, 'sourceIp: must be at most 64 characters (got 65)'],
    ['sourceIp', { sourceIp: '1.2.3.4\u0000' }, 'sourceIp: must not contain NUL characters'],
    ['sourceIp', { sourceIp: undefined }, 'sourceIp: empty input: expected an IPv4 or IPv6 address'],
    [
      'destinationIp',
      { destinationIp: 'a'.repeat(65) },
      'destinationIp: must be at most 64 characters (got 65)',
    ],
    ['threatType', { threatType: '   ' }, 'threatType: must not be empty'],
    ['threatType', { threatType: undefined }, 'threatType: must not be empty'],
    ['externalId', { externalId: 42 }, 'externalId: must be a string'],
    [
      'description',
      { description: 'd'.repeat(4001) },
      'description: must be at most 4000 characters (got 4001)',
    ],
    [
      'sensor',
      { sensor: ' '.repeat(10) + 's'.repeat(201) },
      'sensor: must be at most 200 characters (got 201)',
    ],
    ['sourcePort', { sourcePort: -1 }, 'sourcePort: must be an integer between 0 and 65535 (got -1)'],
    [
      'destinationPort',
      { destinationPort: 65536 },
      'destinationPort: must be an integer between 0 and 65535 (got 65536)',
    ],
    ['severity', { severity: 11 }, 'severity: must be an integer between 1 and 10 (got 11)'],
    ['severity', { severity: 2.5 }, 'severity: must be an integer between 1 and 10 (got 2.5)'],
    ['severity', { severity: 0 }, 'severity: must be an integer between 1 and 10 (got 0)'],
    ['confidence', { confidence: 1.01 }, 'confidence: must be between 0 and 1 (got 1.01)'],
    ['confidence', { confidence: -0.5 }, 'confidence: must be between 0 and 1 (got -0.5)'],
    ['tags', { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }, 'tags: at most 32 tags (got 33)'],
    ['occurredAt', { occurredAt: 'yesterday' }, 'occurredAt: is not a valid date-time'],
    [
      'occurredAt',
      { occurredAt: new Date(NOW + 5 * 60_000 + 1) },
      'occurredAt: is more than 5 minutes in the future',
    ],
    ['occurredAt', { occurredAt: new Date(Date.UTC(2000, 0, 1) - 1) }, 'occurredAt: is before 2000-01-01'],
    ['raw', { raw: { a: 'x'.repeat(16_384 - 7) } }, 'raw: must be at most 16384 bytes as JSON'],
    ['raw', { raw: { a: '\u0000' } }, 'raw: must not contain NUL characters'],
    ['raw', { raw: nested(33) }, 'raw: must not be nested more than 32 levels deep'],
  ])('refuses bad %s (%#)', (field, input, message) => {
    expect(errorOf(input)).toEqual({ field, message });
  });

  it('accepts every bound exactly', () => {
    expect(
      ok({
        sourcePort: 0,
        destinationPort: 65535,
        severity: 1,
        confidence: 1,
        tags: Array.from({ length: 32 }, (_, i) => `t${i}`),
        occurredAt: new Date(Date.UTC(2000, 0, 1)),
        raw: { a: 'x'.repeat(16_384 - 8) }, // {"a":"…"} is 8 bytes around the string: 16,384 in all
        sensor: 's'.repeat(200),
      }),
    ).toMatchObject({
      sourcePort: 0,
      destinationPort: 65535,
      severity: 1,
      confidence: 1,
      sensor: 's'.repeat(200),
    });
    expect(ok({ raw: nested(32) }).raw).toEqual(nested(32));
    expect(ok({ occurredAt: new Date(NOW + 5 * 60_000) }).occurredAt).toEqual(new Date(NOW + 5 * 60_000));
  });

  it('measures raw in UTF-8 bytes, not characters', () => {
    // "é" is 2 bytes: 8,188 of them plus {"a":""} (8 bytes) is 16,384 bytes, one more is too many.
    expect(ok({ raw: { a: 'é'.repeat(8_188) } }).raw).toEqual({ a: 'é'.repeat(8_188) });
    expect(errorOf({ raw: { a: 'é'.repeat(8_189) } })?.message).toBe(
      'raw: must be at most 16384 bytes as JSON',
    );
  });

  it('absent optional fields get their defaults; blank text is absent', () => {
    const e = ok({
      externalId: null,
      destinationIp: null,
      sourcePort: null,
      confidence: null,
      tags: null,
      occurredAt: null,
      raw: null,
      description: '   ',
      protocol: '',
    });
    expect(e).toMatchObject({
      externalId: null,
      destinationIp: null,
      sourcePort: null,
      destinationPort: null,
      protocol: null,
      description: null,
      sensor: null,
      confidence: 1,
      tags: [],
      occurredAt: new Date(NOW),
      raw: null,
    });
  });

  it('keeps a valid destination IP (canonical) and drops blank tags', () => {
    const e = ok({ destinationIp: ' 2001:DB8:0::1 ', tags: ['  ', 'x', 'x ', ''] });
    expect(e.destinationIp).toBe('2001:db8::1');
    expect(e.tags).toEqual(['x']);
    expect(e.raw).toBeNull();
    expect(ok({ raw: { k: [1, 'two', null] } }).raw).toEqual({ k: [1, 'two', null] });
  });

  it('a bug (not bad input) is thrown, not reported as a field error', () => {
    const input = { ...base };
    Object.defineProperty(input, 'severity', {
      get() {
        throw new TypeError('boom');
      },
    });
    expect(() => validateEvent(input, NOW)).toThrow('boom');
  });
});

/** `{ a: { a: … 1 } }`: `depth` objects deep. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('uuid7', () => {
  it('is a version-7 UUID that sorts by time', () => {
    const a = uuid7(1_000);
    const b = uuid7(2_000);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 10_000 }, () => uuid7(5))).size).toBe(10_000);
  });
});
