import type { AppModule, ModuleDeps } from '../platform/app-module.js';
import { createFailureBudget } from '../platform/rate-limiter.js';
import { PgApiKeyRepository } from './api-key-repository.js';
import { ApiKeyService } from './api-key-service.js';
import type { AuthOutcome } from './api-key-types.js';
import { apiKeyWorkers } from './api-key-workers.js';

export interface ApiKeysModule extends AppModule<{ apiKeys: ApiKeyService }> {
  /** Set by `start()` only on the start that generated the first ADMIN key. */
  readonly generatedAdminKey: string | undefined;
}

/**
 * The API-key service with its failed-authentication budget. `start()` creates the
 * first ADMIN key when there is none (ADMIN_API_KEY or a generated one) and follows the
 * key changes other instances publish until `stop()`.
 * Its workers keep this instance's key caches current, so every instance runs them.
 */
export function createApiKeysModule(
  deps: ModuleDeps & { onOutcome: (outcome: AuthOutcome) => void },
): ApiKeysModule {
  const { config, infra, logger } = deps;
  const repo = new PgApiKeyRepository(infra.db.prisma, infra.db.pool);
  const failures = createFailureBudget(
    {
      points: config.auth.failureLimit,
      windowSeconds: config.auth.failureWindowSeconds,
      prefix: config.redis.keyPrefix,
    },
    infra.redis?.command,
  );
  const service = new ApiKeyService(repo, infra.bus, logger, {
    cacheTtlMs: config.auth.keyCacheTtlMs,
    staleIfErrorMs: config.auth.staleIfErrorSeconds * 1000,
    failures,
    onOutcome: deps.onOutcome,
  });
  let generatedAdminKey: string | undefined;
  return {
    services: { apiKeys: service },
    workers: [],
    instanceWorkers: apiKeyWorkers({ service, repo, pollMs: config.auth.revocationPollMs, logger }),
    healthChecks: [],
    get generatedAdminKey() {
      return generatedAdminKey;
    },
    async start() {
      generatedAdminKey = (await service.bootstrapAdmin(config.adminApiKey)).secret;
      service.listenForChanges();
    },
    stop: () => service.stopListening(),
  };
}
