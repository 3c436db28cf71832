/**
 * Builds the CrowdSec domain from config for the composition root: repositories and
 * service always (stored data stays readable), and — only when CROWDSEC_LAPI_URL is
 * set — the LAPI client, the two singleton pollers with their advisory locks, and a
 * health check that is never required: a LAPI outage degrades health, not readiness.
 */
import type { Config } from '../config.js';
import type { GeoService } from '../geo/geo-service.js';
import { PgAdvisoryLock } from '../platform/advisory-lock.js';
import type { Infrastructure } from '../platform/infrastructure.js';
import type { Logger } from '../platform/logger.js';
import { VERSION } from '../platform/version.js';
import type { Worker } from '../platform/worker-runner.js';
import type { HealthCheck } from '../platform/health-service.js';
import { AlertRepository } from './alert-repository.js';
import { AlertsPoller } from './alerts-poller.js';
import type { AlertRecord } from './crowdsec-types.js';
import { CrowdsecService, type CrowdsecLapi } from './crowdsec-service.js';
import { CrowdsecSync } from './crowdsec-sync.js';
import { DecisionRepository } from './decision-repository.js';
import { DecisionsPoller } from './decisions-poller.js';
import { LapiClient } from './lapi-client.js';

export interface CrowdsecModule {
  service: CrowdsecService;
  workers: Worker[];
  /** Only when a LAPI is configured. */
  healthCheck: HealthCheck | undefined;
  /** Starts answering forwarded sync requests. */
  start(): void;
  stop(): Promise<void>;
}

export function createCrowdsec(deps: {
  config: Config;
  infra: Infrastructure;
  geo: GeoService;
  logger: Logger;
  /** Called with newly stored alerts (statistics caches). */
  onAlertsStored?: (alerts: AlertRecord[]) => Promise<void>;
}): CrowdsecModule {
  const { config, infra, geo, logger } = deps;
  const cs = config.crowdsec;
  const decisions = new DecisionRepository(infra.db.pool);
  const alerts = new AlertRepository(infra.db.pool);
  const lapiUrl = cs.lapiUrl?.replace(/\/+$/, '');
  if (!lapiUrl) {
    const service = new CrowdsecService({ decisions, alerts, geo, bus: infra.bus });
    return {
      service,
      workers: [],
      healthCheck: undefined,
      start: () => undefined,
      stop: () => Promise.resolve(),
    };
  }

  const log = logger.child({ component: 'crowdsec', lapi: lapiUrl });
  const client = new LapiClient({
    baseUrl: lapiUrl,
    bouncerKey: cs.bouncerKey,
    machineId: cs.machineId,
    machinePassword: cs.machinePassword,
    userAgent: `threatwire/${VERSION}`,
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
              ...(deps.onAlertsStored ? { onStored: deps.onAlertsStored } : {}),
            }),
          },
        }
      : {}),
  });
  const lapi: CrowdsecLapi = { url: lapiUrl, client, machineConfigured, sync };
  const service = new CrowdsecService({ decisions, alerts, geo, bus: infra.bus, lapi });
  if (!cs.bouncerKey) log.warn('CROWDSEC_BOUNCER_KEY is not set: decisions are not polled');
  if (!machineConfigured)
    log.warn('CROWDSEC_MACHINE_ID/PASSWORD are not set: alerts are not polled; bans and deletes are refused');

  return {
    service,
    workers: sync.workers(),
    healthCheck: {
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
    start: () => sync.listen(),
    stop: async () => {
      await sync.stop();
      await Promise.all([decisionsLock.release(), alertsLock.release()]);
    },
  };
}
