/**
 * One schema, two storage settings, side by side:
 *   B_SQL="ALTER TABLE stats_threat_daily SET (fillfactor = 80)" \
 *     DATABASE_URL=… npx tsx bench/write-cost/settings-ab.ts
 * Migrates two fresh databases with this checkout's migrations, runs B_SQL (statements
 * separated by `;`) on the second ("B") only, loads BASE threat events into each (so the
 * setting shapes the tables as they fill) and compacts them, then alternates 1,000-event
 * INSERTs between the two and, every COMPACT_EVERY rounds, the statistics compaction of
 * both, in alternating order, so both see the same machine load. Prints p50/p95 of each
 * side's statements and compactions (per 1,000 rows), and how many of the rollup updates
 * were HOT (no index insertions) on each side. Options: ROUNDS (40), BASE (300000),
 * COMPACT_EVERY (5). Drops both databases.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { SESSION_OPTIONS } from '../../src/platform/database.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { compactJournal } from '../../src/platform/rollup-compaction.js';
import { exitWithHelpIfAsked } from '../help.js';
import { threatInsertSql } from './threat-insert.js';

exitWithHelpIfAsked(import.meta.url);

const serverUrl = process.env.DATABASE_URL;
const bSql = process.env.B_SQL;
if (!serverUrl || !bSql) throw new Error('set DATABASE_URL and B_SQL (the settings of side B)');
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const BASE = Number(process.env.BASE ?? 300_000);
const COMPACT_EVERY = Number(process.env.COMPACT_EVERY ?? 5);

const logger = createLogger({ log: { level: 'silent', pretty: false } });
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
const names = { A: `tw_settings_a_${process.pid}`, B: `tw_settings_b_${process.pid}` };
const pools: Record<string, pg.Pool> = {};
const sides = ['A', 'B'] as const;
const ROLLUPS = `relname LIKE 'stats\\_threat\\_%' AND relname NOT LIKE '%pending%'`;
try {
  for (const side of sides) {
    await admin.query(`CREATE DATABASE ${names[side]}`);
    const url = new URL(serverUrl);
    url.pathname = `/${names[side]}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2, options: SESSION_OPTIONS });
    pool.on('error', () => undefined);
    pools[side] = pool;
    await migrate(pool, { logger });
    if (side === 'B') for (const stmt of bSql.split(';').filter((s) => s.trim())) await pool.query(stmt);
    await pool.query(threatInsertSql(`interval '30 days'`), [BASE]);
    await compactJournal(pool, 'stats_threat_pending', undefined, BASE);
    await pool.query('VACUUM ANALYZE');
    await pool.query('SELECT pg_stat_reset()');
  }
  console.log(
    `B: ${bSql}\nload average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const t = {
    insertA: [] as number[],
    insertB: [] as number[],
    compactA: [] as number[],
    compactB: [] as number[],
  };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const s = performance.now();
      await pools[side]!.query(threatInsertSql(`interval '1 minute'`), [1000]);
      t[`insert${side}`].push(performance.now() - s);
    }
    if ((i + 1) % COMPACT_EVERY === 0) {
      for (const side of order) {
        const s = performance.now();
        await compactJournal(pools[side]!, 'stats_threat_pending');
        t[`compact${side}`].push((performance.now() - s) / COMPACT_EVERY);
      }
    }
  }
  const pct = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1);
  console.log(
    `\n| ${ROUNDS} rounds, alternating | A p50 ms | A p95 ms | B p50 ms | B p95 ms |\n|---|---:|---:|---:|---:|`,
  );
  console.log(
    `| 1,000-event INSERT | ${pct(t.insertA, 0.5)} | ${pct(t.insertA, 0.95)} | ${pct(t.insertB, 0.5)} | ${pct(t.insertB, 0.95)} |`,
  );
  console.log(
    `| compaction per 1,000 rows (every ${COMPACT_EVERY},000) | ${pct(t.compactA, 0.5)} | ${pct(t.compactA, 0.95)} | ${pct(t.compactB, 0.5)} | ${pct(t.compactB, 0.95)} |`,
  );
  console.log(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const side of sides) {
    const { rows } = await pools[side]!.query<{ upd: string; hot: string; heap: string; idx: string }>(
      `SELECT sum(n_tup_upd)::text AS upd, sum(n_tup_hot_upd)::text AS hot,
              sum(pg_table_size(relid))::text AS heap, sum(pg_indexes_size(relid))::text AS idx
         FROM pg_stat_user_tables WHERE ${ROLLUPS}`,
    );
    const upd = Number(rows[0]?.upd ?? 0);
    const hot = Number(rows[0]?.hot ?? 0);
    const mb = (bytes: string | undefined) => (Number(bytes ?? 0) / 2 ** 20).toFixed(1);
    console.log(
      `${side}: rollup updates ${upd}, HOT ${hot} (${upd ? ((100 * hot) / upd).toFixed(0) : '-'} %); ` +
        `rollup tables ${mb(rows[0]?.heap)} MB, their indexes ${mb(rows[0]?.idx)} MB`,
    );
  }
} finally {
  for (const p of Object.values(pools)) await p.end();
  for (const name of Object.values(names)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
