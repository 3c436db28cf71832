/**
 * Typed client for a CrowdSec Local API (1.4–1.7): bouncer calls with
 * `X-Api-Key`, watcher calls with a JWT obtained lazily and renewed before expiry or
 * after a 401 (tokens die when the LAPI restarts with a new secret). Every call is
 * bounded: a timeout, a response-size cap, and retries only where repeating is safe.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Method } from 'got';
import { z } from 'zod';
import {
  InvalidJsonError,
  jsonOrUndefined,
  parseJson,
  request,
  retryAfterMs,
  USER_AGENT,
  UpstreamHttpError,
  withRetries,
} from '../platform/http-client.js';
import type { Logger } from '../platform/logger.js';
import type { DecisionBatch } from './decision-stream-parser.js';
import {
  filterParams,
  httpFailureKind,
  LAPI_BACKOFF,
  lapiRetryVerdict,
  messageOf,
  type StreamFilters,
} from './lapi-http.js';
import { streamSnapshot, type SnapshotTotals } from './lapi-snapshot.js';
import {
  alertSchema,
  alertsSchema,
  alertsSearchParams,
  decisionsStreamSchema,
  deleteDecisionSchema,
  LapiError,
  loginSchema,
  postAlertsSchema,
  type Alert,
  type AlertsQuery,
  type DecisionsStream,
  type LapiErrorKind,
  type NewAlert,
} from './lapi-types.js';

export interface LapiClientOptions {
  baseUrl: string;
  bouncerKey?: string;
  machineId?: string;
  machinePassword?: string;
  /** Must look like `name/version`: LAPI 1.4 refuses a watcher login otherwise. Default `threatwire/<version>`. */
  userAgent?: string;
  timeoutMs: number;
  logger: Logger;
  /** Buffered calls, default 64 MiB: a 100,000-decision snapshot read whole is about 15 MiB. */
  maxResponseBytes?: number;
  /**
   * The streamed snapshot (decisionsSnapshot), default 512 MiB (about 3.5 million
   * decisions). Memory does not grow with it; it only stops a runaway server.
   */
  maxSnapshotBytes?: number;
  /** Extra attempts for safe calls after a network error, timeout, 5xx or 429. Default 2. */
  retries?: number;
}

type Auth = 'none' | 'bouncer' | 'watcher';
interface Call<S extends z.ZodType> {
  method: Method;
  path: string;
  auth: Auth;
  schema: S;
  searchParams?: Record<string, string>;
  json?: unknown;
  /** Whether a lost response may be asked for again without losing or repeating anything. */
  retryable: boolean;
}

/** Renew this long before `expire`, so that a token never dies mid-request. */
const RENEW_MARGIN_MS = 60_000;
export class LapiClient {
  private readonly baseUrl: string;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly maxSnapshotBytes: number;
  private readonly retries: number;
  private readonly userAgent: string;
  private token: { value: string; renewAt: number } | undefined;
  private loginInFlight: Promise<{ token: string; expire: Date }> | undefined;

  constructor(private readonly opts: LapiClientOptions) {
    this.userAgent = opts.userAgent ?? USER_AGENT;
    if (!/^[\w.-]+\/\S+$/.test(this.userAgent)) {
      throw new TypeError(`userAgent must look like name/version, got ${JSON.stringify(this.userAgent)}`);
    }
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.log = opts.logger.child({ component: 'crowdsec-lapi', lapi: this.baseUrl });
    this.maxBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
    this.maxSnapshotBytes = opts.maxSnapshotBytes ?? 512 * 1024 * 1024;
    this.retries = opts.retries ?? 2;
  }

  /**
   * Bouncer stream, read whole. `startup: true` returns the full snapshot (plus
   * recently expired decisions under `deleted`); later calls return what changed
   * since this key's last pull. A delta is never retried: the LAPI records the pull
   * before we see the answer, so a repeated request could silently skip decisions —
   * after a failure, resynchronise with a snapshot instead. Deletions may be reported
   * more than once. Large snapshots should use decisionsSnapshot.
   */
  async decisionsStream(params: StreamFilters & { startup: boolean }): Promise<DecisionsStream> {
    return this.call({
      method: 'GET',
      path: '/v1/decisions/stream',
      auth: 'bouncer',
      schema: decisionsStreamSchema,
      searchParams: { ...(params.startup ? { startup: 'true' } : {}), ...filterParams(params) },
      retryable: params.startup,
    });
  }

  /**
   * The startup snapshot, streamed: validated decisions in batches of up to
   * `batchSize`, one list per batch, in body order; returns the totals. Memory stays
   * bounded by the batch whatever the snapshot size (see lapi-snapshot.ts).
   */
  decisionsSnapshot(
    filters: StreamFilters = {},
    batchSize = 1000,
  ): AsyncGenerator<DecisionBatch, SnapshotTotals> {
    const call: Call<z.ZodUnknown> = {
      method: 'GET',
      path: '/v1/decisions/stream',
      auth: 'bouncer',
      schema: z.unknown(),
      retryable: true,
    };
    if (!this.opts.bouncerKey) throw new LapiError('NOT_CONFIGURED', 'bouncer API key is not configured');
    return streamSnapshot({
      url: `${this.baseUrl}${call.path}`,
      headers: { 'x-api-key': this.opts.bouncerKey, 'user-agent': this.userAgent },
      searchParams: { startup: 'true', ...filterParams(filters) },
      timeoutMs: this.opts.timeoutMs,
      maxBytes: this.maxSnapshotBytes,
      batchSize,
      retries: this.retries,
      log: this.log,
      httpFailure: (status, text, headers) => this.httpFailure(call, status, text, headers),
      transportFailure: (err) => this.transportFailure(call, err, this.maxSnapshotBytes),
    });
  }

  /** Watcher alert search, newest first. */
  async alerts(query: AlertsQuery = {}): Promise<Alert[]> {
    const searchParams = alertsSearchParams(query);
    return this.call({
      method: 'GET',
      path: '/v1/alerts',
      auth: 'watcher',
      schema: alertsSchema,
      searchParams,
      retryable: true,
    });
  }

  /** One alert by its LAPI id (watcher), or undefined when the LAPI does not know it. */
  async alert(id: number | string): Promise<Alert | undefined> {
    const text = String(id);
    if (!/^\d+$/.test(text)) throw new LapiError('BAD_REQUEST', `alert id is not an integer: ${text}`);
    try {
      return await this.call({
        method: 'GET',
        path: `/v1/alerts/${text}`,
        auth: 'watcher',
        schema: alertSchema,
        retryable: true,
      });
    } catch (err) {
      if (err instanceof LapiError && err.kind === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** Returns the new alert ids. Not retried: a lost answer would otherwise duplicate alerts. */
  async postAlerts(alerts: NewAlert[]): Promise<string[]> {
    return this.call({
      method: 'POST',
      path: '/v1/alerts',
      auth: 'watcher',
      schema: postAlertsSchema,
      json: alerts,
      retryable: false,
    });
  }

  /** Returns how many decisions were deleted: 0 when the LAPI does not know the id. */
  async deleteDecision(id: number | string): Promise<number> {
    const text = String(id);
    if (!/^\d+$/.test(text)) throw new LapiError('BAD_REQUEST', `decision id is not an integer: ${text}`);
    try {
      return await this.call({
        method: 'DELETE',
        path: `/v1/decisions/${text}`,
        auth: 'watcher',
        schema: deleteDecisionSchema,
        retryable: false,
      });
    } catch (err) {
      if (err instanceof LapiError && err.kind === 'NOT_FOUND') return 0;
      throw err;
    }
  }

  /** Answers when the LAPI is up (`GET /health`, no credentials). */
  async ping(): Promise<void> {
    await this.call({ method: 'GET', path: '/health', auth: 'none', schema: z.unknown(), retryable: false });
  }

  /** Logs in now; concurrent callers share one request. Normally called lazily. */
  login(): Promise<{ token: string; expire: Date }> {
    this.loginInFlight ??= this.doLogin().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async doLogin(): Promise<{ token: string; expire: Date }> {
    const { machineId, machinePassword } = this.opts;
    if (!machineId || !machinePassword) {
      throw new LapiError('NOT_CONFIGURED', 'machine credentials (id, password) are not configured');
    }
    const started = Date.now();
    const res = await this.call({
      method: 'POST',
      path: '/v1/watchers/login',
      auth: 'none',
      schema: loginSchema,
      json: { machine_id: machineId, password: machinePassword, scenarios: [] },
      retryable: true, // logging in twice is harmless
    });
    const expireMs = Date.parse(res.expire);
    // Without a usable expiry, assume the LAPI default of one hour.
    const expire = new Date(Number.isNaN(expireMs) ? started + 3_600_000 : expireMs);
    const lifetime = expire.getTime() - started;
    this.token = { value: res.token, renewAt: expire.getTime() - Math.min(RENEW_MARGIN_MS, lifetime / 2) };
    this.log.debug({ machineId, expire }, 'logged in to the LAPI');
    return { token: res.token, expire };
  }

  private async jwt(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    return (await this.login()).token;
  }

  private async call<S extends z.ZodType>(call: Call<S>): Promise<z.output<S>> {
    const headers: Record<string, string> = {};
    if (call.auth === 'bouncer') {
      if (!this.opts.bouncerKey) throw new LapiError('NOT_CONFIGURED', 'bouncer API key is not configured');
      headers['x-api-key'] = this.opts.bouncerKey;
    }
    if (call.auth !== 'watcher') return this.exchange(call, headers);

    const first = await this.jwt();
    try {
      return await this.exchange(call, { ...headers, authorization: `Bearer ${first}` });
    } catch (err) {
      if (!(err instanceof LapiError && err.kind === 'UNAUTHORIZED')) throw err;
      // The token died (LAPI restarted with a new secret, or expired early): log in
      // once more, unless a concurrent caller already replaced it.
      if (this.token?.value === first) this.token = undefined;
      this.log.info('LAPI rejected the JWT; logging in again');
      const second = await this.jwt();
      return this.exchange(call, { ...headers, authorization: `Bearer ${second}` });
    }
  }

  /** One logical request: retried (bounded, with backoff) only when `retryable`. */
  private async exchange<S extends z.ZodType>(
    call: Call<S>,
    headers: Record<string, string>,
  ): Promise<z.output<S>> {
    const once = async (): Promise<z.output<S>> => {
      const parsed = call.schema.safeParse(await this.send(call, headers));
      if (!parsed.success) {
        throw this.error(call, 'BAD_RESPONSE', `unexpected shape: ${parsed.error.message.slice(0, 300)}`);
      }
      return parsed.data;
    };
    return withRetries(
      once,
      (err) => call.retryable && lapiRetryVerdict(err),
      { ...LAPI_BACKOFF, retries: this.retries },
      ({ error, attempt, delayMs }) =>
        this.log.warn(
          { path: call.path, kind: (error as LapiError).kind, attempt, delay: delayMs },
          'LAPI request failed; retrying',
        ),
    );
  }

  /** Sends once; resolves with the parsed JSON of a 2xx, throws a LapiError otherwise. */
  private async send(call: Call<z.ZodType>, headers: Record<string, string>): Promise<unknown> {
    const res = await request({
      url: `${this.baseUrl}${call.path}`,
      method: call.method,
      headers: { ...headers, 'user-agent': this.userAgent, accept: 'application/json' },
      ...(call.searchParams ? { searchParams: call.searchParams } : {}),
      ...(call.json !== undefined ? { json: call.json } : {}),
      timeouts: { totalMs: this.opts.timeoutMs },
      maxBytes: this.maxBytes,
    }).catch((err: unknown) => {
      throw this.transportFailure(call, err, this.maxBytes);
    });
    const { status, text } = res;
    if (status < 200 || status >= 300) throw this.httpFailure(call, status, text, res.headers);
    if (text === '') return null;
    try {
      return parseJson(text);
    } catch (err) {
      if (!(err instanceof InvalidJsonError)) throw err;
      throw this.error(call, 'BAD_RESPONSE', `response is not JSON (HTTP ${status})`, status);
    }
  }

  /** A failure of the client's own (refused, timed out, too large) as a typed error. */
  private transportFailure(call: Call<z.ZodType>, err: unknown, maxBytes: number): unknown {
    if (!(err instanceof UpstreamHttpError)) return err;
    switch (err.kind) {
      case 'TOO_LARGE':
        return this.error(call, 'RESPONSE_TOO_LARGE', `response exceeds ${maxBytes} bytes`);
      case 'TIMEOUT':
        return this.error(call, 'TIMEOUT', `no answer within ${this.opts.timeoutMs} ms`);
      case 'UNREACHABLE':
      case 'ABORTED':
        return this.error(
          call,
          'UNREACHABLE',
          `cannot reach ${this.baseUrl} (${err.details.code ?? err.message})`,
        );
    }
  }

  /** A non-2xx answer as a typed error, with the LAPI's message when the body has one. */
  private httpFailure(
    call: Call<z.ZodType>,
    status: number,
    text: string,
    headers: IncomingHttpHeaders,
  ): LapiError {
    const lapiMessage = messageOf(jsonOrUndefined(text)) ?? text.slice(0, 200);
    const retryAfter = retryAfterMs(headers);
    const extra = retryAfter === undefined ? {} : { retryAfterMs: retryAfter };
    if (status === 401 || status === 403) {
      return this.error(call, 'UNAUTHORIZED', this.unauthorizedText(call), status, lapiMessage);
    }
    return this.error(
      call,
      httpFailureKind(status, lapiMessage),
      `HTTP ${status}: ${lapiMessage}`,
      status,
      lapiMessage,
      extra,
    );
  }

  private unauthorizedText(call: Call<z.ZodType>): string {
    if (call.auth === 'bouncer') return 'the LAPI rejected the bouncer API key';
    if (call.path === '/v1/watchers/login') {
      return `the LAPI rejected the login of machine "${this.opts.machineId ?? ''}": wrong machine id or password`;
    }
    return 'the LAPI rejected the watcher JWT even after a fresh login';
  }

  private error(
    call: Call<z.ZodType>,
    kind: LapiErrorKind,
    text: string,
    status?: number,
    lapiMessage?: string,
    extra: { retryAfterMs?: number } = {},
  ) {
    return new LapiError(kind, `${call.method} ${call.path}: ${text}`, {
      method: call.method,
      path: call.path,
      ...(status !== undefined ? { status } : {}),
      ...(lapiMessage !== undefined ? { lapiMessage } : {}),
      ...extra,
    });
  }
}
