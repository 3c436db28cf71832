import { describe, expect, it } from 'vitest';
import {
  MAX_FILTER_TEXT,
  checkCountryCode,
  checkInt,
  checkListLength,
  checkText,
} from '../../src/platform/argument-checks.js';
import { refusal } from '../helpers/refusal.js';

describe('checkText', () => {
  it('passes null and absent through as undefined, and storable text unchanged', () => {
    expect(checkText('q', null)).toBeUndefined();
    expect(checkText('q', undefined)).toBeUndefined();
    expect(checkText('q', '')).toBe('');
    expect(checkText('q', 'abc', 3)).toBe('abc');
  });

  it('accepts exactly the maximum and refuses one character more, naming argument and limit', () => {
    expect(MAX_FILTER_TEXT).toBe(2048);
    expect(checkText('filter.value', 'x'.repeat(2048))).toHaveLength(2048);
    expect(refusal(() => checkText('filter.value', 'x'.repeat(2049)))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'filter.value is 2049 characters long; at most 2048 are accepted',
      details: { argument: 'filter.value', limit: 2048 },
    });
    expect(refusal(() => checkText('a', 'abcd', 3))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'a is 4 characters long; at most 3 are accepted',
      details: { argument: 'a', limit: 3 },
    });
  });

  it('refuses text PostgreSQL cannot store, naming only the argument', () => {
    expect(refusal(() => checkText('filter.scope', 'a\u0000b'))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'filter.scope must not contain NUL characters',
      details: { argument: 'filter.scope' },
    });
    expect(refusal(() => checkText('filter.scope', '\ud800'))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'filter.scope must not contain unpaired UTF-16 surrogates',
      details: { argument: 'filter.scope' },
    });
  });
});

describe('checkInt', () => {
  it('answers the fallback for null and absent, and the value at both ends of the range', () => {
    expect(checkInt('first', null, 1, 100, 20)).toBe(20);
    expect(checkInt('first', undefined, 1, 100, undefined)).toBeUndefined();
    expect(checkInt('first', 1, 1, 100, 20)).toBe(1);
    expect(checkInt('first', 100, 1, 100, 20)).toBe(100);
    expect(checkInt('first', 0, 0, 0, 20)).toBe(0);
  });

  it.each([
    ['one below the range', 0],
    ['one above the range', 101],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['infinity', Number.POSITIVE_INFINITY],
  ])('refuses %s with min and limit in the extensions', (_name, value) => {
    expect(refusal(() => checkInt('first', value, 1, 100, 20))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'first must be an integer between 1 and 100',
      details: { argument: 'first', min: 1, limit: 100 },
    });
  });
});

describe('checkListLength', () => {
  it('accepts exactly the maximum and refuses one item more', () => {
    expect(checkListLength('values', [1, 2, 3], 3)).toBeUndefined();
    expect(checkListLength('values', [], 0)).toBeUndefined();
    expect(refusal(() => checkListLength('values', [1, 2, 3, 4], 3))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'values takes at most 3 items (got 4)',
      details: { argument: 'values', limit: 3 },
    });
  });
});

describe('checkCountryCode', () => {
  it('passes two letters in any case through unchanged, null and absent as undefined', () => {
    expect(checkCountryCode('country', 'de')).toBe('de');
    expect(checkCountryCode('country', 'DE')).toBe('DE');
    expect(checkCountryCode('country', null)).toBeUndefined();
    expect(checkCountryCode('country', undefined)).toBeUndefined();
  });

  it.each(['D', 'DEU', 'D1', ' DE', 'DE ', 'xDE', 'DEx', ''])('refuses %j', (value) => {
    expect(refusal(() => checkCountryCode('country', value))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'country must be an ISO 3166-1 alpha-2 country code (two letters)',
      details: { argument: 'country' },
    });
  });
});
