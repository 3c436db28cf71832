/**
 * Cross-domain statistics. Each domain plugs in a `StatsSource` that counts its own
 * rows per time bucket and country; the service adds the sources up, so a new domain
 * (threat events) contributes to `statsSummary`, `countryStats` and `timeSeries` by
 * registering one more source that returns its metric (`threatEvents`).
 */
import type { GeoLocation } from '../geo/geo-types.js';

/** Metric name → count, e.g. `{ alerts: 3, decisions: 1 }`. Missing metrics count 0. */
export type Metrics = Record<string, number>;

export type BucketSize = 'HOUR' | 'DAY';

export interface TimeRange {
  since: Date;
  until: Date;
}

/** One row of a source's bucketed counts; `countryCode` null = unknown location. */
export interface BucketCount {
  bucket: Date;
  countryCode: string | null;
  metrics: Metrics;
}

/** One row of a source's per-country counts; `countryCode` null = unknown location. */
export interface CountryCount {
  countryCode: string | null;
  metrics: Metrics;
}

export interface StatsSource {
  /** Stable name, part of cache keys. */
  readonly name: string;
  /**
   * Counts of rows whose time lies in [since, until), grouped by the bucket (UTC hour
   * or day) and country, read from the domain's rollup tables.
   */
  countsByBucket(size: BucketSize, range: TimeRange): Promise<BucketCount[]>;
  /** Counts of rows whose time lies in [since, until) per country. */
  countsByCountry(range: TimeRange): Promise<CountryCount[]>;
  /** Counts of the present (e.g. decisions standing now) per country; cached for seconds only. */
  current?(): Promise<CountryCount[]>;
  /** Threat events by any of their dimensions (the source that has threat events). */
  threatGroups?(query: ThreatGroupQuery): Promise<ThreatGroupCount[]>;
  /**
   * A series in one read: per bucket the total, the `limit` largest groups of `group`
   * over the whole window (largest first, ties by key) and their count per bucket.
   */
  threatSeries?(query: ThreatSeriesQuery): Promise<ThreatSeries>;
}

export interface ThreatSeriesQuery {
  range: TimeRange;
  bucket: BucketSize;
  /** null: totals only. */
  group: ThreatGroup | null;
  limit: number;
}

export interface ThreatSeries {
  totals: ThreatGroupCount[];
  top: ThreatGroupCount[];
  cells: ThreatGroupCount[];
}

/**
 * Distinct counts and rankings, from the one domain that has attackers and scenarios
 * (CrowdSec alerts). Exact over any window.
 */
export interface TopListSource {
  distinct(range: TimeRange): Promise<{ attackers: number; scenarios: number }>;
  topAttackers(range: TimeRange, limit: number): Promise<AttackerRecord[]>;
  topScenarios(range: TimeRange, limit: number): Promise<ScenarioRecord[]>;
}

export const THREAT_GROUPS = [
  'CATEGORY',
  'SEVERITY',
  'THREAT_TYPE',
  'COUNTRY',
  'SOURCE_IP',
  'DESTINATION_PORT',
] as const;
export type ThreatGroup = (typeof THREAT_GROUPS)[number];

/** The values of the dimensions a row is grouped by; the others are absent. */
export interface ThreatGroupKey {
  category?: string;
  severity?: number;
  threatType?: string;
  /** '' = unknown location. */
  countryCode?: string;
  sourceIp?: string;
  /** -1 = none. */
  destinationPort?: number;
}

export interface ThreatGroupQuery {
  range: TimeRange;
  groups: readonly ThreatGroup[];
  /** Also group by this bucket size (a series). */
  bucket?: BucketSize;
  /** The `limit` largest groups only, largest first (ties by key). */
  limit?: number;
  /** Only these keys (of `groups`), e.g. the top groups of the window in its previous window. */
  only?: readonly ThreatGroupKey[];
}

export interface ThreatGroupCount {
  bucket?: Date;
  key: ThreatGroupKey;
  count: number;
}

/** One row of threatStats, as the API shows it: unknown country and missing port as null. */
export interface ThreatStatsRecord {
  category: string | null;
  severity: number | null;
  threatType: string | null;
  countryCode: string | null;
  countryName: string | null;
  sourceIp: string | null;
  destinationPort: number | null;
  count: number;
  previousCount: number | null;
}

export interface ThreatTimeBucketRecord {
  start: Date;
  count: number;
  previousStart: Date | null;
  previousCount: number | null;
  groups: ThreatStatsRecord[];
}

export interface SummaryRecord {
  since: Date;
  until: Date;
  alerts: number;
  decisions: number;
  activeDecisions: number;
  attackers: number;
  scenarios: number;
  countries: number;
  threatEvents: number;
}

export interface CountryRecord {
  countryCode: string;
  countryName: string | null;
  alerts: number;
  decisions: number;
  activeDecisions: number;
  threatEvents: number;
}

export interface BucketRecord {
  start: Date;
  alerts: number;
  decisions: number;
  threatEvents: number;
}

export interface AttackerRecord {
  value: string;
  scope: string;
  alerts: number;
  scenarios: number;
  lastSeenAt: Date;
  geo: GeoLocation | null;
}

export interface ScenarioRecord {
  scenario: string;
  alerts: number;
  attackers: number;
}

/**
 * Longest window, in days, of statsSummary, countryStats, topAttackers and topScenarios
 * (their `since`). Longer windows are refused: the work of one request, and the cache
 * keys it may create, grow with the window.
 */
export const MAX_WINDOW_DAYS = 400;
/** Most buckets of one timeSeries (2,000 hours ≈ 83 days, or 2,000 days). */
export const MAX_BUCKETS = 2_000;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const bucketMs = (size: BucketSize) => (size === 'HOUR' ? HOUR_MS : DAY_MS);
export const floorTo = (t: number, size: BucketSize) => Math.floor(t / bucketMs(size)) * bucketMs(size);
export const ceilTo = (t: number, size: BucketSize) => Math.ceil(t / bucketMs(size)) * bucketMs(size);
