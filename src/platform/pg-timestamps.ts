import pg from 'pg';

const TIMESTAMPTZ_OID = 1184;
const ZERO = 48;

const fallbackTz = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => unknown;

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * `timestamptz` text as PostgreSQL writes it with the ISO date style
 * (`2026-12-03 13:04:05.123456+00`, offsets `+01`, `-03:30` or `+00:53:28`), read by
 * fixed positions; any other form (infinity, BC, years past 9999) goes to the driver's
 * own parser. Rows of every list carry these, and the driver's general parser was a
 * visible share of a page's CPU.
 */
export function parseTimestamptz(text: string): unknown {
  const n = text.length;
  if (n < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32) return fallbackTz(text);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return fallbackTz(text);
  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46) {
    // Fraction: up to six digits; milliseconds are the first three (as JavaScript keeps them).
    let scale = 100;
    i++;
    while (i < n) {
      const d = text.charCodeAt(i) - ZERO;
      if (d < 0 || d > 9) break;
      ms += d * scale;
      scale /= 10;
      i++;
    }
    ms = Math.floor(ms);
  }
  const sign = text.charCodeAt(i);
  if (sign !== 43 && sign !== 45) return fallbackTz(text);
  const offH = digits(text, i + 1, 2);
  let offSeconds = offH * 3600;
  let end = i + 3;
  if (end < n && text.charCodeAt(end) === 58) {
    offSeconds += digits(text, end + 1, 2) * 60;
    end += 3;
    if (end < n && text.charCodeAt(end) === 58) {
      offSeconds += digits(text, end + 1, 2);
      end += 3;
    }
  }
  if (offH < 0 || end !== n) return fallbackTz(text);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC maps years 0–99 to 1900–1999; those (and other surprises) go to the driver.
  if (year < 100) return fallbackTz(text);
  return new Date(utc - (sign === 43 ? 1 : -1) * offSeconds * 1000);
}

/** The pool's type parsers: the driver's, with the fast `timestamptz` reader. */
export const poolTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (oid === TIMESTAMPTZ_OID && format !== 'binary') return parseTimestamptz;
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
};
