import { afterAll, describe, expect, it } from 'vitest';
import {
  DISPATCH_SLICE_MS,
  listOf,
  LocalHub,
  MAX_BACKLOG,
  MemoryEventBus,
  topic,
  withDates,
  type EventBus,
} from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import { RedisEventBus } from '../../src/platform/redis-event-bus.js';
import { connectRedis, type RedisConnections } from '../../src/platform/redis.js';
import { redisUrlOrSkip } from '../helpers/services.js';

const logger = createLogger({ log: { level: 'silent', pretty: false } });
const REDIS_OPTS = { commandTimeoutMs: 1_000 };

async function take<T>(it: AsyncIterableIterator<T>, n: number, timeoutMs = 3000): Promise<T[]> {
  const out: T[] = [];
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`timeout after ${out.length}`)), timeoutMs),
  );
  while (out.length < n) {
    const r = await Promise.race([it.next(), timer]);
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

function contract(name: string, make: () => Promise<{ a: EventBus; b: EventBus }>) {
  describe(name, () => {
    it('delivers to every subscriber of a topic, filtered, in order', async () => {
      const { a, b } = await make();
      const all = b.subscribe<{ n: number }>('t.order');
      const even = b.subscribe<{ n: number }>('t.order', (p) => p.n % 2 === 0);
      const other = b.subscribe<{ n: number }>('t.other');
      await new Promise((r) => setTimeout(r, 50)); // Redis SUBSCRIBE round trip
      for (let n = 1; n <= 6; n++) await a.publish('t.order', { n });
      expect((await take(all, 6)).map((p) => p.n)).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await take(even, 3)).map((p) => p.n)).toEqual([2, 4, 6]);
      const none = await Promise.race([
        other.next(),
        new Promise((r) => setTimeout(() => r('nothing'), 200)),
      ]);
      expect(none).toBe('nothing');
      await all.return?.();
      await even.return?.();
      await other.return?.();
    });

    it('return() ends the iterator and stops delivery; a throwing filter drops only that event', async () => {
      const { a, b } = await make();
      const sub = b.subscribe<{ n: number }>('t.stop', (p) => {
        if (p.n === 1) throw new Error('bad filter');
        return true;
      });
      await new Promise((r) => setTimeout(r, 50));
      await a.publish('t.stop', { n: 1 });
      await a.publish('t.stop', { n: 2 });
      expect((await take(sub, 1)).map((p) => p.n)).toEqual([2]);
      await sub.return?.();
      expect(await sub.next()).toEqual({ value: undefined, done: true });
    });

    it('publish() never runs subscriber filters inside the publishing call', async () => {
      const { a } = await make();
      let calls = 0;
      const sub = a.subscribe<{ n: number }>('t.inline', () => {
        calls++;
        return true;
      });
      await new Promise((r) => setTimeout(r, 50));
      const published = a.publish('t.inline', { n: 1 });
      expect(calls).toBe(0); // the publisher is not running subscriber code
      await published;
      expect((await take(sub, 1)).map((p) => p.n)).toEqual([1]);
      expect(calls).toBe(1);
      await sub.return?.();
    });

    it('a typed topic hands every subscriber Dates, whether published typed or by its bare name', async () => {
      const { a, b } = await make();
      interface Dated {
        n: number;
        at: Date;
        gone: Date | null;
      }
      const dated = topic<Dated[]>('t.dated', listOf(withDates<Dated>('at', 'gone')));
      const onA = a.subscribe(dated);
      const onB = b.subscribe(dated);
      await new Promise((r) => setTimeout(r, 50)); // Redis SUBSCRIBE round trip
      const at = new Date('2026-01-02T03:04:05.678Z');
      const published = [{ n: 1, at, gone: null }];
      await a.publish(dated, published);
      // A publisher that still sends text dates under the topic's name: revived all the same.
      await a.publish('t.dated', [{ n: 2, at: at.toISOString(), gone: '2026-02-01T00:00:00.000Z' }]);
      for (const sub of [onA, onB]) {
        const got = (await take(sub, 2)).flat();
        expect(
          got.map((e) => [e.n, e.at instanceof Date && e.at.getTime(), e.gone?.toISOString() ?? null]),
        ).toEqual([
          [1, at.getTime(), null],
          [2, at.getTime(), '2026-02-01T00:00:00.000Z'],
        ]);
        // Subscribers never get the publisher's own objects.
        expect(got[0]).not.toBe(published[0]);
      }
      expect(published[0]!.at).toBe(at);
      await onA.return?.();
      await onB.return?.();
    });

    it('close() ends pending iterators', async () => {
      const { b } = await make();
      const sub = b.subscribe('t.close');
      const pending = sub.next();
      await b.close();
      expect(await pending).toEqual({ value: undefined, done: true });
    });
  });
}

describe('fan-out to many subscribers', () => {
  it('yields to the event loop once a slice of time is used, and every subscriber gets every message in order', async () => {
    // A fake clock that each filter call advances by 1 ms: DISPATCH_SLICE_MS calls per turn.
    let now = 0;
    const hub = new LocalHub({ clock: () => now });
    const SUBSCRIBERS = 1000;
    let filtered = 0;
    const subs = Array.from({ length: SUBSCRIBERS }, () =>
      hub.subscribe<{ n: number }>('t.many', () => {
        filtered++;
        now += 1;
        return true;
      }),
    );
    // Probes scheduled on the event loop while the fan-out runs see it part-way.
    const seenByProbes: number[] = [];
    let probesDone: () => void = () => undefined;
    const probed = new Promise<void>((resolve) => (probesDone = resolve));
    const probe = () => {
      seenByProbes.push(filtered);
      if (filtered < 2 * SUBSCRIBERS) setImmediate(probe);
      else probesDone();
    };
    hub.dispatch('t.many', { n: 1 });
    hub.dispatch('t.many', { n: 2 });
    expect(filtered).toBe(0); // nothing runs inside dispatch
    setImmediate(probe);
    const received = await Promise.all(subs.map(async (sub) => (await take(sub, 2)).map((p) => p.n)));
    expect(received).toEqual(Array.from({ length: SUBSCRIBERS }, () => [1, 2]));
    expect(filtered).toBe(2 * SUBSCRIBERS);
    await probed;
    // One slice per turn of the loop, the probe running after each.
    const slices = Math.ceil((2 * SUBSCRIBERS) / DISPATCH_SLICE_MS);
    expect(seenByProbes).toEqual(
      Array.from({ length: slices }, (_, k) => Math.min((k + 1) * DISPATCH_SLICE_MS, 2 * SUBSCRIBERS)),
    );
    hub.closeAll();
  });

  it(`keeps at most ${MAX_BACKLOG} messages waiting, dropping (and counting) the oldest`, async () => {
    const drops: string[] = [];
    const hub = new LocalHub({ onDrop: (topic) => drops.push(topic) });
    const sub = hub.subscribe<{ n: number }>('t.backlog');
    for (let n = 0; n < MAX_BACKLOG + 5; n++) hub.dispatch('t.backlog', { n });
    expect(drops).toEqual(Array.from({ length: 5 }, () => 't.backlog'));
    // The subscriber's own queue keeps its newest 1,000; the first it sees is after the drops.
    const first = await sub.next();
    expect((first.value as { n: number }).n).toBe(5);
    hub.closeAll();
  });
});

contract('in-process event bus', () => {
  const bus = new MemoryEventBus();
  return Promise.resolve({ a: bus, b: bus });
});

const redisUrl = redisUrlOrSkip('Redis event bus fan-out across processes');
const connections: RedisConnections[] = [];
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

describe.runIf(redisUrl)('Redis event bus', () => {
  it('delivers a published event once on the publishing instance and once on the other', async () => {
    const prefix = `tw-test-${Math.random().toString(36).slice(2)}:`;
    const [ca, cb] = await Promise.all([
      connectRedis(redisUrl!, logger, REDIS_OPTS),
      connectRedis(redisUrl!, logger, REDIS_OPTS),
    ]);
    connections.push(ca, cb);
    const a = new RedisEventBus(ca.command, ca.subscriber, prefix, logger);
    const b = new RedisEventBus(cb.command, cb.subscriber, prefix, logger);
    const onA = a.subscribe<{ n: number; at: string }>('t.echo');
    const onB = b.subscribe<{ n: number; at: string }>('t.echo');
    await new Promise((r) => setTimeout(r, 100)); // both SUBSCRIBEs reach Redis
    const at = new Date('2026-01-01T00:00:00Z');
    await a.publish('t.echo', { n: 1, at });
    await a.publish('t.echo', { n: 2, at });
    // A third message from outside marks the end: anything echoed twice would come before it.
    await ca.command.publish(`${prefix}events:t.echo`, `elsewhere ${JSON.stringify({ n: 3, at })}`);
    await ca.command.publish(`${prefix}events:t.echo`, 'not an event'); // dropped, with a warning
    const fromA = await take(onA, 3);
    const fromB = await take(onB, 3);
    expect(fromA.map((e) => e.n)).toEqual([1, 2, 3]);
    expect(fromB.map((e) => e.n)).toEqual([1, 2, 3]);
    // The publisher's own subscribers get the payload as published, the others its JSON form.
    expect(fromA[0]!.at).toBe(at);
    expect(fromB[0]!.at).toBe(at.toISOString());
    const fourth = await Promise.race([
      onA.next().then(() => 'more'),
      new Promise((r) => setTimeout(() => r('none'), 300)),
    ]);
    expect(fourth).toBe('none');
    await Promise.all([a.close(), b.close()]);
  });

  contract('two instances sharing Redis', async () => {
    const prefix = `tw-test-${Math.random().toString(36).slice(2)}:`;
    const [ca, cb] = await Promise.all([
      connectRedis(redisUrl!, logger, REDIS_OPTS),
      connectRedis(redisUrl!, logger, REDIS_OPTS),
    ]);
    connections.push(ca, cb);
    return {
      a: new RedisEventBus(ca.command, ca.subscriber, prefix, logger),
      b: new RedisEventBus(cb.command, cb.subscriber, prefix, logger),
    };
  });
});
