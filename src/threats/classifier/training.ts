import { FEATURE_COUNT, FEATURE_SPEC, featureVector } from './features.js';
import { ForestClassifier, type ForestModelJson } from './forest-model.js';
import { ForestPredictor } from './forest-predictor.js';
import { trainRandomForest, type RandomForestTrainOptions } from './ml-random-forest.js';
import { fnv1a, seededRandom, shuffled } from './random.js';
import { THREAT_CATEGORIES, type Classifier, type LabelledEvent, type ThreatCategory } from './types.js';

/**
 * Training of the supervised model from analyst labels, and the promotion decision.
 *
 * - At least MIN_LABELS labelled events spanning at least two categories are required;
 *   below that a forest's cross-validated accuracy is too noisy to compare with the
 *   rules, and no model is built.
 * - At most `maxLabels` (default MAX_LABELS) are used, the first ones given: callers pass
 *   the newest labels first. Each tree trains on a bootstrap of at most 256 of them
 *   (ml-random-forest.ts explains why), so a retrain takes seconds to tens of seconds of
 *   CPU whatever the count: run it off the request path (a worker thread or the trainer
 *   worker), never on the ingest path.
 * - Accuracy of the forest is measured by stratified k-fold cross-validation (k = 5 by
 *   default; each category's events are shuffled with the seed and dealt round-robin to
 *   the folds): each event is predicted by a forest that did not see it. The rules are fixed code,
 *   so their accuracy is measured directly on the same events.
 * - The final model is trained on all the events; it is `promoted` only when
 *   cvAccuracy > rulesAccuracy (strictly: on a tie the explainable rules stay).
 */
export const MIN_LABELS = 50;
export const MAX_LABELS = 5000;

export interface TrainOptions extends Partial<RandomForestTrainOptions> {
  folds?: number;
  minLabels?: number;
  maxLabels?: number;
}

export const DEFAULT_FOREST_OPTIONS: RandomForestTrainOptions = {
  trees: 25,
  seed: 42,
  maxFeatures: 0.5,
  maxDepth: 12,
  minNumSamples: 2,
  maxSamplesPerTree: 256,
};

export type TrainResult =
  | {
      model: ForestClassifier;
      cvAccuracy: number;
      rulesAccuracy: number;
      promoted: boolean;
      labelsUsed: number;
    }
  | {
      model: null;
      cvAccuracy: null;
      rulesAccuracy: number | null;
      promoted: false;
      labelsUsed: number;
      /** Why no model was built. */
      reason: 'TOO_FEW_LABELS' | 'SINGLE_CATEGORY';
    };

export function train(
  labelled: readonly LabelledEvent[],
  rules: Classifier,
  options: TrainOptions = {},
): TrainResult {
  const events = labelled.slice(0, options.maxLabels ?? MAX_LABELS);
  const rulesAccuracy = events.length === 0 ? null : accuracyOfRules(events, rules);
  const classes = THREAT_CATEGORIES.filter((c) => events.some((e) => e.label === c));
  if (events.length < (options.minLabels ?? MIN_LABELS)) {
    return {
      model: null,
      cvAccuracy: null,
      rulesAccuracy,
      promoted: false,
      labelsUsed: events.length,
      reason: 'TOO_FEW_LABELS',
    };
  }
  if (classes.length < 2 || rulesAccuracy === null) {
    return {
      model: null,
      cvAccuracy: null,
      rulesAccuracy,
      promoted: false,
      labelsUsed: events.length,
      reason: 'SINGLE_CATEGORY',
    };
  }
  const forestOptions: RandomForestTrainOptions = { ...DEFAULT_FOREST_OPTIONS, ...definedOnly(options) };
  const classIndex = new Map<ThreatCategory, number>(classes.map((c, i) => [c, i]));
  const rows = events.map((e) => featureVector(e.input));
  const labels = events.map((e) => classIndex.get(e.label) ?? 0);

  const cvAccuracy = crossValidate(rows, labels, classes.length, options.folds ?? 5, forestOptions);
  const forest = trainRandomForest(rows, labels, forestOptions);
  const promoted = cvAccuracy > rulesAccuracy;
  const json: ForestModelJson = {
    kind: 'threat-forest',
    formatVersion: 1,
    version: `rf-${fnv1a(JSON.stringify([classes, forest]))
      .toString(16)
      .padStart(8, '0')}`,
    featureSpec: FEATURE_SPEC,
    classes,
    trainedOn: events.length,
    cvAccuracy,
    rulesAccuracy,
    promoted,
    options: forestOptions,
    forest,
  };
  return {
    model: ForestClassifier.fromJSON(json),
    cvAccuracy,
    rulesAccuracy,
    promoted,
    labelsUsed: events.length,
  };
}

export function accuracyOfRules(events: readonly LabelledEvent[], rules: Classifier): number {
  const correct = events.filter((e) => rules.classify(e.input).category === e.label).length;
  return correct / events.length;
}

function crossValidate(
  rows: number[][],
  labels: number[],
  labelCount: number,
  folds: number,
  options: RandomForestTrainOptions,
): number {
  const k = Math.max(2, Math.min(folds, rows.length));
  const fold = stratifiedFolds(labels, k, options.seed);
  let correct = 0;
  for (let f = 0; f < k; f++) {
    const trainRows: number[][] = [];
    const trainLabels: number[] = [];
    rows.forEach((row, i) => {
      if (fold[i] !== f) {
        trainRows.push(row);
        trainLabels.push(labels[i] ?? 0);
      }
    });
    if (trainRows.length === 0) continue;
    const predictor = new ForestPredictor(
      trainRandomForest(trainRows, trainLabels, options),
      labelCount,
      FEATURE_COUNT,
    );
    rows.forEach((row, i) => {
      if (fold[i] === f && predictor.predict(row).label === labels[i]) correct++;
    });
  }
  return correct / rows.length;
}

/** Fold number per row: rows of each class are shuffled (seeded) and dealt round-robin. */
function stratifiedFolds(labels: readonly number[], k: number, seed: number): number[] {
  const random = seededRandom(seed ^ 0x5eed);
  const fold = new Array<number>(labels.length).fill(0);
  let next = 0;
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const members = byClass.get(label);
    if (members === undefined) byClass.set(label, [i]);
    else members.push(i);
  });
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of shuffled(byClass.get(label) ?? [], random)) {
      fold[i] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

function definedOnly(options: TrainOptions): Partial<RandomForestTrainOptions> {
  const picked: Partial<RandomForestTrainOptions> = {};
  if (options.trees !== undefined) picked.trees = options.trees;
  if (options.seed !== undefined) picked.seed = options.seed;
  if (options.maxFeatures !== undefined) picked.maxFeatures = options.maxFeatures;
  if (options.maxDepth !== undefined) picked.maxDepth = options.maxDepth;
  if (options.minNumSamples !== undefined) picked.minNumSamples = options.minNumSamples;
  if (options.maxSamplesPerTree !== undefined) picked.maxSamplesPerTree = options.maxSamplesPerTree;
  return picked;
}
