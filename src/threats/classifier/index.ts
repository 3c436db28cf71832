/**
 * Threat-event classification: rules, an isolation forest for anomalies and a random
 * forest trained from analyst labels, combined by CompositeClassifier. Pure code: callers
 * own persistence (every model has toJSON/fromJSON) and scheduling.
 */
export * from './types.js';
export { RULE_TABLE, type RuleRow } from './rule-table.js';
export { RulesClassifier } from './rules.js';
export { FEATURE_COUNT, FEATURE_SPEC, NUMERIC_FEATURES, TEXT_BUCKETS, featureVector } from './features.js';
export {
  IsolationForest,
  type IsolationForestJson,
  type IsolationForestOptions,
} from './isolation-forest.js';
export {
  AnomalyDetector,
  DEFAULT_CONTAMINATION,
  MIN_ANOMALY_THRESHOLD,
  type AnomalyDetectorJson,
  type AnomalyDetectorOptions,
  type AnomalyResult,
} from './anomaly.js';
export { ForestClassifier, type ForestModelJson } from './forest-model.js';
export {
  train,
  accuracyOfRules,
  MIN_LABELS,
  MAX_LABELS,
  DEFAULT_FOREST_OPTIONS,
  type TrainOptions,
  type TrainResult,
} from './training.js';
export { CompositeClassifier, type CompositeClassifierParts } from './composite.js';
