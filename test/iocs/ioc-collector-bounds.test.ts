/**
 * The collector's work per run is bounded: with more IOCs due than IOC_COLLECTOR_MAX_PER_RUN,
 * one run claims batches of at most IOC_COLLECTOR_BATCH_SIZE until it has taken exactly
 * the maximum, enriches those in claim order, and leaves the rest for the next run. A
 * repository double stands in for PostgreSQL (the claim query itself is covered by
 * ioc-reenrich.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createIocCollector } from '../../src/iocs/ioc-collector.js';
import type { StoredIoc } from '../../src/iocs/ioc-record.js';
import type { IocRepository } from '../../src/iocs/ioc-repository.js';
import type { IocService } from '../../src/iocs/ioc-service.js';
import { createLogger } from '../../src/platform/logger.js';

const logger = createLogger({ log: { level: 'silent', pretty: false } });

function setup(due: number, options: { batchSize: number; maxPerRun: number }) {
  const queue = Array.from({ length: due }, (_, i) => ({ id: `ioc-${i}`, value: `v${i}.com` }) as StoredIoc);
  const claims: { limit: number; recent: number }[] = [];
  const enriched: string[] = [];
  const repo = {
    claimDue: (limit: number, _lease: number, recent: number) => {
      claims.push({ limit, recent });
      return Promise.resolve(queue.splice(0, limit));
    },
  } as unknown as IocRepository;
  const service = {
    enrichClaimed: (ioc: StoredIoc) => {
      enriched.push(ioc.id);
      return Promise.resolve();
    },
  } as unknown as IocService;
  const worker = createIocCollector(
    service,
    repo,
    { enabled: true, intervalMs: 1000, leaseSeconds: 60, parallel: 1, recentSeconds: 86_400, ...options },
    logger,
  );
  return { worker, claims, enriched, queue };
}

describe('collector bounds', () => {
  it('takes exactly maxPerRun per run, in batches of at most batchSize; the rest waits', async () => {
    const { worker, claims, enriched, queue } = setup(23, { batchSize: 4, maxPerRun: 10 });
    await worker.run(new AbortController().signal);
    expect(claims).toEqual([
      { limit: 4, recent: 86_400 },
      { limit: 4, recent: 86_400 },
      { limit: 2, recent: 86_400 },
    ]);
    expect(enriched).toEqual(Array.from({ length: 10 }, (_, i) => `ioc-${i}`));
    expect(queue).toHaveLength(13);
    await worker.run(new AbortController().signal);
    await worker.run(new AbortController().signal);
    expect(enriched).toHaveLength(23);
    expect(queue).toHaveLength(0);
  });

  it('stops at a short batch: 5 due, batches of 4, at most 100 → claims 4 then 1, nothing more', async () => {
    const { worker, claims, enriched } = setup(5, { batchSize: 4, maxPerRun: 100 });
    await worker.run(new AbortController().signal);
    expect(claims.map((c) => c.limit)).toEqual([4, 4]);
    expect(enriched).toHaveLength(5);
  });
});
