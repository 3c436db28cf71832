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

export interface StatsSource {
  /** Stable name, part of cache keys. */
  readonly name: string;
  /**
   * Additive counts of rows whose time lies in [since, until), grouped by the
   * bucket (UTC hour or day) and country. These are cached per closed bucket.
   */
  countsByBucket(size: BucketSize, range: TimeRange): Promise<BucketCount[]>;
  /** Counts of the present (e.g. decisions standing now) per country; cached for seconds only. */
  current?(): Promise<BucketCount[]>;
}

/**
 * Answers that cannot be summed from buckets (distinct counts, rankings), from the one
 * domain that has attackers and scenarios (CrowdSec alerts).
 */
export interface TopListSource {
  distinct(since: Date): Promise<{ attackers: number; scenarios: number }>;
  topAttackers(since: Date, limit: number): Promise<AttackerRecord[]>;
  topScenarios(since: Date, limit: number): Promise<ScenarioRecord[]>;
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
