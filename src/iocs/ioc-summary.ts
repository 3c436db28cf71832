/**
 * Pure rules for the per-source summary: what counts as fresh (TTL per status), how a
 * pass's results merge into the stored ones, when the collector should come back, and
 * how a stored IOC becomes the record the API serves (fused score and breakdown).
 */
import type { IocRecord, SourceResultRecord, StoredIoc, StoredSource, StoredSources } from './ioc-record.js';
import {
  toVerdictRecord,
  verdictActive,
  type Curation,
  type ScoreSource,
  type StoredAllowlistMatch,
} from './curation-types.js';
import { valueFacts } from './ioc-parse.js';
import { fuseScores, type FusedScore } from './scoring.js';
import { SOURCE_NAMES, type SourceName, type SourceResult } from './sources/source-adapter.js';

export interface TtlSeconds {
  readonly ok: number;
  readonly error: number;
  readonly skipped: number;
}

const MIN_REVISIT_MS = 1_000;
/** Skips that only a restart with new config can change. */
const PERMANENT_SKIPS = new Set(['UNSUPPORTED', 'NOT_ROUTABLE']);

export function toStored(result: SourceResult, enrichmentId?: string): StoredSource {
  return {
    status: result.status,
    score: result.score,
    categories: result.categories,
    data: result.data,
    ...(result.error !== undefined ? { error: result.error } : {}),
    ...(result.errorKind !== undefined ? { errorKind: result.errorKind } : {}),
    ...(result.retryAt !== undefined ? { retryAt: result.retryAt.toISOString() } : {}),
    ...(result.evidence !== undefined ? { evidence: result.evidence } : {}),
    durationMs: result.durationMs,
    fetchedAt: result.fetchedAt.toISOString(),
    ...(enrichmentId !== undefined ? { enrichmentId } : {}),
  };
}

export function fromStored(source: SourceName, s: StoredSource): SourceResult {
  return {
    source,
    status: s.status,
    score: s.score,
    categories: s.categories,
    data: s.data,
    ...(s.error !== undefined ? { error: s.error } : {}),
    ...(s.errorKind !== undefined ? { errorKind: s.errorKind } : {}),
    ...(s.retryAt !== undefined ? { retryAt: new Date(s.retryAt) } : {}),
    ...(s.evidence !== undefined ? { evidence: s.evidence } : {}),
    durationMs: s.durationMs,
    fetchedAt: new Date(s.fetchedAt),
  };
}

/** When a stored result stops being served and the source is asked again. */
export function expiresAt(s: StoredSource, ttl: TtlSeconds, configured: boolean): number {
  if (s.retryAt !== undefined && (s.errorKind === 'QUOTA_DEFERRED' || s.errorKind === 'RATE_LIMITED')) {
    return Date.parse(s.retryAt);
  }
  if (s.errorKind !== undefined && PERMANENT_SKIPS.has(s.errorKind)) return Number.POSITIVE_INFINITY;
  if (s.errorKind === 'NOT_CONFIGURED') return configured ? 0 : Number.POSITIVE_INFINITY;
  const seconds = s.status === 'OK' ? ttl.ok : s.status === 'ERROR' ? ttl.error : ttl.skipped;
  return Date.parse(s.fetchedAt) + seconds * 1000;
}

export function staleSources(
  sources: StoredSources,
  now: number,
  ttl: TtlSeconds,
  configured: ReadonlySet<SourceName>,
): SourceName[] {
  return SOURCE_NAMES.filter((name) => {
    const s = sources[name];
    return s === undefined || expiresAt(s, ttl, configured.has(name)) <= now;
  });
}

/** Newer results win, so a slow pass cannot overwrite what a later one stored. */
export function mergeSources(current: StoredSources, fresh: StoredSources): StoredSources {
  const merged: StoredSources = { ...current };
  for (const name of SOURCE_NAMES) {
    const next = fresh[name];
    const old = current[name];
    if (next === undefined) continue;
    if (old !== undefined && Date.parse(next.fetchedAt) < Date.parse(old.fetchedAt)) continue;
    merged[name] = old?.status === 'OK' && isHeldBack(next) ? keepAnswer(old, next) : next;
  }
  return merged;
}

const isHeldBack = (s: StoredSource): boolean =>
  s.retryAt !== undefined && (s.errorKind === 'QUOTA_DEFERRED' || s.errorKind === 'RATE_LIMITED');

/** A refresh held back by quota keeps the last answer (it still counts, decayed) until retryAt. */
function keepAnswer(old: StoredSource, heldBack: StoredSource): StoredSource {
  return {
    ...old,
    errorKind: heldBack.errorKind,
    ...(heldBack.error !== undefined ? { error: `refresh ${heldBack.error}` } : {}),
    ...(heldBack.retryAt !== undefined ? { retryAt: heldBack.retryAt } : {}),
  };
}

/**
 * When the IOC's first result goes stale (its TTL, a deferred source's retryAt). The
 * collector re-enriches it then if it is watched or was looked up or sighted recently
 * (IocRepository.claimDue); otherwise it rests until the next lookup or sighting.
 */
export function nextEnrichAt(
  sources: StoredSources,
  ttl: TtlSeconds,
  configured: ReadonlySet<SourceName>,
): Date | null {
  let next = Number.POSITIVE_INFINITY;
  for (const name of SOURCE_NAMES) {
    const s = sources[name];
    if (s !== undefined) next = Math.min(next, expiresAt(s, ttl, configured.has(name)));
  }
  // Never "due right now": a window that resets this millisecond must not spin the collector.
  return Number.isFinite(next) ? new Date(Math.max(next, Date.now() + MIN_REVISIT_MS)) : null;
}

/**
 * `lookalikeOf`: the IOC imitates that name, which sets a score floor; `curation`: an
 * active analyst verdict and a covering allowlist entry, which bound it (scoring.ts).
 */
export function fuseStored(
  sources: StoredSources,
  now: Date,
  lookalikeOf?: string,
  curation?: Curation,
): FusedScore {
  const results = SOURCE_NAMES.flatMap((name) => {
    const s = sources[name];
    return s === undefined ? [] : [fromStored(name, s)];
  });
  return fuseScores(results, {
    now,
    ...(lookalikeOf !== undefined ? { lookalikeOf } : {}),
    ...(curation !== undefined ? { curation } : {}),
  });
}

/** The verdict that counts at `now` (none once expired) and the allowlist entry, for the fusion. */
export function curationOf(
  verdict: StoredIoc['verdict'],
  allowlisted: StoredAllowlistMatch | null | undefined,
  now: number,
): Curation {
  return {
    ...(verdict && verdictActive(verdict, now) ? { verdict } : {}),
    ...(allowlisted ? { allowlisted } : {}),
  };
}

/** What subscribers of iocEnriched hear about: a change of score, level or categories. */
export function scoreChanged(a: StoredIoc, b: StoredIoc): boolean {
  return (
    a.riskScore !== b.riskScore || a.riskLevel !== b.riskLevel || a.categories.join() !== b.categories.join()
  );
}

/** The score fields a (re-)scoring writes, and the sources whose opinion counted. */
export interface Rescored {
  riskScore: number | null;
  riskLevel: FusedScore['level'];
  categories: FusedScore['categories'];
  allowlistedBy: StoredAllowlistMatch | null;
  answered: ScoreSource[];
  /** When this score stops being valid: the expiry of the active verdict that made it. */
  scoreValidUntil: Date | null;
  /** The score and level from scoreValidUntil on (the same fusion without the verdict). */
  lapsedScore: number | null;
  lapsedLevel: FusedScore['level'];
}

/**
 * Fuses an IOC's stored sources (decayed as of `scoredAt`) with its verdict (if still
 * active at `now`) and allowlist entry.
 */
export function rescore(
  ioc: Pick<StoredIoc, 'type' | 'value' | 'verdict'>,
  sources: StoredSources,
  allowlisted: StoredAllowlistMatch | null,
  scoredAt: Date,
  now: number = scoredAt.getTime(),
): Rescored {
  const curation = curationOf(ioc.verdict, allowlisted, now);
  const lookalikeOf = valueFacts(ioc.type, ioc.value).lookalikeOf;
  const fused = fuseStored(sources, scoredAt, lookalikeOf, curation);
  const expiry = curation.verdict?.expiresAt;
  // Decay runs from the last enrichment, not from now: the score after the verdict
  // lapses is known already, so lists can use it from that instant on.
  const lapsed =
    expiry == null ? null : fuseStored(sources, scoredAt, lookalikeOf, curationOf(null, allowlisted, now));
  return {
    scoreValidUntil: expiry == null ? null : new Date(expiry),
    lapsedScore: lapsed?.score ?? null,
    lapsedLevel: lapsed?.level ?? null,
    riskScore: fused.score,
    riskLevel: fused.level,
    categories: fused.categories,
    allowlistedBy: allowlisted,
    // An allowlist entry overridden by the IOC's own verdict did not count.
    answered: fused.breakdown
      .filter((b) => b.status === 'OK' && b.subScore !== null)
      .filter((b) => b.source !== 'ALLOWLIST' || curation.verdict === undefined)
      .map((b) => b.source),
  };
}

const toSourceRecord = (name: SourceName, s: StoredSource): SourceResultRecord => ({
  source: name,
  status: s.status,
  score: s.score,
  categories: s.categories,
  data: s.data,
  error: s.error ?? null,
  errorKind: s.errorKind ?? null,
  retryAt: s.retryAt !== undefined ? new Date(s.retryAt) : null,
  deferred: s.errorKind === 'QUOTA_DEFERRED',
  durationMs: s.durationMs,
  fetchedAt: new Date(s.fetchedAt),
});

/** The served record; `raws` (by enrichment id) adds vendor bodies for `debug`. */
export function toRecord(ioc: StoredIoc, raws?: ReadonlyMap<string, unknown>): IocRecord {
  const sources = SOURCE_NAMES.flatMap((name) => {
    const s = ioc.sources[name];
    if (s === undefined) return [];
    const record = toSourceRecord(name, s);
    if (raws !== undefined)
      record.raw = s.enrichmentId === undefined ? null : (raws.get(s.enrichmentId) ?? null);
    return [record];
  });
  // The breakdown as of the last scoring, so it always adds up to the stored score. A
  // verdict that lapsed since stops counting at once; the re-scoring worker
  // (ioc-lapse-worker.ts) stores the new score within seconds.
  const facts = valueFacts(ioc.type, ioc.value);
  const now = Date.now();
  const curation = curationOf(ioc.verdict, ioc.allowlistedBy, now);
  const fused = fuseStored(ioc.sources, ioc.lastEnrichedAt ?? new Date(), facts.lookalikeOf, curation);
  // The stored score expired with its verdict: the score from then on was stored with it
  // (lists that leave the sources out read them for these rows, for the categories).
  const lapsed = ioc.scoreValidUntil != null && ioc.scoreValidUntil.getTime() <= now;
  const allowlisted = ioc.allowlistedBy ?? null;
  return {
    id: ioc.id,
    type: ioc.type,
    value: ioc.value,
    riskScore: lapsed ? (ioc.lapsedScore ?? null) : ioc.riskScore,
    riskLevel: lapsed ? (ioc.lapsedLevel ?? null) : ioc.riskLevel,
    categories: lapsed ? fused.categories : ioc.categories,
    verdict: ioc.verdict ? toVerdictRecord(ioc.verdict, now) : null,
    tags: ioc.tags ?? [],
    note: ioc.note ?? null,
    allowlistedBy: allowlisted && { ...allowlisted, createdAt: new Date(allowlisted.createdAt) },
    watched: ioc.watched,
    firstSeenAt: ioc.firstSeenAt,
    lastSeenAt: ioc.lastSeenAt,
    lastEnrichedAt: ioc.lastEnrichedAt,
    nextEnrichAt: ioc.nextEnrichAt,
    sources,
    scoreBreakdown: fused.breakdown,
    unicodeValue: facts.unicodeValue ?? null,
    lookalikeOf: facts.lookalikeOf ?? null,
  };
}
