/**
 * The lookup flow shared by every HTTP source: skip rules, rate gate, concurrency cap,
 * bounded retries with backoff, and the mapping from HTTP outcomes to statuses. A
 * source file only describes its vendor (SourceSpec); this keeps the behaviour the
 * contract suite checks in one place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { ZodError } from 'zod';
import type { IocType, ParsedIoc, ThreatCategory } from '../ioc-types.js';
import { boundedGet, type BoundedGetOutcome } from './bounded-get.js';
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
type Step = { final: Outcome } | { retry: Outcome };

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

/** Paths are relative so a base URL with a prefix (a self-hosted proxy) keeps it. */
const withTrailingSlash = (base: string): string => (base.endsWith('/') ? base : `${base}/`);

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
};

export function createHttpSource(
  spec: SourceSpec,
  options: SourceAdapterOptions,
  gate: RateGate,
): SourceAdapter {
  const limit = pLimit(Math.max(1, options.concurrency));
  const baseDelay = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;

  const interpret = async (outcome: BoundedGetOutcome, ioc: ParsedIoc): Promise<Step> => {
    if (outcome.kind === 'failure') {
      const result = failed(outcome.errorKind, outcome.message);
      return outcome.retryable ? { retry: result } : { final: result };
    }
    const { status } = outcome;
    const json = parseJson(outcome.body);
    const vendorText = json.ok ? spec.errorMessage(json.value) : undefined;
    const describe = (what: string): string => (vendorText ? `${what}: ${vendorText}` : what);
    if (status >= 200 && status < 300) {
      if (!json.ok) return { final: failed('MALFORMED', 'response is not valid JSON') };
      try {
        return { final: { status: 'OK', ...spec.normalise(json.value, ioc), raw: json.value } };
      } catch (error) {
        return { final: failed('MALFORMED', shapeProblem(error), { raw: json.value }) };
      }
    }
    const raw = json.ok ? { raw: json.value } : {};
    if (status === 404) {
      const verdict = json.ok ? spec.notFound?.(json.value) : undefined;
      return {
        final: verdict ? { status: 'OK', ...verdict, ...raw } : failed('UPSTREAM', describe('HTTP 404'), raw),
      };
    }
    if (status === 401 || status === 403)
      return { final: failed('AUTH', describe(`HTTP ${status}, API key rejected`), raw) };
    if (status === 429) {
      const retryAt = retryAtFrom(outcome.headers, new Date());
      await gate.markExhausted(spec.name, retryAt);
      return {
        final: failed('RATE_LIMITED', describe(`HTTP 429, quota exhausted until ${retryAt.toISOString()}`), {
          retryAt,
          ...raw,
        }),
      };
    }
    if (status >= 300 && status < 400) {
      return {
        final: failed(
          'UPSTREAM',
          `HTTP ${status} redirect to ${String(outcome.headers.location)} not followed`,
        ),
      };
    }
    const result = failed('UPSTREAM', describe(`HTTP ${status}`), raw);
    return status >= 500 ? { retry: result } : { final: result };
  };

  const attempt = (
    ioc: ParsedIoc,
    url: URL,
    headers: Record<string, string>,
    deadline: number,
    signal: AbortSignal,
  ) =>
    limit(async (): Promise<Step | { deferred: Date }> => {
      // Quota is taken only once a slot is ours, so time spent queueing never wastes it.
      if (Date.now() >= deadline)
        return { final: failed('TIMEOUT', 'timed out waiting for a concurrency slot') };
      const decision = await gate.tryAcquire(spec.name);
      if (!decision.ok) return { deferred: decision.retryAt };
      const outcome = await boundedGet(url, {
        headers,
        connectTimeoutMs: options.connectTimeoutMs,
        totalTimeoutMs: deadline - Date.now(),
        maxBytes: options.maxResponseBytes,
        signal,
      });
      return interpret(outcome, ioc);
    });

  const run = async (ioc: ParsedIoc, apiKey: string, signal: AbortSignal): Promise<Outcome> => {
    const deadline = Date.now() + options.timeoutMs;
    const request = spec.request(ioc, apiKey);
    const url = new URL(request.path, withTrailingSlash(options.baseUrl));
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
    let last: Outcome | undefined;
    for (let n = 0; ; n++) {
      const step = await attempt(ioc, url, request.headers, deadline, signal);
      if ('deferred' in step) {
        if (last === undefined)
          return skipped('QUOTA_DEFERRED', 'held back by the request budget', step.deferred);
        return { ...last, retryAt: step.deferred };
      }
      if ('final' in step) return step.final;
      last = step.retry;
      const delay = baseDelay * 2 ** n + Math.random() * RETRY_JITTER_MS;
      if (n >= options.maxRetries || Date.now() + delay >= deadline) return last;
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return failed('TIMEOUT', 'lookup aborted by the caller');
      }
    }
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
