/**
 * Outcome tracking for one poller: what health reports (last success, last error)
 * and how failures are paced. An outage is logged once, then when the error changes
 * and every 20th attempt, and retried with backoff capped at MAX_BACKOFF_MS so that a
 * LAPI coming back is noticed within a minute, not the runner's five.
 */
import type { Cache } from '../platform/cache.js';
import type { Logger } from '../platform/logger.js';

const MAX_BACKOFF_MS = 60_000;
const LOG_EVERY = 20;
/** Long enough to outlive any outage a dashboard cares about. */
const STATUS_TTL_S = 7 * 86_400;

export interface PollerStatus {
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  consecutiveFailures: number;
}

export const EMPTY_STATUS: PollerStatus = {
  lastSuccessAt: null,
  lastErrorAt: null,
  lastError: null,
  consecutiveFailures: 0,
};

/** Status lives in the shared cache, so any instance reports what the lock holder sees. */
export const statusKey = (lapiUrl: string, poller: string) => `crowdsec:status:${poller}:${lapiUrl}`;

export class PollTracker {
  private status: PollerStatus = { ...EMPTY_STATUS };
  private nextAttemptAt = 0;

  constructor(
    private readonly poller: string,
    private readonly lapiUrl: string,
    private readonly intervalMs: number,
    private readonly cache: Cache,
    private readonly log: Logger,
  ) {}

  /** False while backing off after failures. */
  due(now = Date.now()): boolean {
    return now >= this.nextAttemptAt;
  }

  async succeeded(): Promise<void> {
    if (this.status.consecutiveFailures > 0) {
      this.log.info({ failures: this.status.consecutiveFailures }, `${this.poller} poll recovered`);
    }
    this.nextAttemptAt = 0;
    this.status = { ...this.status, lastSuccessAt: new Date().toISOString(), consecutiveFailures: 0 };
    await this.save();
  }

  async failed(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const failures = this.status.consecutiveFailures + 1;
    const delay = Math.min(this.intervalMs * 2 ** (failures - 1), MAX_BACKOFF_MS);
    this.nextAttemptAt = Date.now() + delay;
    if (failures === 1 || message !== this.status.lastError || failures % LOG_EVERY === 0) {
      this.log.warn({ err: message, failures, retryInMs: delay }, `${this.poller} poll failed`);
    }
    this.status = {
      ...this.status,
      lastError: message,
      lastErrorAt: new Date().toISOString(),
      consecutiveFailures: failures,
    };
    await this.save();
  }

  local(): PollerStatus {
    return this.status;
  }

  private save(): Promise<void> {
    return this.cache.set(statusKey(this.lapiUrl, this.poller), this.status, STATUS_TTL_S);
  }
}
