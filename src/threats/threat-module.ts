import type { GeoLocation } from '../geo/geo-types.js';
import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import { NO_OUTBOX, type Outbox } from '../platform/outbox.js';
import { compactionWorker, journalHealthCheck } from '../platform/rollup-compaction.js';
import type { StatsSource } from '../stats/stats-types.js';
import { PgClassifierModelRepository } from './classifier-model-repository.js';
import { ClassifierService } from './classifier-service.js';
import { ClassifierTrainer } from './classifier-trainer.js';
import { PgThreatEventRepository } from './threat-event-repository.js';
import { ThreatService } from './threat-service.js';
import { ThreatStatsRepository } from './threat-stats-repository.js';
import { threatWorkers } from './threat-workers.js';

export interface ThreatModule extends AppModule<{ threats: ThreatService; classifier: ClassifierService }> {
  /** Adds `threatEvents` to the shared statistics. */
  readonly statsSources: readonly StatsSource[];
}

/**
 * The threat-event domain: ingestion, queries and subscriptions, the classifier and
 * the retention, refit and training workers. `start()` loads the newest classifier
 * models and follows the updates other instances publish.
 */
export function createThreatModule(
  deps: ModuleDeps & {
    geo: { locate(ip: string): GeoLocation | null };
    /** Webhook outbox rows written in the statement that stores the events. */
    outbox?: Outbox;
  },
): ThreatModule {
  const { config, infra, geo, logger } = deps;
  const events = new PgThreatEventRepository(infra.db.pool, deps.outbox ?? NO_OUTBOX);
  const classifier = new ClassifierService(
    new PgClassifierModelRepository(infra.db.prisma),
    events,
    infra.bus,
    logger,
    { anomalySample: config.threats.anomalySample },
    new ClassifierTrainer(),
  );
  const statsRepository = new ThreatStatsRepository(infra.db.pool);
  const threats = new ThreatService({
    events,
    maps: statsRepository,
    geo,
    classifier,
    bus: infra.bus,
    logger,
    maxBatch: config.threats.maxBatch,
    resumeWindowMs: config.limits.subscriptionResumeWindowMs,
  });
  return {
    services: { threats, classifier },
    workers: [
      ...threatWorkers(config.threats, classifier, events, logger),
      compactionWorker('threat-stats-compaction', (signal) => statsRepository.compactPending(signal)),
    ],
    instanceWorkers: [],
    healthChecks: [
      journalHealthCheck('threat-statistics', infra.db.pool, [
        { label: 'threat events', table: 'stats_threat_pending' },
      ]),
    ],
    statsSources: [statsRepository],
    start: () => classifier.start(),
    stop: () => classifier.stop(),
  };
}
