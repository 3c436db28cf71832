/**
 * The re-scoring worker: every few seconds it stores the score of the IOCs whose stored
 * score expired (an analyst verdict lapsed), reading only those rows through the
 * score_valid_until index. Lists use the lapsed score from the instant of expiry
 * (ioc-repository.ts), so this only makes it the stored score, with its history row and
 * iocEnriched. Every instance may run it: a row re-scored twice changes nothing.
 */
import type { Worker } from '../platform/worker-runner.js';
import type { CurationService } from './curation-service.js';

/** How often the worker looks for expired scores. */
export const LAPSE_INTERVAL_MS = 2_000;
/** IOCs re-scored per batch; a run goes on while full batches come back, up to MAX_PER_RUN. */
const BATCH = 200;
const MAX_PER_RUN = 5_000;

export function createLapseWorker(curation: CurationService, enabled = true): Worker {
  return {
    id: 'ioc-score-lapse',
    intervalMs: LAPSE_INTERVAL_MS,
    enabled,
    async run(signal) {
      for (let done = 0; done < MAX_PER_RUN && !signal.aborted;) {
        const n = await curation.rescoreExpired(BATCH);
        done += n;
        if (n < BATCH) return;
      }
    },
  };
}

/** One pass outside the runner (module start-up): the scores that expired while no instance ran. */
export async function rescoreAllExpired(curation: CurationService): Promise<void> {
  for (let done = 0; done < MAX_PER_RUN;) {
    const n = await curation.rescoreExpired(BATCH);
    done += n;
    if (n < BATCH) return;
  }
}
