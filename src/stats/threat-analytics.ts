/**
 * threatStats and threatTimeSeries: threat events counted by any of their dimensions
 * from the threat source's rollups, optionally beside the preceding window of the same
 * length (`previous`), so a dashboard shows "this week against last week" in one query.
 */
import { countryInfo } from '../geo/countries.js';
import { checkInt, checkListLength } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';
import { seriesWindow } from './stats-window.js';
import {
  bucketMs,
  THREAT_GROUPS,
  type BucketSize,
  type StatsSource,
  type ThreatGroup,
  type ThreatGroupCount,
  type ThreatGroupKey,
  type ThreatStatsRecord,
  type ThreatTimeBucketRecord,
  type TimeRange,
} from './stats-types.js';

/** Most rows of one threatStats answer. */
export const MAX_THREAT_STATS_ROWS = 1_000;
/** Most groups one threatTimeSeries follows (the top ones over its window). */
export const MAX_SERIES_GROUPS = 50;
/** Groups read from per-day rollups only (by source, by port, endpoint): series of them take DAY buckets only. */
const DAILY_ONLY: readonly ThreatGroup[] = ['SOURCE_IP', 'DESTINATION_PORT'];

export interface ThreatStatsArgs {
  since?: Date | null;
  until?: Date | null;
  groupBy: readonly ThreatGroup[];
  limit?: number | null;
  previous?: boolean | null;
}

export interface ThreatTimeSeriesArgs {
  bucket: BucketSize;
  since?: Date | null;
  until?: Date | null;
  groupBy?: ThreatGroup | null;
  limit?: number | null;
  previous?: boolean | null;
}

type ThreatStatsRow = ThreatStatsRecord;

export class ThreatAnalytics {
  constructor(
    private readonly source: StatsSource | undefined,
    private readonly window: (since: Date | null | undefined, until: Date | null | undefined) => TimeRange,
    private readonly now: () => number,
  ) {}

  async stats(args: ThreatStatsArgs): Promise<ThreatStatsRow[]> {
    const groups = checkGroups(args.groupBy);
    const limit = checkInt('limit', args.limit, 1, MAX_THREAT_STATS_ROWS, 50);
    const range = this.window(args.since, args.until);
    if (!args.previous)
      return (await this.groups({ range, groups, limit })).map((r) => toRow(r.key, r.count, null));
    // Both windows at once: the previous one counts every key (rollup rows of one window,
    // as many as the current window reads) and keeps those of the current top rows.
    const len = range.until.getTime() - range.since.getTime();
    const before = { since: new Date(range.since.getTime() - len), until: range.since };
    const [current, previous] = await Promise.all([
      this.groups({ range, groups, limit }),
      this.groups({ range: before, groups }),
    ]);
    const prev = new Map(previous.map((r) => [keyOf(r.key), r.count]));
    return current.map((r) => toRow(r.key, r.count, prev.get(keyOf(r.key)) ?? 0));
  }

  async timeSeries(args: ThreatTimeSeriesArgs): Promise<ThreatTimeBucketRecord[]> {
    const size = args.bucket;
    const group = args.groupBy ?? null;
    if (group !== null && !THREAT_GROUPS.includes(group))
      throw badInput('groupBy is not a ThreatStatsGroup', { argument: 'groupBy' });
    if (group !== null && size === 'HOUR' && DAILY_ONLY.includes(group))
      throw badInput(`groupBy ${group} takes bucket DAY`, { argument: 'groupBy' });
    const n = checkInt('limit', args.limit, 1, MAX_SERIES_GROUPS, 10);
    const { start, end } = seriesWindow(size, args.since, args.until, this.now());
    const step = bucketMs(size);
    const buckets = Math.ceil((end - start) / step);
    const range = { since: new Date(start), until: new Date(end) };
    // The previous window is shifted by a whole number of buckets, so its buckets align.
    const shift = buckets * step;
    const before = { since: new Date(start - shift), until: new Date(end - shift) };

    const { top, now, prev } = await this.seriesCounts(range, before, size, group, n, !!args.previous);
    const cell = (rows: ThreatGroupCount[]) =>
      new Map(rows.map((r) => [`${r.bucket!.getTime()}|${keyOf(r.key)}`, r.count]));
    const nowCells = cell(now.byGroup);
    const prevCells = prev ? cell(prev.byGroup) : null;

    const out: ThreatTimeBucketRecord[] = [];
    for (let t = start; t < end; t += step) {
      const p = t - shift;
      out.push({
        start: new Date(t),
        count: now.totals.get(t) ?? 0,
        previousStart: prev ? new Date(p) : null,
        previousCount: prev ? (prev.totals.get(p) ?? 0) : null,
        groups: top.map((g) =>
          toRow(
            g.key,
            nowCells.get(`${t}|${keyOf(g.key)}`) ?? 0,
            prevCells ? (prevCells.get(`${p}|${keyOf(g.key)}`) ?? 0) : null,
          ),
        ),
      });
    }
    return out;
  }

  /**
   * The counts a series shows. Without `previous`, and for groups with few values, one
   * read (totals, top groups and their cells together); otherwise two round trips: the
   * top groups and the totals, then the top groups' cells in both windows.
   */
  private async seriesCounts(
    range: TimeRange,
    before: TimeRange,
    size: BucketSize,
    group: ThreatGroup | null,
    limit: number,
    previous: boolean,
  ): Promise<{
    top: ThreatGroupCount[];
    now: { totals: Map<number, number>; byGroup: ThreatGroupCount[] };
    prev: { totals: Map<number, number>; byGroup: ThreatGroupCount[] } | null;
  }> {
    const source = this.source;
    if (!previous && source?.threatSeries && (group === null || !DAILY_ONLY.includes(group))) {
      const s = await source.threatSeries({ range, bucket: size, group, limit });
      return { top: s.top, now: { totals: bucketMap(s.totals), byGroup: s.cells }, prev: null };
    }
    const [top, totals, prevTotals] = await Promise.all([
      group === null ? Promise.resolve([]) : this.groups({ range, groups: [group], limit }),
      this.groups({ range, groups: [], bucket: size }).then(bucketMap),
      previous ? this.groups({ range: before, groups: [], bucket: size }).then(bucketMap) : null,
    ]);
    const cells = (r: TimeRange) =>
      top.length > 0
        ? this.groups({ range: r, groups: [group!], bucket: size, only: top })
        : Promise.resolve([]);
    const [nowGroups, prevGroups] = await Promise.all([cells(range), previous ? cells(before) : null]);
    return {
      top,
      now: { totals, byGroup: nowGroups },
      prev: prevTotals && prevGroups ? { totals: prevTotals, byGroup: prevGroups } : null,
    };
  }

  private groups(q: {
    range: TimeRange;
    groups: readonly ThreatGroup[];
    bucket?: BucketSize;
    limit?: number;
    only?: readonly ThreatGroupCount[];
  }): Promise<ThreatGroupCount[]> {
    if (!this.source?.threatGroups) return Promise.resolve([]);
    return this.source.threatGroups({
      range: q.range,
      groups: q.groups,
      ...(q.bucket ? { bucket: q.bucket } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.only ? { only: q.only.map((r) => r.key) } : {}),
    });
  }
}

function checkGroups(groupBy: readonly ThreatGroup[]): ThreatGroup[] {
  checkListLength('groupBy', groupBy, THREAT_GROUPS.length);
  if (new Set(groupBy).size !== groupBy.length)
    throw badInput('groupBy lists a group twice', { argument: 'groupBy' });
  for (const g of groupBy)
    if (!THREAT_GROUPS.includes(g))
      throw badInput('groupBy is not a ThreatStatsGroup', { argument: 'groupBy' });
  return [...groupBy];
}

const keyOf = (k: ThreatGroupKey) => JSON.stringify(k);

function bucketMap(rows: readonly ThreatGroupCount[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of rows) out.set(r.bucket!.getTime(), (out.get(r.bucket!.getTime()) ?? 0) + r.count);
  return out;
}

function toRow(key: ThreatGroupKey, count: number, previousCount: number | null): ThreatStatsRow {
  const cc = key.countryCode ? key.countryCode : null;
  return {
    category: key.category ?? null,
    severity: key.severity ?? null,
    threatType: key.threatType ?? null,
    countryCode: cc,
    countryName: cc ? countryInfo(cc).name : null,
    sourceIp: key.sourceIp ?? null,
    destinationPort:
      key.destinationPort === undefined || key.destinationPort < 0 ? null : key.destinationPort,
    count,
    previousCount,
  };
}
