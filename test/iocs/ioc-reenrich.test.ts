/**
 * Re-enrichment selection through the repository, with times set relative to the
 * database's now(): which due IOCs the collector claims (watched, or looked up or sighted
 * within the window, or a lapsing verdict), in which order (risk, unscored as 50, then
 * the newer of the last lookup and the last sighting), how many, and which are put to
 * rest instead — and that a lookup, a watch or a sighting wakes a resting one.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IocRepository } from '../../src/iocs/ioc-repository.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

const logger = createLogger({ log: { level: 'silent', pretty: false } });
const DAY = 86_400;
const RECENT = 7 * DAY;
let db: TestDatabase;
let pool: pg.Pool;
let repo: IocRepository;

beforeAll(async () => {
  db = await createTestDatabase('ioc_reenrich');
  pool = testPool(db.url, { max: 4 });
  await migrate(pool, { logger });
  repo = new IocRepository(pool);
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE iocs CASCADE');
});

interface Spec {
  value: string;
  score?: number | null;
  watched?: boolean;
  /** Seconds before now(); null: not due (next_enrich_at null), else due that long ago. */
  dueAgo?: number | null;
  seenAgo: number;
  sightedAgo?: number | null;
  /** A verdict lapsing at next_enrich_at. */
  verdictLapses?: boolean;
}

async function seed(specs: Spec[]): Promise<void> {
  for (const s of specs) {
    await pool.query(
      `INSERT INTO iocs (type, value, risk_score, watched, next_enrich_at, stale_at, last_seen_at, last_sighted_at)
       VALUES ('DOMAIN', $1, $2, $3,
         now() - make_interval(secs => $4), now() - make_interval(secs => $4),
         now() - make_interval(secs => $5), now() - make_interval(secs => $6))`,
      [s.value, s.score ?? null, s.watched ?? false, s.dueAgo ?? null, s.seenAgo, s.sightedAgo ?? null],
    );
    if (s.verdictLapses) {
      await pool.query(
        `UPDATE iocs SET verdict = jsonb_build_object('verdict', 'MALICIOUS',
           'expiresAt', to_char(next_enrich_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         WHERE value = $1`,
        [s.value],
      );
    }
  }
}

const nextOf = async (value: string) =>
  (await pool.query<{ n: Date | null }>('SELECT next_enrich_at AS n FROM iocs WHERE value = $1', [value]))
    .rows[0]?.n ?? null;

describe('claimDue', () => {
  it('claims due IOCs in use by risk then recency, rests the unused ones, leaves the not-due ones', async () => {
    await seed([
      // In use: looked up, sighted or watched; all due.
      { value: 'a.example', score: 80, dueAgo: 60, seenAgo: 3 * DAY },
      { value: 'b.example', score: 80, dueAgo: 60, seenAgo: 10 * DAY, sightedAgo: DAY },
      { value: 'c.example', score: null, dueAgo: 60, seenAgo: 2 * DAY },
      { value: 'd.example', score: 50, dueAgo: 60, seenAgo: 5 * DAY },
      { value: 'e.example', score: 10, dueAgo: 60, seenAgo: 30 * DAY, watched: true },
      { value: 'f.example', score: 95, dueAgo: 60, seenAgo: 30 * DAY, verdictLapses: true },
      // Not used lately: rested.
      { value: 'g.example', score: 99, dueAgo: 60, seenAgo: 8 * DAY },
      { value: 'h.example', score: 99, dueAgo: 60, seenAgo: 30 * DAY, sightedAgo: 9 * DAY },
      // In use but not due.
      { value: 'i.example', score: 99, dueAgo: -3600, seenAgo: 60 },
      { value: 'j.example', score: 99, dueAgo: null, seenAgo: 60 },
    ]);
    const first = await repo.claimDue(3, 600, RECENT);
    // f (95), then a and b (80; b sighted a day ago is newer than a's lookup 3 days ago).
    expect(first.map((i) => i.value)).toEqual(['f.example', 'b.example', 'a.example']);
    const second = await repo.claimDue(10, 600, RECENT);
    // c and d both count 50: c was looked up more recently; e is watched.
    expect(second.map((i) => i.value)).toEqual(['c.example', 'd.example', 'e.example']);
    expect(await repo.claimDue(10, 600, RECENT)).toEqual([]);
    expect(await nextOf('g.example')).toBeNull();
    expect(await nextOf('h.example')).toBeNull();
    expect(await nextOf('j.example')).toBeNull();
    const leased = await nextOf('a.example');
    expect(leased!.getTime()).toBeGreaterThan(Date.now() + 500_000);
    expect(await nextOf('i.example')).not.toBeNull();
  });

  it('a window of 0 refreshes watched IOCs and lapsing verdicts only', async () => {
    await seed([
      { value: 'a.example', score: 80, dueAgo: 60, seenAgo: 0 },
      { value: 'e.example', score: 10, dueAgo: 60, seenAgo: 30 * DAY, watched: true },
    ]);
    expect((await repo.claimDue(10, 600, 0)).map((i) => i.value)).toEqual(['e.example']);
    expect(await nextOf('a.example')).toBeNull();
  });

  it('a lookup (touch), a registration or a sighting wakes a resting IOC at its stale time', async () => {
    await seed([
      { value: 'k.example', score: 40, dueAgo: 120, seenAgo: 30 * DAY },
      { value: 'l.example', score: 40, dueAgo: 120, seenAgo: 30 * DAY },
      { value: 'm.example', score: 40, dueAgo: 120, seenAgo: 30 * DAY },
    ]);
    expect(await repo.claimDue(10, 600, RECENT)).toEqual([]);
    for (const v of ['k.example', 'l.example', 'm.example']) expect(await nextOf(v)).toBeNull();
    const { rows } = await pool.query<{ id: string; stale_at: Date }>(
      `SELECT id, stale_at FROM iocs WHERE value = 'k.example'`,
    );
    await repo.touch(rows[0]!.id);
    await repo.register({ type: 'DOMAIN', value: 'l.example', routable: true });
    await pool.query(
      `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at)
       VALUES ('http://lapi', 1, 'cscli', 'ban', 'Domain', 'm.example', 's', now() + interval '1 hour')`,
    );
    expect(await nextOf('k.example')).toEqual(rows[0]!.stale_at);
    expect((await repo.claimDue(10, 600, RECENT)).map((i) => i.value).sort()).toEqual([
      'k.example',
      'l.example',
      'm.example',
    ]);
  });

  it('unwatch counts only the values that were watched', async () => {
    await seed([
      { value: 'n.example', seenAgo: 0, watched: true },
      { value: 'o.example', seenAgo: 0, watched: true },
      { value: 'p.example', seenAgo: 0 },
    ]);
    expect(await repo.unwatch(['n.example', 'p.example', 'q.example', 'n.example'])).toBe(1);
    expect(await repo.unwatch(['n.example', 'o.example'])).toBe(1);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM iocs WHERE watched');
    expect(rows[0]!.n).toBe(0);
  });
});
