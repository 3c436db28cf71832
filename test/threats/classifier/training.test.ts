import { describe, expect, it } from 'vitest';

import { featureVector } from '../../../src/threats/classifier/features.js';
import { ForestClassifier } from '../../../src/threats/classifier/forest-model.js';
import { ForestPredictor } from '../../../src/threats/classifier/forest-predictor.js';
import { libraryPredict, trainRandomForest } from '../../../src/threats/classifier/ml-random-forest.js';
import { RulesClassifier } from '../../../src/threats/classifier/rules.js';
import { train, type TrainOptions } from '../../../src/threats/classifier/training.js';
import type {
  ClassifierInput,
  LabelledEvent,
  ThreatCategory,
} from '../../../src/threats/classifier/types.js';
import { generateEvents, profileOf, seededRandom, typicalEvent } from './synthetic-events.js';

const rules = new RulesClassifier();
// Small forests keep the suite fast; the defaults are exercised by bench/classifier.ts.
const FAST: TrainOptions = { trees: 8, folds: 4, seed: 7 };

function labelledFrom(categories: ThreatCategory[], count: number, seed: number): LabelledEvent[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const label = categories[i % categories.length] ?? 'OTHER';
    return { input: typicalEvent(random, profileOf(label)), label };
  });
}

/**
 * A site whose honeypot reports Telnet hits as `honeypot_hit`: the rules see only port 23
 * and say BRUTEFORCE, but the analysts label them BOTNET (Mirai-style propagation), and
 * label `waf_block` events by what the WAF saw. Learnable from the words and ports; the
 * rules get the honeypot part wrong.
 */
function siteSpecificLabels(count: number, seed: number): LabelledEvent[] {
  const random = seededRandom(seed);
  const honeypot = (): ClassifierInput => ({
    ...typicalEvent(random, profileOf('BOTNET')),
    threatType: 'honeypot_hit',
    description: random() < 0.5 ? 'session on honeypot sensor' : null,
    destinationPort: 23,
  });
  const kinds: (() => LabelledEvent)[] = [
    () => ({ input: honeypot(), label: 'BOTNET' }),
    () => ({ input: typicalEvent(random, profileOf('BRUTEFORCE')), label: 'BRUTEFORCE' }),
    () => ({ input: typicalEvent(random, profileOf('EXPLOIT')), label: 'EXPLOIT' }),
    () => ({ input: typicalEvent(random, profileOf('SPAM')), label: 'SPAM' }),
  ];
  return Array.from({ length: count }, (_, i) => (kinds[i % kinds.length] ?? kinds[0]!)());
}

describe('train: promotion', () => {
  it('promotes the forest where it beats the rules on site-specific labels', () => {
    const labelled = siteSpecificLabels(160, 1);
    const result = train(labelled, rules, FAST);
    expect(result.model).not.toBeNull();
    expect(result.rulesAccuracy).toBeLessThan(0.8);
    expect(result.cvAccuracy).toBeGreaterThan(0.95);
    expect(result.promoted).toBe(true);
    expect(result.model?.promoted).toBe(true);
    expect(result.model?.version).toMatch(/^rf-[0-9a-f]{8}$/);
  });

  it('does not promote when the rules are already right', () => {
    const labelled = labelledFrom(['BRUTEFORCE', 'DDOS', 'SPAM', 'PHISHING'], 120, 2);
    const result = train(labelled, rules, FAST);
    expect(result.rulesAccuracy).toBe(1);
    expect(result.cvAccuracy).not.toBeNull();
    expect(result.promoted).toBe(false);
    // The model is still returned, so both figures can be stored and shown.
    expect(result.model?.promoted).toBe(false);
  });

  it('builds nothing below the minimum number of labels or with one category', () => {
    const few = train(siteSpecificLabels(49, 3), rules, FAST);
    expect(few).toMatchObject({ model: null, promoted: false, reason: 'TOO_FEW_LABELS', labelsUsed: 49 });
    const single = train(labelledFrom(['SPAM'], 60, 3), rules, FAST);
    expect(single).toMatchObject({
      model: null,
      promoted: false,
      reason: 'SINGLE_CATEGORY',
      rulesAccuracy: 1,
    });
  });

  it('is deterministic for a seed', () => {
    const labelled = siteSpecificLabels(100, 4);
    const a = train(labelled, rules, FAST);
    const b = train(labelled, rules, FAST);
    expect(a.cvAccuracy).toBe(b.cvAccuracy);
    expect(a.model?.toJSON()).toEqual(b.model?.toJSON());
    const c = train(labelled, rules, { ...FAST, seed: 8 });
    expect(c.model?.version).not.toBe(a.model?.version);
  });
});

describe('ForestClassifier', () => {
  const result = train(siteSpecificLabels(160, 5), rules, FAST);
  const model = result.model;
  if (model === null) throw new Error('expected a model');
  const probe = [...siteSpecificLabels(100, 6).map((l) => l.input), ...generateEvents(200, 7)];

  it('classifies with method MODEL and its version', () => {
    const honeypot = siteSpecificLabels(4, 8)[0]?.input;
    if (honeypot === undefined) throw new Error('no event');
    expect(model.classify(honeypot)).toMatchObject({
      category: 'BOTNET',
      method: 'MODEL',
      modelVersion: model.version,
    });
    expect(rules.classify(honeypot).category).toBe('BRUTEFORCE');
  });

  it('survives a JSON round trip with identical predictions', () => {
    const copy = ForestClassifier.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    expect(copy.version).toBe(model.version);
    expect(copy.promoted).toBe(model.promoted);
    for (const event of probe) expect(copy.classify(event)).toEqual(model.classify(event));
  });

  it('refuses a model built on another feature layout', () => {
    expect(() => ForestClassifier.fromJSON({ ...model.toJSON(), featureSpec: 'v0:n1:h2' })).toThrow(
      /features/,
    );
  });
});

describe('compiled forest predictor', () => {
  it('predicts exactly what ml-random-forest predicts from the same JSON', () => {
    const random = seededRandom(9);
    const events = generateEvents(300, 10);
    const rows = events.map(featureVector);
    // Noisy labels, so trees disagree and the vote tie-break is exercised too.
    const labels = events.map((e) => (rules.verdict(e).category.length + Math.floor(random() * 2)) % 4);
    const json = trainRandomForest(rows, labels, {
      trees: 7,
      seed: 3,
      maxFeatures: 0.5,
      maxDepth: 6,
      minNumSamples: 2,
      maxSamplesPerTree: 128,
    });
    const predictor = new ForestPredictor(json, 4, rows[0]?.length ?? 0);
    const probe = [...rows, ...generateEvents(300, 11).map(featureVector)];
    expect(probe.map((row) => predictor.predict(row).label)).toEqual(libraryPredict(json, probe));
  });
});
