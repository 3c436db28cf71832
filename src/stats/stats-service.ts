/**
 * Statistics across domains: sums the registered sources' counts, which the sources
 * read from rollup tables (per-hour and per-day buckets kept by the database in the
 * writing transaction; docs/architecture.md, "Statistics"), adds present-tense counts
 * (active decisions), and serves the top lists and the threat-event analytics.
 *
 * Every answer is exact for its window. Answers over a window that ends now (no
 * `until`) that are costlier than a bucket sum — distinct counts and top lists — are
 * cached for SHORT_TTL_S, keyed by the window rounded to the minute: a dashboard
 * polling every few seconds costs one query per TTL.
 */
import { countryInfo } from '../geo/countries.js';
import type { Cache } from '../platform/cache.js';
import { checkInt } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';
import {
  bucketMs,
  DAY_MS,
  MAX_WINDOW_DAYS,
  type AttackerRecord,
  type BucketRecord,
  type BucketSize,
  type CountryRecord,
  type Metrics,
  type ScenarioRecord,
  type StatsSource,
  type SummaryRecord,
  type TimeRange,
  type TopListSource,
} from './stats-types.js';
import { ThreatAnalytics } from './threat-analytics.js';
import { seriesWindow } from './stats-window.js';
import type { ThreatStatsArgs, ThreatTimeSeriesArgs } from './threat-analytics.js';

const SHORT_TTL_S = 10;
const DEFAULT_WINDOW_MS = DAY_MS;
/** A client whose clock is a little ahead or behind the server's is still inside the bounds. */
export const WINDOW_SLACK_MS = 60_000;

type PerCountry = Record<string, Metrics>;

export class StatsService {
  private readonly sources: readonly StatsSource[];
  private readonly topLists: TopListSource;
  private readonly threats: ThreatAnalytics;

  /**
   * Each domain owns its statistics source (rollup reads) and hands it in here; the
   * top lists come from the domain that has attackers and scenarios.
   */
  constructor(
    private readonly cache: Cache,
    parts: { sources: readonly StatsSource[]; topLists: TopListSource },
    private readonly now: () => number = Date.now,
  ) {
    this.sources = parts.sources;
    this.topLists = parts.topLists;
    this.threats = new ThreatAnalytics(
      parts.sources.find((s) => s.threatGroups !== undefined),
      (since, until) => this.window(since, until),
      now,
    );
  }

  async summary(since: Date | null | undefined, until?: Date | null): Promise<SummaryRecord> {
    const range = this.window(since, until);
    const [perCountry, current, distinct] = await Promise.all([
      this.countryTotals(range),
      this.current(),
      this.shortLived(range, until, 'distinct', () => this.topLists.distinct(range)),
    ]);
    const total = sumAll(perCountry);
    const countries = Object.entries(perCountry).filter(
      ([cc, m]) => cc !== '' && Object.values(m).some((v) => v > 0),
    );
    return {
      since: range.since,
      until: range.until,
      alerts: total.alerts ?? 0,
      decisions: total.decisions ?? 0,
      activeDecisions: sumAll(current).activeDecisions ?? 0,
      attackers: distinct.attackers,
      scenarios: distinct.scenarios,
      countries: countries.length,
      threatEvents: total.threatEvents ?? 0,
    };
  }

  async countryStats(
    since: Date | null | undefined,
    limit: number | null | undefined,
    until?: Date | null,
  ): Promise<CountryRecord[]> {
    const n = checkInt('limit', limit, 1, 250, 50);
    const range = this.window(since, until);
    const [perCountry, current] = await Promise.all([this.countryTotals(range), this.current()]);
    const all: PerCountry = {};
    addInto(all, perCountry);
    addInto(all, current);
    return Object.entries(all)
      .filter(([cc]) => cc !== '')
      .map(([cc, m]) => ({
        countryCode: cc,
        countryName: countryInfo(cc).name,
        alerts: m.alerts ?? 0,
        decisions: m.decisions ?? 0,
        activeDecisions: m.activeDecisions ?? 0,
        threatEvents: m.threatEvents ?? 0,
      }))
      .sort(
        (a, b) =>
          b.alerts - a.alerts ||
          b.activeDecisions - a.activeDecisions ||
          b.threatEvents - a.threatEvents ||
          a.countryCode.localeCompare(b.countryCode),
      )
      .slice(0, n);
  }

  async timeSeries(
    size: BucketSize,
    since: Date | null | undefined,
    until: Date | null | undefined,
  ): Promise<BucketRecord[]> {
    const { start, end } = seriesWindow(size, since, until, this.now());
    const step = bucketMs(size);
    const range = { since: new Date(start), until: new Date(end) };
    const totals = new Map<number, Metrics>();
    const rows = await Promise.all(this.sources.map((s) => s.countsByBucket(size, range)));
    for (const r of rows.flat()) {
      const t = r.bucket.getTime();
      const m = totals.get(t) ?? {};
      for (const [k, v] of Object.entries(r.metrics)) m[k] = (m[k] ?? 0) + v;
      totals.set(t, m);
    }
    const out: BucketRecord[] = [];
    for (let t = start; t < end; t += step) {
      const m = totals.get(t) ?? {};
      out.push({
        start: new Date(t),
        alerts: m.alerts ?? 0,
        decisions: m.decisions ?? 0,
        threatEvents: m.threatEvents ?? 0,
      });
    }
    return out;
  }

  topAttackers(
    since: Date | null | undefined,
    limit: number | null | undefined,
    until?: Date | null,
  ): Promise<AttackerRecord[]> {
    const n = checkInt('limit', limit, 1, 100, 10);
    const range = this.window(since, until);
    return this.shortLived(range, until, `attackers:${n}`, () => this.topLists.topAttackers(range, n));
  }

  topScenarios(
    since: Date | null | undefined,
    limit: number | null | undefined,
    until?: Date | null,
  ): Promise<ScenarioRecord[]> {
    const n = checkInt('limit', limit, 1, 100, 10);
    const range = this.window(since, until);
    return this.shortLived(range, until, `scenarios:${n}`, () => this.topLists.topScenarios(range, n));
  }

  threatStats(args: ThreatStatsArgs) {
    return this.threats.stats(args);
  }

  threatTimeSeries(args: ThreatTimeSeriesArgs) {
    return this.threats.timeSeries(args);
  }

  /**
   * The window of statsSummary, countryStats and the top lists: `until` defaults to
   * now and may not lie in the future; `since` defaults to 24 hours before `until`,
   * must be before it, and at most MAX_WINDOW_DAYS before now.
   */
  window(since: Date | null | undefined, until: Date | null | undefined): TimeRange {
    const now = this.now();
    const to = until ? until.getTime() : now;
    if (Number.isNaN(to) || to > now + WINDOW_SLACK_MS)
      throw badInput('until must not be in the future', { argument: 'until' });
    const from = since ? since.getTime() : to - DEFAULT_WINDOW_MS;
    if (Number.isNaN(from) || from > now)
      throw badInput('since must be a time in the past', { argument: 'since' });
    if (from < now - MAX_WINDOW_DAYS * DAY_MS - WINDOW_SLACK_MS)
      throw badInput(`since must be at most ${MAX_WINDOW_DAYS} days ago`, {
        argument: 'since',
        limit: MAX_WINDOW_DAYS,
      });
    if (!(from < to)) throw badInput('since must be before until', { argument: 'until' });
    return { since: new Date(from), until: new Date(Math.min(to, now)) };
  }

  private async countryTotals(range: TimeRange): Promise<PerCountry> {
    const rows = await Promise.all(this.sources.map((s) => s.countsByCountry(range)));
    const out: PerCountry = {};
    for (const r of rows.flat()) addInto(out, { [r.countryCode ?? '']: r.metrics });
    return out;
  }

  private async current(): Promise<PerCountry> {
    const out: PerCountry = {};
    for (const source of this.sources) {
      if (!source.current) continue;
      const rows = await this.shortLivedKey(`current:${source.name}`, async () =>
        (await source.current!()).map((r) => [r.countryCode ?? '', r.metrics] as const),
      );
      for (const [cc, m] of rows) addInto(out, { [cc]: m });
    }
    return out;
  }

  /** Cached briefly only when the window ends now (no `until`): a fixed window is asked rarely. */
  private shortLived<T>(
    range: TimeRange,
    until: Date | null | undefined,
    key: string,
    compute: () => Promise<T>,
  ) {
    if (until) return compute();
    return this.shortLivedKey(`${key}:${minute(range.since)}`, compute);
  }

  private async shortLivedKey<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const hit = await this.cache.get<T>(`stats:short:${key}`);
    if (hit !== undefined) return hit;
    const value = await compute();
    await this.cache.set(`stats:short:${key}`, value, SHORT_TTL_S);
    return value;
  }
}

const minute = (d: Date) => Math.floor(d.getTime() / 60_000);

function addInto(out: PerCountry, add: PerCountry): void {
  for (const [cc, metrics] of Object.entries(add)) {
    const m = (out[cc] ??= {});
    for (const [k, v] of Object.entries(metrics)) m[k] = (m[k] ?? 0) + v;
  }
}

function sumAll(perCountry: PerCountry): Metrics {
  const out: Metrics = {};
  for (const m of Object.values(perCountry))
    for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
