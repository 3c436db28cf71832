import { describe, expect, it } from 'vitest';
import { WriteCoalescer } from '../../src/platform/write-coalescer.js';

/** A write that records its batches and finishes only when told to. */
function gatedWrite() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const write = async (items: readonly number[]) => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((n) => (n < 0 ? new Error(`negative ${n}`) : n * 10));
  };
  const openNext = async () => {
    for (let i = 0; i < 100 && gates.length === 0; i++) await new Promise((r) => setImmediate(r));
    gates.shift()?.();
  };
  return { batches, write, openNext };
}

describe('WriteCoalescer', () => {
  it('writes a lone item at once, and items arriving during a write together in the next', async () => {
    const w = gatedWrite();
    const c = new WriteCoalescer(w.write, { maxBatch: 100, maxConcurrent: 1 });
    const first = c.submit(1);
    expect(w.batches).toEqual([[1]]); // no timer, no waiting for company
    const rest = [2, 3, 4, 5].map((n) => c.submit(n));
    expect(w.batches).toHaveLength(1); // queued behind the running write
    await w.openNext();
    expect(await first).toBe(10);
    await w.openNext();
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
    expect(w.batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('respects maxBatch and maxConcurrent', async () => {
    const w = gatedWrite();
    const c = new WriteCoalescer(w.write, { maxBatch: 3, maxConcurrent: 2 });
    const all = Array.from({ length: 10 }, (_, i) => c.submit(i));
    // Two writes start with one item each; the other eight wait.
    expect(w.batches).toEqual([[0], [1]]);
    for (let i = 0; i < 6; i++) await w.openNext();
    expect(await Promise.all(all)).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
    expect(w.batches.every((b) => b.length <= 3)).toBe(true);
    expect(w.batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('rejects only the item whose result is an Error, and every item of a write that throws', async () => {
    const w = gatedWrite();
    const c = new WriteCoalescer(w.write, { maxBatch: 10, maxConcurrent: 1 });
    const blocker = c.submit(0);
    const good = c.submit(7);
    const bad = c.submit(-1);
    await w.openNext();
    await w.openNext();
    await blocker;
    expect(await good).toBe(70);
    await expect(bad).rejects.toThrow('negative -1');

    let calls = 0;
    const failing = new WriteCoalescer<number, number>(
      () => {
        calls++;
        return Promise.reject(new Error('database down'));
      },
      { maxBatch: 10, maxConcurrent: 1 },
    );
    const results = await Promise.allSettled([failing.submit(1), failing.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // The queue keeps going after a failure.
    await expect(failing.submit(3)).rejects.toThrow('database down');
    expect(calls).toBe(3);
  });

  it('retries each item of a group alone when the group write throws: only the bad item fails', async () => {
    // Throws for any batch holding a negative number, as a database rejecting one row
    // fails the whole statement. Items 1…4 arrive while 0 is being written, so they form
    // one group with the poison (-1) among them.
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    const write = async (items: readonly number[]) => {
      batches.push([...items]);
      if (batches.length === 1) await firstWrite;
      if (items.some((n) => n < 0)) throw new Error(`row rejected in a batch of ${items.length}`);
      return items.map((n) => n * 10);
    };
    const c = new WriteCoalescer(write, { maxBatch: 10, maxConcurrent: 1 });
    const submitted = [0, 1, 2, -1, 3, 4].map((n) => c.submit(n));
    release();
    const settled = await Promise.allSettled(submitted);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      0,
      10,
      20,
      'row rejected in a batch of 1',
      30,
      40,
    ]);
    expect(batches).toEqual([[0], [1, 2, -1, 3, 4], [1], [2], [-1], [3], [4]]);
  });

  it('rejects an item the write returned no result for, and only that one', async () => {
    const c = new WriteCoalescer<number, number>(
      (items) => Promise.resolve(items.slice(0, -1).map((n) => n * 10)),
      { maxBatch: 10, maxConcurrent: 1 },
    );
    const settled = await Promise.allSettled([c.submit(1)]);
    expect(settled).toEqual([
      { status: 'rejected', reason: new Error('write returned no result for an item') },
    ]);
  });

  it("does not retry alone when retryAlone says the error is not an item's fault", async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    const write = async (items: readonly number[]) => {
      batches.push([...items]);
      if (batches.length === 1) await firstWrite;
      throw new Error('connection refused');
    };
    const c = new WriteCoalescer<number, number>(write, {
      maxBatch: 10,
      maxConcurrent: 1,
      retryAlone: (err) => !(err instanceof Error && err.message === 'connection refused'),
    });
    const submitted = [0, 1, 2, 3].map((n) => c.submit(n));
    release();
    const settled = await Promise.allSettled(submitted);
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(batches).toEqual([[0], [1, 2, 3]]);
  });
});
