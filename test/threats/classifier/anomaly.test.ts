import { describe, expect, it } from 'vitest';

import { AnomalyDetector, MIN_ANOMALY_THRESHOLD } from '../../../src/threats/classifier/anomaly.js';
import { averagePathLength, IsolationForest } from '../../../src/threats/classifier/isolation-forest.js';
import type { ClassifierInput } from '../../../src/threats/classifier/types.js';
import { generateEvents, seededRandom } from './synthetic-events.js';

const training = generateEvents(3000, 11);
const fresh = generateEvents(1000, 12);

/**
 * Unlike anything generated: an unused port, top severity with near-zero confidence, GRE,
 * a private well-known source port, a long description and many tags.
 */
const outlier: ClassifierInput = {
  threatType: 'unknown',
  description: 'x'.repeat(1500),
  protocol: 'gre',
  sourcePort: 53,
  destinationPort: 31337,
  severity: 10,
  confidence: 0.05,
  tags: ['a', 'b', 'c', 'd', 'e', 'f'],
  sourceIsPrivate: true,
  occurredAt: new Date('2026-01-05T03:10:00Z'),
};

describe('IsolationForest', () => {
  it('normalises by the average path length c(n)', () => {
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // c(256) from the paper's definition: 2 H(255) - 2 * 255 / 256
    expect(averagePathLength(256)).toBeCloseTo(10.2448, 3);
  });

  it('scores an isolated point near 1 and a dense cluster below 0.5', () => {
    const random = seededRandom(4);
    // A dense cluster around (0, 0) and one far point inside the training ranges' corner.
    const rows = Array.from({ length: 500 }, () => [random() + random() - 1, random() + random() - 1]);
    rows.push([10, 10]);
    const forest = IsolationForest.fit(rows, { seed: 3 });
    expect(forest.score([10, 10])).toBeGreaterThan(0.7);
    expect(forest.score([0, 0])).toBeLessThan(0.5);
  });

  it('scores values beyond the training range above the most extreme training rows', () => {
    const random = seededRandom(6);
    const rows = Array.from({ length: 400 }, () => [random() * 10, random() * 10, 1]);
    const forest = IsolationForest.fit(rows, { seed: 2 });
    const edge = forest.score([9.99, 5, 1]);
    expect(forest.score([1000, 5, 1])).toBeGreaterThan(edge + 0.1);
    // The third feature never varied: a different value there is unusual too.
    expect(forest.score([5, 5, 7])).toBeGreaterThan(forest.score([5, 5, 1]) + 0.1);
    // Inside every range and matching the constants: the standard path length.
    expect(forest.score([5, 5, 1])).toBeLessThan(0.5);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const rows = Array.from({ length: 300 }, (_, i) => [Math.sin(i) * 10, Math.cos(i * 3) * 5, i % 7]);
    const a = IsolationForest.fit(rows, { seed: 9 }).toJSON();
    const b = IsolationForest.fit(rows, { seed: 9 }).toJSON();
    const c = IsolationForest.fit(rows, { seed: 10 }).toJSON();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('AnomalyDetector on events', () => {
  const detector = AnomalyDetector.fit(training, { seed: 5 });
  const freshScores = fresh.map((e) => detector.score(e).anomalyScore).sort((x, y) => x - y);

  it('scores an outlier higher than typical traffic and flags it', () => {
    const result = detector.score(outlier);
    const p95 = freshScores[Math.floor(freshScores.length * 0.95)] ?? 1;
    const median = freshScores[Math.floor(freshScores.length / 2)] ?? 1;
    expect(result.anomalyScore).toBeGreaterThan(p95);
    expect(result.anomalyScore).toBeGreaterThan(median + 0.1);
    expect(result.isAnomaly).toBe(true);
  });

  it('flags only a small share of typical traffic', () => {
    const flagged = fresh.filter((e) => detector.score(e).isAnomaly).length;
    expect(flagged / fresh.length).toBeLessThan(0.03);
    expect(detector.threshold).toBeGreaterThanOrEqual(MIN_ANOMALY_THRESHOLD);
  });

  it('keeps the threshold floor on uniform traffic', () => {
    const uniform = AnomalyDetector.fit(
      Array.from({ length: 400 }, () => ({ ...outlier })),
      { seed: 1 },
    );
    expect(uniform.threshold).toBe(MIN_ANOMALY_THRESHOLD);
    expect(uniform.score(outlier).isAnomaly).toBe(false);
  });

  it('survives a JSON round trip with identical scores', () => {
    const copy = AnomalyDetector.fromJSON(JSON.parse(JSON.stringify(detector.toJSON())));
    for (const event of [...fresh.slice(0, 200), outlier]) {
      expect(copy.score(event)).toEqual(detector.score(event));
    }
    expect(copy.threshold).toBe(detector.threshold);
  });

  it('refuses a model built on another feature layout', () => {
    const json = { ...detector.toJSON(), featureSpec: 'v0:n3:h8' };
    expect(() => AnomalyDetector.fromJSON(json)).toThrow(/features/);
  });

  it('refuses corrupt trees instead of looping on them', () => {
    const json = structuredClone(detector.toJSON());
    const tree = json.forest.trees[0];
    if (tree === undefined) throw new Error('no tree');
    tree.left[0] = 0; // the root pointing at itself
    expect(() => AnomalyDetector.fromJSON(json)).toThrow(/bad children/);
    expect(() => AnomalyDetector.fromJSON({ kind: 'anomaly-detector' })).toThrow();
  });
});
