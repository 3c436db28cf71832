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
const insert = (
  window: string,
) => `INSERT INTO threat_events (source_ip, destination_ip, destination_port, protocol,
    threat_type, severity, confidence, occurred_at, country_code, latitude, longitude, geo_approximate, category,
    category_confidence, classification_method)
  SELECT ('100.' || (k / 250 % 250) || '.' || (k % 250) || '.1')::inet, '10.0.0.1'::inet,
         (ARRAY[22,23,80,443,445,3389,8080,5900,25,53,3306,6379])[1 + (k + g % 2) % 12], 'tcp',
         'type-' || (k % 8), 1 + k % 10, 0.9, now() - random() * ${window}, (ARRAY['US','CN','RU','DE','FR'])[1 + k % 5],
         (ARRAY[39.8,35.0,61.5,51.2,46.2])[1 + k % 5], (ARRAY[-98.6,103.8,105.3,10.5,2.2])[1 + k % 5], true,
         (ARRAY['BRUTEFORCE','SCAN','EXPLOIT','MALWARE','OTHER'])[1 + k % 5]::"ThreatCategory", 0.8, 'RULES'
  FROM generate_series(1, $1::int) g, LATERAL (SELECT floor(power(random(), 3) * 20000)::int + 0 * g AS k) r`;
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
    await pool.query(insert(`interval '30 days'`), [BASE]);
    if (side === 'new') await compactJournal(pool, 'stats_threat_pending', undefined, BASE);
    await pool.query('VACUUM ANALYZE');
  }
  const t: Record<string, number[]> = { old: [], new: [], compaction: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of i % 2 === 0 ? ['old', 'new'] : ['new', 'old']) {
      const s = performance.now();
      await pools[side]!.query(insert(`interval '1 minute'`), [1000]);
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
