import { describe, expect, it } from 'vitest';

import { AnomalyDetector } from '../../../src/threats/classifier/anomaly.js';
import { CompositeClassifier } from '../../../src/threats/classifier/composite.js';
import { ForestClassifier } from '../../../src/threats/classifier/forest-model.js';
import { RulesClassifier } from '../../../src/threats/classifier/rules.js';
import { train } from '../../../src/threats/classifier/training.js';
import type { ClassifierInput, LabelledEvent } from '../../../src/threats/classifier/types.js';
import { generateEvents, profileOf, seededRandom, typicalEvent } from './synthetic-events.js';

const rules = new RulesClassifier();
const anomaly = AnomalyDetector.fit(generateEvents(1000, 21), { seed: 2 });

/** Analysts call `honeypot_hit` on 23 BOTNET; the rules say BRUTEFORCE (port 23). */
function labels(count: number): LabelledEvent[] {
  const random = seededRandom(22);
  return Array.from({ length: count }, (_, i): LabelledEvent => {
    if (i % 2 === 0) {
      const input = {
        ...typicalEvent(random, profileOf('BOTNET')),
        threatType: 'honeypot_hit',
        description: null,
      };
      return { input: { ...input, destinationPort: 23 }, label: 'BOTNET' };
    }
    return { input: typicalEvent(random, profileOf('SPAM')), label: 'SPAM' };
  });
}

const trained = train(labels(80), rules, { trees: 6, folds: 3, seed: 1 });
const honeypot: ClassifierInput = { ...labels(1)[0]!.input };

describe('CompositeClassifier', () => {
  it('uses the rules and no anomaly score when it has nothing else', () => {
    const result = new CompositeClassifier().classify(honeypot);
    expect(result).toEqual({ ...rules.classify(honeypot), anomalyScore: null, isAnomaly: false });
  });

  it('uses a promoted model and records its version', () => {
    expect(trained.promoted).toBe(true);
    const composite = new CompositeClassifier({ model: trained.model, anomaly });
    const result = composite.classify(honeypot);
    expect(result).toMatchObject({
      category: 'BOTNET',
      method: 'MODEL',
      modelVersion: trained.model?.version,
    });
    expect(result.anomalyScore).toBe(anomaly.score(honeypot).anomalyScore);
  });

  it('ignores a model that was not promoted', () => {
    const model = trained.model;
    if (model === null) throw new Error('expected a model');
    const demoted = ForestClassifier.fromJSON({ ...model.toJSON(), promoted: false });
    const result = new CompositeClassifier({ model: demoted }).classify(honeypot);
    expect(result).toMatchObject({ category: 'BRUTEFORCE', method: 'RULES', modelVersion: null });
  });

  it('adds the anomaly verdict to a rules classification', () => {
    const composite = new CompositeClassifier({ anomaly });
    const outlier: ClassifierInput = {
      ...honeypot,
      protocol: 'gre',
      destinationPort: 31337,
      severity: 10,
      confidence: 0.05,
      sourcePort: 53,
      sourceIsPrivate: true,
      description: 'x'.repeat(1500),
      tags: ['a', 'b', 'c', 'd', 'e', 'f'],
    };
    const result = composite.classify(outlier);
    expect(result.method).toBe('RULES');
    expect(result).toMatchObject(anomaly.score(outlier));
    expect(result.isAnomaly).toBe(true);
  });

  it('gives the same result for an event whatever was classified before (shared buffers)', () => {
    const composite = new CompositeClassifier({ model: trained.model, anomaly });
    const events = generateEvents(50, 23);
    const first = events.map((e) => composite.classify(e));
    const again = [...events]
      .reverse()
      .map((e) => composite.classify(e))
      .reverse();
    expect(again).toEqual(first);
  });
});
