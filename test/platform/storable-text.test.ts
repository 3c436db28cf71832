import { describe, expect, it } from 'vitest';
import { parseIoc } from '../../src/iocs/ioc-parse.js';
import { unstorableJson, unstorableText } from '../../src/platform/storable-text.js';

describe('unstorableText', () => {
  it.each([
    ['', null],
    ['plain', null],
    ['emoji \ud83d\ude00 pair', null],
    ['\ud83d\ude00', null],
    ['a\u0000b', 'must not contain NUL characters'],
    ['\ud800', 'must not contain unpaired UTF-16 surrogates'],
    ['x\ud800', 'must not contain unpaired UTF-16 surrogates'],
    ['\ud800x', 'must not contain unpaired UTF-16 surrogates'],
    ['\udc00', 'must not contain unpaired UTF-16 surrogates'],
    ['\ude00\ud83d', 'must not contain unpaired UTF-16 surrogates'],
    ['\ud83d\ude00\udc00', 'must not contain unpaired UTF-16 surrogates'],
    ['\uffff\ue000', null],
    // Both ends of each surrogate range pair up.
    ['\ud800\udc00', null],
    ['\udbff\udfff', null],
    ['\ud800\ue000', 'must not contain unpaired UTF-16 surrogates'],
    ['\ud800\udbff', 'must not contain unpaired UTF-16 surrogates'],
  ])('%j → %s', (s, expected) => {
    expect(unstorableText(s)).toBe(expected);
  });
});

describe('unstorableJson', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
    return v;
  };

  it('accepts values exactly at the depth bound and refuses one level more', () => {
    expect(unstorableJson(nested(32), { maxDepth: 32 })).toBeNull();
    expect(unstorableJson(nested(33), { maxDepth: 32 })).toBe('must not be nested more than 32 levels deep');
  });

  it('counts only objects and arrays as levels', () => {
    expect(unstorableJson([true, 'x', 1, null], { maxDepth: 1 })).toBeNull();
    expect(unstorableJson([[true]], { maxDepth: 1 })).toBe('must not be nested more than 1 levels deep');
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(unstorableJson(nested(100_000), { maxDepth: 32 })).toBe(
      'must not be nested more than 32 levels deep',
    );
  });

  it.each([
    [{ a: '\ud800' }, 'must not contain unpaired UTF-16 surrogates'],
    [{ '\ud800': 1 }, 'must not contain unpaired UTF-16 surrogates'],
    [['ok', ['\u0000']], 'must not contain NUL characters'],
    [{ n: Number.POSITIVE_INFINITY }, 'must not contain non-finite numbers'],
    [{ a: [1, 'two', { three: null, four: true }] }, null],
    ['top-level \udfff', 'must not contain unpaired UTF-16 surrogates'],
    [null, null],
    [['ok', '\u0000'], 'must not contain NUL characters'],
    [['\u0000', 'ok'], 'must not contain NUL characters'],
  ])('%j → %s', (value, expected) => {
    expect(unstorableJson(value, { maxDepth: 8 })).toBe(expected);
  });
});

describe('IOC values', () => {
  it('refuses an unpaired surrogate instead of storing U+FFFD in its place', () => {
    expect(() => parseIoc('http://evil.com/\ud800')).toThrow(
      'IOC value must not contain unpaired UTF-16 surrogates',
    );
    expect(parseIoc('http://evil.com/\ud83d\ude00').type).toBe('URL');
  });
});
