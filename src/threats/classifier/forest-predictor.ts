import type { CartNodeJson, RandomForestJson } from './ml-random-forest.js';

/**
 * A random forest from `ml-random-forest` JSON, flattened into typed arrays so that one
 * prediction is a few array walks with no allocation.
 *
 * It reproduces the library's decisions exactly (a test checks this): a tree sends a row
 * left when `row[column] < splitValue`; a leaf predicts the first class with the highest
 * probability in its distribution; the forest takes the mode of the trees' votes, where
 * on a tie the class that reached the winning count first, in tree order, wins.
 */
export interface ForestVote {
  /** Index of the winning class label. */
  label: number;
  /** Share of trees that voted for it. */
  share: number;
}

/** Link table layout per node: [feature (-1 for a leaf), left node, right node, leaf label]. */
const STRIDE = 4;

export class ForestPredictor {
  // A node's fields side by side, so a visit touches one cache line; integers in an
  // Int32Array (a float index would send typed-array loads down a slow path).
  private readonly links: Int32Array;
  private readonly splits: Float64Array;
  private readonly roots: Int32Array;
  private readonly votes: Int32Array;

  constructor(json: RandomForestJson, labelCount: number, featureCount: number) {
    const nodes: { feature: number; split: number; left: number; right: number; label: number }[] = [];
    const { indexes, estimators } = json.baseModel;
    this.roots = new Int32Array(estimators.length);
    estimators.forEach((tree, t) => {
      const columns = indexes[t] ?? [];
      this.roots[t] = flatten(tree.root, columns, nodes, labelCount, featureCount);
    });
    this.links = new Int32Array(nodes.length * STRIDE);
    nodes.forEach((n, i) => this.links.set([n.feature, n.left, n.right, n.label], i * STRIDE));
    this.splits = Float64Array.from(nodes, (n) => n.split);
    this.votes = new Int32Array(labelCount);
  }

  predict(row: ArrayLike<number>): ForestVote {
    const { links, splits, roots, votes } = this;
    votes.fill(0);
    let best = 0;
    let bestCount = 0;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t] ?? 0;
      let f = links[node * STRIDE] ?? -1;
      while (f >= 0) {
        node = links[node * STRIDE + ((row[f] ?? 0) < (splits[node] ?? 0) ? 1 : 2)] ?? 0;
        f = links[node * STRIDE] ?? -1;
      }
      const label = links[node * STRIDE + 3] ?? 0;
      const count = (votes[label] ?? 0) + 1;
      votes[label] = count;
      if (count > bestCount) {
        bestCount = count;
        best = label;
      }
    }
    return { label: best, share: roots.length === 0 ? 0 : bestCount / roots.length };
  }
}

type FlatNode = { feature: number; split: number; left: number; right: number; label: number };

function flatten(
  node: CartNodeJson,
  columns: readonly number[],
  nodes: FlatNode[],
  labelCount: number,
  featureCount: number,
): number {
  const index = nodes.length;
  const flat: FlatNode = { feature: -1, split: 0, left: 0, right: 0, label: 0 };
  nodes.push(flat);
  if (node.distribution !== undefined) {
    flat.label = argmax(node.distribution[0] ?? []);
    if (flat.label >= labelCount) throw new RangeError(`leaf predicts unknown label ${flat.label}`);
    return index;
  }
  const feature = columns[node.splitColumn ?? -1];
  if (
    feature === undefined ||
    feature >= featureCount ||
    node.left === undefined ||
    node.right === undefined
  ) {
    throw new RangeError('random forest node splits on a column outside the feature vector');
  }
  flat.feature = feature;
  flat.split = node.splitValue ?? 0;
  flat.left = flatten(node.left, columns, nodes, labelCount, featureCount);
  flat.right = flatten(node.right, columns, nodes, labelCount, featureCount);
  return index;
}

/** First index of the maximum, as ml-matrix's maxRowIndex. */
function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}
