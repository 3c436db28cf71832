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
 * How long the fan-out may run before it yields to the event loop: a message for
 * thousands of subscribers never holds the process for long, yet many subscribers are
 * served per turn (a fixed count per turn made delivery depend on how many turns the
 * loop manages, and fell behind under load).
 */
export const DISPATCH_SLICE_MS = 4;
/**
 * Messages waiting for the fan-out, all topics together. Beyond it the oldest are
 * dropped (and counted): a fan-out this far behind is better served with the news.
 */
export const MAX_BACKLOG = 10_000;

interface Delivery {
  payload: unknown;
  listeners: Listener[];
  next: number;
}

/**
 * Local fan-out shared by both implementations: one listener set per topic and a
 * bounded queue per subscriber, so a slow socket cannot grow memory without limit.
 *
 * `dispatch` only queues the message: subscribers' filters never run in the code that
 * published (an ingest request answers without waiting for them), and the fan-out runs
 * for at most DISPATCH_SLICE_MS per turn of the event loop, so other requests (and
 * /healthz) are served in between. Messages reach each subscriber in dispatch order.
 */
export class LocalHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stoppers = new Set<() => void>();
  private backlog: ({ topic: string; payload: unknown } | undefined)[] = [];
  private head = 0;
  private current: Delivery | undefined;
  private draining = false;
  private readonly clock: () => number;

  constructor(
    private readonly hooks: {
      onFirst?: (topic: string) => void;
      onLast?: (topic: string) => void;
      onDrop?: (topic: string) => void;
      /** Milliseconds, for the slice deadline (tests pass a fake one). */
      clock?: () => number;
    } = {},
  ) {
    this.clock = hooks.clock ?? (() => performance.now());
  }

  dispatch(topic: string, payload: unknown): void {
    if (!this.listeners.has(topic)) return;
    this.backlog.push({ topic, payload });
    if (this.backlog.length - this.head > MAX_BACKLOG) {
      const dropped = this.backlog[this.head];
      this.backlog[this.head++] = undefined;
      if (dropped) this.hooks.onDrop?.(dropped.topic);
    }
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drain);
    }
  }

  /** The next waiting message; the array is compacted once its consumed head is large. */
  private take(): { topic: string; payload: unknown } | undefined {
    if (this.head >= this.backlog.length) {
      this.backlog = [];
      this.head = 0;
      return undefined;
    }
    const message = this.backlog[this.head];
    this.backlog[this.head++] = undefined;
    if (this.head >= 1_024 && this.head * 2 >= this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  private readonly drain = (): void => {
    const deadline = this.clock() + DISPATCH_SLICE_MS;
    for (;;) {
      if (!this.current) {
        const message = this.take();
        if (!message) {
          this.draining = false;
          return;
        }
        const set = this.listeners.get(message.topic);
        // Subscribers as of now: one that unsubscribes meanwhile ignores it (its `done`).
        if (set) this.current = { payload: message.payload, listeners: [...set], next: 0 };
        continue;
      }
      const delivery = this.current;
      while (delivery.next < delivery.listeners.length) {
        delivery.listeners[delivery.next++]!(delivery.payload);
        if (this.clock() >= deadline) {
          if (delivery.next >= delivery.listeners.length) this.current = undefined;
          setImmediate(this.drain);
          return;
        }
      }
      this.current = undefined;
    }
  };

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
    this.backlog = [];
    this.head = 0;
    this.current = undefined;
  }
}

export class MemoryEventBus implements EventBus {
  readonly mode = 'in-process' as const;
  private readonly hub: LocalHub;

  constructor(onDrop?: (topic: string) => void) {
    this.hub = new LocalHub({ onDrop });
  }

  publish(topic: string, payload: unknown): Promise<void> {
    // Subscribers get the JSON form, as they would through Redis; the hub delivers it
    // on later turns of the event loop, never inside this call.
    const copy: unknown = JSON.parse(JSON.stringify(payload));
    this.hub.dispatch(topic, copy);
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
