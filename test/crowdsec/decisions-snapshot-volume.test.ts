/**
 * A 100,000-decision startup snapshot through the real poller, repository and
 * database, served by a loopback fake (only for volume; the LAPI's behaviour is
 * covered against a real LAPI elsewhere). Checks that everything is stored and
 * reconciled, and that the body was consumed in batches while it was still arriving
 * rather than parsed whole.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_GEO } from '../../src/crowdsec/crowdsec-geo.js';
import { DecisionRepository, type DecisionInput } from '../../src/crowdsec/decision-repository.js';
import { DecisionsPoller } from '../../src/crowdsec/decisions-poller.js';
import { LapiClient } from '../../src/crowdsec/lapi-client.js';
import { GeoService } from '../../src/geo/geo-service.js';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import {
  BOUNCER_KEY,
  decisionIp,
  startFakeLapiSnapshot,
  type FakeLapiSnapshot,
} from '../fakes/fake-lapi-snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

const COUNT = 100_000;
const logger = createLogger({ log: { level: 'silent', pretty: false } });
let db: TestDatabase;
let pool: pg.Pool;
let fake: FakeLapiSnapshot;

/** Records batch sizes and whether the body was still streaming at the first write. */
class RecordingRepository extends DecisionRepository {
  batches: number[] = [];
  firstAt: number | undefined;
  override async upsertBatch(lapiUrl: string, batch: readonly DecisionInput[]) {
    this.batches.push(batch.length);
    this.firstAt ??= performance.now();
    return super.upsertBatch(lapiUrl, batch);
  }
}

beforeAll(async () => {
  db = await createTestDatabase('decisions_snapshot_volume');
  pool = testPool(db.url, { max: 4 });
  await migrate(pool, { logger });
  fake = await startFakeLapiSnapshot({ count: COUNT, deleted: 50 });
}, 60_000);
afterAll(async () => {
  await fake?.stop();
  await pool?.end();
  await db?.drop();
});

describe('startup snapshot of 100,000 decisions', () => {
  it('stores and reconciles them all, in batches, while the body streams', async () => {
    const repo = new RecordingRepository(pool);
    // A decision the LAPI no longer lists, and one the snapshot reports deleted.
    const stale = (crowdsecId: number): DecisionInput => ({
      crowdsecId,
      origin: 'cscli',
      type: 'ban',
      scope: 'Ip',
      value: '198.51.100.7',
      scenario: 'manual',
      simulated: false,
      expiresAt: new Date(Date.now() + 3_600_000),
      geo: NO_GEO,
    });
    await repo.upsertBatch(fake.url, [stale(5_000_000), stale(COUNT + 1)]);
    repo.batches = [];
    repo.firstAt = undefined;
    fake.spec = { count: COUNT, deleted: 50 };
    // The other test may have run first on the same fake: keep only this test's requests.
    fake.requests.length = 0;
    fake.finished.length = 0;

    const geo = await GeoService.open({}, logger);
    const client = new LapiClient({
      baseUrl: fake.url,
      bouncerKey: BOUNCER_KEY,
      userAgent: 'threatwire/test',
      timeoutMs: 10_000,
      logger,
    });
    const poller = new DecisionsPoller({
      lapiUrl: fake.url,
      client,
      repo,
      geo,
      bus: new MemoryEventBus(),
      logger,
    });

    const counts = await poller.poll();
    expect(counts).toEqual({ snapshot: true, added: COUNT, deleted: 2 });
    expect(fake.requests).toEqual(['?startup=true']);
    expect(Math.max(...repo.batches)).toBeLessThanOrEqual(1000);
    expect(repo.batches.reduce((a, b) => a + b, 0)).toBe(COUNT);
    // Streamed: the first rows were written long before the fake finished sending.
    expect(repo.firstAt).toBeLessThan(fake.finished[0]!);

    const { rows } = await pool.query<{ active: string; gone: string; located: string; max_id: string }>(
      `SELECT count(*) FILTER (WHERE deleted_at IS NULL AND expires_at > now()) AS active,
              count(*) FILTER (WHERE deleted_at IS NOT NULL) AS gone,
              count(*) FILTER (WHERE country_code IS NOT NULL) AS located,
              max(crowdsec_id) FILTER (WHERE deleted_at IS NULL) AS max_id
       FROM crowdsec_decisions WHERE lapi_url = $1`,
      [fake.url],
    );
    expect(rows[0]).toMatchObject({ active: String(COUNT), gone: '2', max_id: String(COUNT) });
    expect(Number(rows[0]!.located)).toBeGreaterThan(COUNT * 0.9);

    // Durations count from receipt: id 4711 was sent with "4h31m31.25s" (see decisionJson).
    const sent = 4 * 3600 + 31 * 60 + 31.25;
    const one = await pool.query<{ value: string; left_s: number }>(
      `SELECT value, extract(epoch FROM expires_at - now())::float8 AS left_s
       FROM crowdsec_decisions WHERE lapi_url = $1 AND crowdsec_id = 4711`,
      [fake.url],
    );
    expect(one.rows[0]?.value).toBe(decisionIp(4711));
    expect(one.rows[0]!.left_s).toBeGreaterThan(sent - 120);
    expect(one.rows[0]!.left_s).toBeLessThanOrEqual(sent);

    // The next poll is a delta; LAPI 1.4's null lists change nothing.
    await expect(poller.poll()).resolves.toEqual({ snapshot: false, added: 0, deleted: 0 });
  }, 180_000);

  it('writes what a cut-off snapshot delivered but reconciles nothing, and resynchronises next time', async () => {
    const repo = new DecisionRepository(pool);
    const lapiUrl = `${fake.url}/cut`;
    const keep: DecisionInput = {
      crowdsecId: 9_999_999,
      origin: 'cscli',
      type: 'ban',
      scope: 'Ip',
      value: '203.0.113.9',
      scenario: 'manual',
      simulated: false,
      expiresAt: new Date(Date.now() + 3_600_000),
      geo: NO_GEO,
    };
    await repo.upsertBatch(lapiUrl, [keep]);
    const client = new LapiClient({
      baseUrl: fake.url,
      bouncerKey: BOUNCER_KEY,
      userAgent: 'threatwire/test',
      timeoutMs: 10_000,
      logger,
    });
    const geo = await GeoService.open({}, logger);
    const poller = new DecisionsPoller({ lapiUrl, client, repo, geo, bus: new MemoryEventBus(), logger });
    const active = async () =>
      (
        await pool.query<{ n: string }>(
          'SELECT count(*) AS n FROM crowdsec_decisions WHERE lapi_url = $1 AND deleted_at IS NULL',
          [lapiUrl],
        )
      ).rows[0]!.n;

    // Pieces '{"deleted":', 'null', ',"new":', '[', then 600 decisions each: the body
    // ends cleanly after 1,200 decisions, mid-list.
    fake.spec = { count: 5_000, perChunk: 600, cutAfterPieces: 6 };
    await expect(poller.poll()).rejects.toMatchObject({ kind: 'BAD_RESPONSE' });
    // The one full batch handed out is stored; the old decision is not reconciled away.
    expect(await active()).toBe('1001');

    fake.spec = { count: 5_000 };
    await expect(poller.poll()).resolves.toEqual({ snapshot: true, added: 4_000, deleted: 1 });
    expect(await active()).toBe('5000');
  }, 60_000);
});
