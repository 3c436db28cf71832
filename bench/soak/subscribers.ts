import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, type Counters } from './client.js';
import { eventShapes } from './events.js';

/** One event shape the load cycles through, with what a subscription filter sees of it. */
export interface PoolEvent {
  input: Record<string, unknown>;
  country: string | null;
  severity: number;
}

export interface Filter {
  countries?: string[];
  minSeverity?: number;
}

/** `size` distinct event shapes, located by the server's own `geoip` query. */
export async function eventPool(counters: Counters, url: string, key: string, size: number) {
  const inputs = eventShapes(size);
  const pool: PoolEvent[] = [];
  for (let i = 0; i < inputs.length; i += 1000) {
    const chunk = inputs.slice(i, i + 1000);
    const r = await gql(
      counters,
      url,
      key,
      'setup',
      'query Locate($ips: [String!]!) { geoip(ips: $ips) { geo { countryCode } } }',
      { ips: chunk.map((e) => e.sourceIp) },
      false,
    );
    const rows = (r.data?.geoip ?? []) as { geo: { countryCode: string | null } | null }[];
    if (rows.length !== chunk.length) throw new Error(`geoip failed: ${r.codes.join(', ')}`);
    chunk.forEach((input, j) =>
      pool.push({ input, country: rows[j]!.geo?.countryCode ?? null, severity: Number(input.severity) }),
    );
  }
  return pool;
}

/**
 * `unfiltered` subscribers see every event; the others each watch one country (ranked
 * below the three most common of the pool, so each sees a few events a second) at
 * severity 8 or more — their filters are real work for the server, their deliveries cheap.
 */
export function subscriberFilters(pool: readonly PoolEvent[], total: number, unfiltered: number): Filter[] {
  const freq = new Map<string, number>();
  for (const p of pool) if (p.country) freq.set(p.country, (freq.get(p.country) ?? 0) + 1);
  const ranked = [...freq.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c);
  const watched = ranked.slice(3, 43);
  return Array.from({ length: total }, (_, i) =>
    i < unfiltered ? {} : { countries: [watched[i % watched.length]!], minSeverity: 8 },
  );
}

const matches = (f: Filter, e: { country: string | null; severity: number }) =>
  (!f.countries || (e.country !== null && f.countries.includes(e.country))) &&
  (f.minSeverity === undefined || e.severity >= f.minSeverity);

/**
 * Per event sequence number: when it was sent, whether its ingest was acknowledged, and
 * how many subscribers received it, against how many filters it matched.
 */
export class Deliveries {
  readonly sentAt: Float64Array;
  readonly acked: Uint8Array;
  readonly received: Uint16Array;
  private readonly expectedByPool: Uint16Array;
  /** Deliveries a subscriber's filter should have excluded. */
  wrongFilter = 0;
  /** Deliveries of a sequence number beyond the tracked range or unparsable. */
  untracked = 0;
  /** First delivery (ms on the soak clock) of an event sent at or after `watchFrom`. */
  firstAfter: number | undefined;
  watchFrom = Number.POSITIVE_INFINITY;

  constructor(
    readonly pool: readonly PoolEvent[],
    readonly filters: readonly Filter[],
    capacity: number,
    private readonly counters: Counters,
  ) {
    this.sentAt = new Float64Array(capacity).fill(-1);
    this.acked = new Uint8Array(capacity);
    this.received = new Uint16Array(capacity);
    this.expectedByPool = Uint16Array.from(pool, (p) => filters.filter((f) => matches(f, p)).length);
  }

  expected(seq: number): number {
    return this.expectedByPool[seq % this.pool.length]!;
  }

  receive(seq: number, f: Filter, e: { country: string | null; severity: number }): void {
    this.counters.deliveries += 1;
    if (!(seq >= 0 && seq < this.received.length)) {
      this.untracked += 1;
      return;
    }
    this.received[seq]! += 1;
    const sentAt = this.sentAt[seq]!;
    if (sentAt >= 0) this.counters.lags.push(this.counters.now() - sentAt);
    if (!matches(f, e)) this.wrongFilter += 1;
    if (this.firstAfter === undefined && this.sentAt[seq]! >= this.watchFrom)
      this.firstAfter = this.counters.now();
  }
}

const codeOf = (v: unknown, otherwise: string) =>
  typeof v === 'string' || typeof v === 'number' ? String(v) : otherwise;

const SUBSCRIPTION = `subscription Watch($countries: [String!], $minSeverity: Int) {
  threatDetected(countries: $countries, minSeverity: $minSeverity) { externalId severity geo { countryCode } }
}`;

/** graphql-ws subscribers (reconnecting as a dashboard would), spread over `keys`. */
export function startSubscribers(opts: {
  wsUrl: string;
  keys: readonly string[];
  deliveries: Deliveries;
  counters: Counters;
}) {
  const { deliveries } = opts;
  const closes = new Map<number, number>();
  const sinkErrors = new Map<string, number>();
  let reconnects = 0;
  let disposing = false;
  const clients: Client[] = deliveries.filters.map((filter, i) => {
    const client = createClient({
      url: opts.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { apiKey: opts.keys[i % opts.keys.length] },
      lazy: false,
      retryAttempts: 1_000_000,
      shouldRetry: () => true,
      onNonLazyError: () => undefined, // a failed subscription's sink records the close
      retryWait: (n) =>
        new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** n) * (0.5 + Math.random()))),
      on: {
        connected: (_socket, _payload, wasRetry) => void (wasRetry && (reconnects += 1)),
        closed: (ev) => {
          if (disposing) return;
          const code = (ev as { code?: number }).code ?? 0;
          closes.set(code, (closes.get(code) ?? 0) + 1);
        },
      },
    });
    client.subscribe<{
      threatDetected: { externalId: string; severity: number; geo: { countryCode: string | null } | null };
    }>(
      { query: SUBSCRIPTION, variables: { ...filter } },
      {
        next: (msg) => {
          const e = msg.data?.threatDetected;
          if (!e) {
            const code = codeOf(msg.errors?.[0]?.extensions?.code, 'NO_DATA');
            sinkErrors.set(code, (sinkErrors.get(code) ?? 0) + 1);
            return;
          }
          const seq = Number(e.externalId.slice(e.externalId.lastIndexOf('-') + 1));
          deliveries.receive(seq, filter, { country: e.geo?.countryCode ?? null, severity: e.severity });
        },
        error: (err) => {
          if (disposing) return;
          // GraphQL errors refusing the subscription arrive as an array; a close as a CloseEvent.
          const first = Array.isArray(err) ? (err[0] as { extensions?: { code?: unknown } }) : undefined;
          const code = first
            ? codeOf(first.extensions?.code, 'NO_CODE')
            : `close ${codeOf((err as { code?: unknown }).code, (err as Error).message)}`;
          sinkErrors.set(code, (sinkErrors.get(code) ?? 0) + 1);
        },
        complete: () => undefined,
      },
    );
    return client;
  });
  return {
    closes,
    sinkErrors,
    reconnects: () => reconnects,
    async dispose(): Promise<void> {
      disposing = true;
      await Promise.all(clients.map(async (c) => c.dispose()));
    },
  };
}
