/**
 * Caching of bucketed counts that stays exact under a constant flow of new data.
 *
 * Why this shape: new alerts land almost only in the current hour, so dropping all
 * cached statistics on every alert would mean never hitting the cache, while a plain
 * TTL on whole answers would serve numbers that miss the last minutes. Instead a
 * window is split at bucket boundaries (UTC hours, or days for windows over three
 * days):
 *   - closed buckets (ended more than GRACE_MS ago) are immutable in practice and are
 *     cached per bucket for days, so any window — "last 24 h" moves every second —
 *     reuses them;
 *   - the open edges (the part of the first bucket after `since`, and everything from
 *     the last closed bucket to now) are always counted live: small index range scans.
 * Data that arrives for a bucket already closed (an alert whose start_at is older than
 * the grace period, e.g. after an outage) bumps the source's generation, which is part
 * of every key: older entries are simply never read again and expire. That happens
 * rarely, unlike "invalidate on every write".
 */
import type { Cache } from '../platform/cache.js';
import { WriteCoalescer } from '../platform/write-coalescer.js';
import {
  bucketMs,
  ceilTo,
  floorTo,
  MAX_BUCKETS,
  type BucketCount,
  type BucketSize,
  type StatsSource,
} from './stats-types.js';

/** How long after its end a bucket may still receive data without a generation bump. */
export const GRACE_MS = 15 * 60_000;
const CLOSED_TTL_S: Record<BucketSize, number> = { HOUR: 8 * 86_400, DAY: 40 * 86_400 };
const GENERATION_TTL_S = 60 * 86_400;
/**
 * How far back (in buckets of each size) closed buckets are cached: as far as the
 * longest timeSeries reaches, which also covers the longest statistics window.
 */
export const CACHED_BUCKETS = MAX_BUCKETS;

/** country code ('' = unknown) → metrics, for one bucket. */
export type CountryMetrics = Record<string, Record<string, number>>;

export class BucketCache {
  /**
   * Generation bumps of concurrent writers share one SET, issued after all of their
   * commits (a group commit: see write-coalescer.ts), instead of one round trip each.
   */
  private readonly bumps = new WriteCoalescer<string, true>((sources) => this.bump(sources), {
    maxBatch: 10_000,
    maxConcurrent: 1,
  });
  private lastGeneration = 0;

  constructor(
    private readonly cache: Cache,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts of one source over [since, until) as bucket start (ms) → per-country
   * metrics. Edge buckets hold only the part inside the window.
   */
  async counts(
    source: StatsSource,
    size: BucketSize,
    since: number,
    until: number,
  ): Promise<Map<number, CountryMetrics>> {
    const out = new Map<number, CountryMetrics>();
    const step = bucketMs(size);
    const now = this.now();
    // Only closed buckets inside the horizon are cached: the keys of one source and
    // generation are then at most CACHED_BUCKETS per bucket size, whatever windows
    // clients ask for. Older parts of a window are counted live, in one range query.
    const cacheFrom = Math.max(ceilTo(since, size), floorTo(now, size) - CACHED_BUCKETS * step);
    const cacheTo = Math.max(cacheFrom, floorTo(Math.min(until, now - GRACE_MS), size));
    const live: [number, number][] = [];
    if (cacheFrom >= cacheTo) live.push([since, until]);
    else {
      if (since < cacheFrom) live.push([since, cacheFrom]);
      if (cacheTo < until) live.push([cacheTo, until]);
    }
    const liveRows = await Promise.all(
      live.map(([s, u]) => source.countsByBucket(size, { since: new Date(s), until: new Date(u) })),
    );
    for (const rows of liveRows) addRows(out, rows);

    if (cacheFrom >= cacheTo) return out;
    // A fixed number of round trips per call, however many buckets: the generation,
    // one MGET, at most one range query for the misses, one pipelined write.
    const gen = (await this.cache.get<number>(genKey(source.name))) ?? 0;
    const starts: number[] = [];
    for (let t = cacheFrom; t < cacheTo; t += step) starts.push(t);
    const cached = await this.cache.getMany<CountryMetrics>(
      starts.map((t) => bucketKey(source.name, gen, size, t)),
    );
    const missing = starts.filter((_, i) => cached[i] === undefined);
    starts.forEach((t, i) => {
      const hit = cached[i];
      if (hit) merge(out, t, hit);
    });
    if (missing.length > 0) {
      const from = missing[0]!;
      const to = missing.at(-1)! + step;
      const fresh = new Map<number, CountryMetrics>();
      addRows(fresh, await source.countsByBucket(size, { since: new Date(from), until: new Date(to) }));
      const entries = missing.map((t) => {
        const value = fresh.get(t) ?? {};
        merge(out, t, value);
        return [bucketKey(source.name, gen, size, t), value] as const;
      });
      await this.cache.setMany(entries, CLOSED_TTL_S[size]);
    }
    return out;
  }

  /** Called by writers with the times of stored rows; a closed bucket touched drops the cache. */
  async noteWritten(sourceName: string, times: readonly Date[]): Promise<void> {
    const closedBefore = floorTo(this.now() - GRACE_MS, 'HOUR');
    if (times.some((t) => t.getTime() < closedBefore)) await this.bumps.submit(sourceName);
  }

  private async bump(sources: readonly string[]): Promise<true[]> {
    // Strictly increasing, even for two bumps within one millisecond.
    const generation = (this.lastGeneration = Math.max(this.now(), this.lastGeneration + 1));
    await Promise.all(
      [...new Set(sources)].map((s) => this.cache.set(genKey(s), generation, GENERATION_TTL_S)),
    );
    return sources.map(() => true);
  }
}

const genKey = (source: string) => `stats:gen:${source}`;
const bucketKey = (source: string, gen: number, size: BucketSize, start: number) =>
  `stats:bucket:${source}:${gen}:${size}:${start}`;

function addRows(out: Map<number, CountryMetrics>, rows: readonly BucketCount[]): void {
  for (const r of rows) {
    const t = r.bucket.getTime();
    merge(out, t, { [r.countryCode ?? '']: r.metrics });
  }
}

export function merge(out: Map<number, CountryMetrics>, t: number, add: CountryMetrics): void {
  let target = out.get(t);
  if (!target) {
    target = {};
    out.set(t, target);
  }
  for (const [country, metrics] of Object.entries(add)) {
    const m = (target[country] ??= {});
    for (const [k, v] of Object.entries(metrics)) m[k] = (m[k] ?? 0) + v;
  }
}
