/**
 * Reading a time window from rollup tables (per-hour and per-day counts that triggers
 * keep equal to a recount of the rows; see the migration `stats_rollups` and
 * docs/architecture.md, "Statistics").
 *
 * A window [since, until) is split into the coarsest buckets that fit inside it: whole
 * UTC days from the daily table, whole hours at its edges from the hourly table, and
 * the partial hours at the very edges (at most two, under two hours of rows) counted
 * from the rows themselves, so any window is exact to the millisecond while reading at
 * most ~ (days + 46) buckets' rollup rows.
 *
 * Writers do not update the rollups: their triggers append signed rows to a journal
 * (`pending`) that a worker compacts into the rollups (migration `stats_pending`). The
 * buckets read from rollups therefore get the journal rows of the same time span added,
 * in the same statement: one snapshot, in which every written row is counted either in
 * the journal or in the rollups, never both.
 */

export type RollupLevel = 'month' | 'week' | 'day' | 'hour' | 'raw';
/** The levels a rollup table can have, coarsest first. */
export const TABLE_LEVELS = ['month', 'week', 'day', 'hour'] as const;
export type TableLevel = (typeof TABLE_LEVELS)[number];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05 was a Monday: weeks start on Mondays, as PostgreSQL's date_trunc('week'). */
const WEEK_ORIGIN_MS = 4 * DAY_MS;

export interface Segment {
  level: RollupLevel;
  from: number;
  to: number;
}

/** The start of the UTC bucket of `level` holding `t`. */
export function bucketStart(level: TableLevel, t: number): number {
  switch (level) {
    case 'hour':
      return Math.floor(t / HOUR_MS) * HOUR_MS;
    case 'day':
      return Math.floor(t / DAY_MS) * DAY_MS;
    case 'week':
      return Math.floor((t - WEEK_ORIGIN_MS) / WEEK_MS) * WEEK_MS + WEEK_ORIGIN_MS;
    case 'month': {
      const d = new Date(t);
      return monthStart(d.getUTCFullYear(), d.getUTCMonth());
    }
  }
}

/** 00:00 UTC on the 1st of a month; setUTCFullYear, unlike Date.UTC, keeps years 0–99 as given. */
function monthStart(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 1);
  return d.getTime();
}

/** The start of the bucket after the one starting at `start`. */
function nextBucket(level: TableLevel, start: number): number {
  if (level === 'month') {
    const d = new Date(start);
    return monthStart(d.getUTCFullYear(), d.getUTCMonth() + 1);
  }
  return start + (level === 'week' ? WEEK_MS : level === 'day' ? DAY_MS : HOUR_MS);
}

/**
 * Splits [since, until) into segments of the given levels, coarsest first; `levels`
 * ends with 'raw', the only level that fits any edge.
 */
export function planWindow(since: number, until: number, levels: readonly RollupLevel[]): Segment[] {
  const out: Segment[] = [];
  const split = (from: number, to: number, i: number): void => {
    if (from >= to) return;
    const level = levels[i]!;
    if (level === 'raw') {
      out.push({ level, from, to });
      return;
    }
    const lower = bucketStart(level, from);
    const a = lower === from ? from : nextBucket(level, lower);
    const b = bucketStart(level, to);
    if (a >= b) {
      split(from, to, i + 1);
      return;
    }
    split(from, a, i + 1);
    out.push({ level, from: a, to: b });
    split(b, to, i + 1);
  };
  split(since, until, 0);
  return out;
}

/** One dimension: its expression over the rollup table and over the source rows. */
export interface RollupDim {
  rollup: string;
  raw: string;
}

/** A family of rollup tables over one source table. */
export interface RollupFamily {
  /** Rollup tables by level; the levels present are used, coarsest first. */
  tables: Partial<Record<TableLevel, string>>;
  /** Source table and its time column, for the partial buckets. */
  source: string;
  time: string;
  /** Condition a source row must meet to be counted (the rollup's own WHERE). */
  sourceWhere?: string;
  /**
   * The journal of rows not compacted yet: its columns are named as the rollup
   * columns, `at` is the row's exact time, and `where` the rollup's own WHERE.
   */
  pending: { table: string; where?: string };
  dims: Record<string, RollupDim>;
}

/** A filter on one dimension; `value` is bound once as a parameter. */
export interface RollupFilter {
  dim: string;
  /** The condition, given the dimension's expression and the parameter's placeholder. */
  sql: (expr: string, param: string) => string;
  value: unknown;
}

/**
 * SQL yielding `(…dims, n)` with one row per distinct combination of `dims` in the
 * window, `n` the number of source rows (> 0). `maxLevel` keeps coarser tables out:
 * a series of days reads no weekly or monthly table, a series of hours no daily one.
 */
export function windowQuery(
  family: RollupFamily,
  since: Date,
  until: Date,
  dims: readonly string[],
  filters: readonly RollupFilter[],
  params: unknown[],
  maxLevel: TableLevel = 'month',
): string {
  const coarsest = TABLE_LEVELS.indexOf(maxLevel);
  const levels: RollupLevel[] = TABLE_LEVELS.filter((l, i) => i >= coarsest && family.tables[l]);
  levels.push('raw');
  const segments = planWindow(since.getTime(), until.getTime(), levels);
  if (segments.length === 0) segments.push({ level: 'raw', from: since.getTime(), to: since.getTime() });
  const filterParams = filters.map((f) => {
    params.push(f.value);
    return `$${params.length}`;
  });
  const expr = (name: string, level: RollupLevel) => {
    const d = family.dims[name];
    if (!d) throw new Error(`unknown rollup dimension ${name}`);
    return level === 'raw' ? d.raw : d.rollup;
  };
  const parts = segments.map((s) => {
    params.push(new Date(s.from), new Date(s.to));
    const from = `$${params.length - 1}`;
    const to = `$${params.length}`;
    const cols = dims.map((d, i) => `${expr(d, s.level)} AS d${i}`);
    const conds = filters.map((f, i) => f.sql(expr(f.dim, s.level), filterParams[i]!));
    if (s.level === 'raw') {
      const where = [`${family.time} >= ${from}`, `${family.time} < ${to}`, ...conds];
      if (family.sourceWhere) where.push(family.sourceWhere);
      const group = dims.length > 0 ? ` GROUP BY ${dims.map((_, i) => i + 1).join(', ')}` : '';
      return `SELECT ${[...cols, 'count(*) AS n'].join(', ')} FROM ${family.source} WHERE ${where.join(' AND ')}${group}`;
    }
    const where = [`bucket >= ${from}`, `bucket < ${to}`, 'n <> 0', ...conds];
    return `SELECT ${[...cols, 'n'].join(', ')} FROM ${family.tables[s.level]} WHERE ${where.join(' AND ')}`;
  });
  // The rollup segments are contiguous (edge rows only at either end): one journal read.
  const rolled = segments.filter((s) => s.level !== 'raw');
  if (rolled.length > 0) {
    params.push(new Date(rolled[0]!.from), new Date(rolled[rolled.length - 1]!.to));
    const cols = dims.map((d, i) => `${expr(d, 'day')} AS d${i}`);
    const conds = filters.map((f, i) => f.sql(expr(f.dim, 'day'), filterParams[i]!));
    const where = [`bucket >= $${params.length - 1}`, `bucket < $${params.length}`, ...conds];
    if (family.pending.where) where.push(family.pending.where);
    parts.push(
      `SELECT ${[...cols, 'n'].join(', ')} FROM (SELECT *, at AS bucket FROM ${family.pending.table}) p WHERE ${where.join(' AND ')}`,
    );
  }
  const outer = dims.map((d, i) => `d${i} AS "${d}"`);
  const group = dims.length > 0 ? ` GROUP BY ${dims.map((_, i) => `d${i}`).join(', ')}` : '';
  return `SELECT ${[...outer, 'sum(n)::int AS n'].join(', ')} FROM (${parts.join(' UNION ALL ')}) w${group} HAVING sum(n) > 0`;
}
