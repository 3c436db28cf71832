import { describe, expect, it } from 'vitest';
import { GoDurationError } from '../../src/crowdsec/go-duration.js';
import {
  alertSchema,
  decisionsStreamSchema,
  deleteDecisionSchema,
  LapiError,
  manualBanAlert,
  parseLapiTime,
} from '../../src/crowdsec/lapi-types.js';

describe('parseLapiTime', () => {
  it.each([
    ['2026-11-22 00:58:42 +0000 UTC', '2026-11-22T00:58:42.000Z'],
    ['2026-11-22 01:07:29.164 +0000 UTC', '2026-11-22T01:07:29.164Z'],
    ['2026-11-22 01:07:29.123456789 +0200 CEST', '2026-11-21T23:07:29.123Z'],
    ['2026-11-22T00:58:22Z', '2026-11-22T00:58:22.000Z'],
    ['2026-11-22T00:58:22.5+01:00', '2026-11-21T23:58:22.500Z'],
  ])('%s', (text, iso) => {
    expect(parseLapiTime(text)?.toISOString()).toBe(iso);
  });

  it('returns undefined for garbage', () => {
    expect(parseLapiTime('yesterday')).toBeUndefined();
    expect(parseLapiTime('')).toBeUndefined();
  });
});

describe('LAPI response schemas', () => {
  it('normalise the null lists of 1.4 to []', () => {
    expect(decisionsStreamSchema.parse({ new: null, deleted: null })).toEqual({ new: [], deleted: [] });
    const alert = alertSchema.parse({
      id: 1,
      created_at: '2026-11-22T00:58:22Z',
      scenario: 's',
      message: 'm',
      events_count: 1,
      start_at: '2026-11-22 00:58:22 +0000 UTC',
      stop_at: '2026-11-22 00:58:22 +0000 UTC',
      simulated: false,
      labels: null,
      source: { scope: 'Ip', value: '1.2.3.4' },
      decisions: null,
      events: null,
    });
    expect(alert).toMatchObject({ decisions: [], events: [], labels: [], meta: [] });
  });

  it('reads the string count of a deletion', () => {
    expect(deleteDecisionSchema.parse({ nbDeleted: '1' })).toBe(1);
    expect(deleteDecisionSchema.parse({ nbDeleted: 2 })).toBe(2);
    expect(deleteDecisionSchema.safeParse({ nbDeleted: 'many' }).success).toBe(false);
  });
});

describe('manualBanAlert', () => {
  const now = new Date('2026-11-22T10:00:00.123Z');

  it('builds the alert cscli decisions add would send', () => {
    expect(manualBanAlert({ value: ' 1.2.3.4 ', duration: '4h', reason: 'test', now })).toEqual({
      scenario: 'test',
      scenario_hash: '',
      scenario_version: '',
      message: 'test',
      events_count: 1,
      events: [],
      capacity: 0,
      leakspeed: '0',
      simulated: false,
      start_at: '2026-11-22T10:00:00Z',
      stop_at: '2026-11-22T10:00:00Z',
      created_at: '2026-11-22T10:00:00Z',
      source: { scope: 'Ip', value: '1.2.3.4', ip: '1.2.3.4' },
      decisions: [
        { duration: '4h', origin: 'cscli', scenario: 'test', scope: 'Ip', type: 'ban', value: '1.2.3.4' },
      ],
    });
  });

  it('normalises scopes and keeps unknown ones', () => {
    const range = manualBanAlert({ value: '10.0.0.0/8', scope: 'RANGE', duration: '1m', reason: 'r' });
    expect(range.source).toEqual({ scope: 'Range', value: '10.0.0.0/8', range: '10.0.0.0/8' });
    expect(manualBanAlert({ value: 'FR', scope: 'country', duration: '1m', reason: 'r' }).source.scope).toBe(
      'Country',
    );
    expect(
      manualBanAlert({ value: 'bob', scope: 'Username', duration: '1m', reason: 'r' }).source.scope,
    ).toBe('Username');
  });

  it('refuses what the LAPI would refuse or misread', () => {
    expect(() => manualBanAlert({ value: '1.2.3.4', duration: '1d', reason: 'r' })).toThrow(GoDurationError);
    expect(() => manualBanAlert({ value: '1.2.3.4', duration: '-1h', reason: 'r' })).toThrow(/positive/);
    expect(() => manualBanAlert({ value: '1.2.3.4', duration: '0s', reason: 'r' })).toThrow(/positive/);
    expect(() => manualBanAlert({ value: ' ', duration: '1h', reason: 'r' })).toThrow(/value/);
    expect(() => manualBanAlert({ value: '1.2.3.4', duration: '1h', reason: '' })).toThrow(/reason/);
  });
});

describe('LapiError.toAppError', () => {
  it('maps the caller’s mistakes to their codes and everything else to UPSTREAM_UNAVAILABLE', () => {
    expect(new LapiError('BAD_REQUEST', 'x').toAppError().code).toBe('BAD_USER_INPUT');
    expect(new LapiError('NOT_FOUND', 'x').toAppError().code).toBe('NOT_FOUND');
    for (const kind of ['UNAUTHORIZED', 'UNREACHABLE', 'TIMEOUT', 'NOT_CONFIGURED'] as const) {
      expect(new LapiError(kind, 'x', { status: 401 }).toAppError()).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        details: { lapiKind: kind },
      });
    }
  });
});
