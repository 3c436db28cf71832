import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKeysModule } from '../../src/auth/api-keys-module.js';
import { loadConfig } from '../../src/config.js';
import { createCrowdsecModule } from '../../src/crowdsec/crowdsec-module.js';
import { openGeoModule } from '../../src/geo/geo-module.js';
import { createIocModule } from '../../src/iocs/ioc-module.js';
import type { AppModule } from '../../src/platform/app-module.js';
import type { EventBus } from '../../src/platform/event-bus.js';
import { openInfrastructure, type Infrastructure } from '../../src/platform/infrastructure.js';
import { createStatsModule } from '../../src/stats/stats-module.js';
import { createThreatModule } from '../../src/threats/threat-module.js';
import { startTestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** The bus, counting the subscriptions open per topic (a `return()` closes one). */
function countingBus(bus: EventBus): { bus: EventBus; open: () => Record<string, number> } {
  const open = new Map<string, number>();
  const add = (topic: string, n: number) => open.set(topic, (open.get(topic) ?? 0) + n);
  return {
    open: () => Object.fromEntries([...open].filter(([, n]) => n > 0)),
    bus: {
      mode: bus.mode,
      publish: (topic, payload) => bus.publish(topic, payload),
      close: () => bus.close(),
      subscribe<T>(topic: string, filter?: (payload: T) => boolean) {
        const it = bus.subscribe<T>(topic, filter);
        add(topic, 1);
        const close = it.return?.bind(it);
        let closed = false;
        it.return = (value?: unknown) => {
          if (!closed) add(topic, -1);
          closed = true;
          return close ? close(value) : Promise.resolve({ done: true, value: undefined });
        };
        return it;
      },
    },
  };
}

describe('the module contract', () => {
  it('a factory starts nothing: start() creates the first ADMIN key and follows the bus, stop() lets go', async () => {
    const db: TestDatabase = await createTestDatabase('app_modules');
    cleanups.push(() => db.drop());
    const config = loadConfig({
      DATABASE_URL: db.url,
      LOG_LEVEL: 'silent',
      // Port 9 (discard) on loopback: nothing is asked of it while the workers are not run.
      CROWDSEC_LAPI_URL: 'http://127.0.0.1:9',
      CROWDSEC_BOUNCER_KEY: 'bouncer-key-for-the-contract-test',
    });
    const opened: Infrastructure = await openInfrastructure(config, logger);
    cleanups.push(() => opened.close());
    const counted = countingBus(opened.bus);
    const deps = { config, infra: { ...opened, bus: counted.bus }, logger };

    const geo = await openGeoModule(config, logger);
    const apiKeys = createApiKeysModule({ ...deps, onOutcome: () => undefined });
    const threats = createThreatModule({ ...deps, ...geo.services });
    const crowdsec = createCrowdsecModule({ ...deps, ...geo.services });
    const iocs = createIocModule(deps);
    const stats = createStatsModule({ ...deps, from: [crowdsec, threats], topLists: crowdsec.topLists });
    const modules: AppModule[] = [geo, apiKeys, threats, crowdsec, iocs, stats];

    // Built, not started: no subscription, no key, and the pieces are declared.
    expect(counted.open()).toEqual({});
    expect(await opened.db.prisma.apiKey.count()).toBe(0);
    expect(apiKeys.generatedAdminKey).toBeUndefined();
    expect(modules.flatMap((m) => m.healthChecks.map((c) => [c.name, c.required]))).toEqual([
      ['geoip', false],
      ['threat-statistics', false],
      ['crowdsec-statistics', false],
      ['crowdsec', false],
    ]);
    expect(opened.healthChecks.map((c) => [c.name, c.required])).toEqual([
      ['database', true],
      ['redis', true],
    ]);
    expect(modules.flatMap((m) => m.instanceWorkers.map((w) => w.id))).toEqual([
      'api-keys-revocations',
      'api-keys-last-used',
    ]);
    // A bouncer key but no machine login: the decisions poller and not the alerts one.
    expect(modules.flatMap((m) => m.workers.map((w) => w.id))).toEqual([
      'threat-anomaly-refit',
      'threat-classifier-train',
      'threat-model-reload',
      'threat-retention',
      'threat-stats-compaction',
      'crowdsec-decisions',
      'crowdsec-stats-compaction',
      'enrichment-collector',
      'ioc-score-lapse',
    ]);

    for (const m of modules) await m.start();
    expect(apiKeys.generatedAdminKey).toMatch(/^tw_/);
    expect(await opened.db.prisma.apiKey.count({ where: { role: 'ADMIN' } })).toBe(1);
    expect(counted.open()).toEqual({
      'auth.keyChanged': 1,
      'threats.classifier-updated': 1,
      'crowdsec.syncRequest': 1,
    });

    for (const m of [...modules].reverse()) await m.stop();
    expect(counted.open()).toEqual({});
  });

  it('health lists the infrastructure, then each module, in one report', async () => {
    const t = await startTestApp('app_modules_health');
    cleanups.push(() => t.stop());
    const res = await t.gql<{
      health: { status: string; components: { name: string; status: string; mode: string }[] };
    }>('{ health { status components { name status mode } } }');
    expect(res.errors).toBeUndefined();
    // No Redis and no LAPI configured: Redis is DISABLED in-process, CrowdSec has no poll
    // check; each statistics journal has its backlog check in its module's place.
    expect(res.data?.health).toEqual({
      status: 'OK',
      components: [
        { name: 'database', status: 'UP', mode: 'external' },
        { name: 'redis', status: 'DISABLED', mode: 'in-process' },
        { name: 'geoip', status: 'UP', mode: 'country' },
        { name: 'threat-statistics', status: 'UP', mode: 'journal' },
        { name: 'crowdsec-statistics', status: 'UP', mode: 'journal' },
      ],
    });
  });
});
