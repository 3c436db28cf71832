import type { Config } from '../config.js';
import type { Infrastructure } from '../platform/infrastructure.js';
import type { Logger } from '../platform/logger.js';
import { createFailureBudget } from '../platform/rate-limiter.js';
import type { Worker } from '../platform/worker-runner.js';
import { PgApiKeyRepository } from './api-key-repository.js';
import { ApiKeyService } from './api-key-service.js';
import type { AuthOutcome } from './api-key-types.js';
import { apiKeyWorkers } from './api-key-workers.js';

/** The API-key service with its failure budget, and the per-instance workers it needs. */
export function createApiKeys(
  config: Config,
  infra: Infrastructure,
  logger: Logger,
  onOutcome: (outcome: AuthOutcome) => void,
): { service: ApiKeyService; workers: Worker[] } {
  const repo = new PgApiKeyRepository(infra.db.prisma);
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
    onOutcome,
  });
  const workers = apiKeyWorkers({ service, repo, pollMs: config.auth.revocationPollMs, logger });
  return { service, workers };
}
