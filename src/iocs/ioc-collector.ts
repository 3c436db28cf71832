/**
 * The enrichment collector, a declared worker run by the WorkerRunner. Each run claims
 * due IOCs — stale and watched, or looked up or sighted recently; riskiest and most
 * recently used first, so scarce quota goes where it matters; at most maxPerRun — and
 * enriches them through the same pass as lookups. Every instance may
 * run it: claims use FOR UPDATE SKIP LOCKED plus a lease, so no IOC is done twice.
 * Source limits hold because every upstream call goes through the shared rate gate;
 * what it holds back is deferred to its retryAt, not retried in a loop.
 */
import pLimit from 'p-limit';
import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';
import type { IocRepository } from './ioc-repository.js';
import type { IocService } from './ioc-service.js';

export interface CollectorOptions {
  enabled: boolean;
  intervalMs: number;
  batchSize: number;
  /** How long a claim keeps other instances away; longer than any pass can take. */
  leaseSeconds: number;
  /** IOCs of one batch enriched at once (sources cap their own concurrency too). */
  parallel: number;
  /** At most this many IOCs per run, however many are due. */
  maxPerRun: number;
  /** Unwatched IOCs are re-enriched only if looked up or sighted this recently. */
  recentSeconds: number;
}

export function createIocCollector(
  service: IocService,
  repo: IocRepository,
  options: CollectorOptions,
  logger: Logger,
): Worker {
  const log = logger.child({ component: 'ioc-collector' });
  const limit = pLimit(options.parallel);
  return {
    id: 'enrichment-collector',
    intervalMs: options.intervalMs,
    enabled: options.enabled,
    async run(signal) {
      // Keep going while full batches come back, up to maxPerRun: a backlog drains over
      // the following intervals, never in one burst.
      let left = options.maxPerRun;
      while (left > 0) {
        if (signal.aborted) return;
        const batch = Math.min(options.batchSize, left);
        const claimed = await repo.claimDue(batch, options.leaseSeconds, options.recentSeconds);
        left -= claimed.length;
        if (claimed.length === 0) return;
        const outcomes = await Promise.allSettled(
          claimed.map((ioc) =>
            limit(() => (signal.aborted ? Promise.resolve() : service.enrichClaimed(ioc))),
          ),
        );
        const failed = outcomes.filter((o) => o.status === 'rejected');
        if (failed.length > 0) {
          log.warn(
            { failed: failed.length, err: String((failed[0] as PromiseRejectedResult).reason) },
            'collector: some IOCs failed; they return after the lease',
          );
        }
        log.debug({ claimed: claimed.length }, 'collector batch done');
        if (claimed.length < batch) return;
      }
    },
  };
}
