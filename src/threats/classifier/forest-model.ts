import { encodeNumeric, encodeText, FEATURE_COUNT, FEATURE_SPEC } from './features.js';
import { ForestPredictor } from './forest-predictor.js';
import { list, num, record, str } from './json-guards.js';
import {
  parseRandomForestJson,
  type RandomForestJson,
  type RandomForestTrainOptions,
} from './ml-random-forest.js';
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

  /** Loads what toJSON produced (e.g. read back from a JSON column); validates the shape. */
  static fromJSON(value: unknown): ForestClassifier {
    const json = record(value, 'forest model');
    if (json.kind !== 'threat-forest' || json.formatVersion !== 1) {
      throw new RangeError('not a threat-forest (format 1) model');
    }
    const version = str(json.version, 'version');
    const featureSpec = str(json.featureSpec, 'featureSpec');
    if (featureSpec !== FEATURE_SPEC) {
      throw new RangeError(`model ${version} uses features ${featureSpec}, this build has ${FEATURE_SPEC}`);
    }
    const classes = list(json.classes, 'classes').map((c) => {
      if (typeof c !== 'string' || !isThreatCategory(c)) throw new RangeError(`bad model class ${String(c)}`);
      return c;
    });
    if (classes.length === 0) throw new RangeError('model has no classes');
    if (typeof json.promoted !== 'boolean') throw new RangeError('promoted is not a boolean');
    const options = record(json.options, 'options');
    return new ForestClassifier({
      kind: 'threat-forest',
      formatVersion: 1,
      version,
      featureSpec,
      classes,
      trainedOn: num(json.trainedOn, 'trainedOn'),
      cvAccuracy: num(json.cvAccuracy, 'cvAccuracy'),
      rulesAccuracy: num(json.rulesAccuracy, 'rulesAccuracy'),
      promoted: json.promoted,
      options: {
        trees: num(options.trees, 'options.trees'),
        seed: num(options.seed, 'options.seed'),
        maxFeatures: num(options.maxFeatures, 'options.maxFeatures'),
        maxDepth: num(options.maxDepth, 'options.maxDepth'),
        minNumSamples: num(options.minNumSamples, 'options.minNumSamples'),
        maxSamplesPerTree: num(options.maxSamplesPerTree, 'options.maxSamplesPerTree'),
      },
      forest: parseRandomForestJson(json.forest),
    });
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
    return {
      category,
      confidence,
      anomalyScore: null,
      isAnomaly: false,
      method: 'MODEL',
      modelVersion: this.version,
    };
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
