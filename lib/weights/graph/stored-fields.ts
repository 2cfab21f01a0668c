/** The Layer fields that say where a layer's weight and bias are stored, for every reader of a weight. */
import type { Layer } from '../network';
import type { GraphWalker } from './walker';

/** What a reader knows of a weight it read (a LayerRead has all of it). */
export interface StoredWeight {
  op: Layer['op'];
  /** The weight's stored dims. */
  dims: number[];
  weightDtype: number;
  biasName?: string;
  biasDtype?: number;
  addNode?: number;
}

/**
 * Where a layer read at node `index` from the weight `weightName` keeps its weight and bias in
 * the model (names, dtypes, whether a shared initializer gets its own copy).
 */
export function storedFields(w: GraphWalker, index: number, weightName: string, p: StoredWeight) {
  return {
    name: weightName,
    op: p.op,
    node: index,
    addNode: p.addNode,
    weightName: w.ownName(weightName),
    ownWeight: w.sharedParams.has(weightName) || undefined,
    ownBias: (p.biasName !== undefined && w.sharedParams.has(p.biasName)) || undefined,
    biasName: p.biasName,
    weightDtype: p.weightDtype,
    biasDtype: p.biasDtype,
    weightDims: p.dims,
  } satisfies Partial<Layer>;
}
