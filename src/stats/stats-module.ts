import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import { StatsService } from './stats-service.js';
import type { StatsSource, TopListSource } from './stats-types.js';

export type StatsModule = AppModule<{ stats: StatsService }>;

/**
 * Statistics across domains: each domain module hands in the sources it owns, and the
 * one with attackers and scenarios the top lists. Cached buckets live in the shared
 * cache, so the module has nothing to start.
 */
export function createStatsModule(
  deps: ModuleDeps & {
    from: readonly { statsSources: readonly StatsSource[] }[];
    topLists: TopListSource;
  },
): StatsModule {
  const stats = new StatsService(deps.infra.cache, {
    sources: deps.from.flatMap((m) => m.statsSources),
    topLists: deps.topLists,
  });
  return {
    services: { stats },
    workers: [],
    instanceWorkers: [],
    healthChecks: [],
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}
