import { numbers, record } from './json-guards.js';
import { randomInt, type Random } from './random.js';

/**
 * One isolation tree, grown and stored as parallel arrays (node 0 is the root; children
 * come after their parent; `feature[i] === -1` marks a leaf).
 */
export interface IsolationTreeJson {
  feature: number[];
  split: number[];
  left: number[];
  right: number[];
  /** Inner nodes: the split feature's min and max over the node's rows. */
  low: number[];
  high: number[];
  /** Inner nodes: how many features varied over the node's rows (the split was drawn among them). */
  varying: number[];
  /** For a leaf: depth + c(rows in leaf). 0 for inner nodes. */
  pathLength: number[];
  /** Features constant over the tree's whole subsample, and their value. */
  constantFeatures: number[];
  constantValues: number[];
}

const EULER_GAMMA = 0.5772156649015329;

/** Average path length of an unsuccessful binary-search-tree search over n rows: c(n). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** `size` distinct indices from [0, n), by Floyd's algorithm: O(size), whatever n is. */
export function subsample(n: number, size: number, random: Random): number[] {
  const chosen = new Set<number>();
  for (let j = n - size; j < n; j++) {
    const t = randomInt(random, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen];
}

export function growTree(
  sample: ArrayLike<number>[],
  featureCount: number,
  maxDepth: number,
  random: Random,
): IsolationTreeJson {
  const tree: IsolationTreeJson = {
    feature: [],
    split: [],
    left: [],
    right: [],
    low: [],
    high: [],
    varying: [],
    pathLength: [],
    constantFeatures: [],
    constantValues: [],
  };
  const mins = new Float64Array(featureCount);
  const maxs = new Float64Array(featureCount);
  const varying: number[] = [];

  const measure = (rows: ArrayLike<number>[]): void => {
    mins.fill(Infinity);
    maxs.fill(-Infinity);
    for (const row of rows) {
      for (let f = 0; f < featureCount; f++) {
        const v = row[f] ?? 0;
        if (v < (mins[f] ?? 0)) mins[f] = v;
        if (v > (maxs[f] ?? 0)) maxs[f] = v;
      }
    }
    varying.length = 0;
    for (let f = 0; f < featureCount; f++) if ((maxs[f] ?? 0) > (mins[f] ?? 0)) varying.push(f);
  };

  measure(sample);
  for (let f = 0; f < featureCount; f++) {
    if (mins[f] === maxs[f]) {
      tree.constantFeatures.push(f);
      tree.constantValues.push(mins[f] ?? 0);
    }
  }

  const grow = (rows: ArrayLike<number>[], depth: number): number => {
    const node = tree.feature.length;
    tree.feature.push(-1);
    tree.split.push(0);
    tree.left.push(0);
    tree.right.push(0);
    tree.low.push(0);
    tree.high.push(0);
    tree.varying.push(0);
    tree.pathLength.push(0);
    if (depth < maxDepth && rows.length > 1) measure(rows);
    else varying.length = 0;
    if (varying.length === 0) {
      tree.pathLength[node] = depth + averagePathLength(rows.length);
      return node;
    }
    // Read everything from the shared scratch arrays before recursing overwrites them.
    const f = varying[randomInt(random, varying.length)] ?? 0;
    const min = mins[f] ?? 0;
    const max = maxs[f] ?? 0;
    const value = min + random() * (max - min);
    tree.feature[node] = f;
    tree.split[node] = value;
    tree.low[node] = min;
    tree.high[node] = max;
    tree.varying[node] = varying.length;
    tree.left[node] = grow(
      rows.filter((row) => (row[f] ?? 0) < value),
      depth + 1,
    );
    tree.right[node] = grow(
      rows.filter((row) => (row[f] ?? 0) >= value),
      depth + 1,
    );
    return node;
  };
  grow(sample, 0);
  return tree;
}

export function parseTree(value: unknown, t: number): IsolationTreeJson {
  const tree = record(value, `tree ${t}`);
  const field = (name: keyof IsolationTreeJson): number[] => numbers(tree[name], `tree ${t} ${name}`);
  const parsed: IsolationTreeJson = {
    feature: field('feature'),
    split: field('split'),
    left: field('left'),
    right: field('right'),
    low: field('low'),
    high: field('high'),
    varying: field('varying'),
    pathLength: field('pathLength'),
    constantFeatures: field('constantFeatures'),
    constantValues: field('constantValues'),
  };
  const n = parsed.feature.length;
  const perNode = [
    parsed.split,
    parsed.left,
    parsed.right,
    parsed.low,
    parsed.high,
    parsed.varying,
    parsed.pathLength,
  ];
  if (n === 0 || perNode.some((a) => a.length !== n))
    throw new RangeError(`tree ${t} has arrays of different lengths`);
  if (parsed.constantFeatures.length !== parsed.constantValues.length) {
    throw new RangeError(`tree ${t} has mismatched constant features`);
  }
  // Children always come after their parent (pre-order), which also rules out cycles.
  parsed.feature.forEach((f, i) => {
    if (f < 0) return;
    const left = parsed.left[i] ?? 0;
    const right = parsed.right[i] ?? 0;
    if (!(left > i && left < n && right > i && right < n))
      throw new RangeError(`tree ${t} node ${i} has bad children`);
  });
  return parsed;
}
