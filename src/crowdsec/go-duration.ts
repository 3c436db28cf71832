/**
 * Go `time.Duration` strings as the CrowdSec LAPI speaks them: decision `duration`
 * is the remaining time (`"3h59m58.91s"`, negative once expired) and the alert
 * filters `since`/`until` take durations, not dates. The grammar follows Go's
 * `time.ParseDuration`, so a string we accept is one the LAPI accepts too.
 */

export class GoDurationError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`Invalid Go duration ${JSON.stringify(input)}: ${reason}`);
    this.name = 'GoDurationError';
  }
}

/** Milliseconds per unit. Go accepts both the micro sign and the Greek mu for µs. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Go stores durations as int64 nanoseconds: about 2,562,047 hours. */
const MAX_MS = 9_223_372_036_854.775;

const SEGMENT = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/**
 * Parses a Go duration into milliseconds (fractional for sub-millisecond parts).
 * Throws {@link GoDurationError} on anything Go's parser would reject, plus a few
 * things it tolerates but a caller almost certainly did not mean (surrounding spaces).
 */
export function parseGoDuration(input: string): number {
  let rest = input;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  // Go special-cases a bare zero (no unit needed); "-0" and "+0" are fine too.
  if (rest === '0') return 0;
  if (rest === '') throw new GoDurationError(input, 'empty');

  let total = 0;
  while (rest !== '') {
    const match = SEGMENT.exec(rest);
    if (!match)
      throw new GoDurationError(input, `unexpected ${JSON.stringify(rest)} (expected <number><unit>)`);
    const [whole, intPart = '', fracPart, unit = ''] = match;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) {
      throw new GoDurationError(input, `missing number before ${JSON.stringify(unit)}`);
    }
    const unitMs = UNIT_MS[unit];
    if (unitMs === undefined) {
      throw new GoDurationError(input, `unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`);
    }
    total += Number(`${intPart || '0'}.${fracPart ?? ''}0`) * unitMs;
    rest = rest.slice(whole.length);
  }
  if (total > MAX_MS) throw new GoDurationError(input, 'out of range');
  return sign * total;
}

/** Like {@link parseGoDuration} but returns undefined instead of throwing. */
export function tryParseGoDuration(input: string): number | undefined {
  try {
    return parseGoDuration(input);
  } catch {
    return undefined;
  }
}

/**
 * Formats milliseconds as a compact Go duration: `4h`, `1h30m`, `90s`, `1.5s`,
 * `250ms`, `0s`. Whole hours/minutes/seconds are written without zero parts (Go
 * itself writes `4h0m0s`); sub-millisecond precision is dropped because nothing we
 * send (ban durations, `since` windows) needs it.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`Cannot format ${ms} as a Go duration`);
  let rest = Math.round(Math.abs(ms));
  if (rest > MAX_MS) throw new RangeError(`${ms} ms is beyond Go's duration range`);
  if (rest === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  if (rest < 1_000) return `${sign}${rest}ms`;

  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1_000;
  let out = sign;
  if (hours) out += `${hours}h`;
  if (minutes) out += `${minutes}m`;
  // Three decimals at most, trailing zeros trimmed: 1.5s, not 1.500s.
  if (seconds) out += `${Number(seconds.toFixed(3))}s`;
  return out;
}

/**
 * The `since` value that covers everything from `from` until `now`, rounded up to
 * whole seconds so that the boundary instant itself is included.
 */
export function goDurationSince(from: Date, now: Date = new Date()): string {
  const ms = Math.max(0, now.getTime() - from.getTime());
  return formatGoDuration(Math.ceil(ms / 1_000) * 1_000);
}
