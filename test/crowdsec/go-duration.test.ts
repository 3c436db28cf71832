import { describe, expect, it } from 'vitest';
import {
  formatGoDuration,
  goDurationSince,
  GoDurationError,
  parseGoDuration,
  tryParseGoDuration,
} from '../../src/crowdsec/go-duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['4h', 4 * 3_600_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['2h0m0s', 7_200_000],
    ['90m', 5_400_000],
    ['1m2s', 62_000],
    ['-1m2s', -62_000],
    ['+5s', 5_000],
    ['0', 0],
    ['-0', 0],
    ['0s', 0],
    ['.5s', 500],
    ['1.s', 1_000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['1h1h', 7_200_000],
  ])('%s → %d ms', (input, expected) => {
    expect(parseGoDuration(input)).toBeCloseTo(expected, 9);
  });

  it('keeps the sub-second part of what the LAPI sends as remaining time', () => {
    expect(parseGoDuration('3h59m58.91s')).toBeCloseTo(4 * 3_600_000 - 1_090, 6);
    expect(parseGoDuration('23h59m59.026673429s')).toBeCloseTo(86_400_000 - 973.326571, 6);
    expect(parseGoDuration('-79.508376ms')).toBeCloseTo(-79.508376, 9);
  });

  it.each([
    ['', /empty/],
    ['-', /empty/],
    ['4', /unexpected/],
    ['h', /missing number/],
    ['.h', /missing number/],
    ['1d', /unknown unit "d"/],
    ['1H', /unexpected/],
    ['1h 2m', /unexpected/],
    [' 1h', /unexpected/],
    ['abc', /missing number/],
    ['1.2.3s', /unexpected/],
    ['--1s', /unexpected/],
    ['3000000h', /out of range/],
  ])('rejects %j', (input, message) => {
    expect(() => parseGoDuration(input)).toThrow(GoDurationError);
    expect(() => parseGoDuration(input)).toThrow(message);
  });

  it('names the input in the error and offers a non-throwing variant', () => {
    expect(() => parseGoDuration('soon')).toThrow('Invalid Go duration "soon"');
    expect(tryParseGoDuration('soon')).toBeUndefined();
    expect(tryParseGoDuration('1m')).toBe(60_000);
  });
});

describe('formatGoDuration', () => {
  it.each([
    [4 * 3_600_000, '4h'],
    [5_400_000, '1h30m'],
    [90_000, '1m30s'],
    [1_500, '1.5s'],
    [250, '250ms'],
    [0, '0s'],
    [-62_000, '-1m2s'],
    [3_600_000 + 1, '1h0.001s'],
    [0.4, '0s'],
  ])('%d ms → %s', (ms, expected) => {
    expect(formatGoDuration(ms)).toBe(expected);
  });

  it('round-trips through the parser', () => {
    for (const ms of [1, 999, 1_000, 61_001, 86_400_000, 7 * 86_400_000 + 123]) {
      expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
    }
  });

  it('refuses what Go cannot represent', () => {
    expect(() => formatGoDuration(Number.NaN)).toThrow(RangeError);
    expect(() => formatGoDuration(1e16)).toThrow(RangeError);
  });
});

describe('goDurationSince', () => {
  it('covers the whole window, rounded up to seconds', () => {
    const now = new Date('2026-01-01T12:00:00.000Z');
    expect(goDurationSince(new Date('2026-01-01T08:00:00.000Z'), now)).toBe('4h');
    expect(goDurationSince(new Date('2026-01-01T11:59:58.200Z'), now)).toBe('2s');
    expect(goDurationSince(new Date('2026-01-01T12:00:05.000Z'), now)).toBe('0s');
  });
});
