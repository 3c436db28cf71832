import type { AddressInfo } from 'node:net';
import { createApiKeysModule } from './auth/api-keys-module.js';
import type { Config } from './config.js';
import { createCrowdsecModule } from './crowdsec/crowdsec-module.js';
import { createFeedsModule } from './feeds/feeds-module.js';
import { openGeoModule, type GeoModule } from './geo/geo-module.js';
import type { Services } from './graphql/context.js';
import { buildSchema } from './graphql/schema.js';
import { createIocModule } from './iocs/ioc-module.js';
import type { AppModule, ModuleDeps } from './platform/app-module.js';
import { HealthService } from './platform/health-service.js';
import { openInfrastructure, type Infrastructure } from './platform/infrastructure.js';
import type { Logger } from './platform/logger.js';
import { VERSION } from './platform/version.js';
import { WorkerRunner } from './platform/worker-runner.js';
import { createApollo } from './server/apollo.js';
import { createFastify, fastifyApolloDrainPlugin, registerRoutes } from './server/http-server.js';
import { Metrics } from './server/metrics.js';
import { OperationLog } from './server/operation-log.js';
import { createOriginPolicy } from './server/origin.js';
import { createQueryLimits } from './server/query-limits.js';
import { exportSources } from './server/export-sources.js';
import { createWsServer } from './server/ws-server.js';
import { createStatsModule } from './stats/stats-module.js';
import { createThreatModule } from './threats/threat-module.js';
import { createWebhooksModule } from './webhooks/webhooks-module.js';

export interface RunningApp {
  readonly url: string;
  readonly wsUrl: string;
  readonly graphiqlUrl: string;
  readonly modes: Readonly<Record<string, string>>;
  /** Set only on the start that generated the first ADMIN key. */
  readonly generatedAdminKey: string | undefined;
  stop(): Promise<void>;
}

/**
 * Composition root: opens the infrastructure, builds and starts the modules
 * (docs/architecture.md, "Modules"), builds the transport over their services, starts
 * the workers, and listens.
 */
export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const metrics = new Metrics();
  const infra = await openInfrastructure(config, logger, (topic) => metrics.eventsDropped.inc({ topic }));
  // Undone in reverse on a failed start and at the end of stop().
  const cleanup: (() => Promise<void>)[] = [() => infra.close()];
  const undo = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  try {
    const geo = await openGeoModule(config, logger);
    const domains = createDomainModules({ config, infra, logger }, geo, metrics);
    const modules: AppModule[] = [geo, ...Object.values(domains)];
    for (const m of modules) cleanup.push(() => m.stop());
    for (const m of modules) await m.start();

    const health = new HealthService(VERSION);
    health.register(...infra.healthChecks, ...modules.flatMap((m) => m.healthChecks));
    const services: Services = {
      config,
      bus: infra.bus,
      health,
      ...geo.services,
      ...domains.apiKeys.services,
      ...domains.threats.services,
      ...domains.crowdsec.services,
      ...domains.iocs.services,
      ...domains.stats.services,
      ...domains.webhooks.services,
      ...domains.feeds.services,
    };
    let shuttingDown = false;
    const { app, apollo, ws, operations } = await createTransport(config, logger, {
      services,
      infra,
      metrics,
      isShuttingDown: () => shuttingDown,
    });

    const runner = new WorkerRunner(
      modules.flatMap((m) => m.workers),
      logger,
    );
    if (config.workers !== 'off') runner.start();
    // Every instance keeps its own key caches and sockets current, whatever WORKERS says.
    const instanceRunner = new WorkerRunner(
      [...modules.flatMap((m) => m.instanceWorkers), ...ws.workers, operations.worker()],
      logger,
    );
    instanceRunner.start();
    cleanup.push(() => instanceRunner.stop());

    await app.listen({ host: config.host, port: config.port, backlog: config.listenBacklog });
    const base = baseUrl(config, app.server.address());

    let stopping: Promise<void> | undefined;
    return {
      url: `${base}/graphql`,
      wsUrl: `${base.replace(/^http/, 'ws')}/graphql`,
      graphiqlUrl: `${base}/graphiql`,
      modes: modesOf(config, infra, geo),
      generatedAdminKey: domains.apiKeys.generatedAdminKey,
      stop() {
        stopping ??= (async () => {
          shuttingDown = true;
          const log = logger.child({ component: 'shutdown' });
          await ws.close();
          log.debug('websockets closed');
          // A training can run for minutes: end it rather than hold the drain past the bound.
          await services.classifier.stopTraining();
          await app.close(); // stops accepting, waits for in-flight requests (Apollo drain)
          log.debug('http server closed');
          await runner.stop();
          await apollo.stop().catch(() => undefined);
          await undo();
          log.debug('workers, pools and databases closed');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** The domains, built (nothing started) in the order they start and the reverse of their stop. */
function createDomainModules(deps: ModuleDeps, geo: GeoModule, metrics: Metrics) {
  const apiKeys = createApiKeysModule({
    ...deps,
    onOutcome: (outcome) => metrics.authChecks.inc({ outcome }),
  });
  // Before the writers: they add webhook outbox rows as they store data.
  const webhooks = createWebhooksModule(deps);
  const { outbox } = webhooks;
  const threats = createThreatModule({ ...deps, ...geo.services, outbox });
  const crowdsec = createCrowdsecModule({
    ...deps,
    ...geo.services,
    outbox,
  });
  const iocs = createIocModule({ ...deps, outbox });
  const stats = createStatsModule({ ...deps, from: [crowdsec, threats], topLists: crowdsec.topLists });
  // Feeds read the other domains' tables; exports page through their services.
  const feeds = createFeedsModule({
    ...deps,
    exportSources: exportSources({
      threats: threats.services.threats,
      iocs: iocs.services.iocs,
      crowdsec: crowdsec.services.crowdsec,
    }),
    keySecret: (keyId) => apiKeys.services.apiKeys.linkSecretOf(keyId),
  });
  return { apiKeys, webhooks, threats, crowdsec, iocs, stats, feeds };
}

/** HTTP (Fastify + Apollo) and WebSocket (graphql-ws) over one schema, ready to listen. */
async function createTransport(
  config: Config,
  logger: Logger,
  deps: { services: Services; infra: Infrastructure; metrics: Metrics; isShuttingDown: () => boolean },
) {
  const { services, metrics } = deps;
  const rateLimiter = deps.infra.rateLimiter;
  const schema = buildSchema();
  const limits = createQueryLimits(config.limits, (limit) => metrics.rejected.inc({ reason: limit }));
  const originPolicy = createOriginPolicy(config.corsOrigins, config.publicUrl);

  const app = createFastify(config, logger);
  const operations = new OperationLog(logger, {
    slowMs: config.log.slowOperationMs,
    intervalMs: config.log.summarySeconds * 1000,
  });
  const apollo = createApollo({
    schema,
    limits,
    metrics,
    logger,
    operations,
    extraPlugins: [fastifyApolloDrainPlugin(app)],
    isShuttingDown: deps.isShuttingDown,
  });
  await apollo.start();
  await registerRoutes(app, {
    apollo,
    services,
    health: services.health,
    metrics,
    rateLimiter,
    originPolicy,
    isShuttingDown: deps.isShuttingDown,
    serveGraphql: config.workers !== 'only',
  });
  const ws = createWsServer({ schema, services, limits, config, rateLimiter, originPolicy, metrics, logger });
  if (config.workers !== 'only') {
    app.server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
  }
  return { app, apollo, ws, operations };
}

/** PUBLIC_URL, or the address listened on (loopback for a wildcard host). */
function baseUrl(config: Config, address: AddressInfo | string | null): string {
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return config.publicUrl?.replace(/\/$/, '') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The start-up banner's description of what this instance runs on. */
function modesOf(config: Config, infra: Infrastructure, geo: GeoModule): Record<string, string> {
  return {
    database: infra.db.mode === 'embedded' ? 'embedded PostgreSQL' : `external PostgreSQL (${infra.db.url})`,
    cache: infra.cache.mode,
    eventBus: infra.bus.mode,
    rateLimit: infra.rateLimiter.mode,
    geoip: geo.services.geo
      .databases()
      .map((d) => `${d.kind}: ${d.databaseType}`)
      .join(', '),
    workers: config.workers,
  };
}
