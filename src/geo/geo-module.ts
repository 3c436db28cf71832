import type { Config } from '../config.js';
import type { AppModule } from '../platform/app-module.js';
import type { Logger } from '../platform/logger.js';
import { GeoService } from './geo-service.js';

export type GeoModule = AppModule<{ geo: GeoService }>;

/**
 * Opens the GeoIP databases (in memory from here on) for the domains that locate
 * addresses. Its health check is not required: without a database lookups answer
 * NOT_FOUND, which degrades health but never fails /readyz.
 */
export async function openGeoModule(config: Config, logger: Logger): Promise<GeoModule> {
  const geo = await GeoService.open(config.geoip, logger);
  const kinds = geo.databases().map((d) => d.kind);
  return {
    services: { geo },
    workers: [],
    instanceWorkers: [],
    healthChecks: [
      {
        name: 'geoip',
        required: false,
        mode: kinds.join('+'),
        check: () =>
          kinds.length > 0
            ? Promise.resolve({ detail: `${kinds.length} database(s)` })
            : Promise.reject(new Error('no database')),
      },
    ],
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(geo.close()),
  };
}
