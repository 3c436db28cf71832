import { createApiKeys } from './auth/api-keys-module.js';
import type { Config } from './config.js';
import { createCrowdsec } from './crowdsec/crowdsec-module.js';
import { CrowdsecStatsRepository } from './crowdsec/crowdsec-stats-repository.js';
import { toDate } from './crowdsec/crowdsec-types.js';
import { GeoService } from './geo/geo-service.js';
import { buildSchema } from './graphql/schema.js';
import { createIocModule } from './iocs/ioc-module.js';
import { openInfrastructure } from './platform/infrastructure.js';
import type { Logger } from './platform/logger.js';
import { VERSION } from './platform/version.js';
import { WorkerRunner, type Worker } from './platform/worker-runner.js';
import { createApollo } from './server/apollo.js';
import type { Services } from './graphql/context.js';
import { HealthService } from './platform/health-service.js';
import { createFastify, fastifyApolloDrainPlugin, registerRoutes } from './server/http-server.js';
import { Metrics } from './server/metrics.js';
import { createOriginPolicy } from './server/origin.js';
import { createQueryLimits } from './server/query-limits.js';
import { createWsServer } from './server/ws-server.js';
import { StatsService } from './stats/stats-service.js';
import { createThreatModule } from './threats/threat-module.js';

export interface RunningApp {
  readonly url: string;
  readonly wsUrl: string;
  readonly graphiqlUrl: string;
  readonly modes: Readonly<Record<string, string>>;
  /** Set only on the start that generated the first ADMIN key. */
  readonly generatedAdminKey: string | undefined;
  stop(): Promise<void>;
}

/** Composition root: builds every part from config and starts serving. */
export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const metrics = new Metrics();
  const infra = await openInfrastructure(config, logger, (topic) => metrics.eventsDropped.inc({ topic }));
  const cleanup: (() => Promise<void>)[] = [() => infra.close()];
  const undo = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  try {
    const geo = await GeoService.open(config.geoip, logger);
    cleanup.push(() => Promise.resolve(geo.close()));

    const apiKeys = createApiKeys(config, infra, logger, (outcome) => metrics.authChecks.inc({ outcome }));
    const bootstrap = await apiKeys.service.bootstrapAdmin(config.adminApiKey);
    void apiKeys.service.listenForChanges();

    const health = new HealthService(VERSION, geo);
    health.register({
      name: 'database',
      required: true,
      mode: infra.db.mode,
      check: async () => ({ latencyMs: await infra.db.ping() }),
    });
    const redis = infra.redis;
    health.register({
      name: 'redis',
      required: true,
      mode: redis ? 'external' : 'in-process',
      ...(redis ? { check: async () => ({ latencyMs: await redis.ping() }) } : {}),
    });
    health.register({
      name: 'geoip',
      required: false,
      mode: geo
        .databases()
        .map((d) => d.kind)
        .join('+'),
      check: () =>
        Promise.resolve(
          geo.databases().length > 0
            ? { detail: `${geo.databases().length} database(s)` }
            : Promise.reject(new Error('no database')),
        ),
    });

    const threatModule = await createThreatModule({
      config,
      db: infra.db,
      bus: infra.bus,
      geo,
      logger,
      onStored: (earliest) => stats.noteWritten('threats', [earliest]),
    });
    cleanup.push(() => threatModule.stop());

    const crowdsecStats = new CrowdsecStatsRepository(infra.db.pool);
    const stats = new StatsService(infra.cache, {
      sources: [crowdsecStats, threatModule.statsSource],
      topLists: crowdsecStats,
    });
    const crowdsec = createCrowdsec({
      config,
      infra,
      geo,
      logger,
      onAlertsStored: (alerts) =>
        stats.noteWritten(
          'crowdsec',
          alerts.map((a) => toDate(a.startAt)),
        ),
    });
    // Not required: a LAPI outage degrades health but never fails /readyz.
    if (crowdsec.healthCheck) health.register(crowdsec.healthCheck);
    cleanup.push(() => crowdsec.stop());

    // Sources are optional dependencies: reported in health.sources, never in /readyz.
    const iocModule = createIocModule({ config, db: infra.db, redis: infra.redis, bus: infra.bus, logger });
    cleanup.push(() => iocModule.stop());

    const services: Services = {
      config,
      apiKeys: apiKeys.service,
      health,
      geo,
      bus: infra.bus,
      iocs: iocModule.iocs,
      threats: threatModule.threats,
      classifier: threatModule.classifier,
      crowdsec: crowdsec.service,
      stats,
    };
    const schema = buildSchema();
    const limits = createQueryLimits(config.limits, (limit) => metrics.rejected.inc({ reason: limit }));
    const originPolicy = createOriginPolicy(config.corsOrigins, config.publicUrl);

    const app = createFastify(config, logger);
    const apollo = createApollo({
      schema,
      limits,
      metrics,
      logger,
      extraPlugins: [fastifyApolloDrainPlugin(app)],
    });
    await apollo.start();
    let shuttingDown = false;
    await registerRoutes(app, {
      apollo,
      services,
      health,
      metrics,
      rateLimiter: infra.rateLimiter,
      originPolicy,
      isShuttingDown: () => shuttingDown,
      serveGraphql: config.workers !== 'only',
    });
    const ws = createWsServer({
      schema,
      services,
      limits,
      config,
      rateLimiter: infra.rateLimiter,
      originPolicy,
      metrics,
      logger,
    });
    if (config.workers !== 'only') {
      app.server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
    }

    const workers: Worker[] = [...threatModule.workers, ...crowdsec.workers, ...iocModule.workers];
    const runner = new WorkerRunner(workers, logger);
    if (config.workers !== 'off') runner.start();
    // Every instance that serves the API keeps its own key caches and sockets current,
    // whatever WORKERS says.
    const apiRunner = new WorkerRunner([...apiKeys.workers, ...ws.workers], logger);
    apiRunner.start();
    cleanup.push(() => apiRunner.stop());
    crowdsec.start();

    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const hostForUrl = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const base =
      config.publicUrl?.replace(/\/$/, '') ??
      `http://${hostForUrl.includes(':') ? `[${hostForUrl}]` : hostForUrl}:${port}`;

    let stopping: Promise<void> | undefined;
    return {
      url: `${base}/graphql`,
      wsUrl: `${base.replace(/^http/, 'ws')}/graphql`,
      graphiqlUrl: `${base}/graphiql`,
      modes: {
        database:
          infra.db.mode === 'embedded' ? 'embedded PostgreSQL' : `external PostgreSQL (${infra.db.url})`,
        cache: infra.cache.mode,
        eventBus: infra.bus.mode,
        rateLimit: infra.rateLimiter.mode,
        geoip: geo
          .databases()
          .map((d) => `${d.kind}: ${d.databaseType}`)
          .join(', '),
        workers: config.workers,
      },
      generatedAdminKey: bootstrap.secret,
      stop() {
        stopping ??= (async () => {
          shuttingDown = true;
          const log = logger.child({ component: 'shutdown' });
          await ws.close();
          log.debug('websockets closed');
          // A training can run for minutes: end it rather than hold the drain past the bound.
          await threatModule.classifier.stopTraining();
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
