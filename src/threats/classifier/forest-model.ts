import { encodeNumeric, encodeText, FEATURE_COUNT, FEATURE_SPEC } from './features.js';
import { ForestPredictor } from './forest-predictor.js';
import { parseRandomForestJson, type RandomForestJson, type RandomForestTrainOptions } from './ml-random-forest.js';
import {
  isThreatCategory,
  type CategoryVerdict,
  type Classification,
  type Classifier,
  type ClassifierInput,
  type ThreatCategory,
} from './types.js';

/** What is persisted for a supervised model (a JSON column in PostgreSQL later). */
export interface ForestModelJson {
  kind: 'threat-forest';
  formatVersion: 1;
  /** Content hash of the trees and classes: equal versions predict alike. */
  version: string;
  featureSpec: string;
  /** Class label i of the forest is classes[i]. */
  classes: ThreatCategory[];
  trainedOn: number;
  cvAccuracy: number;
  rulesAccuracy: number;
  promoted: boolean;
  options: RandomForestTrainOptions;
  forest: RandomForestJson;
}

/** A trained random forest over the full feature vector (features.ts). */
export class ForestClassifier implements Classifier {
  private readonly predictor: ForestPredictor;
  private readonly scratch = new Float64Array(FEATURE_COUNT);

  private constructor(private readonly json: ForestModelJson) {
    this.predictor = new ForestPredictor(json.forest, json.classes.length, FEATURE_COUNT);
  }

  static fromJSON(value: ForestModelJson): ForestClassifier {
    if (value.kind !== 'threat-forest' || value.formatVersion !== 1) {
      throw new RangeError('not a threat-forest (format 1) model');
    }
    if (value.featureSpec !== FEATURE_SPEC) {
      throw new RangeError(`model ${value.version} uses features ${value.featureSpec}, this build has ${FEATURE_SPEC}`);
    }
    const unknown = value.classes.filter((c) => !isThreatCategory(c));
    if (unknown.length > 0 || value.classes.length === 0) throw new RangeError(`bad model classes: ${unknown.join()}`);
    return new ForestClassifier({ ...value, forest: parseRandomForestJson(value.forest) });
  }

  get version(): string {
    return this.json.version;
  }
  get promoted(): boolean {
    return this.json.promoted;
  }
  get cvAccuracy(): number {
    return this.json.cvAccuracy;
  }
  get rulesAccuracy(): number {
    return this.json.rulesAccuracy;
  }
  get trainedOn(): number {
    return this.json.trainedOn;
  }

  classify(event: ClassifierInput): Classification {
    const { category, confidence } = this.verdict(event);
    return { category, confidence, anomalyScore: null, isAnomaly: false, method: 'MODEL', modelVersion: this.version };
  }

  verdict(event: ClassifierInput): CategoryVerdict {
    encodeNumeric(event, this.scratch);
    encodeText(event, this.scratch);
    return this.verdictFeatures(this.scratch);
  }

  /** Predicts from an already encoded full feature vector. */
  verdictFeatures(features: ArrayLike<number>): CategoryVerdict {
    const { label, share } = this.predictor.predict(features);
    return { category: this.json.classes[label] ?? 'OTHER', confidence: share };
  }

  toJSON(): ForestModelJson {
    return this.json;
  }
}
