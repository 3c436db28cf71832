/**
 * The threat-event repository's list reads in flight are shared (SharedReads), and each
 * of its writes (insert, label, retention delete) makes later reads start their own
 * query: a list asked after a write returns what the write did, even while an older
 * identical read is still waiting.
 *
 * The pool is wrapped so that list queries wait for the test to let them go; every
 * other statement goes straight through.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/platform/db-migrator.js';
import { poolTypes } from '../../src/platform/pg-timestamps.js';
import { PgThreatEventRepository } from '../../src/threats/threat-event-repository.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('shared list reads');
  pool = testPool(db.url, { max: 4, types: poolTypes });
  await migrate(pool, { logger: pino({ level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** A pool whose list queries wait until `release()`; counts the list queries sent. */
function gatedPool() {
  let open!: () => void;
  let gate = new Promise<void>((r) => (open = r));
  const gated = { listQueries: 0 };
  const wrapper = {
    query: async (config: unknown, values?: unknown) => {
      const text = typeof config === 'string' ? config : (config as { text: string }).text;
      if (/ORDER BY e\.occurred_at DESC, e\.id DESC LIMIT/.test(text)) {
        gated.listQueries++;
        await gate;
      }
      return pool.query(config as pg.QueryConfig, values as unknown[]);
    },
  };
  return {
    pool: wrapper as unknown as pg.Pool,
    gated,
    release() {
      open();
      gate = new Promise<void>((r) => (open = r));
    },
  };
}

function record(threatType: string, occurredAt: Date): ThreatEventRecord {
  return {
    id: randomUUID(),
    externalId: null,
    sourceIp: '198.51.100.9',
    destinationIp: null,
    sourcePort: null,
    destinationPort: null,
    protocol: null,
    threatType,
    severity: 5,
    confidence: 0.5,
    description: null,
    sensor: null,
    tags: [],
    occurredAt,
    ingestedAt: occurredAt,
    countryCode: null,
    city: null,
    latitude: null,
    longitude: null,
    geoApproximate: false,
    asn: null,
    asOrg: null,
    knownIoc: false,
    banned: false,
    category: 'OTHER',
    categoryConfidence: 0.5,
    anomalyScore: null,
    isAnomaly: false,
    classificationMethod: 'RULES',
    modelVersion: null,
    label: null,
    raw: null,
    streamPosition: '0',
  };
}

const FIELDS = new Set(['id', 'threatType', 'occurredAt', 'label'] as const);

describe('shared list reads', () => {
  it('shares one query between identical lists in flight, and not between different filters', async () => {
    const g = gatedPool();
    const repo = new PgThreatEventRepository(g.pool);
    const threatType = `shared-${randomUUID()}`;
    await repo.insertMany([record(threatType, new Date(Date.UTC(2026, 0, 1)))]);
    const a = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    const b = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    const other = repo.list({ threatType, minSeverity: 6 }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(2);
    g.release();
    const [rowsA, rowsB, rowsOther] = await Promise.all([a, b, other]);
    expect(rowsA.map((r) => r.threatType)).toEqual([threatType]);
    expect(rowsB).toBe(rowsA);
    expect(rowsOther).toEqual([]);
  });

  it('a list asked after an insert starts its own query and holds the new event', async () => {
    const g = gatedPool();
    const repo = new PgThreatEventRepository(g.pool);
    const threatType = `insert-${randomUUID()}`;
    const first = record(threatType, new Date(Date.UTC(2026, 0, 1)));
    await repo.insertMany([first]);
    const before = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(1);
    const second = record(threatType, new Date(Date.UTC(2026, 0, 2)));
    await repo.insertMany([second]);
    const after = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(2);
    g.release();
    expect((await after).map((r) => r.id)).toEqual([second.id, first.id]);
    await before;
  });

  it('a list asked after a label or a retention delete starts its own query', async () => {
    const g = gatedPool();
    const repo = new PgThreatEventRepository(g.pool);
    const threatType = `label-${randomUUID()}`;
    const old = record(threatType, new Date(Date.UTC(2001, 0, 1)));
    const kept = record(threatType, new Date(Date.UTC(2026, 0, 1)));
    await repo.insertMany([old, kept]);

    const beforeLabel = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(1);
    expect(await repo.setLabel(kept.id, 'SCAN', null)).toBe(true);
    const afterLabel = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(2);
    g.release();
    expect((await afterLabel).map((r) => [r.id, r.label])).toEqual([
      [kept.id, 'SCAN'],
      [old.id, null],
    ]);
    await beforeLabel;

    const beforeDelete = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(3);
    expect(await repo.deleteOlderThan(new Date(Date.UTC(2002, 0, 1)), 1_000)).toBeGreaterThanOrEqual(1);
    const afterDelete = repo.list({ threatType }, 10, undefined, new Set(FIELDS));
    await expect.poll(() => g.gated.listQueries).toBe(4);
    g.release();
    expect((await afterDelete).map((r) => r.id)).toEqual([kept.id]);
    await beforeDelete;
  });
});
