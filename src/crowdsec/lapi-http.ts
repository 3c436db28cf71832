/**
 * Pure helpers of the LAPI client, shared by buffered calls (lapi-client.ts) and the
 * streamed snapshot (lapi-snapshot.ts): how an HTTP answer maps to an error kind, which
 * failures are worth another attempt, and how bouncer-stream filters are spelled on the
 * wire.
 */
import type { RetryPolicy, RetryVerdict } from '../platform/http-client.js';
import { LapiError, type LapiErrorKind } from './lapi-types.js';

export interface StreamFilters {
  scopes?: string[];
  origins?: string[];
  scenariosContaining?: string[];
  scenariosNotContaining?: string[];
}

/** LAPI 1.4 answers 500 to bad input; these messages mark it as the caller's fault. */
const CLIENT_FAULT_500 =
  /validation failure|invalid filter|while parsing|unable to parse|bad \w+ in parameters|invalid duration/i;
const NOT_FOUND_500 = /doesn't exist|not found/i;

/** The kind of a non-2xx answer other than 401/403 (those need the call's context). */
export function httpFailureKind(status: number, lapiMessage: string): LapiErrorKind {
  if (status === 404 || (status >= 500 && NOT_FOUND_500.test(lapiMessage))) return 'NOT_FOUND';
  // Asked to slow down: our load, not the caller's input.
  if (status === 429) return 'RATE_LIMITED';
  if (status < 500 || CLIENT_FAULT_500.test(lapiMessage)) return 'BAD_REQUEST';
  return 'SERVER_ERROR';
}

/** Backoff between attempts of a retryable call: 200 ms, 400 ms, … plus up to 100 ms of jitter. */
export const LAPI_BACKOFF: Omit<RetryPolicy, 'retries'> = {
  baseDelayMs: 200,
  jitterMs: 100,
  // A LAPI asking us to wait longer than this fails the call; the poller's own backoff takes over.
  maxRetryAfterMs: 10_000,
};

/**
 * Whether a failed call may be sent again (when the call itself is safe to repeat): the
 * LAPI was unreachable, too slow or failing on its side, or asked us to come back
 * later (429, or a 503 with Retry-After, whose wait is honoured).
 */
export function lapiRetryVerdict(err: unknown): RetryVerdict {
  if (!(err instanceof LapiError)) return false;
  const transient =
    err.kind === 'UNREACHABLE' ||
    err.kind === 'TIMEOUT' ||
    err.kind === 'SERVER_ERROR' ||
    err.kind === 'RATE_LIMITED';
  if (!transient) return false;
  const after = err.details.retryAfterMs;
  return after === undefined ? true : { retryAfterMs: after };
}

export function messageOf(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string')
    return body.message;
  return undefined;
}

export function filterParams(f: StreamFilters): Record<string, string> {
  const out: Record<string, string> = {};
  const lists = [
    ['scopes', f.scopes],
    ['origins', f.origins],
    ['scenarios_containing', f.scenariosContaining],
    ['scenarios_not_containing', f.scenariosNotContaining],
  ] as const;
  for (const [name, values] of lists) if (values?.length) out[name] = values.join(',');
  return out;
}
