/**
 * The breakdown an analyst reads: every source's sub-score, contribution and note, with
 * numbers worked out by hand (AbuseIPDB weight 1 × reliability 0.9; half-life 30 days).
 */
import { describe, expect, it } from 'vitest';
import { fuseScores, riskLevel } from '../../src/iocs/scoring.js';
import type { SourceResult } from '../../src/iocs/sources/source-adapter.js';

const NOW = new Date('2026-05-01T00:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const result = (r: Partial<SourceResult> & Pick<SourceResult, 'source' | 'status'>): SourceResult => ({
  score: null,
  categories: [],
  data: {},
  durationMs: 1,
  fetchedAt: NOW,
  ...r,
});
const row = (b: ReturnType<typeof fuseScores>['breakdown'][number]) => [
  b.source,
  b.status,
  b.subScore,
  b.contribution,
  b.note,
];

describe('fuseScores breakdown', () => {
  it('explains a decayed, whitelisted answer next to a failure and a "no opinion"', () => {
    const fused = fuseScores(
      [
        result({
          source: 'ABUSEIPDB',
          status: 'OK',
          score: 80,
          fetchedAt: daysAgo(15),
          evidence: { whitelisted: true },
        }),
        // A failed source is left out even when it carries a number.
        result({ source: 'OTX', status: 'ERROR', score: 50, errorKind: 'TIMEOUT' }),
        result({ source: 'VIRUSTOTAL', status: 'OK', score: null }),
      ],
      { now: NOW },
    );
    // 80 · 0.5^(15/30) = 56.5685…; the only source with an opinion, capped at 20.
    expect([fused.score, fused.level]).toEqual([20, 'LOW']);
    expect(fused.breakdown.map(row)).toEqual([
      [
        'ABUSEIPDB',
        'OK',
        80,
        56.57,
        'sub-score 80; decayed to 56.57 (data 15 d old, half-life 30 d); listed as known-benign: fused score capped at 20',
      ],
      ['OTX', 'ERROR', null, 0, 'failed (TIMEOUT): left out of the score'],
      ['VIRUSTOTAL', 'OK', null, 0, 'unknown to this source: no opinion, left out of the score'],
    ]);
  });

  it('does not decay data stamped in the future, and says nothing it need not', () => {
    const fused = fuseScores(
      [result({ source: 'ABUSEIPDB', status: 'OK', score: 80, fetchedAt: daysAgo(-1) })],
      {
        now: NOW,
      },
    );
    expect([fused.score, fused.level]).toEqual([80, 'CRITICAL']);
    expect(fused.breakdown.map(row)).toEqual([['ABUSEIPDB', 'OK', 80, 80, 'sub-score 80']]);
  });

  it('has no score at all when nobody had an opinion, and names a skip without a reason', () => {
    const fused = fuseScores([result({ source: 'OTX', status: 'SKIPPED' })], { now: NOW });
    expect([fused.score, fused.level]).toEqual([null, null]);
    expect(fused.breakdown.map(row)).toEqual([
      ['OTX', 'SKIPPED', null, 0, 'skipped (no reason given): left out of the score'],
    ]);
  });

  it('maps scores below the lowest floor to LOW', () => {
    expect([riskLevel(-1), riskLevel(0), riskLevel(24), riskLevel(25), riskLevel(74), riskLevel(75)]).toEqual(
      ['LOW', 'LOW', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'],
    );
  });
});
