/**
 * Analyst verdicts and allowlist entries in the fusion, with exact scores: a verdict
 * bounds the vendors' score (MALICIOUS ≥ 90, SUSPICIOUS ≥ 50, BENIGN ≤ 10), an allowlist
 * entry caps it at 10 unless the IOC has its own verdict, and each appears as a
 * breakdown row that adds no points.
 */
import { describe, expect, it } from 'vitest';
import type { Curation, StoredAllowlistMatch, StoredVerdict } from '../../src/iocs/curation-types.js';
import { fuseScores } from '../../src/iocs/scoring.js';
import type { SourceResult } from '../../src/iocs/sources/source-adapter.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const who = { id: 'key-1', name: 'alice' };
const ok = (score: number): SourceResult => ({
  source: 'ABUSEIPDB',
  status: 'OK',
  score,
  categories: [],
  data: {},
  durationMs: 1,
  fetchedAt: NOW,
});
const verdict = (v: StoredVerdict['verdict'], expiresAt: string | null = null): StoredVerdict => ({
  verdict: v,
  note: 'checked',
  setAt: '2026-06-01T10:00:00.000Z',
  expiresAt,
  setBy: who,
});
const entry: StoredAllowlistMatch = {
  id: 'a1',
  kind: 'CIDR',
  value: '203.0.113.0/24',
  note: 'ours',
  createdAt: '2026-05-01T00:00:00.000Z',
  createdBy: who,
};
const fuse = (score: number | null, curation: Curation | undefined) =>
  fuseScores(score === null ? [] : [ok(score)], { now: NOW, curation });

describe('analyst verdicts', () => {
  it.each([
    ['MALICIOUS', 20, 90, 'CRITICAL'],
    ['MALICIOUS', 95, 95, 'CRITICAL'],
    ['MALICIOUS', null, 90, 'CRITICAL'],
    ['SUSPICIOUS', 20, 50, 'HIGH'],
    ['SUSPICIOUS', 70, 70, 'HIGH'],
    ['BENIGN', 80, 10, 'LOW'],
    ['BENIGN', 5, 5, 'LOW'],
    ['BENIGN', null, 0, 'LOW'],
  ] as const)('%s with vendors at %s → %s (%s)', (v, vendors, score, level) => {
    const fused = fuse(vendors, { verdict: verdict(v) });
    expect([fused.score, fused.level]).toEqual([score, level]);
  });

  it('adds an ANALYST row that names who, when and the effect, and adds no points', () => {
    const malicious = fuse(20, { verdict: verdict('MALICIOUS', '2026-07-01T00:00:00.000Z') }).breakdown.at(
      -1,
    );
    expect(malicious).toEqual({
      source: 'ANALYST',
      status: 'OK',
      subScore: 90,
      weight: 1,
      reliability: 1,
      contribution: 0,
      fetchedAt: new Date('2026-06-01T10:00:00.000Z'),
      note: 'analyst verdict MALICIOUS set by "alice" (key key-1) at 2026-06-01T10:00:00.000Z until 2026-07-01T00:00:00.000Z: fused score at least 90',
      setBy: who,
      expiresAt: new Date('2026-07-01T00:00:00.000Z'),
    });
    const benign = fuse(20, { verdict: verdict('BENIGN') }).breakdown.at(-1);
    expect(benign).toMatchObject({
      subScore: 10,
      expiresAt: null,
      note: 'analyst verdict BENIGN set by "alice" (key key-1) at 2026-06-01T10:00:00.000Z: fused score capped at 10',
    });
    expect(fuse(20, { verdict: verdict('SUSPICIOUS') }).breakdown.at(-1)?.subScore).toBe(50);
  });
});

describe('allowlist entries', () => {
  it('cap the score at 10 and add an ALLOWLIST row', () => {
    const fused = fuse(80, { allowlisted: entry });
    expect([fused.score, fused.level]).toEqual([10, 'LOW']);
    expect(fused.breakdown.map((r) => [r.source, r.contribution])).toEqual([
      ['ABUSEIPDB', 80],
      ['ALLOWLIST', 0],
    ]);
    expect(fused.breakdown[1]).toMatchObject({
      subScore: 10,
      setBy: who,
      fetchedAt: new Date('2026-05-01T00:00:00.000Z'),
      note: 'covered by allowlist entry 203.0.113.0/24 added by "alice" (key key-1) at 2026-05-01T00:00:00.000Z: fused score capped at 10',
    });
    expect(fuse(null, { allowlisted: entry }).score).toBe(0);
  });

  it('yield to the IOC’s own verdict, and say so', () => {
    const fused = fuse(20, { verdict: verdict('MALICIOUS'), allowlisted: entry });
    expect(fused.score).toBe(90);
    expect(fused.breakdown.map((r) => r.source)).toEqual(['ABUSEIPDB', 'ANALYST', 'ALLOWLIST']);
    expect(fused.breakdown[2]?.note).toBe(
      'covered by allowlist entry 203.0.113.0/24 added by "alice" (key key-1) at 2026-05-01T00:00:00.000Z: not applied: the analyst verdict MALICIOUS on this IOC wins',
    );
  });

  it('a benign curation removes the look-alike floor and its PHISHING vote', () => {
    const lookalike = fuseScores([ok(0)], { now: NOW, lookalikeOf: 'google.com' });
    expect([lookalike.score, lookalike.categories]).toEqual([50, ['PHISHING']]);
    const allowed = fuseScores([ok(0)], {
      now: NOW,
      lookalikeOf: 'google.com',
      curation: { allowlisted: entry },
    });
    expect([allowed.score, allowed.categories]).toEqual([0, []]);
    const vouched = fuseScores([ok(0)], {
      now: NOW,
      lookalikeOf: 'google.com',
      curation: { verdict: verdict('BENIGN') },
    });
    expect([vouched.score, vouched.categories]).toEqual([0, []]);
  });
});

describe('without curation', () => {
  it('no sources with an opinion is unknown (null), not clean', () => {
    expect(fuse(null, {})).toMatchObject({ score: null, level: null, breakdown: [] });
    expect(fuse(0, undefined)).toMatchObject({ score: 0, level: 'LOW' });
  });
});
