/**
 * Group commit for small writes: items submitted while earlier writes are still in flight
 * wait and leave together in the next write. Under light load every item is written at
 * once, alone (no added latency, no timer); under heavy load the batches grow by
 * themselves, so per-write costs (a statement, a publish, their syscalls) are shared.
 *
 * Not DataLoader: it batches what arrives within one tick, whereas a group commit batches
 * what arrives while a write is running, which is what grows with load.
 */
export interface WriteCoalescerOptions {
  /** Most items in one write. */
  maxBatch: number;
  /** Writes running at once; more items queue for the next free one. */
  maxConcurrent: number;
  /**
   * Whether a multi-item write that threw is retried item by item (default: always).
   * Answer false for errors no item caused (the database is unreachable): retrying
   * each alone would only multiply the failures.
   */
  retryAlone?: (err: unknown) => boolean;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export class WriteCoalescer<I, O> {
  private queue: Pending<I, O>[] = [];
  private running = 0;

  /**
   * `write` gets the items in submission order and returns one result per item, in the
   * same order: a value, or an Error that rejects only that item. When a write of several
   * items throws, the items came from different callers and one of them may be the cause:
   * each is written again alone, one after the other, so only the item(s) that fail on
   * their own are rejected (with their own error). A single-item write that throws
   * rejects that item.
   */
  constructor(
    private readonly write: (items: readonly I[]) => Promise<readonly (O | Error)[]>,
    private readonly options: WriteCoalescerOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    let results: readonly (O | Error)[];
    try {
      results = await this.write(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1 || !(this.options.retryAlone?.(err) ?? true)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Sequential: the retries hold this write's slot, so they add no concurrency.
      for (const p of batch) await this.run([p]);
      return;
    }
    batch.forEach((p, i) => {
      const result = results[i];
      if (result instanceof Error) p.reject(result);
      else if (result === undefined) p.reject(new Error('write returned no result for an item'));
      else p.resolve(result);
    });
  }
}
