import type pg from 'pg';
import type { Worker } from './worker-runner.js';

/** Journal rows one compaction statement moves at most (one transaction each). */
export const COMPACTION_BATCH = 50_000;
const COMPACTION_INTERVAL_MS = 1_000;
/**
 * After moving this many rows in one pass, the journal is vacuumed at once: readers scan
 * it whole, and until autovacuum comes by, a burst's dead rows would stay in that scan.
 */
const VACUUM_AFTER_ROWS = 20_000;

/**
 * Moves a statistics journal into its rollups by calling its compaction function
 * (`<journal>_compact(max_rows)`, migration `stats_pending`) until it is empty or
 * another session is compacting it. Returns the rows moved.
 */
export async function compactJournal(
  pool: pg.Pool,
  journal: string,
  signal?: AbortSignal,
  batch = COMPACTION_BATCH,
): Promise<number> {
  let total = 0;
  while (!signal?.aborted) {
    const { rows } = await pool.query<{ moved: number }>(`SELECT ${journal}_compact($1::int) AS moved`, [
      batch,
    ]);
    const moved = rows[0]!.moved;
    if (moved < 0) break;
    total += moved;
    if (moved < batch) break;
  }
  if (total >= VACUUM_AFTER_ROWS && !signal?.aborted) await pool.query(`VACUUM ${journal}`);
  return total;
}

/**
 * The worker that keeps a module's rollups compacted. Every instance runs it; the
 * compaction functions' advisory lock lets one session at a time move each journal.
 */
export function compactionWorker(id: string, compact: (signal: AbortSignal) => Promise<number>): Worker {
  return {
    id,
    intervalMs: COMPACTION_INTERVAL_MS,
    enabled: true,
    run: async (signal) => {
      await compact(signal);
    },
  };
}
