import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planWindow,
  windowQuery,
  type RollupFamily,
  type RollupLevel,
} from '../../src/platform/rollup-window.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Whether `t` starts a bucket of `level`, checked with the calendar (not the code's arithmetic). */
function startsBucket(level: RollupLevel, t: number): boolean {
  const d = new Date(t);
  const midnight =
    d.getUTCHours() === 0 &&
    d.getUTCMinutes() === 0 &&
    d.getUTCSeconds() === 0 &&
    d.getUTCMilliseconds() === 0;
  switch (level) {
    case 'hour':
      return d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0;
    case 'day':
      return midnight;
    case 'week':
      return midnight && d.getUTCDay() === 1;
    case 'month':
      return midnight && d.getUTCDate() === 1;
    case 'raw':
      return true;
  }
}

const LEVEL_SETS: RollupLevel[][] = [
  ['month', 'week', 'day', 'raw'],
  ['month', 'day', 'hour', 'raw'],
  ['day', 'hour', 'raw'],
  ['week', 'day', 'raw'],
  ['hour', 'raw'],
];

describe('planWindow', () => {
  it('covers the window exactly, each segment whole buckets of its level, raw only at the edges', () => {
    const t0 = Date.UTC(2024, 0, 1);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 900 * DAY }),
        fc.integer({ min: 0, max: 400 * DAY }),
        fc.constantFrom(...LEVEL_SETS),
        (offset, span, levels) => {
          const since = t0 + offset;
          const until = since + span;
          const segs = planWindow(since, until, levels);
          if (span === 0) {
            expect(segs).toEqual([]);
            return;
          }
          expect(segs[0]!.from).toBe(since);
          expect(segs[segs.length - 1]!.to).toBe(until);
          segs.forEach((s, i) => {
            expect(s.from).toBeLessThan(s.to);
            if (i > 0) expect(s.from).toBe(segs[i - 1]!.to);
            expect(levels).toContain(s.level);
            expect(startsBucket(s.level, s.from), `${s.level} from ${new Date(s.from).toISOString()}`).toBe(
              true,
            );
            expect(startsBucket(s.level, s.to), `${s.level} to ${new Date(s.to).toISOString()}`).toBe(true);
            if (s.level === 'raw') expect(i === 0 || i === segs.length - 1).toBe(true);
          });
          // Neighbours of one level would be one segment.
          for (let i = 1; i < segs.length; i++) expect(segs[i]!.level).not.toBe(segs[i - 1]!.level);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('aligns months in the first century too (years 0–99 are not taken as 1900–1999)', () => {
    const at = (y: number, m: number, d: number, h = 0) => {
      const x = new Date(0);
      x.setUTCFullYear(y, m, d);
      x.setUTCHours(h);
      return x.getTime();
    };
    const segs = planWindow(at(50, 0, 20, 6), at(50, 3, 2), ['month', 'day', 'raw']);
    expect(segs.map((s) => [s.level, new Date(s.from).toISOString()])).toEqual([
      ['raw', '0050-01-20T06:00:00.000Z'],
      ['day', '0050-01-21T00:00:00.000Z'],
      ['month', '0050-02-01T00:00:00.000Z'],
      ['day', '0050-04-01T00:00:00.000Z'],
    ]);
  });

  it('uses each level where a whole bucket fits', () => {
    // Tue 2026-09-29 13:30 to Thu 2026-12-17 10:15: October and November whole; the week of
    // Mon 2026-09-28 does not fit, so September's tail is a day; in December the week from
    // Mon 7 fits between days, then hours and minutes.
    const since = Date.UTC(2026, 8, 29, 13, 30);
    const until = Date.UTC(2026, 11, 17, 10, 15);
    const segs = planWindow(since, until, ['month', 'week', 'day', 'hour', 'raw']);
    expect(segs.map((s) => [s.level, new Date(s.from).toISOString()])).toEqual([
      ['raw', '2026-09-29T13:30:00.000Z'],
      ['hour', '2026-09-29T14:00:00.000Z'],
      ['day', '2026-09-30T00:00:00.000Z'],
      ['month', '2026-10-01T00:00:00.000Z'],
      ['day', '2026-12-01T00:00:00.000Z'],
      ['week', '2026-12-07T00:00:00.000Z'],
      ['day', '2026-12-14T00:00:00.000Z'],
      ['hour', '2026-12-17T00:00:00.000Z'],
      ['raw', '2026-12-17T10:00:00.000Z'],
    ]);
  });
});

/** A family whose every name says where it may appear, so the SQL shows what read what. */
const FAMILY: RollupFamily = {
  tables: { hour: 'r_hourly', day: 'r_daily', month: 'r_monthly' },
  source: 'src_rows',
  time: 't',
  sourceWhere: 'src_only',
  pending: { table: 'r_journal', where: 'journal_only' },
  dims: { kind: { rollup: 'kind_rolled', raw: 'kind_raw' } },
};

/** The statement's parts (one per segment, then the journal), each as what it reads. */
function partsOf(sql: string, params: unknown[]) {
  const inner = /FROM \((.*)\) w/.exec(sql)![1]!;
  return inner.split(' UNION ALL ').map((part) => {
    const from = /FROM (\w+)|FROM \(SELECT \*, at AS bucket FROM (\w+)\)/.exec(part)!;
    const bounds = [...part.matchAll(/\$(\d+)/g)].map((m) => params[Number(m[1]) - 1]);
    return {
      table: from[1] ?? from[2],
      dims: part.includes('kind_raw') ? 'raw' : part.includes('kind_rolled') ? 'rolled' : 'none',
      where: ['src_only', 'journal_only'].filter((w) => part.includes(w)),
      grouped: part.includes('GROUP BY'),
      from: (bounds[0] as Date).toISOString(),
      to: (bounds[1] as Date).toISOString(),
    };
  });
}

describe('windowQuery', () => {
  // Fri 2026-01-30 22:30 to Mon 2026-03-02 01:45: February whole, a day at either side of it,
  // an hour and a partial hour at either end.
  const since = new Date(Date.UTC(2026, 0, 30, 22, 30));
  const until = new Date(Date.UTC(2026, 2, 2, 1, 45));
  const iso = (m: number, d: number, h = 0, min = 0) => new Date(Date.UTC(2026, m, d, h, min)).toISOString();

  it('reads each segment from its level, the edges from the rows and the journal once', () => {
    const params: unknown[] = [];
    const sql = windowQuery(FAMILY, since, until, ['kind'], [], params);
    const raw = { dims: 'raw', where: ['src_only'], grouped: true };
    const rolled = { dims: 'rolled', where: [], grouped: false };
    expect(partsOf(sql, params)).toEqual([
      { table: 'src_rows', ...raw, from: iso(0, 30, 22, 30), to: iso(0, 30, 23) },
      { table: 'r_hourly', ...rolled, from: iso(0, 30, 23), to: iso(0, 31) },
      { table: 'r_daily', ...rolled, from: iso(0, 31), to: iso(1, 1) },
      { table: 'r_monthly', ...rolled, from: iso(1, 1), to: iso(2, 1) },
      { table: 'r_daily', ...rolled, from: iso(2, 1), to: iso(2, 2) },
      { table: 'r_hourly', ...rolled, from: iso(2, 2), to: iso(2, 2, 1) },
      { table: 'src_rows', ...raw, from: iso(2, 2, 1), to: iso(2, 2, 1, 45) },
      // The journal, over the rolled-up span only (the edges' rows count themselves).
      {
        table: 'r_journal',
        dims: 'rolled',
        where: ['journal_only'],
        grouped: false,
        from: iso(0, 30, 23),
        to: iso(2, 2, 1),
      },
    ]);
    expect(sql).toMatch(/\) w GROUP BY d0 HAVING sum\(n\) > 0$/);
  });

  it('keeps coarser tables out below maxLevel', () => {
    const params: unknown[] = [];
    const tables = partsOf(windowQuery(FAMILY, since, until, ['kind'], [], params, 'day'), params).map(
      (p) => [p.table, p.from, p.to],
    );
    expect(tables).toEqual([
      ['src_rows', iso(0, 30, 22, 30), iso(0, 30, 23)],
      ['r_hourly', iso(0, 30, 23), iso(0, 31)],
      ['r_daily', iso(0, 31), iso(2, 2)],
      ['r_hourly', iso(2, 2), iso(2, 2, 1)],
      ['src_rows', iso(2, 2, 1), iso(2, 2, 1, 45)],
      ['r_journal', iso(0, 30, 23), iso(2, 2, 1)],
    ]);
  });

  it('totals without dimensions group nothing, and an empty window reads no rollup', () => {
    const params: unknown[] = [];
    const sql = windowQuery(FAMILY, since, until, [], [], params);
    expect(sql).not.toContain('GROUP BY');
    expect(sql).toMatch(/^SELECT sum\(n\)::int AS n FROM \(/);
    const none: unknown[] = [];
    expect(partsOf(windowQuery(FAMILY, since, since, ['kind'], [], none), none)).toEqual([
      {
        table: 'src_rows',
        dims: 'raw',
        where: ['src_only'],
        grouped: true,
        from: since.toISOString(),
        to: since.toISOString(),
      },
    ]);
  });
});
