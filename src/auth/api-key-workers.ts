import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';
import type { ApiKeyRepository } from './api-key-repository.js';
import type { ApiKeyService } from './api-key-service.js';

/** How often lastUsedAt is written (one transaction for every key used since). */
export const LAST_USED_FLUSH_MS = 60_000;
/**
 * How far back each poll looks before the previous poll's database time: a revocation
 * whose transaction took its timestamp before that poll but committed after it is
 * still seen (repeats are ignored).
 */
const POLL_OVERLAP_MS = 10_000;

/**
 * Per-instance workers of the API keys (every instance runs them, no lock):
 * - `api-keys-revocations` asks PostgreSQL for keys revoked since its last look, so a
 *   revocation reaches this instance's caches and sockets even when the bus message
 *   was lost (Redis down, publish failed). Failures are logged once per outage and the
 *   next poll comes at the normal interval, not after a backoff.
 * - `api-keys-last-used` writes lastUsedAt in batches, and once more on stop.
 */
export function apiKeyWorkers(opts: {
  service: ApiKeyService;
  repo: ApiKeyRepository;
  pollMs: number;
  logger: Logger;
}): Worker[] {
  const { service, repo } = opts;
  const log = opts.logger.child({ component: 'api-keys' });
  let since: Date | undefined;
  let failing = false;
  return [
    {
      id: 'api-keys-revocations',
      intervalMs: opts.pollMs,
      enabled: true,
      async run() {
        try {
          const { keys, now } = await repo.revokedSince(since);
          for (const key of keys) service.applyChange({ keyId: key.id, hash: key.hash, revoked: true });
          since = new Date(now.getTime() - POLL_OVERLAP_MS);
          if (failing) log.info('revocation poll recovered');
          failing = false;
        } catch (err) {
          if (!failing) log.warn({ err: (err as Error).message }, 'revocation poll failed');
          failing = true;
        }
      },
    },
    {
      id: 'api-keys-last-used',
      intervalMs: LAST_USED_FLUSH_MS,
      enabled: true,
      run: () => service.flushLastUsed(),
      stop: () => service.flushLastUsed(),
    },
  ];
}
