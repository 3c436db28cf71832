import { encodeNumeric, FEATURE_SPEC, NUMERIC_FEATURE_COUNT } from './features.js';
import {
  IsolationForest,
  type IsolationForestJson,
  type IsolationForestOptions,
} from './isolation-forest.js';
import { num, record, str } from './json-guards.js';
import { ScoreMemo } from './score-memo.js';
import type { ClassifierInput } from './types.js';

/**
 * Anomaly detection for events: an isolation forest over the numeric features
 * (features.ts) plus the threshold that turns its score into `isAnomaly`.
 *
 * Threshold: the (1 - contamination) quantile of the training events' own scores, but
 * never below MIN_ANOMALY_THRESHOLD. With the default contamination of 1 %, about one
 * event in a hundred that looks like the recent traffic the model was fitted on is
 * flagged, and the floor keeps ordinary traffic (scores around 0.5 and below, by the
 * construction of the score) from being flagged when the training data is very uniform.
 */
export const DEFAULT_CONTAMINATION = 0.01;
export const MIN_ANOMALY_THRESHOLD = 0.6;

export interface AnomalyDetectorOptions extends IsolationForestOptions {
  /** Expected share of anomalies in the training events, in [0, 0.5]. */
  contamination?: number;
}

export interface AnomalyDetectorJson {
  kind: 'anomaly-detector';
  formatVersion: 1;
  featureSpec: string;
  threshold: number;
  trainedOn: number;
  forest: IsolationForestJson;
}

export interface AnomalyResult {
  anomalyScore: number;
  isAnomaly: boolean;
}

export class AnomalyDetector {
  private readonly scratch = new Float64Array(NUMERIC_FEATURE_COUNT);
  /** Scores of recently seen vectors (see score-memo.ts); one per model, so a refit starts empty. */
  readonly memo = new ScoreMemo(NUMERIC_FEATURE_COUNT);
  private readonly scoreRow = (row: ArrayLike<number>) => this.forest.score(row);

  private constructor(
    private readonly forest: IsolationForest,
    readonly threshold: number,
    readonly trainedOn: number,
  ) {}

  static fit(events: readonly ClassifierInput[], options: AnomalyDetectorOptions = {}): AnomalyDetector {
    const contamination = options.contamination ?? DEFAULT_CONTAMINATION;
    if (!(contamination >= 0 && contamination <= 0.5))
      throw new RangeError('contamination must be in [0, 0.5]');
    const rows = events.map((event) => {
      const row = new Float64Array(NUMERIC_FEATURE_COUNT);
      encodeNumeric(event, row);
      return row;
    });
    const forest = IsolationForest.fit(rows, options);
    const scores = rows.map((row) => forest.score(row)).sort((a, b) => a - b);
    const index = Math.min(scores.length - 1, Math.floor((1 - contamination) * scores.length));
    const threshold = Math.max(MIN_ANOMALY_THRESHOLD, scores[index] ?? MIN_ANOMALY_THRESHOLD);
    return new AnomalyDetector(forest, threshold, events.length);
  }

  /** Loads what toJSON produced (e.g. read back from a JSON column); validates the shape. */
  static fromJSON(value: unknown): AnomalyDetector {
    const json = record(value, 'anomaly model');
    if (json.kind !== 'anomaly-detector' || json.formatVersion !== 1) {
      throw new RangeError('not an anomaly detector (format 1) model');
    }
    const featureSpec = str(json.featureSpec, 'featureSpec');
    if (featureSpec !== FEATURE_SPEC) {
      throw new RangeError(`anomaly model uses features ${featureSpec}, this build has ${FEATURE_SPEC}`);
    }
    const forest = IsolationForest.fromJSON(json.forest);
    if (forest.featureCount !== NUMERIC_FEATURE_COUNT)
      throw new RangeError('anomaly model has the wrong feature count');
    return new AnomalyDetector(forest, num(json.threshold, 'threshold'), num(json.trainedOn, 'trainedOn'));
  }

  score(event: ClassifierInput): AnomalyResult {
    encodeNumeric(event, this.scratch);
    return this.scoreFeatures(this.scratch);
  }

  /** Scores an already encoded vector whose first NUMERIC_FEATURE_COUNT values are the numeric features. */
  scoreFeatures(features: ArrayLike<number>): AnomalyResult {
    const anomalyScore = this.memo.score(features, this.scoreRow);
    return { anomalyScore, isAnomaly: anomalyScore >= this.threshold };
  }

  toJSON(): AnomalyDetectorJson {
    return {
      kind: 'anomaly-detector',
      formatVersion: 1,
      featureSpec: FEATURE_SPEC,
      threshold: this.threshold,
      trainedOn: this.trainedOn,
      forest: this.forest.toJSON(),
    };
  }
}
