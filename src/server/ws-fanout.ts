import {
  getOperationAST,
  Kind,
  subscribe as graphqlSubscribe,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
} from 'graphql';
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
  async subscribe(
    key: string,
    args: ExecutionArgs,
    id: string,
    output: FrameOutput,
  ): Promise<AsyncGenerator<never, undefined> | ExecutionResult> {
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
      if (!group.ended) return group.join(id, output);
      if (this.groups.get(key) === group) this.groups.delete(key);
    }
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
    const result = await graphqlSubscribe(args);
    if (!(Symbol.asyncIterator in result)) return result;
    const group = new Group(this, key, result, fieldOf(args));
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

class Group {
  private readonly members = new Set<Member>();
  /** Members whose socket is past its high-water mark; they read from `backlog`. */
  private readonly blocked = new Set<Member>();
  /** Serialised results not yet sent to every blocked member; `backlog[0]` is number `base`. */
  private backlog: Buffer[] = [];
  private base = 0;
  /** The number the next result gets. */
  private head = 0;
  ended = false;

  constructor(
    private readonly owner: SubscriptionFanout,
    readonly key: string,
    private readonly source: AsyncGenerator<ExecutionResult>,
    private readonly field: string,
  ) {}

  join(id: string, output: FrameOutput): Member {
    const member = new Member(this, id, output);
    this.members.add(member);
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
    void this.source.return(undefined).catch(() => undefined);
  }

  async pump(): Promise<void> {
    const { clock } = this.owner;
    let yieldAt = clock() + PUMP_SLICE_MS;
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done === true || this.ended) break;
        this.publish(this.serialise(next.value));
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

  private serialise(result: ExecutionResult): Buffer {
    const payload = result.errors ? { ...result, errors: this.owner.options.format(result.errors) } : result;
    return Buffer.from(JSON.stringify(payload));
  }

  private publish(entry: Buffer): void {
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
      if (member.blocked) continue;
      if (!member.output.write(member.frame(entry))) this.block(member, number + 1);
    }
  }

  private block(member: Member, cursor: number): void {
    member.blocked = true;
    member.cursor = cursor;
    this.blocked.add(member);
    member.output.onDrain(() => this.resume(member));
  }

  /** The member's socket drained: send what it missed, oldest first, until it fills again. */
  private resume(member: Member): void {
    if (!this.blocked.has(member) || !member.output.open) return;
    this.skipDropped(member);
    while (member.cursor < this.head) {
      const entry = this.backlog[member.cursor - this.base]!;
      member.cursor += 1;
      if (!member.output.write(member.frame(entry))) {
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
      this.skipDropped(member);
      while (member.cursor < this.head && member.output.open)
        member.output.write(member.frame(this.backlog[member.cursor++ - this.base]!));
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
  private waiting:
    { resolve: (r: IteratorResult<never, undefined>) => void; reject: (e: unknown) => void } | undefined;
  private outcome: { error: unknown } | undefined;

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

  /** The group ended (`error` undefined) or failed: graphql-ws sends `complete` or `error`. */
  end(error: unknown): void {
    if (this.outcome) return;
    this.outcome = { error };
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
