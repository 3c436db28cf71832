import { checkInt } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';
import { UUID_PATTERN } from '../platform/uuid.js';
import type { Cursor, Page } from '../platform/page.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** `first` of every connection: 1..MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE when absent. */
export function pageSize(first: number | null | undefined): number {
  return checkInt('first', first, 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);
}

/**
 * Shape of the row ids a connection pages over: UUIDs, or bigint sequence ids (the
 * CrowdSec tables). A cursor is checked against it before its id reaches SQL.
 */
export type CursorIdShape = 'uuid' | 'bigint';

/** Our cursors are ~80 characters; anything much longer was not made here. */
export const MAX_CURSOR_LENGTH = 256;
const ID_PATTERN: Record<CursorIdShape, RegExp> = {
  uuid: UUID_PATTERN,
  bigint: /^(0|[1-9][0-9]{0,17})$/,
};
/** What Date#toISOString gives for years 0000–9999, all inside PostgreSQL's timestamp range. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Opaque keyset cursor: (timestamp, id) of the last row seen. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

/**
 * The one decoder of `after` for every connection: a cursor this API made, with an id
 * of the connection's shape and a time PostgreSQL can compare, or BAD_USER_INPUT.
 */
export function decodeCursor(
  cursor: string | null | undefined,
  idShape: CursorIdShape = 'uuid',
): Cursor | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  if (cursor.length <= MAX_CURSOR_LENGTH && BASE64URL.test(cursor)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      if (
        typeof at === 'string' &&
        typeof id === 'string' &&
        ISO_INSTANT.test(at) &&
        ID_PATTERN[idShape].test(id)
      ) {
        const date = new Date(at);
        if (!Number.isNaN(date.getTime()) && date.toISOString() === at) return { at: date, id };
      }
    }
  }
  throw badInput('after is not a cursor returned by this API for this list', { argument: 'after' });
}

/** An edge whose cursor is encoded only if the client asks for it. */
class Edge<T extends object> {
  constructor(
    readonly node: T,
    private readonly keyOf: (row: T) => Cursor,
  ) {}

  get cursor(): string {
    const { at, id } = this.keyOf(this.node);
    return encodeCursor(at, id);
  }
}

/**
 * The field resolvers of a Relay connection over a `Page`: the one way every list is
 * served. Cursors are encoded only when asked (`edges.cursor`, `pageInfo.endCursor`),
 * and the page's count runs only for `totalCount` / `totalCountCapped`.
 */
export function connectionResolvers<T extends object>(keyOf: (row: T) => Cursor) {
  // The last row's cursor, kept with the row: rows of a shared read (SharedReads) end the
  // page of every answer that joined it, and are encoded once.
  const endCursors = new WeakMap<T, string>();
  const endCursorOf = (last: T): string => {
    let cursor = endCursors.get(last);
    if (cursor === undefined) {
      cursor = new Edge(last, keyOf).cursor;
      endCursors.set(last, cursor);
    }
    return cursor;
  };
  return {
    edges: (page: Page<T>) => page.rows.map((node) => new Edge(node, keyOf)),
    pageInfo: (page: Page<T>) => ({
      hasNextPage: page.hasNextPage,
      get endCursor(): string | null {
        const last = page.rows.at(-1);
        return last === undefined ? null : endCursorOf(last);
      },
    }),
    totalCount: async (page: Page<T>) => (await page.count()).count,
    totalCountCapped: async (page: Page<T>) => (await page.count()).capped,
  };
}
