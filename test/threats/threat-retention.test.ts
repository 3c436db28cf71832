import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/platform/db-migrator.js';
import { PgThreatEventRepository } from '../../src/threats/threat-event-repository.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';
import { uuid7 } from '../../src/threats/uuid7.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

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
  };
}

describe('PgThreatEventRepository', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: PgThreatEventRepository;
  beforeAll(async () => {
    db = await createTestDatabase('threat_repo');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await migrate(pool, { logger: pino({ level: 'silent' }) });
    repo = new PgThreatEventRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('round-trips awkward text, arrays and JSON through the unnest insert', async () => {
    const r = record(new Date('2026-01-02T03:04:05.678Z'), 'round-trip');
    expect([...(await repo.insertMany([r]))]).toEqual([[r.id, { knownIoc: false, banned: false }]]);
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
    expect(await repo.deleteOlderThan(cutoff, 10)).toBe(6); // 25 + the 2026-01-02 row above
    expect(await repo.deleteOlderThan(cutoff, 10)).toBe(0);
    expect(await repo.findById(recent[0]!.id)).not.toBeNull();
    expect(await repo.countLabelsSince(null)).toBe(0);
  });
});
