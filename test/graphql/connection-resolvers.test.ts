/**
 * connectionResolvers: edge cursors and pageInfo.endCursor are the encoded (time, id) of
 * their row, decodable by decodeCursor; the end cursor of a row that ends several pages
 * (rows shared by identical reads) is the same text each time, and each page ends with
 * the cursor of its own last row.
 */
import { describe, expect, it } from 'vitest';
import { connectionResolvers, decodeCursor } from '../../src/graphql/pagination.js';
import { pageOf, type Page } from '../../src/platform/page.js';

interface Row {
  id: string;
  at: Date;
}

const row = (id: string, iso: string): Row => ({ id, at: new Date(iso) });
const noCount = () => Promise.resolve({ count: 0, capped: false });
const connection = connectionResolvers((r: Row) => ({ at: r.at, id: r.id }));

/** `[time, id]` as JSON, base64url: the cursor made here, worked out by hand. */
const expected = (iso: string, id: string) => Buffer.from(`["${iso}","${id}"]`).toString('base64url');

const a = row('018f0000-0000-7000-8000-000000000001', '2026-12-04T10:00:00.001Z');
const b = row('018f0000-0000-7000-8000-000000000002', '2026-12-04T09:00:00.000Z');
const c = row('018f0000-0000-7000-8000-000000000003', '2026-12-04T08:00:00.000Z');

describe('connectionResolvers', () => {
  it('ends a page with its last row’s cursor, the same as that row’s edge cursor', () => {
    const page: Page<Row> = pageOf([a, b, c], 2, noCount);
    const info = connection.pageInfo(page);
    expect(info.hasNextPage).toBe(true);
    expect(info.endCursor).toBe(expected('2026-12-04T09:00:00.000Z', b.id));
    expect(connection.edges(page).map((e) => e.cursor)).toEqual([
      expected('2026-12-04T10:00:00.001Z', a.id),
      expected('2026-12-04T09:00:00.000Z', b.id),
    ]);
    expect(decodeCursor(info.endCursor)).toEqual({ at: new Date('2026-12-04T09:00:00.000Z'), id: b.id });
  });

  it('gives the same end cursor for pages sharing their rows, and its own to each other page', () => {
    const shared = [a, b];
    const first = connection.pageInfo(pageOf(shared, 2, noCount)).endCursor;
    const again = connection.pageInfo(pageOf(shared, 2, noCount)).endCursor;
    const other = connection.pageInfo(pageOf([a, b, c], 3, noCount)).endCursor;
    expect(first).toBe(expected('2026-12-04T09:00:00.000Z', b.id));
    expect(again).toBe(first);
    expect(other).toBe(expected('2026-12-04T08:00:00.000Z', c.id));
    expect(connection.pageInfo(pageOf([], 2, noCount)).endCursor).toBeNull();
  });
});
