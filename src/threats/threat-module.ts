import type { Config } from '../config.js';
import type { GeoLocation } from '../geo/geo-types.js';
import type { Database } from '../platform/database.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';
import { PgClassifierModelRepository } from './classifier-model-repository.js';
import { ClassifierService } from './classifier-service.js';
import { ClassifierTrainer } from './classifier-trainer.js';
import { PgThreatEventRepository } from './threat-event-repository.js';
import { ThreatService } from './threat-service.js';
import { ThreatStatsRepository } from './threat-stats-repository.js';
import { threatWorkers } from './threat-workers.js';

export interface ThreatModule {
  threats: ThreatService;
  classifier: ClassifierService;
  workers: Worker[];
  /** Register with the StatsService: adds `threatEvents` to the shared statistics. */
  statsSource: ThreatStatsRepository;
  stop(): Promise<void>;
}

/** Wires the threat-event domain from shared infrastructure (called by the composition root). */
export async function createThreatModule(deps: {
  config: Config;
  db: Database;
  bus: EventBus;
  geo: { locate(ip: string): GeoLocation | null };
  logger: Logger;
  /** Called after each commit with the earliest occurredAt stored (e.g. to refresh cached statistics). */
  onStored?: (earliest: Date) => Promise<void>;
}): Promise<ThreatModule> {
  const { config, db, bus, geo, logger } = deps;
  const events = new PgThreatEventRepository(db.pool);
  const classifier = new ClassifierService(
    new PgClassifierModelRepository(db.prisma),
    events,
    bus,
    logger,
    {
      anomalySample: config.threats.anomalySample,
    },
    new ClassifierTrainer(),
  );
  await classifier.start();
  const threats = new ThreatService({
    events,
    geo,
    classifier,
    bus,
    logger,
    maxBatch: config.threats.maxBatch,
    ...(deps.onStored ? { onStored: deps.onStored } : {}),
  });
  return {
    threats,
    classifier,
    workers: threatWorkers(config.threats, classifier, events, logger),
    statsSource: new ThreatStatsRepository(db.pool),
    stop: () => classifier.stop(),
  };
}
