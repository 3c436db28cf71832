/**
 * The enrichment collector, a declared worker run by the WorkerRunner. Each run claims a batch
 * of due IOCs — riskiest and most recently seen first, so scarce quota goes where it
 * matters — and enriches them through the same pass as lookups. Every instance may
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
      // Keep going while full batches come back, so a backlog drains between intervals.
      for (;;) {
        if (signal.aborted) return;
        const claimed = await repo.claimDue(options.batchSize, options.leaseSeconds);
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
        if (claimed.length < options.batchSize) return;
      }
    },
  };
}
