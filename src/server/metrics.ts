import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';

export type OperationLabels = Record<'operation' | 'type' | 'outcome' | 'transport', string>;

/** Distinct operation names kept as labels; later ones are counted as `other`. */
const MAX_OPERATION_NAMES = 200;
const REQUESTS = 'threatwire_graphql_requests_total';
const DURATION = 'threatwire_graphql_request_duration_seconds';
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * One operation series (operation, type, outcome, transport): its request count and its
 * duration histogram as plain numbers, turned into Prometheus text only when scraped.
 * prom-client's own counters hash their labels on every call, even through a label child,
 * which cost more than anything else the smallest request does for its metrics.
 */
export class OperationSeries {
  count = 0;
  /** Durations observed (a count without a duration, as WebSocket acceptances, adds none). */
  observed = 0;
  sum = 0;
  /** Per bucket, not cumulative; the last slot counts durations above the largest bound. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);

  constructor(readonly labels: Readonly<OperationLabels>) {}

  /** Counts one operation and, when given, its duration in seconds. */
  record(seconds?: number): void {
    this.count += 1;
    if (seconds === undefined) return;
    this.observed += 1;
    this.sum += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]! += 1;
  }
}

/** A prom-client metric read from the series at scrape time (the registry calls `get`). */
function seriesMetric(
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  series: () => Iterable<OperationSeries>,
): Metric {
  const values = () => {
    const out: { labels: Record<string, string | number>; value: number; metricName?: string }[] = [];
    for (const s of series()) {
      if (type === 'counter') {
        out.push({ labels: s.labels, value: s.count });
        continue;
      }
      if (s.observed === 0) continue;
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        out.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` });
      });
      out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.observed, metricName: `${name}_bucket` });
      out.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
      out.push({ labels: s.labels, value: s.observed, metricName: `${name}_count` });
    }
    return out;
  };
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  } as unknown as Metric;
}

/** Prometheus metrics for one process, exposed at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly wsConnections: Gauge;
  readonly wsSubscriptions: Gauge;
  readonly eventsDropped: Counter<'topic'>;
  readonly subscriptionExecutions: Counter<'field' | 'phase'>;
  /** Subscription groups running (set by the graphql-ws server). */
  subscriptionGroups: () => number = () => 0;
  readonly rejected: Counter<'reason'>;
  readonly authChecks: Counter<'outcome'>;
  private readonly operationNames = new Set<string>();
  /** Series by their joined label values. */
  private readonly operationSeries = new Map<string, OperationSeries>();

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'threatwire_',
      eventLoopMonitoringPrecision: 20,
    });
    const series = () => this.operationSeries.values();
    this.registry.registerMetric(
      seriesMetric(
        REQUESTS,
        'GraphQL operations by operation name, type, outcome and transport',
        'counter',
        series,
      ),
    );
    this.registry.registerMetric(seriesMetric(DURATION, 'GraphQL operation duration', 'histogram', series));
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
    this.subscriptionExecutions = new Counter({
      name: 'threatwire_subscription_executions_total',
      help: 'Subscription executions by root field and phase: live (one per event per group) or replay (one per replayed event per resumed subscription)',
      labelNames: ['field', 'phase'],
      registers: [this.registry],
    });
    const groups = () => this.subscriptionGroups();
    new Gauge({
      name: 'threatwire_ws_subscription_groups',
      help: 'Subscription groups running (each executes an event once for all its subscriptions)',
      registers: [this.registry],
      collect() {
        this.set(groups());
      },
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
   * The series of one operation. At most MAX_OPERATION_NAMES distinct operation names
   * become series (clients choose them); the rest are `other`. Callers that see the same
   * operation again may keep the series and `record` on it directly.
   */
  series(labels: OperationLabels): OperationSeries {
    let operation = labels.operation;
    if (!this.operationNames.has(operation)) {
      if (this.operationNames.size >= MAX_OPERATION_NAMES) operation = 'other';
      else this.operationNames.add(operation);
    }
    const key = `${operation}\u0000${labels.type}\u0000${labels.outcome}\u0000${labels.transport}`;
    let series = this.operationSeries.get(key);
    if (!series) {
      series = new OperationSeries({
        operation,
        type: labels.type,
        outcome: labels.outcome,
        transport: labels.transport,
      });
      this.operationSeries.set(key, series);
    }
    return series;
  }

  /** Counts one operation and, when given, its duration (see `series`). */
  observeOperation(labels: OperationLabels, seconds?: number): void {
    this.series(labels).record(seconds);
  }
}
