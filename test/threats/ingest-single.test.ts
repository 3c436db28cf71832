import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_ONE, type EventView } from './threat-fixtures.js';

/**
 * ingestThreatEvent calls arriving together share INSERTs (group commit); each caller must
 * still get exactly its own event back, its own error, or the stored copy of its duplicate.
 */
describe('concurrent single-event ingestion', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('threat_single');
  });
  afterAll(() => t?.stop());

  it('answers 300 simultaneous calls, with duplicates and invalid events among them, each with its own result', async () => {
    const sensor = `burst-${Date.now()}`;
    const DISTINCT = 200;
    const inputs = [
      ...Array.from({ length: DISTINCT }, (_, i) =>
        event({ sensor, externalId: `${sensor}-${i}`, severity: 1 + (i % 10), destinationPort: 1000 + i }),
      ),
      // Re-sends of the first 60, interleaved with the originals below.
      ...Array.from({ length: 60 }, (_, i) =>
        event({ sensor, externalId: `${sensor}-${i}`, severity: 1 + (i % 10), destinationPort: 1000 + i }),
      ),
      ...Array.from({ length: 40 }, (_, i) =>
        event({ sensor, externalId: `${sensor}-bad-${i}`, severity: 11 }),
      ),
    ];
    const order = inputs.map((_, i) => i).sort((a, b) => ((a * 7919) % 301) - ((b * 7919) % 301));

    const subscriber = t.ws();
    const live = collect<{ threatDetected: { externalId: string } }>(
      subscriber,
      `subscription { threatDetected { externalId } }`,
      DISTINCT,
    );
    await new Promise((r) => setTimeout(r, 300));

    const answers = await Promise.all(
      order.map((i) =>
        t.gql<{ ingestThreatEvent: EventView }>(INGEST_ONE, { input: inputs[i] }).then((r) => ({ i, r })),
      ),
    );
    const idOf = new Map<string, string>();
    for (const { i, r } of answers) {
      const input = inputs[i] as { externalId: string; severity: number; destinationPort: number };
      if (input.severity > 10) {
        expect(r.data?.ingestThreatEvent ?? null).toBeNull();
        expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(r.errors?.[0]?.message).toMatch(/severity/);
        continue;
      }
      expect(r.errors).toBeUndefined();
      const e = r.data!.ingestThreatEvent;
      expect(e.externalId).toBe(input.externalId);
      expect(e.severity).toBe(input.severity);
      const seen = idOf.get(input.externalId);
      if (seen)
        expect(e.id).toBe(seen); // a re-send gets the stored event, same id
      else idOf.set(input.externalId, e.id);
    }
    expect(idOf.size).toBe(DISTINCT);

    const delivered = await live.done;
    live.unsubscribe();
    await subscriber.dispose();
    expect(new Set(delivered.map((d) => d.threatDetected.externalId)).size).toBe(DISTINCT);

    const stored = await t.gql<{ threatEvents: { totalCount: number } }>(
      'query { threatEvents(filter: { threatType: "ssh_bruteforce" }, first: 1) { totalCount } }',
    );
    expect(stored.data!.threatEvents.totalCount).toBe(DISTINCT);
  });
});
