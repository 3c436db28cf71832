/** HTTP side of the soak: GraphQL POSTs whose outcomes are counted by error code. */

export interface Failure {
  /** ms since the soak's clock started, when the request was sent. */
  sentAt: number;
  op: string;
  code: string;
}

const add = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/**
 * What clients saw: successes and failures by code, per sampling window and in total,
 * deliveries to subscribers, and every failure with its time (for the Redis restart).
 */
export class Counters {
  readonly t0 = performance.now();
  ok = 0;
  deliveries = 0;
  /** ms from sending an event's ingest request to each delivery of it, this window. */
  lags: number[] = [];
  readonly errors = new Map<string, number>();
  readonly totalErrors = new Map<string, number>();
  readonly failures: Failure[] = [];
  readonly latencies = new Map<string, number[]>();
  http5xx = 0;
  okTotal = 0;

  now(): number {
    return performance.now() - this.t0;
  }

  succeeded(op: string, ms: number): void {
    this.ok += 1;
    this.okTotal += 1;
    const l = this.latencies.get(op) ?? [];
    l.push(ms);
    this.latencies.set(op, l);
  }

  failed(op: string, sentAt: number, codes: readonly string[]): void {
    for (const code of new Set(codes)) {
      add(this.errors, code);
      add(this.totalErrors, code);
      if (this.failures.length < 200_000) this.failures.push({ sentAt, op, code });
    }
  }

  /** The window's counts, reset for the next window. */
  take(): { ok: number; errors: Map<string, number>; deliveries: number; lags: number[] } {
    const out = { ok: this.ok, errors: new Map(this.errors), deliveries: this.deliveries, lags: this.lags };
    this.ok = 0;
    this.deliveries = 0;
    this.lags = [];
    this.errors.clear();
    return out;
  }
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message?: string; extensions?: { code?: unknown } }[];
}

/**
 * POSTs one operation with `key`; failures (GraphQL errors, 5xx, network) are counted
 * under their `extensions.code` (or `HTTP_<status>` / `NETWORK_<cause>` without one) and
 * return undefined. `counted: false` is for probes whose errors are expected.
 */
export async function gql(
  counters: Counters,
  url: string,
  key: string,
  op: string,
  query: string,
  variables?: unknown,
  counted = true,
): Promise<{ data?: Record<string, unknown>; codes: string[]; status: number }> {
  const sentAt = counters.now();
  let status = 0;
  let codes: string[];
  let body: GraphQLBody | undefined;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(60_000),
    });
    status = res.status;
    const text = await res.text();
    try {
      body = JSON.parse(text) as GraphQLBody;
    } catch {
      body = undefined;
    }
    codes = (body?.errors ?? []).map((e) =>
      typeof e.extensions?.code === 'string' ? e.extensions.code : 'NO_CODE',
    );
    if (status >= 500) {
      if (counted) counters.http5xx += 1;
      if (codes.length === 0) codes = [`HTTP_${status}`];
    } else if (!body) codes = [`HTTP_${status}_NOT_JSON`];
  } catch (err) {
    const cause = (err as { cause?: { code?: string }; name?: string }).cause?.code;
    codes = [`NETWORK_${cause ?? (err as Error).name ?? 'ERROR'}`];
  }
  if (counted) {
    if (codes.length === 0) counters.succeeded(op, counters.now() - sentAt);
    else counters.failed(op, sentAt, codes);
  }
  return { data: body?.data ?? undefined, codes, status };
}
