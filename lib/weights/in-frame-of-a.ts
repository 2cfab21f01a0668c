/**
 * The aligned distance in A's own frame (`alignment.inFrameOfA`): A as stored against B moved
 * into A's frame (as `--write-aligned` writes it), in the parameterization raw is measured in,
 * so the two can be set side by side. Each stored tensor is counted once, as raw counts it: the
 * networks hold one copy per use of an initializer several layers read (an exporter's merged
 * all-ones norm scale, or TorchScript's Identity of an equal constant), and counting every copy
 * weighed those several times (a fresh GPT-2's relative distance came out at half of raw's
 * counting).
 */
import { graphOf } from '../io/onnx';
import type { PreparedNetwork } from './aligned';
import { networkPairs } from './architecture';
import { weightDistances } from './distance';
import type { Network } from './network';
import { denormalizeNetwork } from './symmetry';

/**
 * A's normalized network is A's own here (a two-model workflow consumes its prepared models)
 * and no longer needed, so A's normalization is undone in place instead of building A again.
 */
export function distanceInFrameOfA(pa: PreparedNetwork, bInFrameOfA: Network): { l2: number; relative: number; cosine: number } {
  const a = pa.normalized;
  denormalizeNetwork(a, pa.factors);
  const stored = storedName(a);
  const seen = new Set<string>();
  const once = networkPairs(a, bInFrameOfA).filter((p) => {
    const key = stored(p.name);
    return !seen.has(key) && seen.add(key);
  });
  const { l2, relative, cosine } = weightDistances(once);
  return { l2, relative, cosine };
}

/** A pair's name ("w", "w[0:16]", "w:bias") with `w` followed back through Identity nodes to the initializer it reads. */
function storedName(net: Network): (name: string) => string {
  const identity = new Map<string, string>();
  for (const node of graphOf(net.model).node) {
    if (node.opType === 'Identity' && node.input?.[0] && node.output?.[0]) identity.set(node.output[0], node.input[0]);
  }
  return (name) => {
    const m = /^(.*?)((?:\[[^\]]*\])?(?::bias)?)$/.exec(name)!;
    let base = m[1];
    for (let hops = 0; identity.has(base) && hops < identity.size; hops++) base = identity.get(base)!;
    return base + m[2];
  };
}
