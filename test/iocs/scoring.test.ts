import { describe, expect, it } from 'vitest';
import { DEFAULT_SCORING, decayFactor, fuseScores, riskLevel } from '../../src/iocs/scoring.js';
import type { SourceName, SourceResult } from '../../src/iocs/sources/source-adapter.js';
import { NOW, ok } from '../helpers/source-results.js';
import { otxScore } from '../../src/iocs/sources/otx.js';
import { virusTotalScore } from '../../src/iocs/sources/virustotal.js';

const DAY = 24 * 60 * 60 * 1000;

const failed = (source: SourceName, errorKind: SourceResult['errorKind'] = 'TIMEOUT'): SourceResult => ({
  source,
  status: 'ERROR',
  score: null,
  categories: [],
  data: {},
  error: 'x',
  errorKind,
  durationMs: 10,
  fetchedAt: NOW,
});

describe('fuseScores', () => {
  it('is the weighted mean of the sources that answered, contributions summing to it', () => {
    const fused = fuseScores([ok('ABUSEIPDB', 100), ok('VIRUSTOTAL', 40), ok('OTX', 70)], { now: NOW });
    const w = (s: SourceName) => DEFAULT_SCORING.weights[s] * DEFAULT_SCORING.reliability[s];
    const expected =
      (100 * w('ABUSEIPDB') + 40 * w('VIRUSTOTAL') + 70 * w('OTX')) /
      (w('ABUSEIPDB') + w('VIRUSTOTAL') + w('OTX'));
    expect(fused.score).toBe(Math.round(expected));
    expect(fused.level).toBe(riskLevel(Math.round(expected)));
    const sum = fused.breakdown.reduce((s, b) => s + b.contribution, 0);
    expect(Math.abs(sum - expected)).toBeLessThan(0.05);
    expect(fused.breakdown.map((b) => b.source)).toEqual(['ABUSEIPDB', 'VIRUSTOTAL', 'OTX']);
  });

  it('one source failing does not drag the score to 0: it is left out', () => {
    const fused = fuseScores([ok('ABUSEIPDB', 90), failed('VIRUSTOTAL'), failed('OTX', 'RATE_LIMITED')], {
      now: NOW,
    });
    expect(fused.score).toBe(90);
    expect(fused.level).toBe('CRITICAL');
    const vt = fused.breakdown.find((b) => b.source === 'VIRUSTOTAL');
    expect(vt).toMatchObject({ status: 'ERROR', subScore: null, contribution: 0 });
    expect(vt?.note).toMatch(/failed \(TIMEOUT\).*left out/);
  });

  it('skipped sources are left out too', () => {
    const skipped: SourceResult = { ...failed('VIRUSTOTAL', 'NOT_CONFIGURED'), status: 'SKIPPED' };
    expect(fuseScores([ok('OTX', 55), skipped], { now: NOW }).score).toBe(55);
  });

  it('VirusTotal 404 is unknown, not clean: it neither lowers the score nor makes it 0', () => {
    const unknown = ok('VIRUSTOTAL', null, { evidence: { known: false }, data: { found: false } });
    const fused = fuseScores([ok('OTX', 85), unknown], { now: NOW });
    expect(fused.score).toBe(85);
    expect(fused.breakdown.find((b) => b.source === 'VIRUSTOTAL')?.note).toMatch(/unknown/);

    const onlyUnknown = fuseScores([unknown], { now: NOW });
    expect(onlyUnknown.score).toBeNull();
    expect(onlyUnknown.level).toBeNull();

    const clean = fuseScores([ok('VIRUSTOTAL', 0)], { now: NOW });
    expect(clean.score).toBe(0);
    expect(clean.level).toBe('LOW');
  });

  it('no answers at all: score and level are null, not 0', () => {
    expect(fuseScores([failed('ABUSEIPDB'), failed('OTX')], { now: NOW })).toMatchObject({
      score: null,
      level: null,
    });
    expect(fuseScores([], { now: NOW })).toMatchObject({ score: null, level: null, breakdown: [] });
  });

  it('AbuseIPDB whitelisted IP caps the fused score, with the reason in the breakdown', () => {
    const whitelisted = ok('ABUSEIPDB', 0, {
      evidence: { whitelisted: true, known: true },
      categories: ['SCAN'],
    });
    const fused = fuseScores([whitelisted, ok('VIRUSTOTAL', 100), ok('OTX', 100)], { now: NOW });
    expect(fused.score).toBe(DEFAULT_SCORING.whitelistCap);
    expect(fused.level).toBe('LOW');
    expect(fused.breakdown.find((b) => b.source === 'ABUSEIPDB')?.note).toMatch(/known-benign.*capped at 20/);
  });

  it('OTX validation entries (known benign) cap the score the same way', () => {
    const validated = ok('OTX', 55, { evidence: { whitelisted: true, known: true } });
    expect(fuseScores([validated, ok('VIRUSTOTAL', 80)], { now: NOW }).score).toBe(
      DEFAULT_SCORING.whitelistCap,
    );
  });

  it('the cap never raises a lower score', () => {
    const validated = ok('OTX', 0, { evidence: { whitelisted: true } });
    expect(fuseScores([validated, ok('VIRUSTOTAL', 0)], { now: NOW }).score).toBe(0);
  });

  it('whitelist evidence from a failed result does not count', () => {
    const broken = { ...failed('OTX'), evidence: { whitelisted: true } };
    expect(fuseScores([broken, ok('VIRUSTOTAL', 80)], { now: NOW }).score).toBe(80);
  });

  it('decays with age: half after one half-life, a quarter after two', () => {
    const halfLife = DEFAULT_SCORING.halfLifeDays * DAY;
    expect(
      fuseScores([ok('VIRUSTOTAL', 80, { fetchedAt: new Date(NOW.getTime() - halfLife) })], { now: NOW })
        .score,
    ).toBe(40);
    const older = fuseScores([ok('VIRUSTOTAL', 80, { fetchedAt: new Date(NOW.getTime() - 2 * halfLife) })], {
      now: NOW,
    });
    expect(older.score).toBe(20);
    expect(older.breakdown[0]?.note).toMatch(/decayed to 20.*half-life 30 d/);
    expect(decayFactor(-5 * DAY, 30)).toBe(1); // clock skew: a result "from the future" is not boosted
    expect(decayFactor(10 * DAY, 0)).toBe(1); // half-life 0 switches decay off
  });

  it('decay is per source: fresh evidence outweighs stale evidence', () => {
    const stale = ok('ABUSEIPDB', 100, { fetchedAt: new Date(NOW.getTime() - 90 * DAY) });
    const fused = fuseScores([stale, ok('VIRUSTOTAL', 100)], { now: NOW });
    expect(fused.score).toBeGreaterThan(50);
    expect(fused.score).toBeLessThan(100);
  });

  it('merges categories, those named by more sources first', () => {
    const fused = fuseScores(
      [
        ok('ABUSEIPDB', 90, { categories: ['BRUTEFORCE', 'SCAN'] }),
        ok('OTX', 70, { categories: ['BOTNET', 'SCAN'] }),
        { ...failed('VIRUSTOTAL'), categories: ['PHISHING'] },
      ],
      { now: NOW },
    );
    expect(fused.categories).toEqual(['SCAN', 'BOTNET', 'BRUTEFORCE']);
  });

  it('honours a custom configuration (paid tiers, tuned weights)', () => {
    const config = { ...DEFAULT_SCORING, weights: { ABUSEIPDB: 1, OTX: 0, VIRUSTOTAL: 1 } };
    expect(fuseScores([ok('OTX', 100), ok('VIRUSTOTAL', 10)], { now: NOW, config }).score).toBe(10);
  });
});

describe('riskLevel boundaries (<25, 25–49, 50–74, >=75)', () => {
  it.each([
    [0, 'LOW'],
    [24, 'LOW'],
    [25, 'MEDIUM'],
    [49, 'MEDIUM'],
    [50, 'HIGH'],
    [74, 'HIGH'],
    [75, 'CRITICAL'],
    [100, 'CRITICAL'],
  ] as const)('%i → %s', (score, level) => expect(riskLevel(score)).toBe(level));
});

describe('sub-score mappings (docs/scoring.md)', () => {
  it('OTX: 0 pulses → 0, then 40 + 15 per doubling, +10 with a malware family, capped at 100', () => {
    expect(otxScore(0, false)).toBe(0);
    expect(otxScore(1, false)).toBe(40);
    expect(otxScore(2, false)).toBe(55);
    expect(otxScore(4, false)).toBe(70);
    expect(otxScore(4, true)).toBe(80);
    expect(otxScore(16, false)).toBe(100);
    expect(otxScore(500, true)).toBe(100);
  });

  it('VirusTotal: flagged share of engines, saturating at 10 %, suspicious counting half', () => {
    const stats = (malicious: number, suspicious: number, harmless: number, undetected: number) => ({
      malicious,
      suspicious,
      harmless,
      undetected,
      timeout: 7,
    });
    expect(virusTotalScore(stats(0, 0, 70, 20))).toBe(0);
    expect(virusTotalScore(stats(1, 0, 69, 20))).toBe(11);
    expect(virusTotalScore(stats(0, 2, 68, 20))).toBe(11);
    expect(virusTotalScore(stats(5, 0, 65, 20))).toBe(56);
    expect(virusTotalScore(stats(9, 0, 61, 20))).toBe(100);
    expect(virusTotalScore(stats(60, 0, 0, 10))).toBe(100);
    expect(virusTotalScore(stats(0, 0, 0, 0))).toBeNull(); // queued, never analysed: no opinion
  });
});
