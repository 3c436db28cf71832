import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import type { Outbox } from '../platform/outbox.js';
import { DeliveryRepository } from './delivery-repository.js';
import { WebhookCache } from './webhook-cache.js';
import { SqlOutbox } from './webhook-outbox.js';
import { WebhookRepository } from './webhook-repository.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookService } from './webhook-service.js';
import { parseCidrs } from './webhook-target.js';
import { webhookWorkers } from './webhook-workers.js';

export interface WebhooksModule extends AppModule<{ webhooks: WebhookService }> {
  /** Handed to the data writers (threats, CrowdSec, IOCs): their outbox rows. */
  readonly outbox: Outbox;
}

/**
 * Webhooks: alert rules, the outbox the data writers fill, and the delivery workers.
 * Built before the writers (they take `outbox`) and started before them, so the
 * active-webhook cache is loaded before the first write.
 */
export function createWebhooksModule(deps: ModuleDeps): WebhooksModule {
  const { config, infra, logger } = deps;
  const c = config.webhooks;
  const allowPrivate = parseCidrs(c.allowPrivateCidrs);
  const webhooks = new WebhookRepository(infra.db.pool);
  const deliveries = new DeliveryRepository(infra.db.pool);
  const log = logger.child({ component: 'webhooks' });
  const cache = new WebhookCache(() => webhooks.activeEvents(), infra.bus, log);
  const sender = new WebhookSender(
    {
      timeoutMs: c.timeoutMs,
      backoffBaseMs: c.backoffBaseMs,
      backoffMaxMs: c.backoffMaxMs,
      retryForMs: c.retryForSeconds * 1000,
      allowPrivate,
    },
    log,
  );
  const service = new WebhookService({
    webhooks,
    deliveries,
    cache,
    sender,
    maxWebhooks: c.max,
    allowPrivate,
  });
  const { workers, instanceWorkers } = webhookWorkers(
    {
      pollIntervalMs: c.pollIntervalMs,
      batchMaxEvents: c.batchMaxEvents,
      batchWindowMs: c.batchWindowMs,
      pauseAfterFailures: c.pauseAfterFailures,
      concurrency: c.concurrency,
      retentionDays: c.deliveryRetentionDays,
    },
    { deliveries, webhooks },
    sender,
    cache,
    log,
    c.deliveryEnabled,
  );
  return {
    services: { webhooks: service },
    outbox: new SqlOutbox(cache),
    workers,
    instanceWorkers,
    healthChecks: [],
    start: () => cache.start(),
    stop: () => cache.stop(),
  };
}
