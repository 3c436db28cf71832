/**
 * Resumable subscriptions: live events in stream-position order, and a replay from
 * PostgreSQL that joins them without a gap or a duplicate.
 *
 * Positions. Every streamed row gets a position from its table's sequence inside its
 * writing transaction, taken while a transaction-level advisory lock of its stream is
 * held (a BEFORE trigger, migration 20261203130000_stream_positions). The lock is kept
 * until the transaction ends, so positions are commit-ordered: when position p is
 * committed, every smaller position is committed or will never be, and any snapshot
 * that sees p sees every smaller committed position. Positions need not be dense
 * (aborted transactions and skipped conflicts leave gaps).
 *
 * The ordered feed (one per stream and instance) listens to the stream's bus topic
 * (every instance publishes there after its commit) and hands its subscribers the
 * events in position order. A message whose first position is not the one after the
 * last delivered shows a hole — another instance's message still on its way, a message
 * the bus dropped, or simply a gap. Because the message's own transaction committed,
 * the hole is final, so the feed reads it from PostgreSQL (usually nothing, or the
 * rows whose message is late) and delivers them first; late messages are then dropped
 * as already delivered. A subscriber therefore sees strictly increasing positions.
 *
 * Resuming (`after`): the subscriber first joins the feed (buffering), then reads from
 * PostgreSQL, page by page, the rows after its cursor, until a short page or until it
 * reaches what the feed delivered since it joined; then it continues with the buffered
 * and live events whose position is above the last one replayed. What the feed
 * delivered before the subscriber joined was committed before its first read, so the
 * replay finds it; what the feed delivers later is buffered; positions are commit-ordered,
 * so every read sees a prefix of the stream: no event falls between the two.
 *
 * Handing over (server/ws-fanout.ts): a consumer that already listens to the same live
 * events elsewhere (the subscription group of the same operation without `after`, joined
 * before this stream was made) takes only the replay, through `nextReplayed`, which ends
 * with the position the replay read through; it takes every event above that position
 * from its own listener. The replay covers every position committed before its head
 * read, so it covers what that listener had delivered before this stream was made.
 */
import { AppError, badInput } from './errors.js';
import { LocalHub, type EventBus, type TopicRef } from './event-bus.js';
import type { Logger } from './logger.js';

/** One stream's storage, as the feed and the replay read it. */
export interface StreamStore<T> {
  /** The subscription field whose cursors these are (e.g. "threatDetected"). */
  readonly stream: string;
  /** The bus topic its writers publish to after commit. */
  readonly topic: TopicRef<unknown>;
  /** The events of one bus message. */
  unpack(message: unknown): readonly T[];
  /**
   * Messages carry no positions: each only says that something was committed, and the
   * feed reads what follows the last position it delivered.
   */
  readonly signalOnly?: boolean;
  /** An event's position (the record carries it as decimal text). */
  position(event: T): bigint;
  /** Events with a position above `after`, in position order, at most `limit`. */
  readAfter(after: bigint, limit: number): Promise<T[]>;
  /** The highest committed position (0 when there is none). */
  head(): Promise<bigint>;
  /** When the first event after `after` was written; null when there is none. */
  firstWrittenAfter(after: bigint): Promise<Date | null>;
}

const CURSOR_PREFIX = 'tw1';
/** Longest `after` accepted before it is decoded. */
export const MAX_CURSOR_LENGTH = 200;
/** Rows read per query by a replay or a hole fill. */
export const REPLAY_PAGE = 1_000;
/** A feed with no message for this long reads the store for events whose message was lost. */
export const TAIL_CHECK_MS = 1_000;
/** Live events a resuming subscriber may hold while its replay runs. */
export const MAX_REPLAY_BUFFER = 100_000;
const MAX_POSITION = 2n ** 63n - 1n;

/** The cursor of the event at `position` in `stream` (opaque to clients). */
export function encodeCursor(stream: string, position: bigint | string): string {
  return Buffer.from(`${CURSOR_PREFIX}:${stream}:${position}`).toString('base64url');
}

/** The position a cursor of `stream` names; BAD_USER_INPUT (argument `after`) otherwise. */
export function decodeStreamCursor(stream: string, cursor: string): bigint {
  const refuse = () =>
    badInput(`after is not a ${stream} cursor returned by this API`, {
      argument: 'after',
      reason: 'INVALID_CURSOR',
    });
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw refuse();
  const text = Buffer.from(cursor, 'base64url').toString('latin1');
  const parts = text.split(':');
  if (
    parts.length !== 3 ||
    parts[0] !== CURSOR_PREFIX ||
    parts[1] !== stream ||
    !/^\d{1,19}$/.test(parts[2]!)
  )
    throw refuse();
  const position = BigInt(parts[2]!);
  if (position > MAX_POSITION) throw refuse();
  return position;
}

/**
 * What the streams of `subscribeResumable` tell the subscription fan-out
 * (server/ws-fanout.ts), so that a resumed subscription can replay on its own and then
 * take its live events from the shared group of the same subscription without `after`.
 */
export interface PositionedStream<T = unknown> extends AsyncIterableIterator<T> {
  /** The stream position of an event this stream yielded. */
  readonly positionOf: (event: T) => bigint;
  /**
   * Only on a resumed stream: the replayed events, in order, then `done` with the
   * position through which the replay read — every matching event above it is live and
   * reaches any live subscription of the same stream that subscribed before the replay
   * began. The first call stops the stream buffering its own live events: the caller
   * takes those from elsewhere and ends this stream with `return()`.
   */
  readonly nextReplayed?: () => Promise<IteratorResult<T, bigint>>;
}

const positioned = new WeakSet<object>();

/** A stream made by `subscribeResumable` (live or resumed). */
export function isPositionedStream(stream: unknown): stream is PositionedStream {
  return typeof stream === 'object' && stream !== null && positioned.has(stream);
}

/** A resumed subscription fell too far behind while its replay ran: it must resume again. */
export function replayOverflow(): AppError {
  return new AppError('BAD_USER_INPUT', 'Fell too far behind while replaying; resume again', {
    argument: 'after',
    reason: 'REPLAY_OVERFLOW',
  });
}

/** Topic of the feed's own in-process hub. */
const ORDERED = 'ordered';

/**
 * One stream's events on this instance, in position order (see the file comment). It
 * runs while somebody listens: the first subscriber starts it, the last one stops it.
 */
export class OrderedFeed<T> {
  private readonly hub: LocalHub;
  private generation = 0;
  private source: AsyncIterableIterator<unknown> | undefined;
  private ready: Promise<void> = Promise.resolve();
  private last = 0n;
  /**
   * Until the first event above the starting head is delivered: events at or below it
   * that were published after the feed subscribed (committed before its head query)
   * are still delivered, once each, instead of being taken for old ones.
   */
  private startedAt: Set<bigint> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly bus: EventBus,
    private readonly store: StreamStore<T>,
    logger: Logger,
    onDrop?: (topic: string) => void,
    /** With no message for this long, the feed reads what was committed after its last position. */
    private readonly tailCheckMs = TAIL_CHECK_MS,
  ) {
    this.log = logger.child({ component: 'ordered-feed', stream: store.stream });
    this.hub = new LocalHub({
      onFirst: () => this.start(),
      onLast: () => this.stop(),
      onDrop: onDrop && (() => onDrop(store.stream)),
    });
  }

  /**
   * Batches of events in position order, holding at least one event that `matches`
   * (the filter runs in the hub's time-sliced fan-out). Resolves once the feed is running.
   */
  async subscribe(matches?: (event: T) => boolean): Promise<AsyncIterableIterator<readonly T[]>> {
    const filter = matches && ((batch: readonly T[]) => batch.some(matches));
    const batches = this.hub.subscribe<readonly T[]>(ORDERED, filter);
    try {
      await this.ready;
    } catch (err) {
      await batches.return?.();
      throw err;
    }
    return batches;
  }

  private start(): void {
    const generation = ++this.generation;
    // Subscribed before the head is read: what is published meanwhile waits in the queue.
    const source = this.bus.subscribe<unknown>(this.store.topic);
    this.source = source;
    this.ready = this.store.head().then((head) => {
      if (generation !== this.generation) return;
      this.last = head;
      this.startedAt = new Set();
      void this.run(source, generation);
    });
    // A failed start fails the subscriptions waiting for it; the next subscriber retries.
    this.ready.catch((err: unknown) => {
      this.log.warn({ err }, 'ordered feed could not start');
      if (generation === this.generation) this.stop();
    });
  }

  private stop(): void {
    this.generation += 1;
    const source = this.source;
    this.source = undefined;
    void source?.return?.();
  }

  private async run(source: AsyncIterableIterator<unknown>, generation: number): Promise<void> {
    let pending: Promise<IteratorResult<unknown>> | undefined;
    for (;;) {
      let message: IteratorResult<unknown> | 'quiet';
      try {
        pending ??= source.next();
        message = await quietAfter(pending, this.tailCheckMs);
      } catch (err) {
        this.log.warn({ err }, 'ordered feed source failed');
        return;
      }
      if (generation !== this.generation) return;
      if (message === 'quiet') {
        // A quiet stream, or its last message was lost: what was committed since is read.
        await this.readSignalled(generation, true);
        continue;
      }
      pending = undefined;
      if (message.done === true) return;
      if (this.store.signalOnly) {
        await this.readSignalled(generation);
        continue;
      }
      const events = [...this.store.unpack(message.value)].sort((a, b) =>
        compare(this.store.position(a), this.store.position(b)),
      );
      const out: T[] = [];
      for (const event of events) {
        const position = this.store.position(event);
        if (position <= this.last) {
          // Committed before the head was read but published after the feed subscribed.
          if (this.startedAt && !this.startedAt.has(position)) {
            this.startedAt.add(position);
            out.push(event);
          }
          continue; // otherwise delivered already (read while filling a hole)
        }
        this.startedAt = undefined;
        if (position > this.last + 1n) {
          try {
            // The transaction of `position` committed: every smaller position is final.
            for (const filled of await this.readBetween(this.last, position)) out.push(filled);
          } catch (err) {
            // Not readable now: the hole is skipped (counted as a drop), never waited on.
            this.log.warn({ err, after: String(this.last), before: String(position) }, 'hole not filled');
          }
          if (generation !== this.generation) return;
        }
        out.push(event);
        this.last = position;
      }
      if (out.length > 0) this.hub.dispatch(ORDERED, out);
    }
  }

  /** What was committed after the last delivered position (a signal-only or quiet stream). */
  private async readSignalled(generation: number, quiet = false): Promise<void> {
    let read: T[];
    try {
      read = await this.readBetween(this.last, MAX_POSITION + 1n);
    } catch (err) {
      // A quiet stream is read again in a moment: not worth a warning every second.
      if (quiet) this.log.debug({ err }, 'quiet stream not read');
      else this.log.warn({ err, after: String(this.last) }, 'signalled events not read');
      return;
    }
    if (generation !== this.generation || read.length === 0) return;
    this.startedAt = undefined;
    this.last = this.store.position(read[read.length - 1]!);
    this.hub.dispatch(ORDERED, read);
  }

  /** Stored events with a position strictly between `after` and `before`. */
  private async readBetween(after: bigint, before: bigint): Promise<T[]> {
    const out: T[] = [];
    let from = after;
    for (;;) {
      const page = await this.store.readAfter(from, REPLAY_PAGE);
      for (const event of page) {
        if (this.store.position(event) >= before) return out;
        out.push(event);
      }
      if (page.length < REPLAY_PAGE) return out;
      from = this.store.position(page[page.length - 1]!);
    }
  }
}

const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** `next`'s result, or 'quiet' once `ms` pass without one (`next` stays pending). */
function quietAfter<R>(next: Promise<R>, ms: number): Promise<R | 'quiet'> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = new Promise<'quiet'>((resolve) => {
    timer = setTimeout(() => resolve('quiet'), ms);
    timer.unref();
  });
  return Promise.race([next, quiet]).finally(() => clearTimeout(timer));
}

export interface ResumeOptions {
  /** How far back a cursor may reach, in milliseconds. */
  windowMs: number;
  now?: () => number;
}

/**
 * A subscription's events: with `after`, first the stored events after that cursor
 * that match, in position order, then the live ones, none twice; without it, the live
 * ones only. Refuses (BAD_USER_INPUT, argument `after`) a cursor that is not this
 * stream's, that is ahead of the stream, or whose replay would start more than the
 * window ago (reason CURSOR_TOO_OLD).
 */
export async function subscribeResumable<T>(
  feed: OrderedFeed<T>,
  store: StreamStore<T>,
  matches: (event: T) => boolean,
  after: string | null | undefined,
  options: ResumeOptions,
): Promise<AsyncIterableIterator<T>> {
  const from = after === null || after === undefined ? undefined : decodeStreamCursor(store.stream, after);
  const live = await feed.subscribe(matches);
  if (from === undefined) return flatten(live, store, matches);
  let head: bigint;
  try {
    head = await store.head();
    if (from > head)
      throw badInput(`after is ahead of the ${store.stream} stream: not a cursor returned by this API`, {
        argument: 'after',
        reason: 'INVALID_CURSOR',
      });
    const first = await store.firstWrittenAfter(from);
    const now = (options.now ?? Date.now)();
    if (first !== null && first.getTime() < now - options.windowMs) {
      const windowSeconds = Math.round(options.windowMs / 1000);
      throw badInput(
        `after is too old: this server replays at most the last ${windowSeconds} s of ${store.stream}; ` +
          'subscribe without after and reload what you need with a query',
        { argument: 'after', reason: 'CURSOR_TOO_OLD', windowSeconds },
      );
    }
  } catch (err) {
    await live.return?.();
    throw err;
  }
  return replayThenLive(live, store, matches, from, head);
}

/** Live batches as single matching events. */
function flatten<T>(
  batches: AsyncIterableIterator<readonly T[]>,
  store: StreamStore<T>,
  matches: (event: T) => boolean,
): PositionedStream<T> {
  let pending: T[] = [];
  const iterator: PositionedStream<T> = {
    positionOf: (event) => store.position(event),
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        const head = pending.shift();
        if (head !== undefined) return { value: head, done: false };
        const batch = await batches.next();
        if (batch.done === true) return { value: undefined, done: true };
        pending = batch.value.filter(matches);
      }
    },
    async return(): Promise<IteratorResult<T>> {
      pending = [];
      await batches.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown): Promise<IteratorResult<T>> {
      await batches.return?.();
      throw err instanceof Error ? err : new Error(String(err));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  positioned.add(iterator);
  return iterator;
}

/**
 * The replay, then the live events above the last replayed position. Live batches are
 * taken into a buffer while the replay runs, so the feed's queue never overflows.
 */
function replayThenLive<T>(
  live: AsyncIterableIterator<readonly T[]>,
  store: StreamStore<T>,
  matches: (event: T) => boolean,
  from: bigint,
  head: bigint,
): PositionedStream<T> {
  // A queue read from `taken`: Array#shift copies the whole array once it is large (up to
  // MAX_REPLAY_BUFFER entries here), which would make draining it quadratic.
  const buffer: T[] = [];
  let taken = 0;
  /** Position of the first live batch above `head`: everything before it is the replay's. */
  let firstLive: bigint | undefined;
  let replayed: T[] = [];
  let cursor = from;
  let replaying = true;
  let liveDone = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let closed = false;
  /** `nextReplayed` was called: live events are taken elsewhere, only `firstLive` counts here. */
  let seamOnly = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  void (async () => {
    try {
      for (;;) {
        const batch = await live.next();
        if (batch.done === true) break;
        if (!seamOnly) for (const e of batch.value) if (matches(e)) buffer.push(e);
        // Only above the head read after joining: a feed that has just started may still
        // hand on older events published late, which the replay reads anyway.
        const first = batch.value.length > 0 ? store.position(batch.value[0]!) : undefined;
        if (firstLive === undefined && first !== undefined && first > head) firstLive = first;
        if (buffer.length - taken > MAX_REPLAY_BUFFER) {
          failure = replayOverflow();
          await live.return?.();
          break;
        }
        notify();
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    liveDone = true;
    notify();
  })();

  const replayPage = async () => {
    const page = await store.readAfter(cursor, REPLAY_PAGE);
    const stop = firstLive;
    let short = page.length < REPLAY_PAGE;
    for (const event of page) {
      const p = store.position(event);
      if (stop !== undefined && p >= stop) {
        short = true;
        break;
      }
      cursor = p;
      if (matches(event)) replayed.push(event);
    }
    if (short) replaying = false;
  };

  const iterator: PositionedStream<T> = {
    positionOf: (event) => store.position(event),
    async nextReplayed(): Promise<IteratorResult<T, bigint>> {
      seamOnly = true;
      buffer.length = 0;
      taken = 0;
      for (;;) {
        const r = closed ? undefined : replayed.shift();
        if (r !== undefined) return { value: r, done: false };
        if (closed || !replaying) return { value: cursor, done: true };
        await replayPage();
      }
    },
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (closed) return { value: undefined, done: true };
        const r = replayed.shift();
        if (r !== undefined) return { value: r, done: false };
        if (replaying) {
          await replayPage();
          continue;
        }
        const e = taken < buffer.length ? buffer[taken++] : undefined;
        if (taken === buffer.length) {
          buffer.length = 0;
          taken = 0;
        } else if (taken >= 1024 && taken * 2 >= buffer.length) {
          buffer.splice(0, taken);
          taken = 0;
        }
        if (e !== undefined) {
          if (store.position(e) > cursor) {
            cursor = store.position(e);
            return { value: e, done: false };
          }
          continue;
        }
        if (failure) throw failure;
        if (liveDone) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<T>> {
      closed = true;
      replayed = [];
      buffer.length = 0;
      taken = 0;
      await live.return?.();
      notify();
      return { value: undefined, done: true };
    },
    async throw(err: unknown): Promise<IteratorResult<T>> {
      closed = true;
      await live.return?.();
      throw err instanceof Error ? err : new Error(String(err));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  positioned.add(iterator);
  return iterator;
}
