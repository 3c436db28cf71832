import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';

/** Durations kept per operation name and interval; below it the quantiles are exact. */
const RESERVOIR = 1_024;
/** Operation names summarised one by one per interval; the rest are counted as "(other)". */
const MAX_NAMES = 100;
export const OTHER_OPERATIONS = '(other)';

export interface OperationRecord {
  /** Bounded label (Metrics.operationLabel). */
  operation: string;
  type: string;
  durationMs: number;
  errorCodes: readonly string[] | undefined;
  /** The request's logger, made only when a line is written. */
  log: () => Logger;
}

export interface OperationSummary {
  operation: string;
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

class Durations {
  count = 0;
  errors = 0;
  max = 0;
  private readonly kept = new Float64Array(RESERVOIR);

  add(ms: number, failed: boolean): void {
    this.count += 1;
    if (failed) this.errors += 1;
    if (ms > this.max) this.max = ms;
    // Reservoir sampling: every duration of the interval is kept with the same chance.
    if (this.count <= RESERVOIR) this.kept[this.count - 1] = ms;
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < RESERVOIR) this.kept[slot] = ms;
    }
  }

  summary(operation: string): OperationSummary {
    const sorted = this.kept.slice(0, Math.min(this.count, RESERVOIR)).sort();
    // Nearest rank: the smallest duration with at least q of them at or below it.
    const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return {
      operation,
      count: this.count,
      errors: this.errors,
      p50Ms: round(at(0.5)),
      p95Ms: round(at(0.95)),
      maxMs: round(this.max),
    };
  }
}

/**
 * What is logged about GraphQL operations over HTTP. A line per operation costs more
 * than a small operation itself, so:
 * - every operation: a `debug` line (name, type, outcome, duration);
 * - at `info`, one `graphql operations` line per interval (LOG_SUMMARY_SECONDS) with
 *   count, errors and p50/p95/max milliseconds per operation name;
 * - whatever the interval, an operation that failed is logged at `info` with its error
 *   codes, and one that took LOG_SLOW_OPERATION_MS or longer at `warn`.
 */
export class OperationLog {
  private byName = new Map<string, Durations>();
  private since = Date.now();
  private readonly log: Logger;

  constructor(
    logger: Logger,
    private readonly opts: { slowMs: number; intervalMs: number },
  ) {
    this.log = logger.child({ component: 'http' });
  }

  record(r: OperationRecord): void {
    const failed = r.errorCodes !== undefined && r.errorCodes.length > 0;
    const slow = r.durationMs >= this.opts.slowMs;
    let durations = this.byName.get(r.operation);
    if (!durations) {
      const name = this.byName.size < MAX_NAMES ? r.operation : OTHER_OPERATIONS;
      durations = this.byName.get(name) ?? new Durations();
      this.byName.set(name, durations);
    }
    durations.add(r.durationMs, failed);
    const level = slow ? 'warn' : failed ? 'info' : 'debug';
    if (!this.log.isLevelEnabled(level)) return;
    r.log()[level](
      {
        operation: r.operation,
        type: r.type,
        outcome: failed ? 'error' : 'success',
        durationMs: Math.round(r.durationMs * 10) / 10,
        ...(failed ? { errorCodes: r.errorCodes } : {}),
      },
      slow ? 'slow graphql operation' : 'graphql operation',
    );
  }

  /** The interval's summary, logged at info and started afresh; none when nothing ran. */
  flush(): OperationSummary[] {
    const now = Date.now();
    const operations = [...this.byName]
      .map(([name, d]) => d.summary(name))
      .sort((a, b) => b.count - a.count || a.operation.localeCompare(b.operation));
    const seconds = Math.round((now - this.since) / 100) / 10;
    this.byName = new Map();
    this.since = now;
    if (operations.length > 0) this.log.info({ intervalSeconds: seconds, operations }, 'graphql operations');
    return operations;
  }

  /** Writes the summary every interval and once more when the instance stops. */
  worker(): Worker {
    return {
      id: 'graphql-operation-summary',
      intervalMs: this.opts.intervalMs,
      enabled: true,
      run: () => Promise.resolve(void this.flush()),
      stop: () => Promise.resolve(void this.flush()),
    };
  }
}
