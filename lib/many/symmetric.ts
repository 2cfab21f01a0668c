/**
 * One weight distance per pair from a possibly asymmetric matrix (aligned is
 * measured in the first model's frame): (w[i][j] + w[j][i]) / 2. Used where a
 * pair needs one number — correlations, plots, pair records.
 */
export function symmetricWeights(w: number[][]): number[][] {
  // Equal entries are returned as they are, so symmetric matrices come back bit for bit.
  return w.map((row, i) => row.map((v, j) => (v === w[j][i] ? v : (v + w[j][i]) / 2)));
}
