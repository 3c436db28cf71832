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

export class ForestPredictor {
  private readonly feature: Int32Array;
  private readonly split: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly leafLabel: Int32Array;
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
    this.feature = Int32Array.from(nodes, (n) => n.feature);
    this.split = Float64Array.from(nodes, (n) => n.split);
    this.left = Int32Array.from(nodes, (n) => n.left);
    this.right = Int32Array.from(nodes, (n) => n.right);
    this.leafLabel = Int32Array.from(nodes, (n) => n.label);
    this.votes = new Int32Array(labelCount);
  }

  predict(row: ArrayLike<number>): ForestVote {
    const { feature, split, left, right, leafLabel, roots, votes } = this;
    votes.fill(0);
    let best = 0;
    let bestCount = 0;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t] ?? 0;
      let f = feature[node] ?? -1;
      while (f >= 0) {
        node = (row[f] ?? 0) < (split[node] ?? 0) ? (left[node] ?? 0) : (right[node] ?? 0);
        f = feature[node] ?? -1;
      }
      const label = leafLabel[node] ?? 0;
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
