import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

type OperationLabels = Record<'operation' | 'type' | 'outcome' | 'transport', string>;

/** Distinct operation names kept as labels; later ones are counted as `other`. */
const MAX_OPERATION_NAMES = 200;

/** Prometheus metrics for one process, exposed at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'type' | 'outcome' | 'transport'>;
  readonly duration: Histogram<'operation' | 'type' | 'outcome' | 'transport'>;
  readonly wsConnections: Gauge;
  readonly wsSubscriptions: Gauge;
  readonly eventsDropped: Counter<'topic'>;
  readonly rejected: Counter<'reason'>;
  readonly authChecks: Counter<'outcome'>;
  private readonly operationNames = new Set<string>();
  /** Label children by their joined values: no label hashing per request. */
  private readonly operationSeries = new Map<
    string,
    { count: Counter.Internal; duration: Histogram.Internal<string> }
  >();

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'threatwire_',
      eventLoopMonitoringPrecision: 20,
    });
    this.requests = new Counter({
      name: 'threatwire_graphql_requests_total',
      help: 'GraphQL operations by operation name, type, outcome and transport',
      labelNames: ['operation', 'type', 'outcome', 'transport'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'threatwire_graphql_request_duration_seconds',
      help: 'GraphQL operation duration',
      labelNames: ['operation', 'type', 'outcome', 'transport'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.wsConnections = new Gauge({
      name: 'threatwire_ws_connections',
      help: 'Open graphql-ws connections',
      registers: [this.registry],
    });
    this.wsSubscriptions = new Gauge({
      name: 'threatwire_ws_subscriptions',
      help: 'Active subscriptions over graphql-ws',
      registers: [this.registry],
    });
    this.eventsDropped = new Counter({
      name: 'threatwire_events_dropped_total',
      help: 'Events dropped because a subscriber fell too far behind',
      labelNames: ['topic'],
      registers: [this.registry],
    });
    this.rejected = new Counter({
      name: 'threatwire_requests_rejected_total',
      help: 'Requests refused before execution (auth, rate limit, limits, origin)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.authChecks = new Counter({
      name: 'threatwire_auth_checks_total',
      help: 'API key checks not answered from the fresh cache, by outcome: ok (looked up), stale (last good check served while the database is unreachable), invalid, revoked, rate_limited (address over its failure budget), unavailable',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
  }

  /** Operation names come from clients: bound the label's text (see also `observeOperation`). */
  static operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'invalid';
  }

  /**
   * Counts one operation and, when given, its duration. At most MAX_OPERATION_NAMES
   * distinct operation names become series (clients choose them); the rest are `other`.
   */
  observeOperation(labels: OperationLabels, seconds?: number): void {
    let operation = labels.operation;
    if (!this.operationNames.has(operation)) {
      if (this.operationNames.size >= MAX_OPERATION_NAMES) operation = 'other';
      else this.operationNames.add(operation);
    }
    const key = `${operation}\u0000${labels.type}\u0000${labels.outcome}\u0000${labels.transport}`;
    let series = this.operationSeries.get(key);
    if (!series) {
      const values = { ...labels, operation };
      series = { count: this.requests.labels(values), duration: this.duration.labels(values) };
      this.operationSeries.set(key, series);
    }
    series.count.inc();
    if (seconds !== undefined) series.duration.observe(seconds);
  }
}
