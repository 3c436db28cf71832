import { describe, expect, it } from 'vitest';

import { AnomalyDetector } from '../../../src/threats/classifier/anomaly.js';
import { encodeNumeric, NUMERIC_FEATURE_COUNT } from '../../../src/threats/classifier/features.js';
import { IsolationForest } from '../../../src/threats/classifier/isolation-forest.js';
import { ScoreMemo } from '../../../src/threats/classifier/score-memo.js';
import { generateEvents } from './synthetic-events.js';

describe('ScoreMemo', () => {
  it('returns exactly what the forest computes, for repeated and new vectors alike', () => {
    const events = generateEvents(4000, 21);
    const detector = AnomalyDetector.fit(events.slice(0, 2000), { seed: 3 });
    const reference = IsolationForest.fromJSON(detector.toJSON().forest);
    const row = new Float64Array(NUMERIC_FEATURE_COUNT);
    for (const event of [...events, ...events]) {
      encodeNumeric(event, row);
      expect(detector.score(event).anomalyScore).toBe(reference.score(row));
    }
    // The synthetic traffic repeats its vectors, as sensors do: most lookups are hits.
    expect(detector.memo.hits).toBeGreaterThan(detector.memo.misses);
  });

  it('tells apart vectors that differ in any one position, and starts over when full', () => {
    const memo = new ScoreMemo(3, 4);
    const sum = (v: ArrayLike<number>) => (v[0] ?? 0) * 100 + (v[1] ?? 0) * 10 + (v[2] ?? 0);
    const vectors = [
      [1, 2, 3],
      [1, 2, 4],
      [1, 3, 3],
      [2, 2, 3],
      [0.05, 0, 0],
      [0.1, 0, 0],
    ];
    for (const v of vectors) expect(memo.score(v, sum)).toBe(sum(v));
    expect(memo.size).toBeLessThanOrEqual(4);
    let computed = 0;
    const counting = (v: ArrayLike<number>) => {
      computed++;
      return sum(v);
    };
    expect(memo.score([0.1, 0, 0], counting)).toBe(10);
    expect(computed).toBe(0); // still remembered after the reset
    expect(memo.score([1, 2, 3], counting)).toBe(123);
    expect(computed).toBe(1); // forgotten by the reset, computed again
  });

  it('never serves a colliding entry for another vector', () => {
    // 0.0001 and 0 hash alike (both scale and round to 0); the stored vector is compared,
    // so the second lookup computes its own score.
    const memo = new ScoreMemo(1);
    expect(memo.score([0.0001], () => 1)).toBe(1);
    expect(memo.score([0], () => 2)).toBe(2);
    expect(memo.misses).toBe(2);
  });
});
