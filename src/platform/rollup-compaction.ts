import type pg from 'pg';
import type { CheckResult, HealthCheck } from './health-service.js';
import { SingleFlight } from './single-flight.js';
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

/**
 * Journal rows beyond which statistics count as lagging: about half a minute of what one
 * compacting session moves at full speed. The journal of a healthy deployment holds at
 * most a second or two of writes; a backlog this large means writes outrun compaction,
 * or no instance compacts (every instance started with WORKERS=off), and every
 * statistic read scans the whole backlog.
 */
export const BACKLOG_LAGGING_ROWS = 500_000;

/** Rows waiting in `journal`, counted up to `cap` (a count of `cap` means "at least"). */
export async function journalBacklog(pool: pg.Pool, journal: string, cap: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${journal} LIMIT $1) s`,
    [cap],
  );
  return rows[0]!.n;
}

/**
 * An optional health component for a module's statistics journals: DOWN (the service
 * DEGRADED) while any journal holds BACKLOG_LAGGING_ROWS or more, with the backlog in
 * its detail. It reads the shared database, so every instance reports the same,
 * whichever instances run the compaction.
 */
export function journalHealthCheck(
  name: string,
  pool: pg.Pool,
  journals: readonly { label: string; table: string }[],
  laggingRows = BACKLOG_LAGGING_ROWS,
): HealthCheck {
  // Health queries arriving together share one count: a key polling `health` in a loop
  // adds at most one scan of the journals at a time.
  const flight = new SingleFlight<CheckResult>();
  return {
    name,
    required: false,
    mode: 'journal',
    check: () => flight.run(name, count),
  };

  async function count(): Promise<CheckResult> {
    const counts = await Promise.all(
      journals.map(async (j) => ({ ...j, rows: await journalBacklog(pool, j.table, laggingRows) })),
    );
    const parts = counts.map((c) => `${c.label} ${c.rows >= laggingRows ? `${laggingRows}+` : c.rows}`);
    const lagging = counts.some((c) => c.rows >= laggingRows);
    return {
      down: lagging,
      detail: lagging
        ? `statistics lag behind writes, rows waiting for compaction: ${parts.join(', ')}` +
          ' (is any instance running workers?)'
        : `rows waiting for compaction: ${parts.join(', ')}`,
      snapshot: Object.fromEntries(counts.map((c) => [c.label, c.rows])),
    };
  }
}
