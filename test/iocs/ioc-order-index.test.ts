/**
 * The iocs list orders through the repository on a store of a few thousand IOCs: every
 * order is a scan of its (key, id) index (EXPLAIN of the statement the repository runs),
 * and paging through with its cursors yields exactly the order worked out here in
 * JavaScript from the stored keys (keyed rows highest first, rows without a key last,
 * the id breaking ties). Also: the triggers on the threat event and CrowdSec tables move
 * last_sighted_at forward, never back, for the IOCs they name only.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IocRepository } from '../../src/iocs/ioc-repository.js';
import type { IocOrder } from '../../src/iocs/ioc-record.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import type { Cursor } from '../../src/platform/page.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

const COUNT = 3_000;
const logger = createLogger({ log: { level: 'silent', pretty: false } });
let db: TestDatabase;
let pool: pg.Pool;

interface KeyRow {
  id: string;
  first_seen_at: Date;
  risk_score: number | null;
  last_enriched_at: Date | null;
  last_sighted_at: Date | null;
}

beforeAll(async () => {
  db = await createTestDatabase('ioc_order_index');
  pool = testPool(db.url, { max: 4 });
  await migrate(pool, { logger });
  // Ties on purpose: scores repeat every 101 rows, times every 500; every seventh IOC is
  // unscored, every fifth never enriched, every third never sighted.
  await pool.query(
    `INSERT INTO iocs (type, value, risk_score, risk_level, first_seen_at, last_enriched_at, last_sighted_at)
     SELECT 'IPV4', '10.' || (i / 65536) || '.' || ((i / 256) % 256) || '.' || (i % 256),
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37) % 101 END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'LOW'::"RiskLevel" END,
       timestamptz '2026-01-01' + make_interval(secs => (i * 7919) % 2000),
       CASE WHEN i % 5 = 0 THEN NULL ELSE timestamptz '2026-02-01' + make_interval(secs => (i * 13) % 500) END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE timestamptz '2026-03-01' + make_interval(secs => (i * 17) % 500) END
     FROM generate_series(1, $1::int) AS g(i)`,
    [COUNT],
  );
  await pool.query('ANALYZE iocs');
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Each order's key as the list defines it; null sorts after every key. */
const KEYS: Record<IocOrder, (r: KeyRow) => number | null> = {
  FIRST_SEEN: (r) => r.first_seen_at.getTime(),
  SCORE: (r) => r.risk_score,
  LAST_ENRICHED: (r) => r.last_enriched_at?.getTime() ?? null,
  LAST_SIGHTING: (r) => r.last_sighted_at?.getTime() ?? null,
};

const INDEXES: Record<IocOrder, string> = {
  FIRST_SEEN: 'iocs_first_seen_at_id_idx',
  SCORE: 'iocs_risk_score_id_idx',
  LAST_ENRICHED: 'iocs_last_enriched_at_id_idx',
  LAST_SIGHTING: 'iocs_last_sighted_at_id_idx',
};

async function expectedOrder(order: IocOrder, where = 'true'): Promise<string[]> {
  const { rows } = await pool.query<KeyRow>(
    `SELECT id, first_seen_at, risk_score, last_enriched_at, last_sighted_at FROM iocs WHERE ${where}`,
  );
  const key = KEYS[order];
  return rows
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) {
        if (ka === null) return 1;
        if (kb === null) return -1;
        return kb - ka;
      }
      return a.id < b.id ? 1 : -1;
    })
    .map((r) => r.id);
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

/** A repository whose statements are recorded, to EXPLAIN them afterwards. */
function recordingRepository(): { repo: IocRepository; statements: pg.QueryConfig[] } {
  const statements: pg.QueryConfig[] = [];
  const spy = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (config: pg.QueryConfig, values?: unknown[]) => {
          statements.push(typeof config === 'string' ? { text: config, values } : config);
          return target.query(config, values);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { repo: new IocRepository(spy), statements };
}

describe('iocs list orders', () => {
  for (const order of ['FIRST_SEEN', 'SCORE', 'LAST_ENRICHED', 'LAST_SIGHTING'] as const) {
    it(`${order}: an index scan of ${INDEXES[order]}, no scan of the whole table, on the first page and after a cursor`, async () => {
      const { repo, statements } = recordingRepository();
      const first = await repo.list({}, 50, undefined, false, order);
      const last = first.rows.at(-1)!;
      await repo.list({}, 50, { at: last.sortAt, id: last.id }, false, order);
      expect(statements).toHaveLength(2);
      for (const s of statements) {
        const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
          `EXPLAIN (FORMAT JSON) ${s.text}`,
          s.values,
        );
        const all = nodes(rows[0]!['QUERY PLAN'][0].Plan);
        expect(
          all.filter((n) => n['Node Type'] === 'Seq Scan' || n['Node Type'] === 'Bitmap Heap Scan'),
        ).toEqual([]);
        const scans = all.filter(
          (n) => n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan',
        );
        expect(scans.length).toBeGreaterThan(0);
        // SCORE reads the rows whose stored score expired apart, through their own index.
        const expected =
          order === 'SCORE' ? [INDEXES[order], 'iocs_score_valid_until_idx'] : [INDEXES[order]];
        expect(new Set(scans.map((n) => n['Index Name']))).toEqual(new Set(expected));
      }
    });

    it(`${order}: pages of 101 through ${COUNT} IOCs give exactly the expected order`, async () => {
      const repo = new IocRepository(pool);
      const seen: string[] = [];
      let after: Cursor | undefined;
      for (;;) {
        const page = await repo.list({}, 101, after, false, order);
        seen.push(...page.rows.map((r) => r.id));
        if (!page.hasNextPage) break;
        const last = page.rows.at(-1)!;
        after = { at: last.sortAt, id: last.id };
      }
      expect(seen).toEqual(await expectedOrder(order));
    });
  }

  it('with a filter (minScore 60), SCORE pages hold exactly the IOCs scored 60 or more, in order', async () => {
    const repo = new IocRepository(pool);
    const seen: string[] = [];
    let after: Cursor | undefined;
    for (;;) {
      const page = await repo.list({ minScore: 60 }, 77, after, false, 'SCORE');
      seen.push(...page.rows.map((r) => r.id));
      if (!page.hasNextPage) break;
      const last = page.rows.at(-1)!;
      after = { at: last.sortAt, id: last.id };
    }
    const expected = await expectedOrder('SCORE', 'risk_score >= 60');
    // Scores 60..100 on the rows not divisible by 7: 41 of every 101 residues, minus sevenths.
    expect(expected.length).toBeGreaterThan(1_000);
    expect(seen).toEqual(expected);
  });
});

describe('last_sighted_at triggers', () => {
  const sighted = async (value: string) =>
    (
      await pool.query<{ at: Date | null }>('SELECT last_sighted_at AS at FROM iocs WHERE value = $1', [
        value,
      ])
    ).rows[0]?.at ?? null;

  it('a threat event, an alert and a decision move it forward to their own time, never back; other values write nothing', async () => {
    const repo = new IocRepository(pool);
    const [ip, domain] = await repo.registerMany(
      [
        { type: 'IPV4', value: '203.0.113.77', routable: false },
        { type: 'DOMAIN', value: 'sighted.example', routable: true },
      ],
      false,
    );
    expect(await sighted(ip!.value)).toBeNull();
    expect(await sighted(domain!.value)).toBeNull();

    const event = (ip: string, at: string) =>
      pool.query(
        `INSERT INTO threat_events (source_ip, threat_type, severity, confidence, occurred_at, category,
           category_confidence, classification_method)
         VALUES ($1, 'scan', 3, 0.5, $2, 'SCAN', 0.5, 'RULES')`,
        [ip, at],
      );
    // Two events in one statement: the newer counts.
    await pool.query(
      `INSERT INTO threat_events (source_ip, threat_type, severity, confidence, occurred_at, category,
         category_confidence, classification_method)
       VALUES ('203.0.113.77', 'scan', 3, 0.5, '2026-05-01T10:00:00Z', 'SCAN', 0.5, 'RULES'),
              ('203.0.113.77', 'scan', 3, 0.5, '2026-05-01T11:00:00Z', 'SCAN', 0.5, 'RULES'),
              ('203.0.113.78', 'scan', 3, 0.5, '2026-05-09T00:00:00Z', 'SCAN', 0.5, 'RULES')`,
    );
    expect(await sighted(ip!.value)).toEqual(new Date('2026-05-01T11:00:00Z'));
    // An older event does not move it back.
    await event('203.0.113.77', '2026-04-01T00:00:00Z');
    expect(await sighted(ip!.value)).toEqual(new Date('2026-05-01T11:00:00Z'));

    const alert = (id: number, value: string, sourceIp: string | null, at: string) =>
      pool.query(
        `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
           lapi_created_at, source_scope, source_value, source_ip, decision_ids)
         VALUES ('http://lapi', $1, 's', 'm', 1, $2, $2, $2, 'Ip', $3, $4, '{}')`,
        [id, at, value, sourceIp],
      );
    await alert(1, '198.51.100.1', '203.0.113.77', '2026-05-02T00:00:00Z');
    expect(await sighted(ip!.value)).toEqual(new Date('2026-05-02T00:00:00Z'));
    await alert(2, 'sighted.example', null, '2026-05-03T00:00:00Z');
    expect(await sighted(domain!.value)).toEqual(new Date('2026-05-03T00:00:00Z'));

    const { rows } = await pool.query<{ created_at: Date }>(
      `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at)
       VALUES ('http://lapi', 1, 'cscli', 'ban', 'Ip', '203.0.113.77', 's', now() + interval '1 hour')
       RETURNING created_at`,
    );
    expect(await sighted(ip!.value)).toEqual(rows[0]!.created_at);
    expect(await sighted(domain!.value)).toEqual(new Date('2026-05-03T00:00:00Z'));
    expect(await sighted('203.0.113.78')).toBeNull();
  });

  it('an IOC registered after it was sighted starts with its newest sighting', async () => {
    await pool.query(
      `INSERT INTO threat_events (source_ip, threat_type, severity, confidence, occurred_at, category,
         category_confidence, classification_method)
       VALUES ('203.0.113.90', 'scan', 3, 0.5, '2026-06-01T00:00:00Z', 'SCAN', 0.5, 'RULES'),
              ('203.0.113.90', 'scan', 3, 0.5, '2026-06-02T00:00:00Z', 'SCAN', 0.5, 'RULES')`,
    );
    await new IocRepository(pool).register({ type: 'IPV4', value: '203.0.113.90', routable: false });
    expect(await sighted('203.0.113.90')).toEqual(new Date('2026-06-02T00:00:00Z'));
  });
});
