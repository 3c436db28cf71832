/**
 * Pure helpers of the LAPI client, shared by buffered calls (lapi-client.ts) and the
 * streamed snapshot (lapi-snapshot.ts): how an HTTP answer maps to an error kind, and
 * how bouncer-stream filters are spelled on the wire.
 */
import type { LapiErrorKind } from './lapi-types.js';

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
  if (status < 500 || CLIENT_FAULT_500.test(lapiMessage)) return 'BAD_REQUEST';
  return 'SERVER_ERROR';
}

/** Parsed JSON, `null` for an empty body, undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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
