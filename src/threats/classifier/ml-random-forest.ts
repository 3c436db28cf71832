import { RandomForestClassifier } from 'ml-random-forest';

import { isRecord, numbers } from './json-guards.js';
import { randomInt, seededRandom } from './random.js';

/**
 * The only file that touches `ml-random-forest` (and, through it, `ml-cart`): training,
 * plus a typed, validated view of the JSON it exports, which is what we persist.
 *
 * We predict with our own compiled walker (forest-predictor.ts) instead of the library's
 * `predict`, which builds matrix views per call and costs tens of microseconds per row;
 * the stored form stays the library's, so `RandomForestClassifier.load` can read it too.
 */

/** A node of an `ml-cart` classification tree, as exported. Leaves carry `distribution`. */
export interface CartNodeJson {
  splitColumn?: number;
  splitValue?: number;
  left?: CartNodeJson;
  right?: CartNodeJson;
  /** One row of class probabilities, indexed by label. */
  distribution?: number[][];
}

export interface CartTreeJson {
  name: 'DTClassifier';
  options: Record<string, unknown>;
  root: CartNodeJson;
}

export interface RandomForestJson {
  name: 'RFClassifier';
  baseModel: {
    /** Per tree: the columns of the full vector it was trained on (its column i = vector[indexes[i]]). */
    indexes: number[][];
    estimators: CartTreeJson[];
    [key: string]: unknown;
  };
}

export interface RandomForestTrainOptions {
  trees: number;
  seed: number;
  /** Share (0, 1] of the feature columns each tree sees; drawn once per tree by the library. */
  maxFeatures: number;
  maxDepth: number;
  /** Nodes with this many rows or fewer become leaves. */
  minNumSamples: number;
  /** Bootstrap size per tree (capped at the number of rows); bounds training time. */
  maxSamplesPerTree: number;
}

/**
 * Trains one `ml-random-forest` model of `options.trees` trees.
 *
 * Bagging is done here, not by the library: each tree is a one-tree library forest fitted
 * on our bootstrap sample, and the trees are merged into one library model (the JSON
 * shape of a many-tree forest, so `RandomForestClassifier.load` reads it). The reason is
 * training time, which `ml-cart` makes roughly quadratic in the rows of a tree:
 * - it tries a split wherever the label changes along a feature's (stably) sorted
 *   values; rows in the library's shuffled bootstrap order make nearly every position
 *   qualify on our many-ties features (word flags, ports). Rows sorted by label leave at
 *   most one change per label inside each run of equal values: the same candidate
 *   partitions without the duplicates.
 * - its class count scans for each label's first occurrence, so one row of each label is
 *   put first.
 * - each tree sees at most `maxSamplesPerTree` rows (a bootstrap of that size), which
 *   bounds the cost per tree whatever the number of labels.
 * Measured here (76 features, 10 classes, maxFeatures 0.4): per tree 700 ms for 256 rows
 * in library order, 110 ms with this ordering; 512 rows take 5 s vs 0.55 s.
 */
export function trainRandomForest(
  rows: readonly number[][],
  labels: readonly number[],
  options: RandomForestTrainOptions,
): RandomForestJson {
  if (rows.length === 0 || rows.length !== labels.length)
    throw new RangeError('need rows with one label each');
  const random = seededRandom(options.seed);
  const indexes: unknown[] = [];
  const estimators: unknown[] = [];
  let firstBase: Record<string, unknown> = {};
  for (let t = 0; t < options.trees; t++) {
    const size = Math.min(rows.length, options.maxSamplesPerTree);
    const sample = trainingOrder(
      Array.from({ length: size }, () => randomInt(random, rows.length)),
      labels,
    );
    const tree = new RandomForestClassifier({
      nEstimators: 1,
      // The library's feature bagging takes an int32 seed; derive one per tree.
      seed: randomInt(random, 0x7fffffff),
      maxFeatures: options.maxFeatures,
      replacement: false,
      useSampleBagging: false,
      noOOB: true,
      treeOptions: { maxDepth: options.maxDepth, minNumSamples: options.minNumSamples },
    });
    tree.train(
      sample.map((i) => rows[i] ?? []),
      sample.map((i) => labels[i] ?? 0),
    );
    const json: unknown = JSON.parse(JSON.stringify(tree.toJSON()));
    const base = isRecord(json) && isRecord(json.baseModel) ? json.baseModel : {};
    if (t === 0) firstBase = base;
    indexes.push(Array.isArray(base.indexes) ? base.indexes[0] : undefined);
    estimators.push(Array.isArray(base.estimators) ? base.estimators[0] : undefined);
  }
  return parseRandomForestJson({
    name: 'RFClassifier',
    baseModel: {
      ...firstBase,
      nEstimators: options.trees,
      seed: options.seed,
      useSampleBagging: true,
      indexes,
      estimators,
    },
  });
}

/** Row indices sorted by label, with the first row of each label moved to the front. */
function trainingOrder(sample: number[], labels: readonly number[]): number[] {
  sample.sort((a, b) => (labels[a] ?? 0) - (labels[b] ?? 0) || a - b);
  const front: number[] = [];
  const rest: number[] = [];
  sample.forEach((row, i) => {
    const startsRun = i === 0 || labels[sample[i - 1] ?? -1] !== labels[row];
    (startsRun ? front : rest).push(row);
  });
  return [...front, ...rest];
}

/** The library's own prediction, for tests that check our compiled walker against it. */
export function libraryPredict(json: RandomForestJson, rows: number[][]): number[] {
  // The library's typings list the training options as required model fields; at run time
  // `load` reads what toJSON wrote, which parseRandomForestJson keeps (`...rest`).
  type LibraryModel = Parameters<typeof RandomForestClassifier.load>[0];
  const loaded = RandomForestClassifier.load(structuredClone(json) as unknown as LibraryModel);
  return loaded.predict(rows);
}

/**
 * Checks the shape of stored JSON and drops what prediction does not need (every
 * `ml-cart` node repeats the tree options and its gain; that is most of the size).
 */
export function parseRandomForestJson(value: unknown): RandomForestJson {
  if (!isRecord(value) || value.name !== 'RFClassifier' || !isRecord(value.baseModel)) {
    throw new RangeError('not an ml-random-forest classifier');
  }
  const { indexes, estimators, ...rest } = value.baseModel;
  if (!Array.isArray(indexes) || !Array.isArray(estimators) || indexes.length !== estimators.length) {
    throw new RangeError('random forest has no trees or mismatched column indexes');
  }
  return {
    name: 'RFClassifier',
    baseModel: {
      ...rest,
      indexes: indexes.map((columns) => numbers(columns, 'indexes')),
      estimators: estimators.map((tree) => {
        if (!isRecord(tree) || tree.name !== 'DTClassifier' || !isRecord(tree.options)) {
          throw new RangeError('random forest tree is not an ml-cart classifier');
        }
        return { name: 'DTClassifier', options: tree.options, root: parseNode(tree.root, 0) };
      }),
    },
  };
}

const MAX_TREE_DEPTH = 200;

function parseNode(value: unknown, depth: number): CartNodeJson {
  if (!isRecord(value) || depth > MAX_TREE_DEPTH) throw new RangeError('bad random forest tree node');
  if (value.distribution !== undefined && value.distribution !== null) {
    if (!Array.isArray(value.distribution)) throw new RangeError('bad leaf distribution');
    return { distribution: value.distribution.map((row) => numbers(row, 'distribution')) };
  }
  const { splitColumn, splitValue } = value;
  if (typeof splitColumn !== 'number' || typeof splitValue !== 'number') {
    throw new RangeError('random forest node has neither a split nor a distribution');
  }
  return {
    splitColumn,
    splitValue,
    left: parseNode(value.left, depth + 1),
    right: parseNode(value.right, depth + 1),
  };
}
