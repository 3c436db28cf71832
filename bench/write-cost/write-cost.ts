/**
 * Write cost of two schemas side by side: `OLD_TREE=/path/to/other/checkout DATABASE_URL=… npm run bench -- write-cost`
 * (optional ROUNDS (30), BASE (300000), COMPACT_EVERY (10): rounds between compactions, i.e.
 * the rows the compaction worker finds after one second at 10,000 events/s). Migrates one fresh database with this
 * checkout's migrations and one with OLD_TREE's, loads BASE threat events into each,
 * then alternates 1,000-event INSERTs (times within the last minute, as live ingestion
 * writes them) between the two, so both see the same machine load, and prints each
 * one's p50/p95 per statement; for this checkout also the statistics compaction of those
 * rows, which runs later on a worker instead of in the statement. Drops both databases.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { SESSION_OPTIONS } from '../../src/platform/database.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { compactJournal } from '../../src/platform/rollup-compaction.js';
import { exitWithHelpIfAsked } from '../help.js';
import { threatInsertSql } from './threat-insert.js';

exitWithHelpIfAsked(import.meta.url);

const OLD_TREE = process.env.OLD_TREE;
const serverUrl = process.env.DATABASE_URL;
if (!OLD_TREE || !serverUrl) throw new Error('set OLD_TREE (another checkout) and DATABASE_URL');
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const BASE = Number(process.env.BASE ?? 300_000);
const COMPACT_EVERY = Number(process.env.COMPACT_EVERY ?? 10);

type Migrate = typeof migrate;
const oldMigrate = ((await import(`${OLD_TREE}/src/platform/db-migrator.ts`)) as { migrate: Migrate })
  .migrate;
const logger = createLogger({ log: { level: 'silent', pretty: false } });
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
const names = { new: `tw_write_new_${process.pid}`, old: `tw_write_old_${process.pid}` };
const pools: Record<string, pg.Pool> = {};
try {
  for (const [side, name] of Object.entries(names)) {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2, options: SESSION_OPTIONS });
    pools[side] = pool;
    // An idle client cut off while the databases are dropped must not crash the run.
    pool.on('error', () => undefined);
    await (side === 'new' ? migrate : oldMigrate)(pool, { logger });
    await pool.query(threatInsertSql(`interval '30 days'`), [BASE]);
    if (side === 'new') await compactJournal(pool, 'stats_threat_pending', undefined, BASE);
    await pool.query('VACUUM ANALYZE');
  }
  const t: Record<string, number[]> = { old: [], new: [], compaction: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of i % 2 === 0 ? ['old', 'new'] : ['new', 'old']) {
      const s = performance.now();
      await pools[side]!.query(threatInsertSql(`interval '1 minute'`), [1000]);
      t[side]!.push(performance.now() - s);
    }
    if ((i + 1) % COMPACT_EVERY === 0) {
      const s = performance.now();
      await compactJournal(pools.new!, 'stats_threat_pending');
      t.compaction!.push((performance.now() - s) / COMPACT_EVERY);
    }
  }
  const pct = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1);
  console.log(`\n| 1,000-event INSERT (${ROUNDS} rounds, alternating) | p50 ms | p95 ms |\n|---|---:|---:|`);
  console.log(`| ${OLD_TREE} schema | ${pct(t.old!, 0.5)} | ${pct(t.old!, 0.95)} |`);
  console.log(`| this checkout's schema | ${pct(t.new!, 0.5)} | ${pct(t.new!, 0.95)} |`);
  console.log(
    `| this checkout: compaction (worker, every ${COMPACT_EVERY},000 rows), per 1,000 rows | ${pct(t.compaction!, 0.5)} | ${pct(t.compaction!, 0.95)} |`,
  );
} finally {
  for (const p of Object.values(pools)) await p.end();
  for (const name of Object.values(names)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
