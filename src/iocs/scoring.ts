/**
 * The fused, explainable risk score (docs/scoring.md):
 *   score = Σ wᵢ·dᵢ / Σ wᵢ over sources that answered with an opinion, where
 *   wᵢ = weight × reliability and dᵢ = sub-score × 0.5^(age / half-life).
 * Sources that failed, were skipped or have no opinion (VirusTotal 404) are left out,
 * not counted as 0, so one outage cannot make a bad IOC look clean. Known-benign
 * evidence from any source caps the result. Every input is returned in the breakdown.
 */
import type { Curation, ScoreSource, StoredAllowlistMatch, StoredVerdict } from './curation-types.js';
import type { RiskLevel, ThreatCategory } from './ioc-types.js';
import type { SourceName, SourceResult, SourceStatus } from './sources/source-adapter.js';

export interface ScoringConfig {
  /** How much each source's signal matters for this deployment (operators may tune). */
  weights: Readonly<Record<SourceName, number>>;
  /** How often the source is right, after the Admiralty scale's idea of source reliability. */
  reliability: Readonly<Record<SourceName, number>>;
  /** Age after which a sub-score counts half. */
  halfLifeDays: number;
  /** Highest fused score when any source lists the value as known-benign. */
  whitelistCap: number;
}

export const DEFAULT_SCORING: Readonly<ScoringConfig> = {
  weights: { ABUSEIPDB: 1, OTX: 0.8, VIRUSTOTAL: 1 },
  // OTX pulses are community submissions of uneven quality; VT aggregates ~90 engines.
  reliability: { ABUSEIPDB: 0.9, OTX: 0.7, VIRUSTOTAL: 0.95 },
  halfLifeDays: 30,
  // Just inside LOW: a whitelisted value never alerts, but a non-zero score still shows doubt.
  whitelistCap: 20,
};

/** Lower bounds of each level (<25, 25–49, 50–74, >=75; documented in schema.graphql's RiskLevel). */
const LEVEL_FLOORS: ReadonlyArray<[number, RiskLevel]> = [
  [75, 'CRITICAL'],
  [50, 'HIGH'],
  [25, 'MEDIUM'],
  [0, 'LOW'],
];
const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Lowest fused score of a homoglyph look-alike (lookalikeOf set): HIGH, because such a
 * name exists to be mistaken for another. Known-benign evidence still caps it.
 */
export const LOOKALIKE_FLOOR = 50;
/**
 * An analyst's verdict is the most reliable source there is: it bounds the fused score
 * instead of being averaged in. MALICIOUS keeps the IOC CRITICAL, SUSPICIOUS at least
 * HIGH, BENIGN in LOW (below the vendors' known-benign cap: an analyst vouched for it).
 * An allowlist entry covering the IOC caps it like a BENIGN verdict.
 */
export const MALICIOUS_FLOOR = 90;
export const SUSPICIOUS_FLOOR = 50;
export const BENIGN_CAP = 10;
const CURATED_WEIGHT = 1;
const CURATED_RELIABILITY = 1;

export interface ScoreContribution {
  source: ScoreSource;
  status: SourceStatus;
  /** The source's 0–100 sub-score as fetched; null when it had no opinion or failed. */
  subScore: number | null;
  weight: number;
  reliability: number;
  /** Points this source adds to the fused score before any cap (contributions sum to it). */
  contribution: number;
  /** When the source answered; for ANALYST and ALLOWLIST rows when the verdict or entry was set. */
  fetchedAt: Date;
  note: string;
  /** ANALYST and ALLOWLIST rows: the API key that set the verdict or added the entry. */
  setBy?: { id: string; name: string };
  /** ANALYST rows: when the verdict stops counting (null: never). */
  expiresAt?: Date | null;
}

export interface FusedScore {
  /** null when no source had an opinion: unknown, which is not the same as clean. */
  score: number | null;
  level: RiskLevel | null;
  categories: ThreatCategory[];
  breakdown: ScoreContribution[];
}

export const riskLevel = (score: number): RiskLevel =>
  LEVEL_FLOORS.find(([floor]) => score >= floor)?.[1] ?? 'LOW';

export const decayFactor = (ageMs: number, halfLifeDays: number): number =>
  halfLifeDays > 0 ? 0.5 ** (Math.max(0, ageMs) / (halfLifeDays * DAY_MS)) : 1;

const round2 = (n: number): number => Math.round(n * 100) / 100;

interface Row {
  result: SourceResult;
  effectiveWeight: number;
  decayed: number | null;
  ageDays: number;
}

export function fuseScores(
  results: readonly SourceResult[],
  options: { now?: Date; config?: ScoringConfig; lookalikeOf?: string; curation?: Curation } = {},
): FusedScore {
  const now = options.now ?? new Date();
  const config = options.config ?? DEFAULT_SCORING;
  const rows: Row[] = results.map((result) => {
    const ageMs = now.getTime() - result.fetchedAt.getTime();
    const counts = result.status === 'OK' && result.score !== null;
    return {
      result,
      effectiveWeight: counts ? config.weights[result.source] * config.reliability[result.source] : 0,
      decayed:
        counts && result.score !== null ? result.score * decayFactor(ageMs, config.halfLifeDays) : null,
      ageDays: Math.max(0, ageMs) / DAY_MS,
    };
  });
  const totalWeight = rows.reduce((sum, r) => sum + r.effectiveWeight, 0);
  const whitelistedBy = results.filter((r) => r.status === 'OK' && r.evidence?.whitelisted === true);
  let score: number | null = null;
  if (totalWeight > 0) {
    const mean = rows.reduce((sum, r) => sum + r.effectiveWeight * (r.decayed ?? 0), 0) / totalWeight;
    score = Math.round(whitelistedBy.length > 0 ? Math.min(mean, config.whitelistCap) : mean);
  }
  const { verdict, allowlisted } = options.curation ?? {};
  // The IOC's own verdict wins over an allowlist entry covering a whole range.
  const benign = verdict !== undefined ? verdict.verdict === 'BENIGN' : allowlisted !== undefined;
  // A look-alike is evidence of its own, even when no source knows the name yet.
  const lookalike = options.lookalikeOf !== undefined && whitelistedBy.length === 0 && !benign;
  if (lookalike) score = Math.max(score ?? 0, LOOKALIKE_FLOOR);
  if (benign) score = Math.min(score ?? 0, BENIGN_CAP);
  else if (verdict !== undefined) score = Math.max(score ?? 0, verdictBound(verdict));
  const breakdown: ScoreContribution[] = rows.map((row) => ({
    source: row.result.source,
    status: row.result.status,
    subScore: row.result.status === 'OK' ? row.result.score : null,
    weight: config.weights[row.result.source],
    reliability: config.reliability[row.result.source],
    contribution:
      totalWeight > 0 && row.decayed !== null ? round2((row.effectiveWeight * row.decayed) / totalWeight) : 0,
    fetchedAt: row.result.fetchedAt,
    note: noteFor(row, config),
  }));
  if (verdict !== undefined) breakdown.push(verdictRow(verdict));
  if (allowlisted !== undefined) breakdown.push(allowlistRow(allowlisted, verdict));
  return {
    score,
    level: score === null ? null : riskLevel(score),
    categories: fusedCategories(results, lookalike ? ['PHISHING'] : []),
    breakdown,
  };
}

const verdictBound = (v: StoredVerdict): number =>
  v.verdict === 'BENIGN' ? BENIGN_CAP : v.verdict === 'MALICIOUS' ? MALICIOUS_FLOOR : SUSPICIOUS_FLOOR;

const curatedRow = (
  source: 'ANALYST' | 'ALLOWLIST',
  subScore: number,
  at: string,
  setBy: { id: string; name: string },
  note: string,
): ScoreContribution => ({
  source,
  status: 'OK',
  subScore,
  weight: CURATED_WEIGHT,
  reliability: CURATED_RELIABILITY,
  contribution: 0,
  fetchedAt: new Date(at),
  note,
  setBy,
});

function verdictRow(v: StoredVerdict): ScoreContribution {
  const bound = verdictBound(v);
  const effect = v.verdict === 'BENIGN' ? `fused score capped at ${bound}` : `fused score at least ${bound}`;
  const until = v.expiresAt === null ? '' : ` until ${v.expiresAt}`;
  return {
    ...curatedRow(
      'ANALYST',
      bound,
      v.setAt,
      v.setBy,
      `analyst verdict ${v.verdict} set by "${v.setBy.name}" (key ${v.setBy.id}) at ${v.setAt}${until}: ${effect}`,
    ),
    expiresAt: v.expiresAt === null ? null : new Date(v.expiresAt),
  };
}

function allowlistRow(a: StoredAllowlistMatch, verdict: StoredVerdict | undefined): ScoreContribution {
  const effect =
    verdict === undefined
      ? `fused score capped at ${BENIGN_CAP}`
      : `not applied: the analyst verdict ${verdict.verdict} on this IOC wins`;
  return curatedRow(
    'ALLOWLIST',
    BENIGN_CAP,
    a.createdAt,
    a.createdBy,
    `covered by allowlist entry ${a.value} added by "${a.createdBy.name}" (key ${a.createdBy.id}) at ${a.createdAt}: ${effect}`,
  );
}

function noteFor({ result, decayed, ageDays }: Row, config: ScoringConfig): string {
  if (result.status !== 'OK') {
    const why = result.errorKind ?? 'no reason given';
    return `${result.status === 'ERROR' ? 'failed' : 'skipped'} (${why}): left out of the score`;
  }
  if (result.score === null || decayed === null)
    return 'unknown to this source: no opinion, left out of the score';
  const parts = [`sub-score ${result.score}`];
  if (decayed < result.score - 0.005) {
    parts.push(
      `decayed to ${round2(decayed)} (data ${round2(ageDays)} d old, half-life ${config.halfLifeDays} d)`,
    );
  }
  if (result.evidence?.whitelisted === true)
    parts.push(`listed as known-benign: fused score capped at ${config.whitelistCap}`);
  return parts.join('; ');
}

/** Categories from sources that answered (plus `extra` votes), the ones most agree on first. */
function fusedCategories(results: readonly SourceResult[], extra: ThreatCategory[]): ThreatCategory[] {
  const votes = new Map<ThreatCategory, number>(extra.map((c) => [c, 1]));
  for (const r of results) {
    if (r.status !== 'OK') continue;
    for (const c of new Set(r.categories)) votes.set(c, (votes.get(c) ?? 0) + 1);
  }
  return [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}
