/**
 * The shapes every list shares, from the repositories up to the GraphQL connections:
 * a keyset `Cursor`, a `Page` of rows, and a bounded, briefly cached row count.
 */
import { LRUCache } from 'lru-cache';
import type pg from 'pg';

/** Keyset position: rows strictly after (at, id) in the list's newest-first order. */
export interface Cursor {
  at: Date;
  id: string;
}

/** Rows matching a list's filter: exact up to COUNT_LIMIT, then COUNT_LIMIT with `capped`. */
export interface RowCount {
  count: number;
  capped: boolean;
}

/** Counting stops here: an exact count of a million rows costs a scan of a million rows. */
export const COUNT_LIMIT = 10_000;

/** One page of a list. `count` runs only when called (the client asked for totalCount). */
export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
  count(): Promise<RowCount>;
}

/** A count already known in full, bounded like the others. */
export function rowCount(n: number): RowCount {
  return n > COUNT_LIMIT ? { count: COUNT_LIMIT, capped: true } : { count: n, capped: false };
}

/**
 * The page from rows fetched with `LIMIT first + 1` (the extra row only tells that
 * there is a next page). The count runs at most once per page.
 */
export function pageOf<T>(rows: T[], first: number, count: () => Promise<RowCount>): Page<T> {
  let counted: Promise<RowCount> | undefined;
  return {
    rows: rows.length > first ? rows.slice(0, first) : rows,
    hasNextPage: rows.length > first,
    count: () => (counted ??= count()),
  };
}

const statementNames = new Map<string, string>();
/** Distinct list statements given a name; further texts (unusual filter mixes) run unnamed. */
const MAX_NAMED_STATEMENTS = 200;

/**
 * A list query as a named statement, so each pooled connection parses and plans its
 * text once. List texts vary with the filter and the columns asked, so only the first
 * MAX_NAMED_STATEMENTS distinct texts are named.
 */
export function listStatement(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `list_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
}

/**
 * Identical list reads in flight share one query: a read of the same statement and
 * parameters asked while one runs gets that query's rows instead of queueing another.
 * What a joined read returns is at most one query's duration old. The owning repository
 * calls `invalidate()` after each of its writes, so a read started before a write of this
 * instance never answers a request made after that write; another instance's writes show
 * to reads started after they committed. Rows are shared by every caller that joined:
 * callers must not change them.
 */
export class SharedReads {
  private readonly running = new Map<string, Promise<unknown[]>>();

  /** `run()`'s rows, or those of the same read already in flight. */
  read<R>(query: { text: string; values?: readonly unknown[] }, run: () => Promise<R[]>): Promise<R[]> {
    const key = `${query.text}\n${JSON.stringify(query.values ?? [])}`;
    const hit = this.running.get(key);
    if (hit) return (hit as Promise<R[]>).then(inTurnOfItsOwn);
    const reading = run();
    this.running.set(key, reading);
    const done = () => {
      if (this.running.get(key) === reading) this.running.delete(key);
    };
    reading.then(done, done);
    return reading;
  }

  /** Later reads start their own query (after a write that may change their rows). */
  invalidate(): void {
    this.running.clear();
  }
}

/**
 * A `Date` that keeps the text of its `toISOString()`. Rows of a shared read go into
 * every answer that joined it, and formatting each date again for each answer was a
 * visible share of a page's CPU. The text is made again when the time has changed since
 * (`setTime` and the other setters); an invalid date throws as a `Date` does.
 */
export class FormattedDate extends Date {
  #isoTime = Number.NaN;
  #iso = '';

  override toISOString(): string {
    const time = this.getTime();
    if (time !== this.#isoTime) {
      this.#iso = super.toISOString();
      this.#isoTime = time;
    }
    return this.#iso;
  }
}

/**
 * Resumes a caller that joined a shared read in an event-loop turn of its own (Node runs
 * the promise jobs a turn starts before the next turn). Resumed together, every joined
 * request built its whole answer before any was sent, so all those answers were alive at
 * once and survived into the old generation: garbage collection took a fifth of the
 * server's CPU. One per turn, each answer is built, sent and dropped before the next.
 */
function inTurnOfItsOwn<T>(value: T): Promise<T> {
  return new Promise((resolve) => setImmediate(resolve, value));
}

/** How long a count may be served again for the same filter. */
export const COUNT_TTL_MS = 2_000;

/**
 * Bounded row counts (`SELECT count(*) FROM (… LIMIT COUNT_LIMIT + 1)`), cached for
 * COUNT_TTL_MS per statement and parameters, concurrent askers sharing one query. The
 * owning repository calls `invalidate()` after each of its writes, so counts are exact
 * for this instance's writes; another instance's writes show within COUNT_TTL_MS.
 */
export class RowCounter {
  private readonly cache = new LRUCache<string, Promise<RowCount>>({ max: 1_000, ttl: COUNT_TTL_MS });

  constructor(private readonly pool: pg.Pool) {}

  /** Counts `SELECT 1 FROM <from> WHERE <where>` rows; `where` may be empty. */
  count(from: string, where: readonly string[], params: readonly unknown[]): Promise<RowCount> {
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const text = `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${from} ${clause} LIMIT ${COUNT_LIMIT + 1}) s`;
    const key = `${text}\n${JSON.stringify(params)}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const counting = this.pool
      .query<{ n: number }>(text, params as unknown[])
      .then(({ rows }) => rowCount(rows[0]?.n ?? 0));
    this.cache.set(key, counting);
    counting.catch(() => {
      if (this.cache.get(key) === counting) this.cache.delete(key);
    });
    return counting;
  }

  /** Forgets every cached count (after a write that may change them). */
  invalidate(): void {
    this.cache.clear();
  }
}
