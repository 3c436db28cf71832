/**
 * The webhook workers. Every instance that runs workers delivers (no lock: instances
 * share deliveries through SKIP LOCKED); a pass forms batches and sends due deliveries
 * one after another until nothing is due or its time budget is spent. A second worker
 * drops finished deliveries past their retention, and every instance refreshes its
 * active-webhook cache now and then in case a bus message was missed.
 */
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
      while (!signal.aborted && Date.now() < until) {
        const assigned = await repos.deliveries.assignBatches(s.batchMaxEvents, s.batchWindowMs);
        const sent = await repos.deliveries.withDueDelivery((d) => sender.attempt(d), s.pauseAfterFailures);
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
        if (!sent && assigned === 0) return;
      }
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
  const cacheRefresh: Worker = {
    id: 'webhook-cache-refresh',
    intervalMs: 30_000,
    enabled: true,
    run: () => cache.refresh(),
  };
  return { workers: [deliver, retention], instanceWorkers: [cacheRefresh] };
}
