import type { EventBus } from '../platform/event-bus.js';
import { THREATS_TOPIC, type ThreatEventRecord } from './threat-types.js';

/**
 * Ingestion publishes one message per call (an array of events) so that a bulk ingest
 * costs one Redis publish, not thousands; this unpacks them into single events for one
 * subscriber, keeping only matches. `matches` is the subscription's compiled filter
 * (threat-filters.ts); it runs once per event, in the bus's fan-out (which yields to the
 * event loop between slices of subscribers), never in the request that published.
 * Written as a plain iterator rather than an async
 * generator so that `return()` (the client unsubscribed) ends the bus subscription at
 * once, even while waiting for the next message.
 */
export function subscribeThreats(
  bus: EventBus,
  matches: (event: ThreatEventRecord) => boolean,
): AsyncIterableIterator<ThreatEventRecord> {
  // The bus filter keeps a batch's matching events here, so the iterator does not test
  // them a second time. The bus hands every subscriber the same batch object.
  const matched = new WeakMap<readonly ThreatEventRecord[], ThreatEventRecord[]>();
  const source = bus.subscribe<ThreatEventRecord[]>(THREATS_TOPIC, (batch) => {
    const hits = batch.filter(matches);
    if (hits.length === 0) return false;
    matched.set(batch, hits);
    return true;
  });
  let pending: ThreatEventRecord[] = [];
  const iterator: AsyncIterableIterator<ThreatEventRecord> = {
    async next(): Promise<IteratorResult<ThreatEventRecord>> {
      for (;;) {
        const head = pending.shift();
        if (head !== undefined) return { value: head, done: false };
        const batch = await source.next();
        if (batch.done === true) return { value: undefined, done: true };
        pending = matched.get(batch.value) ?? batch.value.filter(matches);
      }
    },
    async return(): Promise<IteratorResult<ThreatEventRecord>> {
      pending = [];
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown): Promise<IteratorResult<ThreatEventRecord>> {
      await source.return?.();
      throw err instanceof Error ? err : new Error(String(err));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
