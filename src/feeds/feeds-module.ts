/**
 * The feeds module: blocklist, CSV and STIX feeds (`FeedService`) and export links
 * (`ExportService`). It owns no table: feeds read the IOC, CrowdSec and threat tables
 * in one snapshot each, and exports read through the lists' own services, which the
 * composition root hands in as `ExportSources`.
 */
import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import { ExportService } from './export-service.js';
import type { ExportSources, KeySecretLookup } from './export-types.js';
import { FeedRepository } from './feed-repository.js';
import { FeedService } from './feed-service.js';

export interface FeedsServices {
  feeds: FeedService;
  exports: ExportService;
}

export function createFeedsModule(
  deps: ModuleDeps & { exportSources: ExportSources; keySecret: KeySecretLookup },
): AppModule<FeedsServices> {
  const log = deps.logger.child({ component: 'feeds' });
  return {
    services: {
      feeds: new FeedService(new FeedRepository(deps.infra.db.pool), log),
      exports: new ExportService(deps.exportSources, deps.keySecret, deps.config.publicUrl),
    },
    workers: [],
    instanceWorkers: [],
    healthChecks: [],
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}
