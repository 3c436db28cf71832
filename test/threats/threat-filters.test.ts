import { describe, expect, it } from 'vitest';
import type { ThreatCategory } from '../../src/threats/classifier/index.js';
import {
  FILTER_LIMITS,
  checkCategories,
  checkDate,
  checkSeverity,
  compileSubscriptionFilter,
  mapWindow,
  normaliseCountries,
  normaliseFilter,
} from '../../src/threats/threat-filters.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';
import { refusal } from '../helpers/refusal.js';

const bad = (message: string, details: Record<string, unknown>) => ({
  code: 'BAD_USER_INPUT',
  message,
  details,
});

const DAY = 86_400_000;
const Y2000 = Date.UTC(2000, 0, 1);
const YEAR_1 = Date.parse('0001-01-01T00:00:00Z');
const YEAR_10000 = Date.parse('+010000-01-01T00:00:00Z');

describe('limits', () => {
  it('are the documented numbers', () => {
    expect(FILTER_LIMITS).toEqual({ countries: 250, categories: 11, sourceIp: 64, mapDays: 90 });
  });
});

describe('checkSeverity', () => {
  it('passes 1 to 10 and null/absent (as null)', () => {
    expect(checkSeverity(1, 'minSeverity')).toBe(1);
    expect(checkSeverity(10, 'minSeverity')).toBe(10);
    expect(checkSeverity(null, 'minSeverity')).toBeNull();
    expect(checkSeverity(undefined, 'minSeverity')).toBeNull();
  });

  it.each([0, 11, 2.5, Number.NaN])('refuses %d', (value) => {
    expect(refusal(() => checkSeverity(value, 'filter.minSeverity'))).toEqual(
      bad('filter.minSeverity must be between 1 and 10', {
        argument: 'filter.minSeverity',
        min: 1,
        limit: 10,
      }),
    );
  });
});

describe('normaliseCountries', () => {
  it('upper-cases, trims and de-duplicates; an empty or absent list means any country', () => {
    expect(normaliseCountries([' de', 'DE', 'fr ', 'Fr'], 'countries')).toEqual(['DE', 'FR']);
    expect(normaliseCountries([], 'countries')).toBeNull();
    expect(normaliseCountries(null, 'countries')).toBeNull();
    expect(normaliseCountries(undefined, 'countries')).toBeNull();
  });

  it('accepts 250 entries and refuses 251', () => {
    expect(normaliseCountries(Array<string>(250).fill('de'), 'countries')).toEqual(['DE']);
    expect(refusal(() => normaliseCountries(Array<string>(251).fill('de'), 'filter.countries'))).toEqual(
      bad('filter.countries: at most 250 entries (got 251)', { argument: 'filter.countries', limit: 250 }),
    );
  });

  it.each(['D', 'DEU', 'D1', 'D E', ''])('refuses %j, quoting at most 20 characters of it', (code) => {
    expect(refusal(() => normaliseCountries(['FR', code], 'countries'))).toEqual(
      bad(`countries: ${JSON.stringify(code)} is not an ISO 3166-1 alpha-2 code`, { argument: 'countries' }),
    );
  });

  it('quotes at most 20 characters of a refused code', () => {
    expect(refusal(() => normaliseCountries(['x'.repeat(30)], 'countries'))).toEqual(
      bad(`countries: "${'x'.repeat(20)}" is not an ISO 3166-1 alpha-2 code`, { argument: 'countries' }),
    );
  });
});

describe('checkCategories', () => {
  it('de-duplicates; an empty or absent list means any category', () => {
    expect(checkCategories(['SCAN', 'SCAN', 'SPAM'], 'categories')).toEqual(['SCAN', 'SPAM']);
    expect(checkCategories([], 'categories')).toBeNull();
    expect(checkCategories(null, 'categories')).toBeNull();
    expect(checkCategories(undefined, 'categories')).toBeNull();
  });

  it('accepts 11 entries and refuses 12', () => {
    const eleven = Array<ThreatCategory>(11).fill('SCAN');
    expect(checkCategories(eleven, 'categories')).toEqual(['SCAN']);
    expect(refusal(() => checkCategories([...eleven, 'SCAN'], 'filter.categories'))).toEqual(
      bad('filter.categories: at most 11 entries (got 12)', { argument: 'filter.categories', limit: 11 }),
    );
  });
});

describe('checkDate', () => {
  it('passes dates from year 1 up to the end of year 9999, and null/absent as null', () => {
    expect(checkDate(new Date(YEAR_1), 'since')?.getTime()).toBe(YEAR_1);
    expect(checkDate(new Date(YEAR_10000 - 1), 'since')?.getTime()).toBe(YEAR_10000 - 1);
    expect(checkDate(null, 'since')).toBeNull();
    expect(checkDate(undefined, 'since')).toBeNull();
  });

  it.each([
    ['one ms before year 1', YEAR_1 - 1],
    ['year 10000', YEAR_10000],
    ['an invalid date', Number.NaN],
  ])('refuses %s', (_name, ms) => {
    expect(refusal(() => checkDate(new Date(ms), 'until'))).toEqual(
      bad('until must be a date between the years 1 and 9999', { argument: 'until' }),
    );
  });
});

describe('normaliseFilter', () => {
  it('keeps what it does not check and normalises the rest', () => {
    const since = new Date(Y2000 + 1);
    const until = new Date(Y2000 + 1);
    expect(
      normaliseFilter({
        since,
        until,
        minSeverity: 4,
        anomaliesOnly: true,
        sourceIp: ' 2001:DB8:0:0::1 ',
        threatType: 'ssh',
        countries: ['de', 'DE'],
        categories: ['SCAN', 'SCAN'],
      }),
    ).toEqual({
      since,
      until,
      minSeverity: 4,
      anomaliesOnly: true,
      sourceIp: '2001:db8::1',
      threatType: 'ssh',
      countries: ['DE'],
      categories: ['SCAN'],
    });
  });

  it('an empty filter stays empty', () => {
    expect(normaliseFilter({})).toEqual({
      since: null,
      until: null,
      sourceIp: null,
      threatType: null,
      countries: null,
      categories: null,
    });
    expect(normaliseFilter({ sourceIp: '', threatType: '' })).toMatchObject({
      sourceIp: null,
      threatType: null,
    });
    expect(
      normaliseFilter({ since: null, until: null, sourceIp: null, threatType: null, countries: null }),
    ).toMatchObject({ since: null, until: null, sourceIp: null, threatType: null, countries: null });
  });

  it('a since at or before 2000-01-01 means no bound; one ms later is kept', () => {
    expect(normaliseFilter({ since: new Date(Y2000) }).since).toBeNull();
    expect(normaliseFilter({ since: new Date(-8.64e15) }).since).toBeNull();
    expect(normaliseFilter({ since: new Date(Y2000 + 1) }).since).toEqual(new Date(Y2000 + 1));
  });

  it('clamps dates into [2000-01-01, year 10000) and drops invalid ones', () => {
    expect(normaliseFilter({ until: new Date(8.64e15) }).until).toEqual(new Date(YEAR_10000 - 1));
    expect(normaliseFilter({ since: new Date(8.64e15) }).since).toEqual(new Date(YEAR_10000 - 1));
    expect(normaliseFilter({ until: new Date(0) }).until).toEqual(new Date(Y2000));
    expect(normaliseFilter({ until: new Date(Number.NaN), since: new Date(Number.NaN) })).toMatchObject({
      since: null,
      until: null,
    });
  });

  it('refuses since later than until (after clamping), accepts them equal', () => {
    const t = Date.UTC(2026, 0, 1);
    expect(refusal(() => normaliseFilter({ since: new Date(t + 1), until: new Date(t) }))).toEqual(
      bad('filter.since must not be later than filter.until', { argument: 'filter.since' }),
    );
    expect(normaliseFilter({ since: new Date(t), until: new Date(t) }).until).toEqual(new Date(t));
    // Both clamp to 2000-01-01: equal, so accepted (and since then means no bound).
    expect(normaliseFilter({ since: new Date(1000), until: new Date(0) })).toMatchObject({
      since: null,
      until: new Date(Y2000),
    });
  });

  it('checks minSeverity', () => {
    expect(refusal(() => normaliseFilter({ minSeverity: 11 }))).toEqual(
      bad('filter.minSeverity must be between 1 and 10', {
        argument: 'filter.minSeverity',
        min: 1,
        limit: 10,
      }),
    );
  });

  it('refuses a source IP that is unstorable, longer than 64 characters or not an address', () => {
    expect(refusal(() => normaliseFilter({ sourceIp: '1.2.3.4\u0000' }))).toEqual(
      bad('filter.sourceIp must not contain NUL characters', { argument: 'filter.sourceIp' }),
    );
    expect(refusal(() => normaliseFilter({ sourceIp: ' '.repeat(60) + '1.2.3.4' }))).toEqual(
      bad('filter.sourceIp must be at most 64 characters', { argument: 'filter.sourceIp', limit: 64 }),
    );
    expect(normaliseFilter({ sourceIp: ' '.repeat(57) + '1.2.3.4' }).sourceIp).toBe('1.2.3.4');
    expect(refusal(() => normaliseFilter({ sourceIp: '1.2.3' }))).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/^filter\.sourceIp: \S/) as string,
      details: { argument: 'filter.sourceIp' },
    });
  });

  it('accepts a threatType of 200 characters and refuses 201', () => {
    expect(normaliseFilter({ threatType: 't'.repeat(200) }).threatType).toHaveLength(200);
    expect(refusal(() => normaliseFilter({ threatType: 't'.repeat(201) }))).toEqual(
      bad('filter.threatType must be at most 200 characters', { argument: 'filter.threatType', limit: 200 }),
    );
  });

  it('checks the lists under their filter names', () => {
    expect(refusal(() => normaliseFilter({ countries: ['XYZ'] }))).toEqual(
      bad('filter.countries: "XYZ" is not an ISO 3166-1 alpha-2 code', { argument: 'filter.countries' }),
    );
    expect(
      refusal(() => normaliseFilter({ categories: Array<ThreatCategory>(12).fill('SPAM') })),
    ).toMatchObject({ details: { argument: 'filter.categories', limit: 11 } });
  });
});

describe('mapWindow', () => {
  const now = Date.UTC(2026, 5, 1);

  it('defaults to the 24 hours before until, until to now', () => {
    expect(mapWindow(null, null, now)).toEqual({ since: new Date(now - DAY), until: new Date(now) });
    expect(mapWindow(undefined, new Date(now - DAY), now)).toEqual({
      since: new Date(now - 2 * DAY),
      until: new Date(now - DAY),
    });
  });

  it('accepts exactly 90 days back and refuses one ms more', () => {
    expect(mapWindow(new Date(now - 90 * DAY), null, now).since).toEqual(new Date(now - 90 * DAY));
    const refused = bad('since must be within the last 90 days', { argument: 'since', limit: 90 });
    expect(refusal(() => mapWindow(new Date(now - 90 * DAY - 1), null, now))).toEqual(refused);
    expect(refusal(() => mapWindow(new Date(Number.NaN), null, now))).toEqual(refused);
  });

  it('refuses until in the future (beyond a minute of clock skew) and until not after since', () => {
    expect(mapWindow(null, new Date(now + 60_000), now).until).toEqual(new Date(now));
    expect(refusal(() => mapWindow(null, new Date(now + 60_001), now))).toEqual(
      bad('until must not be in the future', { argument: 'until' }),
    );
    expect(refusal(() => mapWindow(new Date(now - DAY), new Date(now - DAY), now))).toEqual(
      bad('since must be before until', { argument: 'until' }),
    );
  });
});

describe('compileSubscriptionFilter', () => {
  const event = (severity: number, category: ThreatCategory, countryCode: string | null) =>
    ({ severity, category, countryCode }) as ThreatEventRecord;

  it('with no arguments passes every event, with or without a country', () => {
    const pass = compileSubscriptionFilter({});
    expect(pass(event(1, 'OTHER', null))).toBe(true);
    expect(pass(event(10, 'SCAN', 'DE'))).toBe(true);
  });

  it('minSeverity is inclusive', () => {
    const pass = compileSubscriptionFilter({ minSeverity: 5 });
    expect([4, 5, 6].map((s) => pass(event(s, 'SCAN', 'DE')))).toEqual([false, true, true]);
  });

  it('matches listed categories only', () => {
    const pass = compileSubscriptionFilter({ categories: ['SCAN', 'SPAM'] });
    expect(['SCAN', 'SPAM', 'DDOS'].map((c) => pass(event(5, c as ThreatCategory, 'DE')))).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('matches listed countries in any case; an event without a country never matches a list', () => {
    const pass = compileSubscriptionFilter({ countries: ['de', 'Fr'] });
    expect(['DE', 'FR', 'US', null].map((c) => pass(event(5, 'SCAN', c)))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('combines all three', () => {
    const pass = compileSubscriptionFilter({ minSeverity: 3, categories: ['SCAN'], countries: ['DE'] });
    expect(pass(event(3, 'SCAN', 'DE'))).toBe(true);
    expect(pass(event(2, 'SCAN', 'DE'))).toBe(false);
    expect(pass(event(3, 'SPAM', 'DE'))).toBe(false);
    expect(pass(event(3, 'SCAN', 'FR'))).toBe(false);
  });

  it('checks its arguments under their own names', () => {
    expect(refusal(() => compileSubscriptionFilter({ minSeverity: 0 }))).toEqual(
      bad('minSeverity must be between 1 and 10', { argument: 'minSeverity', min: 1, limit: 10 }),
    );
    expect(refusal(() => compileSubscriptionFilter({ countries: ['D'] }))).toEqual(
      bad('countries: "D" is not an ISO 3166-1 alpha-2 code', { argument: 'countries' }),
    );
    expect(
      refusal(() => compileSubscriptionFilter({ categories: Array<ThreatCategory>(12).fill('SPAM') })),
    ).toEqual(bad('categories: at most 11 entries (got 12)', { argument: 'categories', limit: 11 }));
  });
});
