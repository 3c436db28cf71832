import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryEventBus, topic } from '../../src/platform/event-bus.js';
import {
  decodeStreamCursor,
  encodeCursor,
  OrderedFeed,
  subscribeResumable,
  type StreamStore,
} from '../../src/platform/resumable-stream.js';

/**
 * The ordered feed and the replay on a fake stream: rows "committed" to an array, bus
 * messages published by hand in any order (as two instances' messages may arrive), or
 * not at all (a message the bus lost).
 */

interface Row {
  position: string;
  name: string;
}

const logger = pino({ level: 'silent' });

function fakeStream(name: string) {
  const committed: Row[] = [];
  const reads: bigint[] = [];
  const t = topic<Row[]>(`test.${name}`);
  const store: StreamStore<Row> = {
    stream: name,
    topic: t,
    unpack: (m) => m as Row[],
    position: (r) => BigInt(r.position),
    readAfter: (after, limit) => {
      reads.push(after);
      return Promise.resolve(
        committed
          .filter((r) => BigInt(r.position) > after)
          .sort((a, b) => Number(BigInt(a.position) - BigInt(b.position)))
          .slice(0, limit),
      );
    },
    head: () =>
      Promise.resolve(committed.reduce((m, r) => (BigInt(r.position) > m ? BigInt(r.position) : m), 0n)),
    firstWrittenAfter: () => Promise.resolve(committed.length > 0 ? new Date() : null),
  };
  const commit = (...positions: number[]) => {
    const rows = positions.map((p) => ({ position: String(p), name: `e${p}` }));
    committed.push(...rows);
    return rows;
  };
  return { store, topic: t, commit, reads };
}

async function take(it: AsyncIterator<Row>, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const next = await it.next();
    if (next.done === true) break;
    out.push(next.value.name);
  }
  return out;
}

describe('ordered feed', () => {
  it('hands on messages that arrive out of order in position order, each once', async () => {
    const bus = new MemoryEventBus();
    const s = fakeStream('outOfOrder');
    const feed = new OrderedFeed(bus, s.store, logger);
    const it = await subscribeResumable(feed, s.store, () => true, null, { windowMs: 60_000 });
    const rows = s.commit(1, 2, 3, 4, 5);
    for (const k of [0, 2, 1, 4, 3]) await bus.publish(s.topic, [rows[k]!]);
    await bus.publish(s.topic, s.commit(6));
    expect(await take(it, 6)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    await it.return?.();
  });

  it('reads a message the bus lost from the store when the next one shows the hole; gaps stay gaps', async () => {
    const bus = new MemoryEventBus();
    const s = fakeStream('lost');
    const feed = new OrderedFeed(bus, s.store, logger);
    const it = await subscribeResumable(feed, s.store, () => true, null, { windowMs: 60_000 });
    const rows = s.commit(1, 2, 3, 5); // 4 never committed (an aborted transaction)
    await bus.publish(s.topic, [rows[0]!]);
    await bus.publish(s.topic, [rows[3]!]); // 2 and 3 lost
    await bus.publish(s.topic, s.commit(6));
    expect(await take(it, 5)).toEqual(['e1', 'e2', 'e3', 'e5', 'e6']);
    await it.return?.();
  });

  it('reads a lost last message from the store once the stream is quiet', async () => {
    const bus = new MemoryEventBus();
    const s = fakeStream('quiet');
    const feed = new OrderedFeed(bus, s.store, logger, undefined, 50);
    const it = await subscribeResumable(feed, s.store, () => true, null, { windowMs: 60_000 });
    const rows = s.commit(1, 2);
    await bus.publish(s.topic, [rows[0]!]); // the message of 2 is lost, and nothing follows
    expect(await take(it, 2)).toEqual(['e1', 'e2']);
    await bus.publish(s.topic, [rows[1]!]); // arriving after all: not sent again
    await bus.publish(s.topic, s.commit(3));
    expect(await take(it, 1)).toEqual(['e3']);
    await it.return?.();
  });

  it('resumes after a cursor: the stored events after it, then live ones, none twice', async () => {
    const bus = new MemoryEventBus();
    const s = fakeStream('resume');
    const feed = new OrderedFeed(bus, s.store, logger);
    s.commit(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    const it = await subscribeResumable(feed, s.store, (r) => r.name !== 'e5', encodeCursor('resume', 3n), {
      windowMs: 60_000,
    });
    // Published while the replay has not run yet: 10 is in the replay too.
    await bus.publish(s.topic, s.commit(11, 12));
    await bus.publish(s.topic, s.commit(13));
    expect(await take(it, 9)).toEqual(['e4', 'e6', 'e7', 'e8', 'e9', 'e10', 'e11', 'e12', 'e13']);
    await bus.publish(s.topic, s.commit(14));
    expect(await take(it, 1)).toEqual(['e14']);
    await it.return?.();
  });

  it('drains a large live backlog gathered during the replay in order, once each', async () => {
    const bus = new MemoryEventBus();
    const s = fakeStream('backlog');
    const feed = new OrderedFeed(bus, s.store, logger);
    s.commit(...Array.from({ length: 1500 }, (_, i) => i + 1));
    const it = await subscribeResumable(feed, s.store, () => true, encodeCursor('backlog', 0n), {
      windowMs: 60_000,
    });
    // 5,000 live events arrive before the subscriber reads anything: they wait in its
    // buffer behind the 1,500 of the replay (two pages of it).
    for (let p = 1501; p <= 6500; p += 10)
      await bus.publish(s.topic, s.commit(...Array.from({ length: 10 }, (_, i) => p + i)));
    const names = await take(it, 6500);
    expect(names).toEqual(Array.from({ length: 6500 }, (_, i) => `e${i + 1}`));
    await bus.publish(s.topic, s.commit(6501));
    expect(await take(it, 1)).toEqual(['e6501']);
    await it.return?.();
  });

  it('decodes only its own cursors', () => {
    expect(decodeStreamCursor('a', encodeCursor('a', 42n))).toBe(42n);
    for (const bad of [encodeCursor('b', 42n), 'x', '', encodeCursor('a', '-1'), '=='])
      expect(() => decodeStreamCursor('a', bad)).toThrow(/cursor/);
  });
});
