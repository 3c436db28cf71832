import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import { RulesClassifier } from '../../src/threats/classifier/index.js';
import type { StoredFlags, ThreatEventRepository } from '../../src/threats/threat-event-repository.js';
import { ThreatService } from '../../src/threats/threat-service.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';
import { event } from './threat-fixtures.js';

/**
 * The net under validation: should the database refuse a row anyway, only the events
 * that fail on their own are refused. The repository here refuses every statement that
 * holds a marked event, as PostgreSQL fails a whole INSERT for one bad row.
 */
const POISON = 'poison-marker';

function refusingRepository(error: () => Error) {
  const statements: number[] = [];
  const rows = new Map<string, ThreatEventRecord>();
  const repo: Pick<ThreatEventRepository, 'insertMany' | 'findByExternalIds'> = {
    insertMany(events: readonly ThreatEventRecord[]) {
      statements.push(events.length);
      if (events.some((e) => e.sensor === POISON)) return Promise.reject(error());
      const inserted = new Map<string, StoredFlags>();
      for (const e of events) {
        if (e.externalId !== null && [...rows.values()].some((r) => r.externalId === e.externalId)) continue;
        rows.set(e.id, e);
        inserted.set(e.id, { knownIoc: false, banned: false, streamPosition: String(rows.size) });
      }
      return Promise.resolve(inserted);
    },
    findByExternalIds(ids: readonly string[]) {
      return Promise.resolve(
        [...rows.values()].filter((r) => r.externalId !== null && ids.includes(r.externalId)),
      );
    },
  };
  return { repo, rows, statements };
}

function service(repo: Pick<ThreatEventRepository, 'insertMany' | 'findByExternalIds'>) {
  return new ThreatService({
    events: repo as ThreatEventRepository,
    geo: { locate: () => null },
    classifier: { classifier: new RulesClassifier() },
    bus: new MemoryEventBus(),
    logger: createLogger({ log: { level: 'silent', pretty: false } }),
    maxBatch: 1000,
    maps: { map: () => Promise.resolve([]) },
  });
}

const dataError = () => Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' });

describe('ingestThreatEvents when the database refuses a row validation let through', () => {
  it('stores the 997 others and reports the 3 refused by index', async () => {
    const { repo, rows } = refusingRepository(dataError);
    const bad = new Set([0, 500, 999]);
    const inputs = Array.from({ length: 1000 }, (_, i) =>
      event({ externalId: `iso-${i}`, ...(bad.has(i) ? { sensor: POISON } : {}) }),
    );
    const outcome = await service(repo).ingestMany(inputs as never);
    expect(outcome.accepted).toBe(997);
    expect(outcome.duplicates).toBe(0);
    expect(outcome.errors.map((e) => [e.index, e.field])).toEqual([
      [0, null],
      [500, null],
      [999, null],
    ]);
    expect(outcome.errors[0]!.message).toMatch(/invalid input syntax for type json/);
    expect(rows.size).toBe(997);
    expect([...rows.values()].some((r) => r.sensor === POISON)).toBe(false);
  });

  it('fails the call, storing nothing, when the database is unavailable', async () => {
    const unavailable = () =>
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { repo, rows, statements } = refusingRepository(unavailable);
    const inputs = Array.from({ length: 10 }, (_, i) => event({ externalId: `down-${i}`, sensor: POISON }));
    await expect(service(repo).ingestMany(inputs as never)).rejects.toThrow('ECONNREFUSED');
    expect(statements).toEqual([10]); // not retried in pieces
    expect(rows.size).toBe(0);
  });
});

describe('ingestThreatEvent group commit when the database refuses a row', () => {
  it('fails only the refused event; every other caller of the same group gets its own event', async () => {
    const { repo, statements } = refusingRepository(dataError);
    const threats = service(repo);
    const inputs = Array.from({ length: 50 }, (_, i) =>
      event({ externalId: `single-${i}`, ...(i === 17 ? { sensor: POISON } : {}) }),
    );
    const settled = await Promise.allSettled(inputs.map((input) => threats.ingestOne(input as never)));
    settled.forEach((r, i) => {
      if (i === 17) expect(r.status).toBe('rejected');
      else expect(r.status === 'fulfilled' && r.value.externalId).toBe(`single-${i}`);
    });
    // Two events leave alone at once (two writes in flight); the other 48 wait and leave
    // together, poison included; that statement fails and its 48 events are written alone.
    expect(statements).toEqual([1, 1, 48, ...Array<number>(48).fill(1)]);
  });
});
