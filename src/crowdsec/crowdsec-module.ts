/**
 * Builds the CrowdSec domain for the composition root: repositories, service and
 * statistics always (stored data stays readable), and — only when CROWDSEC_LAPI_URL is
 * set — the LAPI client, the two singleton pollers with their advisory locks, and a
 * health check that is never required: a LAPI outage degrades health, not readiness.
 * `start()` answers sync requests forwarded by other instances.
 */
import type { GeoService } from '../geo/geo-service.js';
import { PgAdvisoryLock } from '../platform/advisory-lock.js';
import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import { NO_OUTBOX, type Outbox } from '../platform/outbox.js';
import type { StatsSource, TopListSource } from '../stats/stats-types.js';
import { AlertRepository } from './alert-repository.js';
import { AlertsPoller } from './alerts-poller.js';
import { CrowdsecService, type CrowdsecLapi } from './crowdsec-service.js';
import { CrowdsecStatsRepository } from './crowdsec-stats-repository.js';
import { compactionWorker, journalHealthCheck } from '../platform/rollup-compaction.js';
import { CrowdsecSync } from './crowdsec-sync.js';
import { DecisionRepository } from './decision-repository.js';
import { DecisionsPoller } from './decisions-poller.js';
import { LapiClient } from './lapi-client.js';

export interface CrowdsecModule extends AppModule<{ crowdsec: CrowdsecService }> {
  /** Adds `alerts`, `decisions` and `activeDecisions` to the shared statistics. */
  readonly statsSources: readonly StatsSource[];
  /** Attackers and scenarios: the top lists and distinct counts of `statsSummary`. */
  readonly topLists: TopListSource;
}

export function createCrowdsecModule(
  deps: ModuleDeps & {
    geo: GeoService;
    /** Webhook outbox rows written with new alerts and added or deleted decisions. */
    outbox?: Outbox;
  },
): CrowdsecModule {
  const { config, infra, geo, logger } = deps;
  const cs = config.crowdsec;
  const resumeWindowMs = config.limits.subscriptionResumeWindowMs;
  const decisions = new DecisionRepository(infra.db.pool, deps.outbox ?? NO_OUTBOX);
  const alerts = new AlertRepository(infra.db.pool, deps.outbox ?? NO_OUTBOX);
  const stats = new CrowdsecStatsRepository(infra.db.pool);
  const compaction = compactionWorker('crowdsec-stats-compaction', (signal) => stats.compactPending(signal));
  const statsHealth = journalHealthCheck('crowdsec-statistics', infra.db.pool, [
    { label: 'alerts', table: 'stats_alert_pending' },
    { label: 'decisions', table: 'stats_decision_pending' },
  ]);
  const lapiUrl = cs.lapiUrl?.replace(/\/+$/, '');
  if (!lapiUrl) {
    return {
      services: {
        crowdsec: new CrowdsecService({ decisions, alerts, geo, bus: infra.bus, logger, resumeWindowMs }),
      },
      workers: [compaction],
      instanceWorkers: [],
      healthChecks: [statsHealth],
      statsSources: [stats],
      topLists: stats,
      start: () => Promise.resolve(),
      stop: () => Promise.resolve(),
    };
  }

  const log = logger.child({ component: 'crowdsec', lapi: lapiUrl });
  const client = new LapiClient({
    baseUrl: lapiUrl,
    bouncerKey: cs.bouncerKey,
    machineId: cs.machineId,
    machinePassword: cs.machinePassword,
    timeoutMs: 30_000,
    logger,
  });
  const connectionString = infra.db.pool.options.connectionString ?? '';
  const lock = (what: string) =>
    new PgAdvisoryLock({ connectionString, name: `crowdsec-${what}:${lapiUrl}`, logger });
  const machineConfigured = !!(cs.machineId && cs.machinePassword);
  const decisionsLock = lock('decisions');
  const alertsLock = lock('alerts');
  const sync = new CrowdsecSync({
    lapiUrl,
    intervalMs: cs.pollIntervalMs,
    runsWorkers: config.workers !== 'off',
    cache: infra.cache,
    bus: infra.bus,
    logger,
    ...(cs.bouncerKey
      ? {
          decisions: {
            lock: decisionsLock,
            poller: new DecisionsPoller({
              lapiUrl,
              client,
              repo: decisions,
              geo,
              bus: infra.bus,
              logger: log,
              lock: decisionsLock,
            }),
          },
        }
      : {}),
    ...(machineConfigured
      ? {
          alerts: {
            lock: alertsLock,
            poller: new AlertsPoller({
              lapiUrl,
              client,
              repo: alerts,
              geo,
              bus: infra.bus,
              logger: log,
              lock: alertsLock,
            }),
          },
        }
      : {}),
  });
  const lapi: CrowdsecLapi = { url: lapiUrl, client, machineConfigured, sync };
  const service = new CrowdsecService({
    decisions,
    alerts,
    geo,
    bus: infra.bus,
    logger,
    lapi,
    resumeWindowMs,
  });
  if (!cs.bouncerKey) log.warn('CROWDSEC_BOUNCER_KEY is not set: decisions are not polled');
  if (!machineConfigured)
    log.warn('CROWDSEC_MACHINE_ID/PASSWORD are not set: alerts are not polled; bans and deletes are refused');

  return {
    services: { crowdsec: service },
    workers: [...sync.workers(), compaction],
    instanceWorkers: [],
    statsSources: [stats],
    topLists: stats,
    healthChecks: [
      statsHealth,
      {
        name: 'crowdsec',
        required: false,
        mode: 'lapi',
        check: async () => {
          const h = await service.health();
          if (h.status === 'DOWN')
            return { down: true, detail: h.lastError ?? 'CrowdSec polling fails', snapshot: h };
          return {
            detail: h.lagSeconds === null ? 'waiting for the first poll' : `lag ${h.lagSeconds.toFixed(1)} s`,
            snapshot: h,
          };
        },
      },
    ],
    start: () => {
      sync.listen();
      return Promise.resolve();
    },
    stop: async () => {
      await sync.stop();
      await Promise.all([decisionsLock.release(), alertsLock.release()]);
    },
  };
}
