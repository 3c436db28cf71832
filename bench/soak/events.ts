import { benchInputs } from '../ingest/data.js';

/**
 * `count` event inputs from public IPv4 sources, the same on every run (the ingest
 * bench's generator), without the externalId and time the soak sets on each send, and
 * with a small `raw` payload so that column is exercised too.
 */
export function eventShapes(count: number): Record<string, unknown>[] {
  return benchInputs(count, 'soak').map(({ externalId: _id, occurredAt: _at, ...shape }, seq) => ({
    ...shape,
    sensor: 'soak-sensor-01',
    raw: { seq, path: '/soak', headers: { 'user-agent': 'soak/1' } },
  }));
}
