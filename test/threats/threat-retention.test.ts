import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../src/platform/db-migrator.js';
import type { ClassifierService } from '../../src/threats/classifier-service.js';
import {
  PgThreatEventRepository,
  type ThreatEventRepository,
} from '../../src/threats/threat-event-repository.js';
import { threatWorkers } from '../../src/threats/threat-workers.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';
import { uuid7 } from '../../src/threats/uuid7.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startTestApp } from '../helpers/test-app.js';
import { testPool } from '../helpers/test-pool.js';

function record(occurredAt: Date, externalId: string | null): ThreatEventRecord {
  return {
    id: uuid7(),
    externalId,
    sourceIp: '198.51.100.1',
    destinationIp: null,
    sourcePort: null,
    destinationPort: 22,
    protocol: 'tcp',
    threatType: 'ssh_bruteforce',
    severity: 5,
    confidence: 1,
    description: 'tab\tand "quotes" and \\backslash',
    sensor: null,
    tags: ['a "quoted" tag', 'back\\slash', ''],
    occurredAt,
    ingestedAt: new Date(),
    countryCode: null,
    city: null,
    latitude: null,
    longitude: null,
    geoApproximate: false,
    asn: null,
    asOrg: null,
    knownIoc: false,
    banned: false,
    category: 'BRUTEFORCE',
    categoryConfidence: 0.9,
    anomalyScore: null,
    isAnomaly: false,
    classificationMethod: 'RULES',
    modelVersion: null,
    label: null,
    raw: { nested: [1, 'two'] },
    streamPosition: '0',
  };
}

describe('PgThreatEventRepository', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: PgThreatEventRepository;
  beforeAll(async () => {
    db = await createTestDatabase('threat_repo');
    pool = testPool(db.url, { max: 2 });
    await migrate(pool, { logger: pino({ level: 'silent' }) });
    repo = new PgThreatEventRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('round-trips awkward text, arrays and JSON through the unnest insert', async () => {
    // Recent, so the retention case below (which may run first or after) never counts it.
    const r = record(new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 678), 'round-trip');
    const inserted = [...(await repo.insertMany([r]))];
    expect(inserted.map(([id, flags]) => [id, flags.knownIoc, flags.banned])).toEqual([[r.id, false, false]]);
    expect(inserted[0]?.[1].streamPosition).toMatch(/^[1-9]\d*$/);
    const [stored] = await repo.findByExternalIds(['round-trip']);
    expect(stored).toMatchObject({
      id: r.id,
      description: r.description,
      tags: r.tags,
      raw: r.raw,
      occurredAt: r.occurredAt,
      sourceIp: '198.51.100.1',
      label: null,
    });
  });

  it('deletes events older than the cutoff in batches, with their labels', async () => {
    const old = Array.from({ length: 25 }, (_, i) =>
      record(new Date(Date.now() - (100 + i) * 86_400_000), null),
    );
    const recent = Array.from({ length: 5 }, () => record(new Date(), null));
    await repo.insertMany([...old, ...recent]);
    expect(await repo.setLabel(old[0]!.id, 'SCAN', null)).toBe(true);
    const cutoff = new Date(Date.now() - 90 * 86_400_000);
    expect(await repo.deleteOlderThan(cutoff, 10)).toBe(10);
    expect(await repo.deleteOlderThan(cutoff, 10)).toBe(10);
    expect(await repo.deleteOlderThan(cutoff, 10)).toBe(5);
    expect(await repo.deleteOlderThan(cutoff, 10)).toBe(0);
    expect(await repo.findById(recent[0]!.id)).not.toBeNull();
    expect(await repo.countLabelsSince(null)).toBe(0);
  });
});

/** The retention worker alone, with a fixed clock and a repository that records its calls. */
describe('threat-retention worker', () => {
  const NOW = new Date('2026-03-10T12:00:00.000Z');
  const silent = pino({ level: 'silent' });
  const settings = { anomalyRefitMinutes: 60, trainIntervalMinutes: 60, modelReloadSeconds: 60 };
  afterEach(() => vi.useRealTimers());

  function retention(retentionDays: number, answers: number[]) {
    const calls: { cutoff: string; batch: number }[] = [];
    const events = {
      deleteOlderThan: (cutoff: Date, batch: number) => {
        calls.push({ cutoff: cutoff.toISOString(), batch });
        return Promise.resolve(answers.shift() ?? 0);
      },
    } as unknown as ThreatEventRepository;
    const workers = threatWorkers({ ...settings, retentionDays }, {} as ClassifierService, events, silent);
    const worker = workers.find((w) => w.id === 'threat-retention')!;
    return { worker, calls };
  }

  it('deletes before now minus the retention days, 10,000 at a time until a short batch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const { worker, calls } = retention(7, [10_000, 10_000, 42, 10_000]);
    expect(worker.enabled).toBe(true);
    expect(worker.intervalMs).toBe(3_600_000);
    await worker.run(new AbortController().signal);
    const cutoff = '2026-03-03T12:00:00.000Z';
    expect(calls).toEqual([
      { cutoff, batch: 10_000 },
      { cutoff, batch: 10_000 },
      { cutoff, batch: 10_000 },
    ]);
  });

  it('stops after one call when the first batch is short, and asks nothing once aborted', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const short = retention(1, [9_999]);
    await short.worker.run(new AbortController().signal);
    expect(short.calls).toEqual([{ cutoff: '2026-03-09T12:00:00.000Z', batch: 10_000 }]);
    const aborted = retention(1, [10_000]);
    const controller = new AbortController();
    controller.abort();
    await aborted.worker.run(controller.signal);
    expect(aborted.calls).toEqual([]);
  });

  it('is disabled at 0 days and enabled from 1', () => {
    expect(retention(0, []).worker.enabled).toBe(false);
    expect(retention(1, []).worker.enabled).toBe(true);
  });
});

describe('threat retention through the API', () => {
  it('a started instance deletes events older than THREAT_RETENTION_DAYS and keeps the rest', async () => {
    const db = await createTestDatabase('threat_retention_api');
    const seedPool = testPool(db.url, { max: 1 });
    let keptIds: string[] = [];
    try {
      await migrate(seedPool, { logger: pino({ level: 'silent' }) });
      const day = 86_400_000;
      const old = [31, 45, 400].map((d) => record(new Date(Date.now() - d * day), `old-${d}`));
      const kept = [0, 29].map((d) => record(new Date(Date.now() - d * day), `kept-${d}`));
      await new PgThreatEventRepository(seedPool).insertMany([...old, ...kept]);
      keptIds = kept.map((r) => r.id).sort();
    } finally {
      await seedPool.end();
    }
    const t = await startTestApp('threat_retention_api', { THREAT_RETENTION_DAYS: '30' }, { database: db });
    try {
      type Page = { threatEvents: { totalCount: number; edges: { node: { id: string } }[] } };
      const QUERY = '{ threatEvents(first: 10) { totalCount edges { node { id } } } }';
      // The worker's first run starts with the instance; poll until it has deleted.
      const deadline = Date.now() + 30_000;
      let page = await t.gql<Page>(QUERY);
      while (page.data?.threatEvents.totalCount !== 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        page = await t.gql<Page>(QUERY);
      }
      // The list and its count are two statements: a page read while the delete committed
      // can mix both moments. Once the count says done, one more page is consistent.
      page = await t.gql<Page>(QUERY);
      expect(page.errors).toBeUndefined();
      expect(page.data?.threatEvents.totalCount).toBe(2);
      expect(page.data?.threatEvents.edges.map((e) => e.node.id).sort()).toEqual(keptIds);
    } finally {
      await t.stop();
      await db.drop();
    }
  });
});
