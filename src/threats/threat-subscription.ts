import type { EventBus } from '../platform/event-bus.js';
import type { ThreatCategory } from './classifier/index.js';
import { THREATS_TOPIC, type ThreatEventRecord } from './threat-types.js';

export interface ThreatSubscriptionFilter {
  minSeverity?: number | null;
  categories?: readonly ThreatCategory[] | null;
  countries?: readonly string[] | null;
}

export function matches(event: ThreatEventRecord, filter: ThreatSubscriptionFilter): boolean {
  if (filter.minSeverity !== null && filter.minSeverity !== undefined && event.severity < filter.minSeverity)
    return false;
  if (filter.categories?.length && !filter.categories.includes(event.category)) return false;
  if (
    filter.countries?.length &&
    (event.countryCode === null || !filter.countries.includes(event.countryCode))
  )
    return false;
  return true;
}

/**
 * Ingestion publishes one message per call (an array of events) so that a bulk ingest
 * costs one Redis publish, not thousands; this unpacks them into single events for one
 * subscriber, keeping only matches. Written as a plain iterator rather than an async
 * generator so that `return()` (the client unsubscribed) ends the bus subscription at
 * once, even while waiting for the next message.
 */
export function subscribeThreats(
  bus: EventBus,
  filter: ThreatSubscriptionFilter,
): AsyncIterableIterator<ThreatEventRecord> {
  const source = bus.subscribe<ThreatEventRecord[]>(THREATS_TOPIC, (batch) =>
    batch.some((e) => matches(e, filter)),
  );
  let pending: ThreatEventRecord[] = [];
  const iterator: AsyncIterableIterator<ThreatEventRecord> = {
    async next(): Promise<IteratorResult<ThreatEventRecord>> {
      for (;;) {
        const head = pending.shift();
        if (head !== undefined) return { value: head, done: false };
        const batch = await source.next();
        if (batch.done === true) return { value: undefined, done: true };
        pending = batch.value.filter((e) => matches(e, filter));
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
