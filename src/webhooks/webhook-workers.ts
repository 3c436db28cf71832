/**
 * The webhook workers. Every instance that runs workers delivers (no lock: instances
 * share deliveries through SKIP LOCKED); a pass runs `concurrency` senders side by side,
 * each forming batches and sending due deliveries until nothing is due or the pass's time
 * budget is spent, so one slow or hanging receiver holds up one sender, not every webhook.
 * A webhook still has one delivery in flight at a time (its order is kept). A second worker
 * drops finished deliveries past their retention, and every instance refreshes its
 * active-webhook cache now and then in case a bus message was missed.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';
import type { DeliveryRepository } from './delivery-repository.js';
import type { WebhookCache } from './webhook-cache.js';
import type { WebhookRepository } from './webhook-repository.js';
import type { WebhookSender } from './webhook-sender.js';
import { redactedUrl } from './webhook-target.js';

export interface DeliverySettings {
  pollIntervalMs: number;
  batchMaxEvents: number;
  batchWindowMs: number;
  pauseAfterFailures: number;
  retentionDays: number;
  /** Senders side by side in one pass (each holds a database connection while it sends). */
  concurrency: number;
}

/** A pass gives the event loop back after this long, even with work left (the next pass goes on). */
const PASS_BUDGET_MS = 10_000;

export function webhookWorkers(
  s: DeliverySettings,
  repos: { deliveries: DeliveryRepository; webhooks: WebhookRepository },
  sender: WebhookSender,
  cache: WebhookCache,
  logger: Logger,
  enabled: boolean,
): { workers: Worker[]; instanceWorkers: Worker[] } {
  const log = logger.child({ component: 'webhook-delivery' });
  const deliver: Worker = {
    id: 'webhook-delivery',
    intervalMs: s.pollIntervalMs,
    enabled,
    async run(signal) {
      const until = Date.now() + PASS_BUDGET_MS;
      // The pass ends when every sender is idle at once: a sender waiting on a slow
      // receiver is not idle, so the others keep polling and sending meanwhile, and events
      // for other webhooks do not wait for that receiver's timeout. Past the budget no
      // sender takes new work.
      let idle = 0;
      let done = false;
      const sendUntilIdle = async (): Promise<void> => {
        try {
          while (!signal.aborted && !done) {
            let busy = false;
            if (Date.now() < until) {
              const assigned = await repos.deliveries.assignBatches(s.batchMaxEvents, s.batchWindowMs);
              const sent = await repos.deliveries.withDueDelivery(
                (d) => sender.attempt(d),
                s.pauseAfterFailures,
              );
              if (sent?.completed.pausedReason) {
                log.warn(
                  {
                    webhookId: sent.delivery.webhookId,
                    target: redactedUrl(sent.delivery.url),
                    reason: sent.completed.pausedReason,
                  },
                  'webhook paused after failed deliveries',
                );
                await cache.changed();
              }
              busy = sent !== null || assigned > 0;
            }
            if (busy) continue;
            idle++;
            if (idle === s.concurrency) {
              done = true;
              return;
            }
            await sleep(s.pollIntervalMs, signal);
            idle--;
          }
        } catch (err) {
          done = true; // a failed sender ends the pass: the others stop at their next turn
          throw err;
        }
      };
      const results = await Promise.allSettled(Array.from({ length: s.concurrency }, sendUntilIdle));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
  const retention: Worker = {
    id: 'webhook-retention',
    intervalMs: 3_600_000,
    enabled: enabled && s.retentionDays > 0,
    async run(signal) {
      const cutoff = new Date(Date.now() - s.retentionDays * 86_400_000);
      while (!signal.aborted && (await repos.webhooks.deleteFinishedBefore(cutoff, 1000)) === 1000);
    },
  };
  // Every instance writes events (API ingestion), whatever WORKERS says, so every one keeps its cache.
  // The bus reloads it at once; this bounds how long a lost bus message (a Redis restart)
  // keeps a new webhook from this instance's writes, for one tiny query per period.
  const cacheRefresh: Worker = {
    id: 'webhook-cache-refresh',
    intervalMs: 5_000,
    enabled: true,
    run: () => cache.refresh(),
  };
  return { workers: [deliver, retention], instanceWorkers: [cacheRefresh] };
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return sleepFor(ms, undefined, { signal }).catch(() => undefined);
}
