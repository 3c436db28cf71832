/**
 * Checks for client arguments that size work or reach SQL: text (storable, bounded
 * length), integers (a closed range) and lists (a maximum length). Every failure is
 * BAD_USER_INPUT whose extensions name the argument (`argument`, e.g. "filter.scope")
 * and, where there is one, the bound that was crossed (`limit`, with `min` for ranges),
 * so a client can tell what to change without reading the message.
 */
import { badInput } from './errors.js';
import { unstorableText } from './storable-text.js';

/** Longest text accepted in a list filter (the longest IOC value is as long). */
export const MAX_FILTER_TEXT = 2048;

/** `value` when it is storable text of at most `max` characters; undefined for null/absent. */
export function checkText(
  argument: string,
  value: string | null | undefined,
  max = MAX_FILTER_TEXT,
): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length > max)
    throw badInput(`${argument} is ${value.length} characters long; at most ${max} are accepted`, {
      argument,
      limit: max,
    });
  const why = unstorableText(value);
  if (why) throw badInput(`${argument} ${why}`, { argument });
  return value;
}

/** `value` when it is an integer in [min, max]; `fallback` for null/absent. */
export function checkInt<F extends number | undefined>(
  argument: string,
  value: number | null | undefined,
  min: number,
  max: number,
  fallback: F,
): number | F {
  if (value === null || value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    throw badInput(`${argument} must be an integer between ${min} and ${max}`, { argument, min, limit: max });
  return value;
}

/** Refuses a list longer than `max` items. */
export function checkListLength(argument: string, list: readonly unknown[], max: number): void {
  if (list.length > max)
    throw badInput(`${argument} takes at most ${max} items (got ${list.length})`, { argument, limit: max });
}

/** An ISO 3166-1 alpha-2 code (any case), or undefined for null/absent. */
export function checkCountryCode(argument: string, value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (!/^[A-Za-z]{2}$/.test(value))
    throw badInput(`${argument} must be an ISO 3166-1 alpha-2 country code (two letters)`, { argument });
  return value;
}
