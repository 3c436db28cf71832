/**
 * The IOC domain: adapters over one rate gate (Redis-backed when Redis is configured,
 * so all instances share each source's budget), the service, the cross-instance
 * enrichment lock, and the collector worker. Sources are optional dependencies: they
 * are reported in `health.sources`, never in /readyz, so the module has no health check.
 */
import type { Config, SourceConfig } from '../config.js';
import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import { NO_OUTBOX, type Outbox } from '../platform/outbox.js';
import { CurationRepository } from './curation-repository.js';
import { CurationService } from './curation-service.js';
import { createIocCollector } from './ioc-collector.js';
import { createLapseWorker, rescoreAllExpired } from './ioc-lapse-worker.js';
import { localEnrichLock, RedisEnrichLock } from './enrich-lock.js';
import { IocRepository } from './ioc-repository.js';
import { IocSightingRepository } from './ioc-sighting-repository.js';
import { IocStreamRepository } from './ioc-stream.js';
import { IocService } from './ioc-service.js';
import { SourceHealthTracker } from './source-health.js';
import { createMemoryRateGate, type LimiterRateGate, type RateWindow } from './sources/rate-gate.js';
import { createRedisRateGate } from './sources/redis-rate-gate.js';
import { createSourceAdapters, type SourceConfigs } from './sources/registry.js';
import { SOURCE_NAMES, type SourceName } from './sources/source-adapter.js';

export type IocModule = AppModule<{ iocs: IocService; curation: CurationService }>;

const configOf = (config: Config, name: SourceName): SourceConfig =>
  ({ ABUSEIPDB: config.sources.abuseipdb, OTX: config.sources.otx, VIRUSTOTAL: config.sources.virustotal })[
    name
  ];

export function createIocModule(deps: ModuleDeps & { outbox?: Outbox }): IocModule {
  const { config, infra, logger } = deps;
  const { redis, bus } = infra;
  const limits: Partial<Record<SourceName, readonly RateWindow[]>> = {};
  const adapterConfigs: SourceConfigs = {};
  const configured = new Set<SourceName>();
  for (const name of SOURCE_NAMES) {
    const c = configOf(config, name);
    limits[name] = c.rateLimits;
    adapterConfigs[name] = {
      ...(c.apiKey !== undefined ? { apiKey: c.apiKey } : {}),
      baseUrl: c.baseUrl,
      timeoutMs: c.timeoutMs,
      concurrency: c.concurrency,
    };
    if (c.apiKey !== undefined) configured.add(name);
  }
  const gate: LimiterRateGate = redis
    ? createRedisRateGate(redis.command, config.redis.keyPrefix, limits)
    : createMemoryRateGate(limits);
  const longestTimeout = Math.max(...SOURCE_NAMES.map((n) => configOf(config, n).timeoutMs));
  const repo = new IocRepository(infra.db.pool, deps.outbox ?? NO_OUTBOX);
  const curation = new CurationService({
    iocs: repo,
    repo: new CurationRepository(infra.db.pool),
    bus,
    logger,
  });
  const iocs = new IocService({
    repo,
    sightings: new IocSightingRepository(infra.db.pool),
    adapters: createSourceAdapters(adapterConfigs, gate),
    lock: redis
      ? new RedisEnrichLock(redis.command, config.redis.keyPrefix, longestTimeout * 3)
      : localEnrichLock,
    bus,
    health: new SourceHealthTracker(configured, gate),
    logger,
    ttl: config.iocs.ttlSeconds,
    configured,
    watchMax: config.iocs.watchMax,
    stream: new IocStreamRepository(infra.db.pool),
    resumeWindowMs: config.limits.subscriptionResumeWindowMs,
    lookupMax: config.iocs.lookupMax,
    lockWaitMs: longestTimeout * 2,
    allowlist: curation,
  });
  const collector = createIocCollector(
    iocs,
    repo,
    {
      ...config.iocs.collector,
      leaseSeconds: Math.ceil((longestTimeout * 4) / 1000),
      parallel: 8,
    },
    logger,
  );
  return {
    services: { iocs, curation },
    workers: [collector, createLapseWorker(curation)],
    instanceWorkers: [],
    healthChecks: [],
    // Scores that expired while no instance ran (or that a migration marked) are stored
    // before this instance serves.
    start: () => rescoreAllExpired(curation),
    stop: () => {
      iocs.stop();
      return Promise.resolve();
    },
  };
}
