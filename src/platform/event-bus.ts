/**
 * Publish/subscribe between the code that produces domain events and the
 * subscriptions that push them to sockets. Subscription resolvers use only this
 * interface; the Redis implementation fans out across instances.
 */
export interface EventBus {
  readonly mode: 'redis' | 'in-process';
  publish(topic: string, payload: unknown): Promise<void>;
  /** An iterator of matching payloads; `return()` unsubscribes. */
  subscribe<T>(topic: string, filter?: (payload: T) => boolean): AsyncIterableIterator<T>;
  close(): Promise<void>;
}

type Listener = (payload: unknown) => void;

/** Per-subscriber buffer bound: a consumer this far behind is a dead socket. */
const MAX_BUFFERED = 1_000;

/**
 * Local fan-out shared by both implementations: one listener set per topic and a
 * bounded queue per subscriber, so a slow socket cannot grow memory without limit.
 */
export class LocalHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stoppers = new Set<() => void>();

  constructor(
    private readonly hooks: {
      onFirst?: (topic: string) => void;
      onLast?: (topic: string) => void;
      onDrop?: (topic: string) => void;
    } = {},
  ) {}

  dispatch(topic: string, payload: unknown): void {
    const set = this.listeners.get(topic);
    if (!set) return;
    for (const listener of set) listener(payload);
  }

  topicCount(): number {
    return this.listeners.size;
  }

  subscribe<T>(topic: string, filter?: (payload: T) => boolean): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let waiting: ((r: IteratorResult<T>) => void) | undefined;
    let done = false;

    const listener: Listener = (payload) => {
      const typed = payload as T;
      if (done) return;
      try {
        if (filter && !filter(typed)) return;
      } catch {
        return;
      }
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: typed, done: false });
        return;
      }
      if (queue.length >= MAX_BUFFERED) {
        queue.shift();
        this.hooks.onDrop?.(topic);
      }
      queue.push(typed);
    };

    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
      this.hooks.onFirst?.(topic);
    }
    set.add(listener);

    const stop = () => {
      if (done) return;
      done = true;
      this.stoppers.delete(stop);
      queue.length = 0;
      const current = this.listeners.get(topic);
      current?.delete(listener);
      if (current && current.size === 0) {
        this.listeners.delete(topic);
        this.hooks.onLast?.(topic);
      }
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: undefined, done: true });
      }
    };

    this.stoppers.add(stop);

    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        const head = queue.shift();
        if (head !== undefined) return Promise.resolve({ value: head, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          waiting = resolve;
        });
      },
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (err: unknown) => {
        stop();
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** Ends every subscriber's iterator (their `for await` loops finish). */
  closeAll(): void {
    for (const stop of [...this.stoppers]) stop();
  }
}

export class MemoryEventBus implements EventBus {
  readonly mode = 'in-process' as const;
  private readonly hub: LocalHub;

  constructor(onDrop?: (topic: string) => void) {
    this.hub = new LocalHub({ onDrop });
  }

  publish(topic: string, payload: unknown): Promise<void> {
    // Deliver on a later tick, as Redis would: publishers never run subscriber code inline.
    const copy: unknown = JSON.parse(JSON.stringify(payload));
    setImmediate(() => this.hub.dispatch(topic, copy));
    return Promise.resolve();
  }

  subscribe<T>(topic: string, filter?: (payload: T) => boolean): AsyncIterableIterator<T> {
    return this.hub.subscribe(topic, filter);
  }

  close(): Promise<void> {
    this.hub.closeAll();
    return Promise.resolve();
  }
}
