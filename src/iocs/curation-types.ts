/**
 * Shapes of analyst curation (docs/scoring.md §7): verdicts on one IOC, allowlist
 * entries covering whole ranges, and the audit record of every change to either.
 */
import type { Page } from '../platform/page.js';
import type { RiskLevel } from './ioc-types.js';
import type { SourceName } from './sources/source-adapter.js';

export type Verdict = 'BENIGN' | 'SUSPICIOUS' | 'MALICIOUS';

/** Who made a change: the API key's id and name. */
export interface Actor {
  id: string;
  name: string;
}

/** A verdict as kept in `iocs.verdict` (JSON, dates as ISO text). */
export interface StoredVerdict {
  verdict: Verdict;
  note: string;
  setAt: string;
  expiresAt: string | null;
  setBy: Actor;
}

export type AllowlistKind = 'CIDR' | 'DOMAIN';

export interface AllowlistEntry {
  id: string;
  kind: AllowlistKind;
  /** Canonical network (`10.20.0.0/16`) or domain suffix in punycode (`corp.example.com`). */
  value: string;
  note: string;
  createdAt: Date;
  createdBy: Actor;
}

/** The entry that covered an IOC when it was scored, as kept in `iocs.allowlisted_by`. */
export interface StoredAllowlistMatch {
  id: string;
  kind: AllowlistKind;
  value: string;
  note: string;
  createdAt: string;
  createdBy: Actor;
}

/** What takes part in the fusion besides the vendors: an active verdict, an allowlist match. */
export interface Curation {
  verdict?: StoredVerdict;
  allowlisted?: StoredAllowlistMatch;
}

/** A row of scoreBreakdown or of the score history names a vendor or one of these. */
export type ScoreSource = SourceName | 'ANALYST' | 'ALLOWLIST';

/** The verdict as served on `Ioc.verdict`. */
export interface VerdictRecord {
  verdict: Verdict;
  note: string;
  setAt: Date;
  expiresAt: Date | null;
  setBy: Actor;
  /** False once expiresAt has passed: the verdict no longer counts. */
  active: boolean;
}

/** A verdict counts until its expiry (exclusive). */
export const verdictActive = (v: StoredVerdict, now: number): boolean =>
  v.expiresAt === null || Date.parse(v.expiresAt) > now;

export const toVerdictRecord = (v: StoredVerdict, now: number): VerdictRecord => ({
  verdict: v.verdict,
  note: v.note,
  setAt: new Date(v.setAt),
  expiresAt: v.expiresAt === null ? null : new Date(v.expiresAt),
  setBy: v.setBy,
  active: verdictActive(v, now),
});

export type CurationKind = 'VERDICT' | 'ALLOWLIST' | 'TAGS' | 'NOTE';
export type CurationAction = 'SET' | 'CLEAR' | 'ADD' | 'REMOVE';

export interface CurationChangeRecord {
  id: string;
  kind: CurationKind;
  action: CurationAction;
  /** The IOC's value (verdicts) or the allowlist entry's value. */
  subject: string;
  before: unknown;
  after: unknown;
  actor: Actor;
  at: Date;
}

export interface ScoreHistoryRecord {
  id: string;
  at: Date;
  score: number | null;
  level: RiskLevel | null;
  sources: ScoreSource[];
}

export type CurationChangePage = Page<CurationChangeRecord>;
export type ScoreHistoryPage = Page<ScoreHistoryRecord>;
