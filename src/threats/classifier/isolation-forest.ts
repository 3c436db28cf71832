import { list, num, record } from './json-guards.js';
import {
  averagePathLength,
  growTree,
  parseTree,
  subsample,
  type IsolationTreeJson,
} from './isolation-tree.js';
import { seededRandom } from './random.js';

/**
 * Isolation forest (Liu, Ting & Zhou, 2008) over numeric rows.
 *
 * Written here rather than taken from npm: the packages found (`ml-isolation-forest`
 * 0.1.0, `isolation-forest` 0.0.9) are single early releases without seeding or a
 * documented serialised form, and both are needed (deterministic tests; the model is
 * stored as JSON in PostgreSQL so every instance scores alike).
 *
 * Growing is the standard algorithm: each tree is grown on a random subsample of
 * `sampleSize` rows (256) without replacement, splitting on a random feature (among those
 * that vary in the node) at a uniform random value between its min and max in the node,
 * down to depth ceil(log2(sampleSize)). Score = 2^(-mean path length / c(sampleSize)),
 * in (0, 1]: about 0.5 or less is ordinary, close to 1 is easy to isolate.
 *
 * Scoring adds one thing to the standard path length, for values the subsample never
 * showed. Plain scoring sends a value beyond a node's range towards the nearest extreme,
 * so a port or severity far outside all training traffic scores like the most extreme
 * training rows, and a feature that was constant in the subsample (say, every event
 * public, TCP) carries no signal at all. Here each node on the path isolates the row with
 * the probability it would have had, had the row been in the node's rows:
 *  - out of the split feature's range [low, high] by `gap`: the split value, drawn over
 *    the widened range, falls in the gap with probability gap / (widened range);
 *  - differing from d of the tree's constant features: the node would have drawn one of
 *    them (and isolated the row) with probability d / (varying + d).
 * The path length is the expectation over these events: sum of P(isolated at depth k)·(k+1)
 * plus the remaining probability times the leaf's path length. A row inside every range
 * and matching every constant gets exactly the standard path length.
 */
export interface IsolationForestOptions {
  /**
   * Number of trees (default 50). The paper uses 100 and notes path lengths converge well
   * before; each tree costs a walk of ~8 dependent loads per scored event on the ingest
   * path, so 50 halves that cost for a small loss in score stability.
   */
  trees?: number;
  /** Rows per tree (default 256, as in the paper). */
  sampleSize?: number;
  seed?: number;
}

export interface IsolationForestJson {
  kind: 'isolation-forest';
  formatVersion: 1;
  featureCount: number;
  sampleSize: number;
  trees: IsolationTreeJson[];
}

export { averagePathLength };

export const DEFAULT_TREES = 50;

// Node tables: each node's fields side by side, so a visit touches one cache line per
// table. Links and features are integers in an Int32Array (a float index would send typed
// array loads down a slow path); the thresholds and lengths are doubles.
const LINK_STRIDE = 3; // feature (-1 for a leaf), left node, right node
const VALUE_STRIDE = 5; // split, low, high, varying, path length

export class IsolationForest {
  private readonly links: Int32Array;
  private readonly values: Float64Array;
  private readonly roots: Int32Array;
  private readonly trees: readonly { features: Int32Array; values: Float64Array }[];
  private readonly normaliser: number;

  private constructor(private readonly json: IsolationForestJson) {
    const total = json.trees.reduce((sum, tree) => sum + tree.feature.length, 0);
    const links = new Int32Array(total * LINK_STRIDE);
    const values = new Float64Array(total * VALUE_STRIDE);
    this.roots = new Int32Array(json.trees.length);
    let base = 0;
    json.trees.forEach((tree, t) => {
      this.roots[t] = base;
      for (let i = 0; i < tree.feature.length; i++) {
        const feature = tree.feature[i] ?? -1;
        if (feature >= json.featureCount) throw new RangeError(`tree ${t} splits on feature ${feature}`);
        const node = base + i;
        links.set([feature, base + (tree.left[i] ?? 0), base + (tree.right[i] ?? 0)], node * LINK_STRIDE);
        values.set(
          [
            tree.split[i] ?? 0,
            tree.low[i] ?? 0,
            tree.high[i] ?? 0,
            tree.varying[i] ?? 1,
            tree.pathLength[i] ?? 0,
          ],
          node * VALUE_STRIDE,
        );
      }
      base += tree.feature.length;
    });
    this.links = links;
    this.values = values;
    this.trees = json.trees.map((tree) => ({
      features: Int32Array.from(tree.constantFeatures),
      values: Float64Array.from(tree.constantValues),
    }));
    this.normaliser = averagePathLength(json.sampleSize);
  }

  static fit(rows: readonly ArrayLike<number>[], options: IsolationForestOptions = {}): IsolationForest {
    const first = rows[0];
    if (first === undefined) throw new RangeError('isolation forest needs at least one row');
    const featureCount = first.length;
    const sampleSize = Math.min(options.sampleSize ?? 256, rows.length);
    const random = seededRandom(options.seed ?? 1);
    const maxDepth = Math.ceil(Math.log2(Math.max(sampleSize, 2)));
    const trees: IsolationTreeJson[] = [];
    for (let t = 0; t < (options.trees ?? DEFAULT_TREES); t++) {
      const sample = subsample(rows.length, sampleSize, random).map((i) => rows[i] as ArrayLike<number>);
      trees.push(growTree(sample, featureCount, maxDepth, random));
    }
    return new IsolationForest({
      kind: 'isolation-forest',
      formatVersion: 1,
      featureCount,
      sampleSize,
      trees,
    });
  }

  /** Loads what toJSON produced; validates the shape (a corrupt tree must not loop). */
  static fromJSON(value: unknown): IsolationForest {
    const json = record(value, 'isolation forest');
    if (json.kind !== 'isolation-forest' || json.formatVersion !== 1) {
      throw new RangeError('not an isolation forest (format 1) model');
    }
    return new IsolationForest({
      kind: 'isolation-forest',
      formatVersion: 1,
      featureCount: num(json.featureCount, 'featureCount'),
      sampleSize: num(json.sampleSize, 'sampleSize'),
      trees: list(json.trees, 'trees').map(parseTree),
    });
  }

  get featureCount(): number {
    return this.json.featureCount;
  }

  /** Anomaly score in (0, 1] of one row (only its first `featureCount` values are read). */
  score(row: ArrayLike<number>): number {
    if (this.normaliser === 0) return 0.5; // one-row training set: nothing to compare with
    let total = 0;
    for (let t = 0; t < this.roots.length; t++) total += this.pathLengthIn(t, row);
    return Math.pow(2, -total / this.roots.length / this.normaliser);
  }

  /** Expected path length of `row` in tree t (see the class comment). */
  private pathLengthIn(t: number, row: ArrayLike<number>): number {
    const { links, values } = this;
    const constants = this.trees[t];
    let differing = 0;
    if (constants !== undefined) {
      for (let k = 0; k < constants.features.length; k++) {
        if ((row[constants.features[k] ?? 0] ?? 0) !== constants.values[k]) differing++;
      }
    }
    let node = this.roots[t] ?? 0;
    let remaining = 1; // probability that the row is not isolated yet
    let expected = 0;
    let depth = 0;
    let f = links[node * LINK_STRIDE] ?? -1;
    while (f >= 0) {
      const v = row[f] ?? 0;
      const at = node * VALUE_STRIDE;
      const lo = values[at + 1] ?? 0;
      const hi = values[at + 2] ?? 0;
      if (differing > 0 || v < lo || v > hi) {
        const outside = v < lo ? (lo - v) / (hi - v) : v > hi ? (v - hi) / (v - lo) : 0;
        const other = differing / ((values[at + 3] ?? 1) + differing);
        const isolated = other + (1 - other) * outside;
        expected += remaining * isolated * (depth + 1);
        remaining *= 1 - isolated;
      }
      node = links[node * LINK_STRIDE + (v < (values[at] ?? 0) ? 1 : 2)] ?? 0;
      depth++;
      f = links[node * LINK_STRIDE] ?? -1;
    }
    return expected + remaining * (values[node * VALUE_STRIDE + 4] ?? 0);
  }

  toJSON(): IsolationForestJson {
    return this.json;
  }
}
