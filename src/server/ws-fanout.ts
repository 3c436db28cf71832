import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
} from 'graphql';
import { isPositionedStream, replayOverflow, type PositionedStream } from '../platform/resumable-stream.js';
import type { FrameOutput } from './ws-transport.js';

/**
 * Results a member may fall behind its group before it loses the oldest (counted). A
 * member waits only while its socket holds more than the high-water mark, so this is a
 * reader that stopped reading; its group keeps the results it has not sent yet.
 */
export const MAX_LAG = 50_000;
/** Dropped from the front of a group's backlog at a time once it passes MAX_LAG. */
const DROP_CHUNK = 1_024;
/** How long a group may write before it yields to the event loop. */
export const PUMP_SLICE_MS = 4;

const CLOSE = Buffer.from('}');

export interface FanoutOptions {
  /** Shapes a result's errors as every other response's are (codes, masking). */
  format: (errors: readonly GraphQLError[]) => unknown[];
  /** `count` results a member lost because it fell MAX_LAG behind. */
  onDrop?: (field: string, count: number) => void;
  /** One execution of `field` for an event: a group's (live) or a resumed member's replay. */
  onExecute?: (field: string, phase: 'live' | 'replay') => void;
  maxLag?: number;
  /** Milliseconds, for the pump's time slice. */
  clock?: () => number;
}

/**
 * Subscription fan-out shared between sockets. Subscriptions with the same group key
 * (ws-server.ts: role, operation name, variables and query text, i.e. everything their
 * results depend on) share one graphql-js subscription: one source (one event-bus
 * listener, one filter run), one execution and one JSON serialisation per event. Each
 * member's `next` frame is its own `{"id":…,"type":"next","payload":` prefix, made once
 * when it joins, around the group's serialised payload — byte for byte what graphql-ws
 * would have sent.
 *
 * graphql-ws still owns every operation: it gets an async iterator per member that
 * yields nothing and ends when the group ends (graphql-ws then sends `complete`) or fails
 * (an `error` message); its `return()` (the client's `complete`, or the socket closing)
 * leaves the group, and the last member to leave stops the source.
 *
 * Backpressure stays per socket: a member whose socket buffers more than the high-water
 * mark stops being written to and keeps a cursor into the group's backlog instead; on
 * 'drain' it catches up. Other members are not held back.
 *
 * A resumed subscription (`resume`: `after` given through a variable, ws-resume.ts) joins
 * the group of the same operation without that variable at once, as a member that waits
 * — the group keeps its results in the backlog, each with its stream position, as for a
 * stopped reader. Then the member runs its own subscription (with `after`) for the replay
 * only: each replayed event is executed and written under its own id, pausing on the
 * socket's high-water mark, until the stream says through which position R it replayed.
 * It then catches up from the backlog, skipping results at or below R, and is an
 * ordinary member from there on. No gap: the group was listening before the replay began,
 * and the replay reads every committed position up to R, which is at least every position
 * the group had already delivered (resumable-stream.ts); so every matching event above R
 * is a result the group produces after the join. No duplicate: the replay stops at R and
 * the backlog skips what is at or below it. A member whose replay outlasts MAX_LAG of the
 * group's results fails with REPLAY_OVERFLOW: the client resumes again from its cursor.
 */
export class SubscriptionFanout {
  private readonly groups = new Map<string, Group>();
  private readonly starting = new Map<string, Promise<Group | ExecutionResult>>();
  readonly maxLag: number;
  readonly clock: () => number;

  constructor(readonly options: FanoutOptions) {
    this.maxLag = options.maxLag ?? MAX_LAG;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** graphql-ws's `subscribe` for one operation: join the group `key` (starting it if new). */
  subscribe(
    key: string,
    args: ExecutionArgs,
    id: string,
    output: FrameOutput,
  ): Promise<AsyncGenerator<never, undefined> | ExecutionResult> {
    return this.join(key, args, id, output, false);
  }

  /**
   * graphql-ws's `subscribe` for a resumed operation (`args` carry the cursor): replay on
   * its own, then a member of the group `live.key`, which runs with `live.variables`. A
   * refusal is the operation's own (its arguments, then its cursor). `key` (the operation
   * as sent) is the fallback for a stream that cannot hand over.
   */
  async resume(
    key: string,
    live: { key: string; variables: Record<string, unknown>; document?: DocumentNode },
    args: ExecutionArgs,
    id: string,
    output: FrameOutput,
  ): Promise<AsyncGenerator<never, undefined> | ExecutionResult> {
    const liveArgs = { ...args, variableValues: live.variables, document: live.document ?? args.document };
    const member = await this.join(live.key, liveArgs, id, output, true);
    if (!(member instanceof Member)) return this.subscribe(key, args, id, output);
    let own: Awaited<ReturnType<typeof createSourceEventStream>>;
    try {
      own = await createSourceEventStream(args);
    } catch (err) {
      member.abandon();
      throw err;
    }
    if (!(Symbol.asyncIterator in own)) {
      member.abandon();
      return own; // the cursor refused: exactly what the operation alone would answer
    }
    if (!member.handsOver() || !isPositionedStream(own) || !own.nextReplayed) {
      member.abandon();
      await own[Symbol.asyncIterator]().return?.();
      return this.subscribe(key, args, id, output);
    }
    void member.replay(own, args);
    return member;
  }

  private async join(
    key: string,
    args: ExecutionArgs,
    id: string,
    output: FrameOutput,
    replaying: boolean,
  ): Promise<Member | ExecutionResult> {
    for (;;) {
      let group = this.groups.get(key);
      if (!group) {
        let pending = this.starting.get(key);
        if (!pending) {
          pending = this.start(key, args);
          this.starting.set(key, pending);
          const forget = () => void this.starting.delete(key);
          pending.then(forget, forget);
        }
        const started = await pending;
        // Refused (bad arguments, forbidden): every member of that key gets the same answer.
        if (!(started instanceof Group)) return started;
        group = started;
      }
      // A group whose last member left while this one waited has stopped: start anew.
      if (!group.ended) return group.join(id, output, replaying);
      if (this.groups.get(key) === group) this.groups.delete(key);
    }
  }

  /** A result's `next` payload, serialised once for every member that gets it. */
  serialise(result: ExecutionResult): Buffer {
    const payload = result.errors ? { ...result, errors: this.options.format(result.errors) } : result;
    return Buffer.from(JSON.stringify(payload));
  }

  /** Groups running now (one source and one execution per event each). */
  groupCount(): number {
    return this.groups.size;
  }

  /** @internal the group stopped. */
  forget(group: Group): void {
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  private async start(key: string, args: ExecutionArgs): Promise<Group | ExecutionResult> {
    // graphql-js's subscribe(), split: the source's events are seen before execution.
    const result = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in result)) return result;
    const group = new Group(this, key, result[Symbol.asyncIterator](), args);
    this.groups.set(key, group);
    void group.pump();
    return group;
  }
}

/** The subscription's root field (the label of its drop counter). */
function fieldOf(args: ExecutionArgs): string {
  const first = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
  return first?.kind === Kind.FIELD ? first.name.value : 'subscription';
}

/**
 * Which subscriptions may share results: the same role (the @auth directive decides by
 * it), operation name, variables and query text. Nothing else of the caller reaches a
 * subscription's resolvers. Equal operations written differently only share less.
 */
export function groupKey(
  role: string,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): string {
  return JSON.stringify([role, payload.operationName ?? null, payload.variables ?? null, payload.query]);
}

/** A serialised result and the stream position of its event (when the source has them). */
interface Entry {
  payload: Buffer;
  position: bigint | undefined;
}

class Group {
  private readonly members = new Set<Member>();
  /** Members whose socket is past its high-water mark, or still replaying; they read from `backlog`. */
  private readonly blocked = new Set<Member>();
  /** Results not yet sent to every blocked member; `backlog[0]` is number `base`. */
  private backlog: Entry[] = [];
  private base = 0;
  /** The number the next result gets. */
  private head = 0;
  ended = false;
  readonly field: string;
  private readonly positionOf: ((event: unknown) => bigint) | undefined;

  constructor(
    readonly owner: SubscriptionFanout,
    readonly key: string,
    private readonly source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
  ) {
    this.field = fieldOf(args);
    this.positionOf = isPositionedStream(source) ? source.positionOf : undefined;
  }

  /** Its results carry stream positions: a resumed member can hand over to it. */
  get positioned(): boolean {
    return this.positionOf !== undefined;
  }

  join(id: string, output: FrameOutput, replaying: boolean): Member {
    const member = new Member(this, id, output);
    this.members.add(member);
    if (replaying) {
      // Waits as a stopped reader does: the backlog keeps every result from now on.
      member.replaying = true;
      member.blocked = true;
      member.cursor = this.head;
      this.blocked.add(member);
    }
    return member;
  }

  leave(member: Member): void {
    if (!this.members.delete(member)) return;
    if (this.blocked.delete(member)) this.trim();
    if (this.members.size === 0) this.stop();
  }

  private stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.forget(this);
    this.backlog = [];
    void this.source.return?.(undefined).catch(() => undefined);
  }

  async pump(): Promise<void> {
    const { clock } = this.owner;
    let yieldAt = clock() + PUMP_SLICE_MS;
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done === true || this.ended) break;
        const result = await execute({ ...this.args, rootValue: next.value });
        if (this.ended) break;
        this.owner.options.onExecute?.(this.field, 'live');
        this.publish({ payload: this.owner.serialise(result), position: this.positionOf?.(next.value) });
        if (clock() >= yieldAt) {
          await new Promise((resolve) => setImmediate(resolve));
          yieldAt = clock() + PUMP_SLICE_MS;
        }
      }
    } catch (err) {
      this.finish(err ?? new Error('subscription source failed'));
      return;
    }
    this.finish(undefined);
  }

  private publish(entry: Entry): void {
    const number = this.head++;
    if (this.blocked.size > 0) {
      this.backlog.push(entry);
      if (this.backlog.length >= this.owner.maxLag + DROP_CHUNK) {
        this.backlog = this.backlog.slice(DROP_CHUNK);
        this.base += DROP_CHUNK;
      }
    } else {
      this.base = this.head; // nobody waits: nothing kept
    }
    for (const member of this.members) {
      if (member.blocked || !member.wants(entry)) continue;
      if (!member.output.write(member.frame(entry.payload))) this.block(member, number + 1);
    }
  }

  private block(member: Member, cursor: number): void {
    member.blocked = true;
    member.cursor = cursor;
    this.blocked.add(member);
    member.output.onDrain(() => this.resume(member));
  }

  /**
   * The member's replay sent every matching event up to position `through`: it catches
   * up from the backlog (skipping what the replay sent) and is an ordinary member then.
   */
  handOver(member: Member, through: bigint): void {
    if (!this.members.has(member)) return;
    member.replaying = false;
    member.replayedThrough = through;
    if (member.cursor < this.base) {
      // Results it needs were dropped while it replayed: only resuming again brings them.
      this.leave(member);
      member.end(replayOverflow());
      return;
    }
    this.resume(member);
  }

  /** The member's socket drained: send what it missed, oldest first, until it fills again. */
  private resume(member: Member): void {
    if (member.replaying || !this.blocked.has(member) || !member.output.open) return;
    this.skipDropped(member);
    while (member.cursor < this.head) {
      const entry = this.backlog[member.cursor - this.base]!;
      member.cursor += 1;
      if (!member.wants(entry)) continue;
      if (!member.output.write(member.frame(entry.payload))) {
        member.output.onDrain(() => this.resume(member));
        return;
      }
    }
    member.blocked = false;
    this.blocked.delete(member);
    this.trim();
  }

  private skipDropped(member: Member): void {
    if (member.cursor >= this.base) return;
    this.owner.options.onDrop?.(this.field, this.base - member.cursor);
    member.cursor = this.base;
  }

  /** Forgets the backlog no blocked member still needs. */
  private trim(): void {
    if (this.blocked.size === 0) {
      this.backlog = [];
      this.base = this.head;
      return;
    }
    let oldest = this.head;
    for (const m of this.blocked) oldest = Math.min(oldest, m.cursor);
    if (oldest - this.base >= DROP_CHUNK) {
      this.backlog = this.backlog.slice(oldest - this.base);
      this.base = oldest;
    }
  }

  /** The source ended (or failed): waiting members get what is left, then graphql-ws ends them. */
  private finish(error: unknown): void {
    for (const member of this.blocked) {
      if (member.replaying) continue; // its replay stops; the backlog would not follow it
      this.skipDropped(member);
      while (member.cursor < this.head && member.output.open) {
        const entry = this.backlog[member.cursor++ - this.base]!;
        if (member.wants(entry)) member.output.write(member.frame(entry.payload));
      }
    }
    this.blocked.clear();
    const members = [...this.members];
    this.members.clear();
    this.stop();
    for (const member of members) member.end(error);
  }
}

/** One subscription of a socket, as graphql-ws drives it. */
class Member implements AsyncGenerator<never, undefined> {
  private readonly prefix: Buffer;
  blocked = false;
  /** While blocked: the number of the next result to send. */
  cursor = 0;
  /** Resumed, and its replay still runs: the group keeps its results in the backlog. */
  replaying = false;
  /** Resumed: the position its replay read through; the group's results up to it are skipped. */
  replayedThrough: bigint | undefined;
  private waiting:
    { resolve: (r: IteratorResult<never, undefined>) => void; reject: (e: unknown) => void } | undefined;
  private outcome: { error: unknown } | undefined;
  /** While replaying: ends the replay's own stream, and wakes a replay waiting for 'drain'. */
  private stopReplay: (() => void) | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly group: Group,
    id: string,
    readonly output: FrameOutput,
  ) {
    // graphql-ws's own frame: JSON.stringify({ id, type: 'next', payload }).
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  }

  frame(payload: Buffer): Buffer {
    return Buffer.concat([this.prefix, payload, CLOSE], this.prefix.length + payload.length + 1);
  }

  /** Not a result its replay sent already (the same event, at or below `replayedThrough`). */
  wants(entry: Entry): boolean {
    const through = this.replayedThrough;
    return through === undefined || entry.position === undefined || entry.position > through;
  }

  /** Its group can take over after a replay (its results carry positions). */
  handsOver(): boolean {
    return this.group.positioned;
  }

  /** Leaves its group without a word to graphql-ws (the operation is answered otherwise). */
  abandon(): void {
    this.group.leave(this);
  }

  /**
   * Sends the replayed events of `own` (the operation's own stream, with `after`), each
   * executed with the operation's own arguments, pausing while its socket is above the
   * high-water mark; then hands over to the group.
   */
  async replay(own: PositionedStream, args: ExecutionArgs): Promise<void> {
    const { owner, field } = this.group;
    const nextReplayed = own.nextReplayed!;
    this.stopReplay = () => void own.return?.().catch(() => undefined);
    let through: bigint | undefined;
    try {
      while (!this.outcome && this.output.open) {
        const next = await nextReplayed();
        if (this.outcome) break;
        if (next.done === true) {
          through = next.value;
          break;
        }
        const result = await execute({ ...args, rootValue: next.value });
        if (this.outcome) break;
        owner.options.onExecute?.(field, 'replay');
        if (!this.output.write(this.frame(owner.serialise(result))) && this.output.open)
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            this.output.onDrain(resolve);
          });
        this.wake = undefined;
      }
    } catch (err) {
      if (!this.outcome) {
        this.group.leave(this);
        this.end(err ?? new Error('subscription source failed'));
      }
      return;
    } finally {
      this.stopReplay();
      this.stopReplay = undefined;
    }
    // Not handed over when it ended, or its socket closed (graphql-ws ends it then).
    if (through !== undefined && !this.outcome) this.group.handOver(this, through);
  }

  /** The group ended (`error` undefined) or failed: graphql-ws sends `complete` or `error`. */
  end(error: unknown): void {
    if (this.outcome) return;
    this.outcome = { error };
    this.stopReplay?.();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }

  next(): Promise<IteratorResult<never, undefined>> {
    const outcome = this.outcome;
    if (outcome) {
      this.outcome = { error: undefined }; // an error is reported once
      return outcome.error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(
            outcome.error instanceof Error ? outcome.error : new Error('subscription source failed'),
          );
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<never, undefined>> {
    this.group.leave(this);
    this.end(undefined);
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<never, undefined>> {
    this.group.leave(this);
    this.end(undefined);
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
