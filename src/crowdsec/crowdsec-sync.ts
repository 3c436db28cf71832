/**
 * Runs the two pollers as declared workers (singletons through their locks), paces
 * failures, records their status for health, and serves `syncCrowdsec`. A manual
 * sync must run on the instance that holds the locks: a bouncer-stream call from any
 * other instance would move the shared stream position and make the holder miss
 * decisions. So a non-holder forwards the request over the event bus and waits.
 */
import { randomUUID } from 'node:crypto';
import { AppError, upstreamUnavailable } from '../platform/errors.js';
import { classifyFailure } from '../platform/failure-classifier.js';
import type { Cache } from '../platform/cache.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { Worker, WorkerLock } from '../platform/worker-runner.js';
import type { AlertsPoller } from './alerts-poller.js';
import type { DecisionsPoller } from './decisions-poller.js';
import { LapiError } from './lapi-types.js';
import { EMPTY_STATUS, PollTracker, statusKey, type PollerStatus } from './poll-status.js';

export interface SyncResult {
  decisionsAdded: number;
  decisionsDeleted: number;
  alertsAdded: number;
  snapshot: boolean;
  durationMs: number;
}

export interface CrowdsecHealthReport {
  configured: boolean;
  lapiUrl: string | null;
  status: 'UP' | 'DOWN' | 'DISABLED';
  decisions: PollerHealth;
  alerts: PollerHealth;
  /** Seconds since the older of the enabled pollers' last successful poll. */
  lagSeconds: number | null;
  lastError: string | null;
}
export interface PollerHealth extends PollerStatus {
  enabled: boolean;
}

const REQUEST_TOPIC = 'crowdsec.syncRequest';
const RESULT_TOPIC = 'crowdsec.syncResult';
const FORWARD_TIMEOUT_MS = 30_000;

interface SyncReply {
  requestId: string;
  result?: SyncResult;
  error?: { code: AppError['code']; message: string };
}

type Lock = WorkerLock & { readonly generation: number };

export interface CrowdsecSyncOptions {
  lapiUrl: string;
  intervalMs: number;
  /** False when this instance runs no workers: it must never take the poller locks. */
  runsWorkers: boolean;
  decisions?: { poller: DecisionsPoller; lock: Lock };
  alerts?: { poller: AlertsPoller; lock: Lock };
  cache: Cache;
  bus: EventBus;
  logger: Logger;
}

export class CrowdsecSync {
  private readonly decisionsTracker: PollTracker;
  private readonly alertsTracker: PollTracker;
  private decisionsRun: Promise<unknown> = Promise.resolve();
  private alertsRun: Promise<unknown> = Promise.resolve();
  private requests: AsyncIterableIterator<{ requestId: string }> | undefined;

  constructor(private readonly o: CrowdsecSyncOptions) {
    const log = o.logger.child({ component: 'crowdsec-sync', lapi: o.lapiUrl });
    this.decisionsTracker = new PollTracker('decisions', o.lapiUrl, o.intervalMs, o.cache, log);
    this.alertsTracker = new PollTracker('alerts', o.lapiUrl, o.intervalMs, o.cache, log);
  }

  workers(): Worker[] {
    const { decisions, alerts, intervalMs } = this.o;
    const out: Worker[] = [];
    if (decisions) {
      out.push({
        id: 'crowdsec-decisions',
        intervalMs,
        enabled: true,
        lock: decisions.lock,
        run: async () => {
          if (this.decisionsTracker.due()) await this.runDecisions().catch(() => undefined);
        },
      });
    }
    if (alerts) {
      out.push({
        id: 'crowdsec-alerts',
        intervalMs,
        enabled: true,
        lock: alerts.lock,
        run: async () => {
          if (this.alertsTracker.due()) await this.runAlerts().catch(() => undefined);
        },
      });
    }
    return out;
  }

  /** Answers forwarded sync requests while this instance holds the locks. */
  listen(): void {
    if (!this.o.runsWorkers) return;
    this.requests = this.o.bus.subscribe<{ requestId: string }>(REQUEST_TOPIC);
    void (async () => {
      for await (const req of this.requests!) {
        if (!(await this.holdsLocks())) continue;
        const reply: SyncReply = { requestId: req.requestId };
        try {
          reply.result = await this.syncHere();
        } catch (err) {
          const e = toAppError(err);
          if (e) reply.error = { code: e.code, message: e.message };
          else {
            // An unexpected error stays in this instance's log; the caller gets a masked one.
            this.o.logger.error({ err }, 'forwarded CrowdSec sync failed');
            reply.error = {
              code: 'INTERNAL_SERVER_ERROR',
              message: 'the sync failed on the polling instance',
            };
          }
        }
        await this.o.bus.publish(RESULT_TOPIC, reply);
      }
    })();
  }

  async stop(): Promise<void> {
    await this.requests?.return?.();
    await Promise.allSettled([this.decisionsRun, this.alertsRun]);
  }

  async syncNow(): Promise<SyncResult> {
    if (await this.holdsLocks()) return this.syncHere();
    return this.forward();
  }

  async health(): Promise<CrowdsecHealthReport> {
    const read = async (name: string, enabled: boolean, local: PollTracker): Promise<PollerHealth> => {
      const shared = await this.o.cache.get<PollerStatus>(statusKey(this.o.lapiUrl, name));
      const own = local.local();
      const best =
        !shared ||
        (own.lastSuccessAt ?? own.lastErrorAt ?? '') > (shared.lastSuccessAt ?? shared.lastErrorAt ?? '')
          ? own
          : shared;
      return { ...(enabled ? best : EMPTY_STATUS), enabled };
    };
    const decisions = await read('decisions', !!this.o.decisions, this.decisionsTracker);
    const alerts = await read('alerts', !!this.o.alerts, this.alertsTracker);
    const enabled = [decisions, alerts].filter((p) => p.enabled);
    const failing = enabled.find((p) => p.consecutiveFailures > 0);
    const successes = enabled.map((p) => (p.lastSuccessAt ? Date.parse(p.lastSuccessAt) : undefined));
    const oldest = successes.some((s) => s === undefined) ? undefined : Math.min(...(successes as number[]));
    return {
      configured: true,
      lapiUrl: this.o.lapiUrl,
      status: failing ? 'DOWN' : 'UP',
      decisions,
      alerts,
      lagSeconds: oldest === undefined || enabled.length === 0 ? null : (Date.now() - oldest) / 1000,
      lastError: failing?.lastError ?? null,
    };
  }

  private async holdsLocks(): Promise<boolean> {
    if (!this.o.runsWorkers) return false;
    const locks = [this.o.decisions?.lock, this.o.alerts?.lock].filter((l) => l !== undefined);
    for (const lock of locks) if (!(await lock.acquire())) return false;
    return true;
  }

  private async syncHere(): Promise<SyncResult> {
    const started = performance.now();
    const d = this.o.decisions ? await this.runDecisions() : { added: 0, deleted: 0, snapshot: false };
    const alertsAdded = this.o.alerts ? await this.runAlerts() : 0;
    return {
      decisionsAdded: d.added,
      decisionsDeleted: d.deleted,
      alertsAdded,
      snapshot: d.snapshot,
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async forward(): Promise<SyncResult> {
    const requestId = randomUUID();
    const replies = this.o.bus.subscribe<SyncReply>(RESULT_TOPIC, (r) => r.requestId === requestId);
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.o.bus.publish(REQUEST_TOPIC, { requestId });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              upstreamUnavailable(
                'no threatwire instance running the CrowdSec pollers answered the sync request',
              ),
            ),
          FORWARD_TIMEOUT_MS,
        );
      });
      const next: IteratorResult<SyncReply> = await Promise.race([replies.next(), timeout]);
      const reply = next.done ? undefined : next.value;
      if (reply?.error) throw new AppError(reply.error.code, reply.error.message);
      if (!reply?.result) throw upstreamUnavailable('the CrowdSec sync request was not answered');
      return reply.result;
    } finally {
      clearTimeout(timer);
      await replies.return?.();
    }
  }

  /** Serialised per poller, so a manual sync never overlaps a scheduled run. */
  private runDecisions() {
    const poller = this.o.decisions!.poller;
    const run = this.decisionsRun
      .catch(() => undefined)
      .then(() => track(this.decisionsTracker, () => poller.poll()));
    this.decisionsRun = run;
    return run;
  }

  private runAlerts() {
    const poller = this.o.alerts!.poller;
    const run = this.alertsRun
      .catch(() => undefined)
      .then(() => track(this.alertsTracker, () => poller.poll()));
    this.alertsRun = run;
    return run;
  }
}

async function track<T>(tracker: PollTracker, fn: () => Promise<T>): Promise<T> {
  try {
    const result = await fn();
    await tracker.succeeded();
    return result;
  } catch (err) {
    await tracker.failed(err);
    throw toAppError(err) ?? err;
  }
}

/**
 * The domain error for what went wrong, or undefined for an unexpected error: that one
 * is rethrown as it is, so the error mapping logs it and masks it with a correlation id
 * instead of sending its message to the client.
 */
function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof LapiError) return err.toAppError();
  return classifyFailure(err);
}
