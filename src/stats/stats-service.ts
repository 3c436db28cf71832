/**
 * Statistics across domains: sums the registered sources' bucketed counts (through
 * BucketCache, exact and mostly cached), adds present-tense counts (active
 * decisions), and serves CrowdSec's top lists. Answers that cannot be built from
 * buckets — distinct counts and top-N rankings — are cached whole for SHORT_TTL_S,
 * keyed by the window start rounded to the minute: a dashboard polling every few
 * seconds costs one query per TTL, and the answer is never older than that.
 */
import { countryInfo } from '../geo/countries.js';
import type { Cache } from '../platform/cache.js';
import { checkInt } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';
import { BucketCache, merge, type CountryMetrics } from './bucket-cache.js';
import {
  bucketMs,
  DAY_MS,
  floorTo,
  MAX_BUCKETS,
  MAX_WINDOW_DAYS,
  type AttackerRecord,
  type BucketRecord,
  type BucketSize,
  type CountryRecord,
  type ScenarioRecord,
  type StatsSource,
  type SummaryRecord,
  type TopListSource,
} from './stats-types.js';

const SHORT_TTL_S = 10;
const DEFAULT_WINDOW_MS = DAY_MS;
/** A client that computes "now − 400 days" a moment before the server does is still inside. */
const WINDOW_SLACK_MS = 60_000;

export class StatsService {
  private readonly buckets: BucketCache;
  private readonly sources: readonly StatsSource[];
  private readonly topLists: TopListSource;

  /**
   * Each domain owns its statistics source (bucketed counts) and hands it in here; the
   * top lists come from the domain that has attackers and scenarios.
   */
  constructor(
    private readonly cache: Cache,
    parts: { sources: readonly StatsSource[]; topLists: TopListSource },
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new BucketCache(cache, now);
    this.sources = parts.sources;
    this.topLists = parts.topLists;
  }

  /** Writers report the times of stored rows so that closed buckets they touch are recounted. */
  noteWritten(sourceName: string, times: readonly Date[]): Promise<void> {
    return this.buckets.noteWritten(sourceName, times);
  }

  async summary(since: Date | null | undefined): Promise<SummaryRecord> {
    const range = this.window(since);
    const [perCountry, current, distinct] = await Promise.all([
      this.countryTotals(range.since, range.until),
      this.current(),
      this.shortLived(`distinct:${minute(range.since)}`, () => this.topLists.distinct(range.since)),
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
  ): Promise<CountryRecord[]> {
    const n = checkInt('limit', limit, 1, 250, 50);
    const range = this.window(since);
    const [perCountry, current] = await Promise.all([
      this.countryTotals(range.since, range.until),
      this.current(),
    ]);
    const all = new Map<number, CountryMetrics>();
    merge(all, 0, perCountry);
    merge(all, 0, current);
    return Object.entries(all.get(0) ?? {})
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
    const end = until ? until.getTime() : this.now();
    const defaultSpan = size === 'HOUR' ? DAY_MS : 30 * DAY_MS;
    const start = floorTo(since ? since.getTime() : end - defaultSpan, size);
    if (!(start < end)) throw badInput('since must be before until', { argument: 'since' });
    const step = bucketMs(size);
    if ((end - start) / step > MAX_BUCKETS)
      throw badInput(`at most ${MAX_BUCKETS} buckets per series; narrow the window`, {
        argument: 'since',
        limit: MAX_BUCKETS,
      });
    const totals = new Map<number, CountryMetrics>();
    for (const source of this.sources) {
      for (const [t, m] of await this.buckets.counts(source, size, start, end)) merge(totals, t, m);
    }
    const out: BucketRecord[] = [];
    for (let t = start; t < end; t += step) {
      const m = sumAll(totals.get(t) ?? {});
      out.push({
        start: new Date(t),
        alerts: m.alerts ?? 0,
        decisions: m.decisions ?? 0,
        threatEvents: m.threatEvents ?? 0,
      });
    }
    return out;
  }

  topAttackers(since: Date | null | undefined, limit: number | null | undefined): Promise<AttackerRecord[]> {
    const n = checkInt('limit', limit, 1, 100, 10);
    const { since: from } = this.window(since);
    return this.shortLived(`attackers:${minute(from)}:${n}`, () => this.topLists.topAttackers(from, n));
  }

  topScenarios(since: Date | null | undefined, limit: number | null | undefined): Promise<ScenarioRecord[]> {
    const n = checkInt('limit', limit, 1, 100, 10);
    const { since: from } = this.window(since);
    return this.shortLived(`scenarios:${minute(from)}:${n}`, () => this.topLists.topScenarios(from, n));
  }

  private window(since: Date | null | undefined): { since: Date; until: Date } {
    const until = this.now();
    const from = since ? since.getTime() : until - DEFAULT_WINDOW_MS;
    if (Number.isNaN(from) || from > until)
      throw badInput('since must be a time in the past', { argument: 'since' });
    if (from < until - MAX_WINDOW_DAYS * DAY_MS - WINDOW_SLACK_MS)
      throw badInput(`since must be at most ${MAX_WINDOW_DAYS} days ago`, {
        argument: 'since',
        limit: MAX_WINDOW_DAYS,
      });
    return { since: new Date(from), until: new Date(until) };
  }

  /** Per-country metrics over the window, all sources; days as buckets for long windows. */
  private async countryTotals(since: Date, until: Date): Promise<CountryMetrics> {
    const size: BucketSize = until.getTime() - since.getTime() > 3 * DAY_MS ? 'DAY' : 'HOUR';
    const all = new Map<number, CountryMetrics>();
    for (const source of this.sources) {
      for (const m of (await this.buckets.counts(source, size, since.getTime(), until.getTime())).values())
        merge(all, 0, m);
    }
    return all.get(0) ?? {};
  }

  private async current(): Promise<CountryMetrics> {
    const all = new Map<number, CountryMetrics>();
    for (const source of this.sources) {
      if (!source.current) continue;
      const rows = await this.shortLived(`current:${source.name}`, async () =>
        (await source.current!()).map((r) => [r.countryCode ?? '', r.metrics] as const),
      );
      for (const [cc, m] of rows) merge(all, 0, { [cc]: m });
    }
    return all.get(0) ?? {};
  }

  private async shortLived<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const hit = await this.cache.get<T>(`stats:short:${key}`);
    if (hit !== undefined) return hit;
    const value = await compute();
    await this.cache.set(`stats:short:${key}`, value, SHORT_TTL_S);
    return value;
  }
}

const minute = (d: Date) => Math.floor(d.getTime() / 60_000);

function sumAll(perCountry: CountryMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of Object.values(perCountry))
    for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
