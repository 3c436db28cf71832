/** When a vendor that answered 429 may be asked again: its Retry-After, clamped, else a default. */
import type { IncomingHttpHeaders } from 'node:http';
import { retryAfterMs } from '../../platform/http-client.js';

/** Used when a 429 carries no usable hint: the shortest vendor window (VirusTotal's minute). */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** A vendor asking for more than a day is more likely a bug than a plan; re-check tomorrow. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

export function retryAtFrom(headers: IncomingHttpHeaders, now: Date): Date {
  const clamp = (ms: number): Date =>
    new Date(now.getTime() + Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS));
  const asked = retryAfterMs(headers, now.getTime());
  if (asked !== undefined) return clamp(asked);
  // AbuseIPDB also sends X-RateLimit-Reset as epoch seconds.
  const reset = headers['x-ratelimit-reset'];
  if (typeof reset === 'string' && /^\d{9,}$/.test(reset)) return clamp(Number(reset) * 1000 - now.getTime());
  return clamp(DEFAULT_RETRY_AFTER_MS);
}
