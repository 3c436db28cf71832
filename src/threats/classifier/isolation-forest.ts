import { randomInt, seededRandom, type Random } from './random.js';

/**
 * Isolation forest (Liu, Ting & Zhou, 2008) over numeric rows.
 *
 * Written here rather than taken from npm: the packages found (`ml-isolation-forest`
 * 0.1.0, `isolation-forest` 0.0.9) are single early releases without seeding or a
 * documented serialised form, and both are needed (deterministic tests; the model is
 * stored as JSON in PostgreSQL so every instance scores alike).
 *
 * Standard algorithm: each tree is grown on a random subsample of `sampleSize` rows
 * (256) without replacement, splitting on a random feature at a uniform random value
 * between that feature's min and max in the node, down to depth ceil(log2(sampleSize)).
 * A row's path length is the depth of the leaf it reaches plus c(leaf size) for the rows
 * the depth limit left unseparated; score = 2^(-mean path / c(sampleSize)), in (0, 1):
 * about 0.5 or less is ordinary, close to 1 is easy to isolate, i.e. anomalous.
 *
 * Only features that vary inside a node are candidates for its split, so constant
 * columns (a field a sensor never sends) cost nothing and do not shorten paths.
 */
export interface IsolationForestOptions {
  /** Number of trees (default 100, as in the paper). */
  trees?: number;
  /** Rows per tree (default 256, as in the paper). */
  sampleSize?: number;
  seed?: number;
}

/** One tree as parallel arrays; node 0 is the root, `feature[i] === -1` marks a leaf. */
export interface IsolationTreeJson {
  feature: number[];
  split: number[];
  left: number[];
  right: number[];
  /** For a leaf: depth + c(rows in leaf). 0 for inner nodes. */
  pathLength: number[];
}

export interface IsolationForestJson {
  kind: 'isolation-forest';
  formatVersion: 1;
  featureCount: number;
  sampleSize: number;
  trees: IsolationTreeJson[];
}

const EULER_GAMMA = 0.5772156649015329;

/** Average path length of an unsuccessful binary-search-tree search over n rows. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

export class IsolationForest {
  // All trees flattened into shared typed arrays: scoring walks these without allocating.
  private readonly feature: Int32Array;
  private readonly split: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly pathLength: Float64Array;
  private readonly roots: Int32Array;
  private readonly normaliser: number;

  private constructor(private readonly json: IsolationForestJson) {
    const total = json.trees.reduce((sum, tree) => sum + tree.feature.length, 0);
    this.feature = new Int32Array(total);
    this.split = new Float64Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.pathLength = new Float64Array(total);
    this.roots = new Int32Array(json.trees.length);
    let base = 0;
    json.trees.forEach((tree, t) => {
      this.roots[t] = base;
      for (let i = 0; i < tree.feature.length; i++) {
        const feature = tree.feature[i] ?? -1;
        this.feature[base + i] = feature;
        this.split[base + i] = tree.split[i] ?? 0;
        this.left[base + i] = base + (tree.left[i] ?? 0);
        this.right[base + i] = base + (tree.right[i] ?? 0);
        this.pathLength[base + i] = tree.pathLength[i] ?? 0;
        if (feature >= json.featureCount) throw new RangeError(`tree ${t} splits on feature ${feature}`);
      }
      base += tree.feature.length;
    });
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
    for (let t = 0; t < (options.trees ?? 100); t++) {
      const sample = subsample(rows.length, sampleSize, random).map((i) => rows[i] as ArrayLike<number>);
      trees.push(growTree(sample, featureCount, maxDepth, random));
    }
    return new IsolationForest({ kind: 'isolation-forest', formatVersion: 1, featureCount, sampleSize, trees });
  }

  static fromJSON(json: IsolationForestJson): IsolationForest {
    if (json.kind !== 'isolation-forest' || json.formatVersion !== 1) {
      throw new RangeError('not an isolation forest (format 1) model');
    }
    return new IsolationForest(json);
  }

  get featureCount(): number {
    return this.json.featureCount;
  }

  /** Anomaly score in (0, 1] of one row (only its first `featureCount` values are read). */
  score(row: ArrayLike<number>): number {
    const { feature, split, left, right, pathLength, roots } = this;
    let total = 0;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t] ?? 0;
      let f = feature[node] ?? -1;
      while (f >= 0) {
        node = (row[f] ?? 0) < (split[node] ?? 0) ? (left[node] ?? 0) : (right[node] ?? 0);
        f = feature[node] ?? -1;
      }
      total += pathLength[node] ?? 0;
    }
    if (this.normaliser === 0) return 0.5; // one-row training set: nothing to compare with
    return Math.pow(2, -total / roots.length / this.normaliser);
  }

  toJSON(): IsolationForestJson {
    return this.json;
  }
}

/** `size` distinct indices from [0, n), by Floyd's algorithm: O(size), whatever n is. */
function subsample(n: number, size: number, random: Random): number[] {
  const chosen = new Set<number>();
  for (let j = n - size; j < n; j++) {
    const t = randomInt(random, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen];
}

function growTree(
  sample: ArrayLike<number>[],
  featureCount: number,
  maxDepth: number,
  random: Random,
): IsolationTreeJson {
  const tree: IsolationTreeJson = { feature: [], split: [], left: [], right: [], pathLength: [] };
  const addNode = (): number => {
    tree.feature.push(-1);
    tree.split.push(0);
    tree.left.push(0);
    tree.right.push(0);
    tree.pathLength.push(0);
    return tree.feature.length - 1;
  };
  const mins = new Float64Array(featureCount);
  const maxs = new Float64Array(featureCount);
  const varying: number[] = [];

  const grow = (rows: ArrayLike<number>[], depth: number): number => {
    const node = addNode();
    varying.length = 0;
    if (depth < maxDepth && rows.length > 1) {
      mins.fill(Infinity);
      maxs.fill(-Infinity);
      for (const row of rows) {
        for (let f = 0; f < featureCount; f++) {
          const v = row[f] ?? 0;
          if (v < (mins[f] ?? 0)) mins[f] = v;
          if (v > (maxs[f] ?? 0)) maxs[f] = v;
        }
      }
      for (let f = 0; f < featureCount; f++) if ((maxs[f] ?? 0) > (mins[f] ?? 0)) varying.push(f);
    }
    if (varying.length === 0) {
      tree.pathLength[node] = depth + averagePathLength(rows.length);
      return node;
    }
    const f = varying[randomInt(random, varying.length)] ?? 0;
    const min = mins[f] ?? 0;
    const value = min + random() * ((maxs[f] ?? 0) - min);
    const lesser = rows.filter((row) => (row[f] ?? 0) < value);
    const greater = rows.filter((row) => (row[f] ?? 0) >= value);
    tree.feature[node] = f;
    tree.split[node] = value;
    tree.left[node] = grow(lesser, depth + 1);
    tree.right[node] = grow(greater, depth + 1);
    return node;
  };
  grow(sample, 0);
  return tree;
}
