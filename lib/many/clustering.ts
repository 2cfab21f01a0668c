/**
 * Clusters of "the same solution": average-linkage (UPGMA) agglomerative
 * clustering of the functional distance matrix (ml-hclust), cut at a
 * distance threshold. Average linkage makes a cluster's height the mean
 * distance between its members, so "all within threshold on average" is what
 * puts models together; the tree also draws the report's dendrogram.
 */
import { agnes, type Cluster } from 'ml-hclust';

import { check } from '../errors';
import { canonicalOrder, reorderMatrix } from './canonical-order';

export interface DendrogramMerge {
  /** Node ids: 0..N−1 are the models (leaves), N.. are merges in order. */
  left: number;
  right: number;
  height: number;
  size: number;
}

export interface Clustering {
  /** Cluster id per model; clusters are numbered 0.. by their lowest model index. */
  labels: number[];
  /** Members of each cluster (model indices, ascending). */
  clusters: number[][];
  threshold: number;
  /** Leaf order that draws the dendrogram without crossings (use it to order heatmaps). */
  order: number[];
  /** The N−1 merges, lowest first (scipy's linkage layout, with node ids). */
  merges: DendrogramMerge[];
}

/** Symmetrize (mean of D and Dᵀ) and check a row-major N×N distance matrix. */
export function symmetricDistances(d: ArrayLike<number>, n: number, name = 'distance matrix'): number[][] {
  check(d.length === n * n, 'SHAPE_MISMATCH', `${name} has ${d.length} entries, expected ${n}×${n}`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(n);
    for (let j = 0; j < n; j++) {
      const v = i === j ? 0 : (d[i * n + j] + d[j * n + i]) / 2;
      check(
        Number.isFinite(v) && v >= 0,
        'NON_FINITE',
        `${name}[${i}][${j}] is ${d[i * n + j]}; clustering and maps need finite, non-negative distances (use a bounded measure such as js, or epsilon smoothing for KL)`,
      );
      row[j] = v;
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Clusters `n` models from their row-major distance matrix `d`. With `keys`
 * (model names), the tree is built over the models sorted by name, so ties
 * between equal distances break the same way whatever order the models were
 * given in: the clusters are then the same sets of models.
 */
export function clusterModels(d: ArrayLike<number>, n: number, threshold: number, keys?: readonly string[]): Clustering {
  check(n >= 1, 'INVALID_ARGUMENT', 'clustering needs at least one model');
  check(Number.isFinite(threshold) && threshold >= 0, 'INVALID_ARGUMENT', `threshold must be a finite number >= 0, got ${threshold}`);
  check(!keys || keys.length === n, 'SHAPE_MISMATCH', `${keys?.length} model names for ${n} models`);
  symmetricDistances(d, n); // checks the input as given, so messages name the user's indices
  const canon = keys ? canonicalOrder(keys) : Array.from({ length: n }, (_, i) => i);
  const rows = symmetricDistances(reorderMatrix(d, n, canon), n);
  if (n === 1) return { labels: [0], clusters: [[0]], threshold, order: [0], merges: [] };
  const tree = agnes(rows, { method: 'average', isDistanceMatrix: true });
  // Cut: a subtree whose height is within the threshold is one solution.
  const groups: number[][] = [];
  const visit = (node: Cluster): void => {
    if (node.isLeaf || node.height <= threshold) groups.push(node.indices().map((i) => canon[i]).sort((a, b) => a - b));
    else for (const child of node.children) visit(child);
  };
  visit(tree);
  groups.sort((a, b) => a[0] - b[0]);
  const labels = new Array<number>(n).fill(-1);
  groups.forEach((g, c) => g.forEach((m) => (labels[m] = c)));
  return { labels, clusters: groups, threshold, order: tree.indices().map((i) => canon[i]), merges: mergesOf(tree, n, canon) };
}

function mergesOf(tree: Cluster, n: number, canon: number[]): DendrogramMerge[] {
  const internal: Cluster[] = [];
  tree.traverse((c) => {
    if (!c.isLeaf) internal.push(c);
  });
  // Children merge before parents: order by height, then size, for stable ids.
  internal.sort((a, b) => a.height - b.height || a.size - b.size);
  const ids = new Map<Cluster, number>();
  const idOf = (c: Cluster): number => (c.isLeaf ? canon[c.index] : (ids.get(c) as number));
  const merges: DendrogramMerge[] = [];
  for (const c of internal) {
    const [a, b] = c.children.map(idOf).sort((x, y) => x - y);
    merges.push({ left: a, right: b, height: c.height, size: c.size });
    ids.set(c, n + merges.length - 1);
  }
  return merges;
}
