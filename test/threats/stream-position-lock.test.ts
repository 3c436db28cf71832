/**
 * Stream positions are commit-ordered only if a writer takes its stream's lock before
 * it takes any position: a statement that waits for the lock must not have drawn a
 * value from the sequence yet (else an earlier-numbered row could commit after a
 * later-numbered one, and a resuming reader would skip it).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

const STREAMS = [
  {
    table: 'threat_events',
    sequence: 'threat_events_stream_position_seq',
    insert: `INSERT INTO threat_events (source_ip, threat_type, severity, confidence, occurred_at, category,
               category_confidence, classification_method)
             VALUES ('192.0.2.7', 'port_scan', 3, 0.5, now(), 'SCAN', 0.5, 'RULES') RETURNING stream_position AS p`,
  },
  {
    table: 'crowdsec_alerts',
    sequence: 'crowdsec_alerts_stream_position_seq',
    insert: `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
               lapi_created_at, source_scope, source_value, source_ip, decision_ids)
             SELECT 'http://lapi.test', coalesce(max(crowdsec_id), 0) + 1 + floor(random() * 1e6), 's', 'm', 1,
                    now(), now(), now(), 'Ip', '192.0.2.7', '192.0.2.7', '{}' FROM crowdsec_alerts
             RETURNING stream_position AS p`,
  },
];

describe('stream positions', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('stream_position_lock');
    pool = testPool(db.url, { max: 4 });
    await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  for (const s of STREAMS)
    it(`${s.table}: a writer waiting for the stream's lock has taken no position`, async () => {
      const first = await pool.connect();
      const second = await pool.connect();
      try {
        await first.query('BEGIN');
        const p1 = Number((await first.query<{ p: string }>(s.insert)).rows[0]!.p);
        const secondPid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
          .pid;
        const waiting = second.query<{ p: string }>(s.insert);
        // Wait until the second writer is blocked on the advisory lock.
        for (;;) {
          const { rows } = await pool.query<{ w: string | null }>(
            `SELECT wait_event AS w FROM pg_stat_activity WHERE pid = $1`,
            [secondPid],
          );
          if (rows[0]?.w === 'advisory') break;
          await new Promise((r) => setImmediate(r));
        }
        const { rows } = await pool.query<{ last_value: string }>(`SELECT last_value FROM ${s.sequence}`);
        expect(Number(rows[0]!.last_value)).toBe(p1);
        await first.query('COMMIT');
        const p2 = Number((await waiting).rows[0]!.p);
        expect(p2).toBe(p1 + 1);
      } finally {
        first.release();
        second.release();
      }
    });
});
