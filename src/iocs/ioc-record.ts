/**
 * Stored and served shapes of the IOC domain. GraphQL codegen maps `Ioc`,
 * `SourceResult` and `Enrichment` to the records below (codegen.ts).
 * IOC_ENRICHED_TOPIC restores their dates after a trip over the event bus.
 */
import { topic, withDates } from '../platform/event-bus.js';
import type { Cursor, Page } from '../platform/page.js';
import type { AllowlistEntry, StoredAllowlistMatch, StoredVerdict, VerdictRecord } from './curation-types.js';
import type { IocType, RiskLevel, SubmittedIoc, ThreatCategory } from './ioc-types.js';
import type { ScoreContribution } from './scoring.js';
import type { SourceErrorKind, SourceEvidence, SourceName, SourceStatus } from './sources/source-adapter.js';

/** One source's current result as kept in `iocs.sources` (JSON, dates as ISO text). */
export interface StoredSource {
  status: SourceStatus;
  score: number | null;
  categories: ThreatCategory[];
  data: Record<string, unknown>;
  error?: string;
  errorKind?: SourceErrorKind;
  retryAt?: string;
  evidence?: SourceEvidence;
  durationMs: number;
  fetchedAt: string;
  /** The history row this result came from (absent for skips, which are not fetches). */
  enrichmentId?: string;
}

export type StoredSources = Partial<Record<SourceName, StoredSource>>;

export interface StoredIoc {
  id: string;
  type: IocType;
  value: string;
  riskScore: number | null;
  riskLevel: RiskLevel | null;
  categories: ThreatCategory[];
  sources: StoredSources;
  watched: boolean;
  firstSeenAt: Date;
  lastSeenAt: Date;
  lastEnrichedAt: Date | null;
  nextEnrichAt: Date | null;
  /** When the first result goes stale (null: never); next_enrich_at is cleared while resting. */
  staleAt?: Date | null;
  /** Newest threat event, CrowdSec alert or decision naming it. */
  lastSightedAt?: Date | null;
  /** Analyst tags (lower-case, ioc-tags.ts) and free-text note; absent: none. */
  tags?: string[];
  note?: string | null;
  /** The analyst verdict, active or lapsed (curation-types.ts); absent or null: none. */
  verdict?: StoredVerdict | null;
  /** The allowlist entry that covered the IOC when it was last scored. */
  allowlistedBy?: StoredAllowlistMatch | null;
  /** When the stored score stops being valid (a verdict's expiry), and the score from then on. */
  scoreValidUntil?: Date | null;
  lapsedScore?: number | null;
  lapsedLevel?: RiskLevel | null;
}

export interface SourceResultRecord {
  source: SourceName;
  status: SourceStatus;
  score: number | null;
  categories: ThreatCategory[];
  data: Record<string, unknown>;
  error: string | null;
  errorKind: SourceErrorKind | null;
  /** Deferred or rate-limited: when the source may be asked again. */
  retryAt: Date | null;
  /** Held back by our own request budget; the collector finishes it after retryAt. */
  deferred: boolean;
  durationMs: number;
  fetchedAt: Date;
  /** The vendor's body, present only for `debug` lookups. */
  raw?: unknown;
}

export interface IocRecord {
  id: string;
  type: IocType;
  value: string;
  riskScore: number | null;
  riskLevel: RiskLevel | null;
  categories: ThreatCategory[];
  watched: boolean;
  firstSeenAt: Date;
  lastSeenAt: Date;
  lastEnrichedAt: Date | null;
  nextEnrichAt: Date | null;
  sources: SourceResultRecord[];
  scoreBreakdown: ScoreContribution[];
  /** Unicode form of an internationalised domain or URL host; null when value is all ASCII. */
  unicodeValue: string | null;
  /** The ASCII name a homoglyph look-alike imitates; null for other IOCs. */
  lookalikeOf: string | null;
  /** How the submitted text became this IOC; only on the answer to a lookup. */
  submitted?: Omit<SubmittedIoc, 'ioc'>;
  verdict: VerdictRecord | null;
  tags: string[];
  note: string | null;
  allowlistedBy: (Omit<AllowlistEntry, 'createdAt'> & { createdAt: Date | string }) | null;
  /** The row's position in a list sorted by something other than firstSeenAt. */
  sortKey?: Cursor;
}

export interface EnrichmentRecord {
  id: string;
  iocId: string;
  source: SourceName;
  status: SourceStatus;
  score: number | null;
  categories: ThreatCategory[];
  data: Record<string, unknown>;
  error: string | null;
  errorKind: string | null;
  durationMs: number;
  fetchedAt: Date;
}

export interface IocFilter {
  type?: IocType | null;
  level?: RiskLevel | null;
  minScore?: number | null;
  valuePrefix?: string | null;
  watched?: boolean | null;
  /** Any of these tags / all of them (normalised, ioc-tags.ts). */
  tagsAny?: string[] | null;
  tagsAll?: string[] | null;
  /** Case-insensitive substring of the note. */
  noteContains?: string | null;
}

/** Orders of the iocs list; each pages newest / highest first with the id as tie-break. */
export type IocOrder = 'FIRST_SEEN' | 'SCORE' | 'LAST_ENRICHED' | 'LAST_SIGHTING';

export type IocPage = Page<IocRecord>;
export type EnrichmentPage = Page<EnrichmentRecord>;

const iocDates = withDates<IocRecord>('firstSeenAt', 'lastSeenAt', 'lastEnrichedAt', 'nextEnrichAt');
const sourceDates = withDates<SourceResultRecord>('fetchedAt', 'retryAt');

/** The event-bus topic of IOCs whose score, level or categories changed. */
export const IOC_ENRICHED_TOPIC = topic<IocRecord>('ioc.enriched', (json) => {
  const ioc = iocDates(json);
  return { ...ioc, sources: ioc.sources.map(sourceDates) };
});
