import type { AnomalyDetector } from './anomaly.js';
import { encodeNumeric, encodeText, FEATURE_COUNT } from './features.js';
import type { ForestClassifier } from './forest-model.js';
import { RulesClassifier } from './rules.js';
import type { Classification, Classifier, ClassifierInput } from './types.js';

export interface CompositeClassifierParts {
  /** Defaults to the built-in rule table. */
  rules?: RulesClassifier;
  /** A trained forest; used only when it was promoted (see training.ts), otherwise ignored. */
  model?: ForestClassifier | null;
  /** Adds anomalyScore/isAnomaly when present; without it anomalyScore is null. */
  anomaly?: AnomalyDetector | null;
}

/**
 * What ingestion calls: the promoted model if there is one, else the rules, plus the
 * anomaly score. The feature vector is encoded once per event and shared by both forests.
 *
 * Instances are immutable: to switch models (after a retrain, or when another instance
 * published a new version), build a new CompositeClassifier and swap the reference; an
 * in-flight batch keeps the one it started with.
 */
export class CompositeClassifier implements Classifier {
  readonly rules: RulesClassifier;
  readonly model: ForestClassifier | null;
  readonly anomaly: AnomalyDetector | null;
  private readonly features = new Float64Array(FEATURE_COUNT);

  constructor(parts: CompositeClassifierParts = {}) {
    this.rules = parts.rules ?? new RulesClassifier();
    this.model = parts.model?.promoted === true ? parts.model : null;
    this.anomaly = parts.anomaly ?? null;
  }

  classify(event: ClassifierInput): Classification {
    const { model, anomaly, features } = this;
    if (model !== null || anomaly !== null) encodeNumeric(event, features);
    if (model !== null) encodeText(event, features);
    const verdict = model !== null ? model.verdictFeatures(features) : this.rules.verdict(event);
    const scored = anomaly?.scoreFeatures(features);
    return {
      category: verdict.category,
      confidence: verdict.confidence,
      anomalyScore: scored?.anomalyScore ?? null,
      isAnomaly: scored?.isAnomaly ?? false,
      method: model !== null ? 'MODEL' : 'RULES',
      modelVersion: model?.version ?? null,
    };
  }
}
