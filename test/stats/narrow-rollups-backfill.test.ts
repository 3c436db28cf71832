/**
 * The migration that adds the narrow threat rollups (by source IP alone, by destination
 * port alone) fills them from the endpoint rollups while rows are still in the journal:
 * events written and partly compacted before it, some deleted (−1 rows both compacted
 * and still pending). After it, each narrow table plus the journal equals a recount of
 * the rows, and after a full compaction the tables alone do. A backfill that also summed
 * the journal (or skipped weeks or months) counts rows twice or misses them.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

const NARROW = '20261205090000_stats_threat_narrow_rollups';
const logger = createLogger({ log: { level: 'silent', pretty: false } });
const TABLES = ['source', 'port'].flatMap((k) =>
  (['daily', 'weekly', 'monthly'] as const).map((l) => ({
    table: `stats_threat_${k}_${l}`,
    level: { daily: 'day', weekly: 'week', monthly: 'month' }[l],
    key: k === 'source' ? 'source_ip' : 'destination_port',
    raw: k === 'source' ? 'source_ip' : 'coalesce(destination_port, -1)',
  })),
);

/** `count` events, event k at k·7h + 13 min back (about 17 weeks for 600), 5 sources, 3 ports. */
const insertEvents = (offset: number, count: number) =>
  `INSERT INTO threat_events (source_ip, destination_ip, destination_port, protocol, threat_type, severity,
     confidence, occurred_at, country_code, category, category_confidence, classification_method)
   SELECT ('192.0.2.' || (k % 5))::inet, '10.0.0.1'::inet, (ARRAY[22, 443, NULL])[1 + k % 3], 'tcp',
          'type-' || (k % 2), 1 + k % 10, 0.9, now() - make_interval(hours => k * 7, mins => 13),
          (ARRAY['DE', 'US'])[1 + k % 2], 'SCAN', 0.8, 'RULES'
     FROM generate_series(${offset}, ${offset + count - 1}) k`;

/** A rollup cell: bucket, key (source IP or port), count. */
type Row = { bucket: Date; k: string | number; n: number };

describe(`migration ${NARROW}`, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('narrow_backfill');
    pool = testPool(db.url, { max: 2 });
    dir = await mkdtemp(join(tmpdir(), 'tw-migrations-'));
    for (const name of await readdir(DEFAULT_MIGRATIONS_DIR))
      if (name < NARROW) await cp(join(DEFAULT_MIGRATIONS_DIR, name), join(dir, name), { recursive: true });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const stored = async (t: (typeof TABLES)[number], withJournal: boolean) =>
    (
      await pool.query<Row>(
        `SELECT bucket, ${t.key} AS k, sum(n)::int AS n FROM (SELECT bucket, ${t.key}, n FROM ${t.table}
           ${withJournal ? `UNION ALL SELECT date_trunc('${t.level}', at, 'UTC'), ${t.key}, n FROM stats_threat_pending` : ''}) x
          GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2`,
      )
    ).rows;
  const recount = async (t: (typeof TABLES)[number]) =>
    (
      await pool.query<Row>(
        `SELECT date_trunc('${t.level}', occurred_at, 'UTC') AS bucket, ${t.raw} AS k, count(*)::int AS n
           FROM threat_events GROUP BY 1, 2 ORDER BY 1, 2`,
      )
    ).rows;

  it('fills the narrow rollups from the endpoint ones, leaving the journal to the compaction', async () => {
    await migrate(pool, { dir, logger });
    // 600 events, all compacted; 100 of them deleted, that deletion compacted.
    await pool.query(insertEvents(0, 600));
    await pool.query('SELECT stats_threat_pending_compact(1000000)');
    await pool.query(
      `DELETE FROM threat_events WHERE occurred_at < now() - interval '60 days' AND source_ip = '192.0.2.1'`,
    );
    await pool.query('SELECT stats_threat_pending_compact(1000000)');
    // Then, left in the journal: 200 new events (half of them compacted) and a deletion
    // of rows compacted long ago.
    await pool.query(insertEvents(600, 200));
    await pool.query('SELECT stats_threat_pending_compact(100)');
    await pool.query(`DELETE FROM threat_events WHERE source_ip = '192.0.2.3' AND destination_port = 443`);
    const { rows } = await pool.query<{ plus: number; minus: number }>(
      `SELECT count(*) FILTER (WHERE n > 0)::int AS plus, count(*) FILTER (WHERE n < 0)::int AS minus
         FROM stats_threat_pending`,
    );
    expect(rows[0]!.plus).toBe(100);
    // k ≡ 13 (mod 15) for k < 800: 13, 28, …, 793.
    expect(rows[0]!.minus).toBe(53);

    await cp(join(DEFAULT_MIGRATIONS_DIR, NARROW), join(dir, NARROW), { recursive: true });
    expect(await migrate(pool, { dir, logger })).toEqual({ applied: [NARROW] });
    for (const t of TABLES) expect(await stored(t, true), `${t.table} + journal`).toEqual(await recount(t));
    await pool.query('SELECT stats_threat_pending_compact(1000000)');
    for (const t of TABLES) {
      expect(await stored(t, false), t.table).toEqual(await recount(t));
      expect((await pool.query(`SELECT 1 FROM ${t.table} WHERE n < 0`)).rowCount, t.table).toBe(0);
    }
  });
});
