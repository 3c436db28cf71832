import { parseIp } from '../geo/ip-address.js';
import { badInput } from '../platform/errors.js';
import { unstorableText } from '../platform/storable-text.js';
import { THREAT_CATEGORIES, type ThreatCategory } from './classifier/index.js';
import type { ThreatEventFilter, ThreatEventRecord } from './threat-types.js';
import { EARLIEST_OCCURRED_AT, LIMITS } from './threat-validation.js';

/**
 * Checks of the read-side arguments (threatEvents, threatMap, threatDetected). Every
 * argument that sizes work has a maximum, documented in schema.graphql; beyond it the
 * client gets BAD_USER_INPUT with `extensions.argument` (which argument) and
 * `extensions.limit` (the maximum).
 */
export const FILTER_LIMITS = {
  /** Entries in a `countries` list (ISO 3166-1 has 249 codes; duplicates count too). */
  countries: 250,
  /** Entries in a `categories` list: the number of ThreatCategory values. */
  categories: THREAT_CATEGORIES.length,
  /** Characters of filter.sourceIp (the longest textual IPv6 address is 45). */
  sourceIp: 64,
  /** How far back threatMap's `since` may reach. */
  mapDays: 90,
} as const;

const DAY_MS = 86_400_000;
/** PostgreSQL's timestamptz covers years 1…9999 and more; JavaScript dates reach much further. */
const FIRST_STORABLE = Date.parse('0001-01-01T00:00:00Z');
const AFTER_LAST_STORABLE = Date.parse('+010000-01-01T00:00:00Z');

export function checkSeverity(value: number | null | undefined, argument: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > 10)
    throw badInput(`${argument} must be between 1 and 10`, { argument, min: 1, limit: 10 });
  return value;
}

/** Upper-cased, distinct codes, or null for "any country". */
export function normaliseCountries(
  countries: readonly string[] | null | undefined,
  argument: string,
): string[] | null {
  if (!countries?.length) return null;
  if (countries.length > FILTER_LIMITS.countries) {
    throw badInput(`${argument}: at most ${FILTER_LIMITS.countries} entries (got ${countries.length})`, {
      argument,
      limit: FILTER_LIMITS.countries,
    });
  }
  const codes = new Set<string>();
  for (const c of countries) {
    const code = c.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(code))
      throw badInput(`${argument}: ${JSON.stringify(c.slice(0, 20))} is not an ISO 3166-1 alpha-2 code`, {
        argument,
      });
    codes.add(code);
  }
  return [...codes];
}

/** Distinct categories, or null for "any category". */
export function checkCategories(
  categories: readonly ThreatCategory[] | null | undefined,
  argument: string,
): ThreatCategory[] | null {
  if (!categories?.length) return null;
  if (categories.length > FILTER_LIMITS.categories) {
    throw badInput(`${argument}: at most ${FILTER_LIMITS.categories} entries (got ${categories.length})`, {
      argument,
      limit: FILTER_LIMITS.categories,
    });
  }
  return [...new Set(categories)];
}

function checkText(value: string | null | undefined, argument: string, max: number): string | null {
  if (value === null || value === undefined || value === '') return null;
  const why = unstorableText(value);
  if (why) throw badInput(`${argument} ${why}`, { argument });
  if (value.length > max)
    throw badInput(`${argument} must be at most ${max} characters`, { argument, limit: max });
  return value;
}

/** A date PostgreSQL can compare with (years 1 to 9999), else BAD_USER_INPUT. */
export function checkDate(value: Date | null | undefined, argument: string): Date | null {
  if (value === null || value === undefined) return null;
  const ms = value.getTime();
  if (Number.isNaN(ms) || ms < FIRST_STORABLE || ms >= AFTER_LAST_STORABLE)
    throw badInput(`${argument} must be a date between the years 1 and 9999`, { argument });
  return value;
}

/**
 * The threatEvents filter, checked and normalised (canonical IP, distinct list entries).
 * since/until are clamped to what can match: no stored event is older than 2000-01-01,
 * so an earlier bound means "no bound" (and a date PostgreSQL could not compare never
 * reaches it).
 */
export function normaliseFilter(filter: ThreatEventFilter): ThreatEventFilter {
  checkSeverity(filter.minSeverity, 'filter.minSeverity');
  const since = clampDate(filter.since);
  const until = clampDate(filter.until);
  if (since && until && since.getTime() > until.getTime())
    throw badInput('filter.since must not be later than filter.until', { argument: 'filter.since' });
  let sourceIp: string | null = null;
  const ipText = checkText(filter.sourceIp, 'filter.sourceIp', FILTER_LIMITS.sourceIp);
  if (ipText !== null) {
    const parsed = parseIp(ipText);
    if (!parsed.ok) throw badInput(`filter.sourceIp: ${parsed.error}`, { argument: 'filter.sourceIp' });
    sourceIp = parsed.ip;
  }
  return {
    ...filter,
    since: since && since.getTime() <= EARLIEST_OCCURRED_AT ? null : since,
    until,
    sourceIp,
    threatType: checkText(filter.threatType, 'filter.threatType', LIMITS.threatType),
    countries: normaliseCountries(filter.countries, 'filter.countries'),
    categories: checkCategories(filter.categories, 'filter.categories'),
  };
}

/** Into [2000-01-01, year 10000): the same rows match, and PostgreSQL can compare it. */
function clampDate(value: Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const ms = value.getTime();
  if (Number.isNaN(ms)) return null;
  return new Date(Math.min(Math.max(ms, EARLIEST_OCCURRED_AT), AFTER_LAST_STORABLE - 1));
}

/**
 * threatMap's window [since, until): until defaults to now and may not lie in the
 * future; since defaults to 24 hours before until, at most FILTER_LIMITS.mapDays back,
 * and before until.
 */
export function mapWindow(
  since: Date | null | undefined,
  until: Date | null | undefined,
  now: number,
): { since: Date; until: Date } {
  const to = until ? until.getTime() : now;
  if (Number.isNaN(to) || to > now + MAP_SLACK_MS)
    throw badInput('until must not be in the future', { argument: 'until' });
  const from = since ? since.getTime() : to - DAY_MS;
  if (Number.isNaN(from) || from < now - FILTER_LIMITS.mapDays * DAY_MS) {
    throw badInput(`since must be within the last ${FILTER_LIMITS.mapDays} days`, {
      argument: 'since',
      limit: FILTER_LIMITS.mapDays,
    });
  }
  if (!(from < to)) throw badInput('since must be before until', { argument: 'until' });
  return { since: new Date(from), until: new Date(Math.min(to, now)) };
}

/** A client whose clock is a little ahead of the server's may send until = its now. */
const MAP_SLACK_MS = 60_000;

export interface ThreatSubscriptionArgs {
  minSeverity?: number | null;
  categories?: readonly ThreatCategory[] | null;
  countries?: readonly string[] | null;
}

/**
 * Checks a threatDetected subscription's arguments and compiles them once into a
 * predicate: set lookups, so each event costs the same whatever the lists' lengths.
 */
export function compileSubscriptionFilter(args: ThreatSubscriptionArgs): (e: ThreatEventRecord) => boolean {
  const min = checkSeverity(args.minSeverity, 'minSeverity') ?? 1;
  const categories = checkCategories(args.categories, 'categories');
  const countries = normaliseCountries(args.countries, 'countries');
  const categorySet: ReadonlySet<string> | null = categories ? new Set(categories) : null;
  const countrySet: ReadonlySet<string> | null = countries ? new Set(countries) : null;
  return (e) =>
    e.severity >= min &&
    (categorySet === null || categorySet.has(e.category)) &&
    (countrySet === null || (e.countryCode !== null && countrySet.has(e.countryCode)));
}
