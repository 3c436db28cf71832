/**
 * The lookup flow shared by every HTTP source: skip rules, rate gate, concurrency cap,
 * bounded retries with backoff, and the mapping from HTTP outcomes to statuses. A
 * source file only describes its vendor (SourceSpec); this keeps the behaviour the
 * contract suite checks in one place. The HTTP itself (timeouts, size cap, no
 * redirects, user agent, backoff) is the platform's upstream client.
 */
import pLimit from 'p-limit';
import { ZodError } from 'zod';
import {
  jsonOrUndefined,
  request,
  UpstreamHttpError,
  withRetries,
  type UpstreamResponse,
} from '../../platform/http-client.js';
import type { IocType, ParsedIoc, ThreatCategory } from '../ioc-types.js';
import { retryAtFrom } from './retry-after.js';
import type {
  RateGate,
  SourceAdapter,
  SourceAdapterOptions,
  SourceErrorKind,
  SourceEvidence,
  SourceName,
  SourceResult,
} from './source-adapter.js';

export const DEFAULT_RETRY_BASE_DELAY_MS = 500;
/** Random extra delay so instances retrying together do not hit the vendor in step. */
const RETRY_JITTER_MS = 100;

export interface UpstreamRequest {
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
}

export interface Verdict {
  score: number | null;
  categories: ThreatCategory[];
  data: Record<string, unknown>;
  evidence?: SourceEvidence;
}

export interface SourceSpec {
  name: SourceName;
  supportedTypes: ReadonlySet<IocType>;
  request(ioc: ParsedIoc, apiKey: string): UpstreamRequest;
  /** Maps a 2xx JSON body; throws (e.g. a ZodError) when the shape is not the documented one. */
  normalise(body: unknown, ioc: ParsedIoc): Verdict;
  /** A 404 that means "the vendor has never seen it" rather than a failure. */
  notFound?(body: unknown): Verdict | undefined;
  /** The vendor's own error text from an error body, if it has one. */
  errorMessage(body: unknown): string | undefined;
}

type Outcome = Omit<SourceResult, 'source' | 'durationMs' | 'fetchedAt'>;

/**
 * An attempt that failed in a way another attempt may fix: a network error, a connect
 * timeout, a 5xx. Never a 429 (that would spend quota the vendor just said is gone) nor
 * a timeout of the whole request (it used the lookup's budget).
 */
class Retryable extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.error);
  }
}

const failed = (errorKind: SourceErrorKind, error: string, extra: Partial<Outcome> = {}): Outcome => ({
  status: 'ERROR',
  score: null,
  categories: [],
  data: {},
  error,
  errorKind,
  ...extra,
});
const skipped = (errorKind: SourceErrorKind, error: string, retryAt?: Date): Outcome => ({
  status: 'SKIPPED',
  score: null,
  categories: [],
  data: {},
  error,
  errorKind,
  ...(retryAt ? { retryAt } : {}),
});
const aborted = (): Outcome => failed('TIMEOUT', 'lookup aborted by the caller');

/** Paths are relative so a base URL with a prefix (a self-hosted proxy) keeps it. */
const withTrailingSlash = (base: string): string => (base.endsWith('/') ? base : `${base}/`);

/** A transport failure as a final outcome, or thrown as Retryable. */
function transportOutcome(error: UpstreamHttpError): Outcome {
  switch (error.kind) {
    case 'ABORTED':
      return aborted();
    case 'TOO_LARGE':
      return failed('TOO_LARGE', error.message);
    case 'TIMEOUT': {
      const result = failed('TIMEOUT', error.message);
      if (error.details.phase === 'request') return result;
      throw new Retryable(result);
    }
    case 'UNREACHABLE':
      throw new Retryable(failed('UPSTREAM', error.message));
  }
}

export function createHttpSource(
  spec: SourceSpec,
  options: SourceAdapterOptions,
  gate: RateGate,
): SourceAdapter {
  const limit = pLimit(Math.max(1, options.concurrency));
  const baseDelay = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;

  /** An HTTP answer as an outcome; a 5xx is thrown as Retryable. */
  const interpret = async (res: UpstreamResponse, ioc: ParsedIoc): Promise<Outcome> => {
    const { status } = res;
    const json = jsonOrUndefined(res.text);
    const vendorText = json === undefined ? undefined : spec.errorMessage(json);
    const describe = (what: string): string => (vendorText ? `${what}: ${vendorText}` : what);
    if (status >= 200 && status < 300) {
      if (json === undefined) return failed('MALFORMED', 'response is not valid JSON');
      try {
        return { status: 'OK', ...spec.normalise(json, ioc), raw: json };
      } catch (error) {
        return failed('MALFORMED', shapeProblem(error), { raw: json });
      }
    }
    const raw = json === undefined ? {} : { raw: json };
    if (status === 404) {
      const verdict = json === undefined ? undefined : spec.notFound?.(json);
      return verdict ? { status: 'OK', ...verdict, ...raw } : failed('UPSTREAM', describe('HTTP 404'), raw);
    }
    if (status === 401 || status === 403)
      return failed('AUTH', describe(`HTTP ${status}, API key rejected`), raw);
    if (status === 429) {
      const retryAt = retryAtFrom(res.headers, new Date());
      await gate.markExhausted(spec.name, retryAt);
      return failed('RATE_LIMITED', describe(`HTTP 429, quota exhausted until ${retryAt.toISOString()}`), {
        retryAt,
        ...raw,
      });
    }
    if (status >= 300 && status < 400)
      return failed('UPSTREAM', `HTTP ${status} redirect to ${String(res.headers.location)} not followed`);
    const result = failed('UPSTREAM', describe(`HTTP ${status}`), raw);
    if (status >= 500) throw new Retryable(result);
    return result;
  };

  /** One request: a concurrency slot, then a unit of quota, then the call. */
  const attempt = (
    ioc: ParsedIoc,
    url: URL,
    headers: Record<string, string>,
    deadline: number,
    signal: AbortSignal,
  ) =>
    limit(async (): Promise<Outcome | { deferred: Date }> => {
      // Quota is taken only once a slot is ours, so time spent queueing never wastes it.
      if (Date.now() >= deadline) return failed('TIMEOUT', 'timed out waiting for a concurrency slot');
      const decision = await gate.tryAcquire(spec.name);
      if (!decision.ok) return { deferred: decision.retryAt };
      const res = await request({
        url,
        headers,
        timeouts: { connectMs: options.connectTimeoutMs, totalMs: deadline - Date.now() },
        maxBytes: options.maxResponseBytes,
        signal,
      }).catch((error: unknown) => {
        if (error instanceof UpstreamHttpError) return transportOutcome(error);
        throw error;
      });
      return 'text' in res ? interpret(res, ioc) : res;
    });

  const run = async (ioc: ParsedIoc, apiKey: string, signal: AbortSignal): Promise<Outcome> => {
    const deadline = Date.now() + options.timeoutMs;
    const call = spec.request(ioc, apiKey);
    const url = new URL(call.path, withTrailingSlash(options.baseUrl));
    for (const [key, value] of Object.entries(call.query ?? {})) url.searchParams.set(key, value);
    let last: Outcome | undefined;
    const once = async (): Promise<Outcome> => {
      try {
        const step = await attempt(ioc, url, call.headers, deadline, signal);
        if (!('deferred' in step)) return step;
        // The gate holds back a retry: report the failure that needed it, and when to ask again.
        if (last === undefined)
          return skipped('QUOTA_DEFERRED', 'held back by the request budget', step.deferred);
        return { ...last, retryAt: step.deferred };
      } catch (error) {
        if (error instanceof Retryable) last = error.outcome;
        throw error;
      }
    };
    const policy = {
      retries: options.maxRetries,
      baseDelayMs: baseDelay,
      jitterMs: RETRY_JITTER_MS,
      deadline,
      signal,
    };
    return withRetries(once, (error) => error instanceof Retryable, policy).catch((error: unknown) => {
      if (error instanceof Retryable) return error.outcome;
      if (error instanceof UpstreamHttpError && error.kind === 'ABORTED') return aborted();
      throw error;
    });
  };

  return {
    name: spec.name,
    supports: (type) => spec.supportedTypes.has(type),
    async lookup(ioc, signal) {
      const started = performance.now();
      const fetchedAt = new Date();
      let result: Outcome;
      if (!options.apiKey) result = skipped('NOT_CONFIGURED', `no ${spec.name} API key configured`);
      else if (!spec.supportedTypes.has(ioc.type))
        result = skipped('UNSUPPORTED', `${spec.name} does not look up ${ioc.type}`);
      else if (!ioc.routable)
        result = skipped('NOT_ROUTABLE', `not sent upstream: ${ioc.nonRoutableReason ?? 'not routable'}`);
      else result = await run(ioc, options.apiKey, signal);
      return { source: spec.name, ...result, durationMs: Math.round(performance.now() - started), fetchedAt };
    },
  };
}

function shapeProblem(error: unknown): string {
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    return `response does not have the documented shape (${issue?.path.join('.') || 'root'}: ${issue?.message ?? 'invalid'})`;
  }
  return `response could not be read: ${error instanceof Error ? error.message : String(error)}`;
}
