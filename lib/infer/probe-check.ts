/**
 * Probe data faults caught before a batch reaches a model, where onnxruntime would report them
 * as the model's (a NaN output, or a broadcast failure deep in an attention node):
 * - NaN or ±Infinity in float inputs ("mlp.onnx: output logits is NaN at sample 17" would blame
 *   the model for the data's fault);
 * - a language model's per-token inputs (attention_mask, token_type_ids, position_ids) whose
 *   shape is not that of input_ids.
 */
import { ModeldiffError } from '../errors';
import type { ProbeLayout } from '../io/probe';
import { type Tensor, elementCount, formatShape } from '../io/tensor';
import { firstNonFinite } from '../util/finite';

/** Inputs that hold one value per token of input_ids (Hugging Face's names). */
const PER_TOKEN_INPUTS = ['attention_mask', 'token_type_ids', 'position_ids'];

/** Throws SHAPE_MISMATCH naming the file and tensor when a per-token input's shape differs from input_ids'. */
export function checkTokenInputs(probe: ProbeLayout): void {
  const ids = probe.inputs.input_ids;
  if (!ids) return;
  for (const name of PER_TOKEN_INPUTS) {
    const t = probe.inputs[name];
    if (!t || formatShape(t.shape) === formatShape(ids.shape)) continue;
    const where = (k: string) => probe.sources[k] ?? k;
    throw new ModeldiffError(
      'SHAPE_MISMATCH',
      `${where(name)}: ${name} has shape ${formatShape(t.shape)} but input_ids (${where('input_ids')}) has ${formatShape(ids.shape)}; per-token inputs need one value per token`,
    );
  }
}

const name = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf');

/** Where flat element `e` of one sample of shape `sampleShape` sits: "column 3", or "element [1, 0, 2]". */
function position(e: number, sampleShape: readonly number[]): string {
  if (sampleShape.length <= 1) return `column ${e}`;
  const idx: number[] = [];
  for (let d = sampleShape.length - 1; d >= 0; d--) {
    idx.unshift(e % sampleShape[d]);
    e = Math.floor(e / sampleShape[d]);
  }
  return `element [${idx.join(', ')}]`;
}

/**
 * Throws NON_FINITE naming `source` (the probe file), the row (sample index
 * in the whole probe set, `firstRow` being the batch's first) and the column
 * of the first NaN or infinite value in a float batch. Other dtypes pass.
 */
export function checkProbeFinite(t: Tensor, source: string, firstRow: number): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') return; // integers cannot hold NaN; float16 is checked by its model
  const data = t.data as Float32Array | Float64Array;
  const i = firstNonFinite(data);
  if (i >= 0) {
    const sampleShape = t.shape.slice(1);
    const per = elementCount(sampleShape);
    const row = firstRow + Math.floor(i / per);
    throw new ModeldiffError('NON_FINITE', `${source}: probe data is ${name(data[i])} at row ${row}, ${position(i % per, sampleShape)}; models need finite inputs`);
  }
}
