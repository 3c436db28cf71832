/**
 * The one HTTP client for upstream services (the CrowdSec LAPI, the threat-intel
 * vendors), on got. Every request has timeouts, a response-size cap counted while the
 * body streams in (so an oversized body is abandoned, not buffered; compression is
 * refused so the count is the real size), no redirects (an API never moves to another
 * host, and following one could leak a key), our one user agent, and no retries of its
 * own. Every failure is an `UpstreamHttpError` with a kind; an HTTP status is an
 * answer, not a failure, and the caller maps it.
 *
 * Retries are the caller's choice, per request, through `withRetries`: exponential
 * backoff with jitter that honours a server's Retry-After. got's own retry is not used
 * because the callers decide with more than the status: a rate gate before every
 * attempt (threat-intel sources never retry a 429, which would spend quota), a LAPI 500
 * that says "bad input", a snapshot that may only be retried before its first batch.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import got, { type Method } from 'got';
import { USER_AGENT } from './version.js';

export { USER_AGENT };

export type UpstreamFailureKind = 'TIMEOUT' | 'UNREACHABLE' | 'TOO_LARGE' | 'ABORTED';

export class UpstreamHttpError extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    /** `phase`: which timeout fired (got's: connect, response, socket, request, …); `code`: the network error. */
    readonly details: { phase?: string; code?: string; maxBytes?: number } = {},
  ) {
    super(message);
    this.name = 'UpstreamHttpError';
  }
}

/** A body that should be JSON and is not. */
export class InvalidJsonError extends Error {
  constructor(
    /** The first 200 characters of the body, for the log. */
    readonly excerpt: string,
    cause: unknown,
  ) {
    super(`response is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'InvalidJsonError';
  }
}

export interface UpstreamTimeouts {
  /** Opening the TCP connection. */
  connectMs?: number;
  /** From sending the request to the first response byte. */
  responseMs?: number;
  /** Longest silence on the socket, at any point. */
  idleMs?: number;
  /** The whole exchange, body included. */
  totalMs?: number;
}

export interface UpstreamRequest {
  url: string | URL;
  method?: Method;
  searchParams?: Record<string, string>;
  /** Added to (and may override) the user agent. */
  headers?: Record<string, string>;
  json?: unknown;
  /** A body sent as is (with `json`, got serialises instead): for bodies that are signed. */
  body?: string;
  /** Resolves host names instead of `dns.lookup` (webhook targets refuse private addresses). */
  lookup?: LookupFunction;
  timeouts: UpstreamTimeouts;
  /** Bytes of body accepted; a longer (or longer-declared) body fails as TOO_LARGE. */
  maxBytes: number;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface UpstreamStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it arrives; fails with an UpstreamHttpError (TOO_LARGE past the cap). Read once. */
  body: AsyncIterable<Buffer>;
  /** Up to `limit` bytes of the body as text, read errors ignored: enough of an error body to quote. */
  readText(limit: number): Promise<string>;
  /** Drops the connection unless the body was read to its end. Call it in a `finally`. */
  close(): void;
}

/** Sends a request and resolves once the response head is in; the body is read on demand. */
export async function openStream(req: UpstreamRequest): Promise<UpstreamStream> {
  const method = req.method ?? 'GET';
  const t = req.timeouts;
  const timeout = Object.fromEntries(
    Object.entries({
      connect: t.connectMs,
      response: t.responseMs,
      socket: t.idleMs,
      request: t.totalMs === undefined ? undefined : Math.max(1, t.totalMs),
    }).filter(([, ms]) => ms !== undefined),
  );
  const stream = got.stream(req.url, {
    method,
    headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...req.headers },
    ...(req.searchParams ? { searchParams: req.searchParams } : {}),
    ...(req.json !== undefined ? { json: req.json } : {}),
    ...(req.body !== undefined ? { body: req.body } : {}),
    ...(req.lookup ? { dnsLookup: req.lookup } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    timeout,
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    decompress: false,
  });
  // A got stream with a method that may carry a body waits for one unless it is ended.
  if (req.json === undefined && req.body === undefined && method !== 'GET' && method !== 'HEAD') stream.end();
  const close = (): void => {
    if (!stream.readableEnded) stream.destroy();
  };
  const head = await new Promise<{ statusCode: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('error', reject);
  }).catch((err: unknown) => {
    close();
    throw asUpstreamError(err, req.signal);
  });
  if (Number(head.headers['content-length'] ?? 0) > req.maxBytes) {
    close();
    throw tooLarge(req.maxBytes);
  }
  return {
    status: head.statusCode,
    headers: head.headers,
    body: capped(stream, req),
    readText: (limit) => readSome(stream, limit),
    close,
  };
}

/** One request, its body read whole (within the cap) as text. */
export async function request(req: UpstreamRequest): Promise<UpstreamResponse> {
  const res = await openStream(req);
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk);
    return { status: res.status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  } finally {
    res.close();
  }
}

/** JSON.parse with a typed error. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidJsonError(text.slice(0, 200), err);
  }
}

/** The parsed JSON of a body that may or may not be JSON (an error page): undefined when it is not. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}

/**
 * A Retry-After header (delta-seconds or an HTTP date, RFC 9110 §10.2.3) as milliseconds
 * from `now`, never negative; undefined when there is none or it cannot be read.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const value = headers['retry-after']?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Wait before the first retry; doubles for each one after. */
  baseDelayMs: number;
  /** Up to this much random extra per wait, so clients failing together do not retry in step. */
  jitterMs: number;
  /** A server asking (Retry-After) for a longer wait than this ends the retries. */
  maxRetryAfterMs?: number;
  /** Epoch ms: a wait that would end at or after it ends the retries instead. */
  deadline?: number;
  /** Aborting it ends a wait with an ABORTED UpstreamHttpError. */
  signal?: AbortSignal;
  /** How to wait; tests pass a recorder. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The caller's verdict on a failed attempt: give up, retry, or retry no sooner than the server asked. */
export type RetryVerdict = boolean | { retryAfterMs: number };

/**
 * Runs `attempt` until it resolves, the verdict on its error is `false`, or the policy
 * says stop; then throws that attempt's error. Waits `baseDelayMs · 2ⁿ` before retry n
 * (from 0), or the server's Retry-After if longer, plus jitter.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  verdict: (error: unknown) => RetryVerdict,
  policy: RetryPolicy,
  onRetry?: (retry: { error: unknown; attempt: number; delayMs: number }) => void,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const v = verdict(error);
      if (v === false || n >= policy.retries) throw error;
      const asked = v === true ? 0 : v.retryAfterMs;
      if (asked > (policy.maxRetryAfterMs ?? Infinity)) throw error;
      const wait = Math.round(Math.max(policy.baseDelayMs * 2 ** n, asked) + Math.random() * policy.jitterMs);
      if (policy.deadline !== undefined && Date.now() + wait >= policy.deadline) throw error;
      onRetry?.({ error, attempt: n + 1, delayMs: wait });
      await (policy.sleep ?? sleep)(wait, policy.signal);
    }
  }
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw asUpstreamError(err, signal);
  }
}

async function* capped(stream: AsyncIterable<Buffer>, req: UpstreamRequest): AsyncGenerator<Buffer, void> {
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      bytes += chunk.length;
      if (bytes > req.maxBytes) throw tooLarge(req.maxBytes);
      yield chunk;
    }
  } catch (err) {
    throw asUpstreamError(err, req.signal);
  }
}

async function readSome(stream: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // The status already says what went wrong; a broken error body adds nothing.
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}

const tooLarge = (maxBytes: number): UpstreamHttpError =>
  new UpstreamHttpError('TOO_LARGE', `response larger than ${maxBytes} bytes`, { maxBytes });

function asUpstreamError(err: unknown, signal: AbortSignal | undefined): UpstreamHttpError {
  if (err instanceof UpstreamHttpError) return err;
  if (signal?.aborted) return new UpstreamHttpError('ABORTED', 'aborted by the caller');
  const e = err as { name?: string; code?: string; event?: string; message?: string };
  if (e.name === 'TimeoutError') {
    const phase = e.event ?? 'request';
    return new UpstreamHttpError('TIMEOUT', `timed out (${phase})`, { phase });
  }
  const code = e.code ?? e.message ?? String(err);
  return new UpstreamHttpError('UNREACHABLE', `network error: ${code}`, { code });
}
