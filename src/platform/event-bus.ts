/**
 * A topic whose messages have a type: messages cross the bus as JSON (Redis, or a copy
 * in process), and `revive` turns that JSON back into the type — dates into `Date`s —
 * once per message, at the bus boundary, before any subscriber sees it.
 */
export interface Topic<T> {
  readonly name: string;
  readonly revive: (json: unknown) => T;
}

/** A typed topic; without `revive` the payload is plain JSON data and stays as parsed. */
export function topic<T>(name: string, revive: (json: unknown) => T = (json) => json as T): Topic<T> {
  return { name, revive };
}

/** A reviver that makes the named fields of a record `Date`s (null stays null). */
export function withDates<T extends object>(...fields: (keyof T)[]): (json: unknown) => T {
  return (json) => {
    const record = { ...(json as Record<keyof T, unknown>) };
    for (const f of fields) {
      const v = record[f];
      if (v !== null && v !== undefined) record[f] = new Date(v as string | number | Date);
    }
    return record as T;
  };
}

/** A reviver for a list of records each revived by `one`. */
export function listOf<T>(one: (json: unknown) => T): (json: unknown) => T[] {
  return (json) => (json as unknown[]).map(one);
}

/** A typed topic, or a bare name for plain JSON data. */
export type TopicRef<T> = Topic<T> | string;
export const topicName = (t: TopicRef<unknown>): string => (typeof t === 'string' ? t : t.name);

/**
 * Publish/subscribe between the code that produces domain events and the
 * subscriptions that push them to sockets. Subscription resolvers use only this
 * interface; the Redis implementation fans out across instances. A `Topic<T>` types
 * both ends and restores what JSON loses (dates); a bare topic name carries plain
 * JSON data.
 */
export interface EventBus {
  readonly mode: 'redis' | 'in-process';
  publish<T>(topic: TopicRef<T>, payload: T): Promise<void>;
  /** An iterator of matching payloads; `return()` unsubscribes. */
  subscribe<T>(topic: TopicRef<T>, filter?: (payload: T) => boolean): AsyncIterableIterator<T>;
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
  private readonly revivers = new Map<string, (json: unknown) => unknown>();
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

  /** Remembers a typed topic's reviver: messages published under its bare name are revived too. */
  learn(topic: TopicRef<unknown>): void {
    if (typeof topic !== 'string') this.revivers.set(topic.name, topic.revive);
  }

  /** The topic's JSON as its subscribers get it (revived when the topic is typed). */
  revive(topic: string, json: unknown): unknown {
    const revive = this.revivers.get(topic);
    return revive ? revive(json) : json;
  }

  /** Somebody on this instance listens to the topic. */
  listening(topic: string): boolean {
    return this.listeners.has(topic);
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

  publish<T>(topic: TopicRef<T>, payload: T): Promise<void> {
    // Subscribers get what a trip through Redis gives (JSON, revived), never the
    // publisher's own objects; the hub delivers it on later turns of the event loop.
    const name = topicName(topic);
    this.hub.learn(topic);
    if (this.hub.listening(name))
      this.hub.dispatch(name, this.hub.revive(name, JSON.parse(JSON.stringify(payload))));
    return Promise.resolve();
  }

  subscribe<T>(topic: TopicRef<T>, filter?: (payload: T) => boolean): AsyncIterableIterator<T> {
    this.hub.learn(topic);
    return this.hub.subscribe(topicName(topic), filter);
  }

  close(): Promise<void> {
    this.hub.closeAll();
    return Promise.resolve();
  }
}
