/**
 * The aligned distance in A's own frame (alignment.inFrameOfA): A as stored against B as
 * --write-aligned writes it, in the parameterization raw is measured in. Checked against a
 * hand-written L2 over the two models' initializers, and on two fresh Hugging Face GPT-2
 * seeds, whose identical all-ones norms made the normalized-frame aligned distance exceed raw.
 */
import path from 'node:path';
import t from 'tap';

import { graphOf, readOnnx, tensorToFloat64 } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';

const digits = path.join(__dirname, '..', 'examples', 'digits');
const fresh = path.join(__dirname, 'fixtures', 'fresh');

/**
 * ‖a − b‖, ‖a − b‖ / sqrt(‖a‖·‖b‖) and the cosine over the initializers named in `counted` (raw's
 * choice of what is a weight: not the mask fill scalars), or every float initializer.
 */
function storedDistance(a: Uint8Array | string, b: Uint8Array, counted?: Set<string>) {
  const tensors = (m: Uint8Array | string) => new Map(graphOf(readOnnx(m)).initializer.map((x) => [x.name ?? '', tensorToFloat64(x)]));
  const [ta, tb] = [tensors(a), tensors(b)];
  let dd = 0, aa = 0, bb = 0, ab = 0;
  for (const [name, x] of ta) {
    if (counted && !counted.has(name)) continue;
    // A shared initializer is written back as one copy per use, named name_N.
    const y = tb.get(name) ?? [...tb].find(([k]) => new RegExp(`^${name.replace(/\./g, '\\.')}_\\d+$`).test(k))![1];
    for (let i = 0; i < x.length; i++) {
      dd += (x[i] - y[i]) ** 2;
      aa += x[i] * x[i];
      bb += y[i] * y[i];
      ab += x[i] * y[i];
    }
  }
  return { l2: Math.sqrt(dd), relative: Math.sqrt(dd) / Math.sqrt(Math.sqrt(aa) * Math.sqrt(bb)), cosine: ab / Math.sqrt(aa * bb) };
}

t.test('equals the stored distance between A and the written aligned B', async (t) => {
  for (const other of ['mlp_relu_seed1.onnx', 'mlp_relu_seed0_perturbed.onnx', 'mlp_tanh_seed1.onnx']) {
    const a = path.join(digits, other.startsWith('mlp_tanh') ? 'mlp_tanh_seed0.onnx' : 'mlp_relu_seed0.onnx');
    const r = await weightDistance(a, path.join(digits, other), { methods: ['aligned'] });
    const frame = r.alignment!.inFrameOfA!;
    const want = storedDistance(a, r.models.aligned!);
    for (const k of ['l2', 'relative', 'cosine'] as const) {
      t.ok(Math.abs(frame[k] - want[k]) <= 1e-7 * Math.max(1, Math.abs(want[k])), `${other} ${k}: ${frame[k]} vs ${want[k]}`);
    }
  }
});

for (const tag of ['dyn18', 'ts17']) {
  t.test(`two fresh GPT-2 seeds (${tag}): aligned in A frame is below raw, counted as raw counts; the permuted copy is 0`, async (t) => {
    const s0 = path.join(fresh, `gpt2-${tag}-s0.onnx`);
    const seeds = await weightDistance(s0, path.join(fresh, `gpt2-${tag}-s1.onnx`));
    const frame = seeds.alignment!.inFrameOfA!;
    t.ok(frame.relative < seeds.raw!.relative, `A's frame ${frame.relative} < raw ${seeds.raw!.relative}`);
    // Counted as raw counts: the norms' one shared initializer (dynamo) or the Identity copies of
    // one constant (TorchScript) once. B's per-use copies are written as further initializers
    // holding A's frame's same values; A's names pick one of them.
    const want = storedDistance(s0, seeds.models.aligned!, new Set(seeds.raw!.layers.map((l) => l.name)));
    t.ok(want.relative > 0.1, 'the reference counts weights, not the mask fill value');
    for (const k of ['l2', 'relative', 'cosine'] as const) {
      t.ok(Math.abs(frame[k] - want[k]) <= 1e-7 * Math.max(1, Math.abs(want[k])), `fresh GPT-2 ${k}: ${frame[k]} vs ${want[k]}`);
    }
    const copy = await weightDistance(s0, path.join(fresh, `gpt2-${tag}-s0-perm.onnx`));
    t.ok(copy.alignment!.inFrameOfA!.relative <= 1e-6, `permuted copy: ${copy.alignment!.inFrameOfA!.relative}`);
  });
}

t.test('absent without normalization (aligned is then in the stored frame already)', async (t) => {
  const r = await weightDistance(path.join(digits, 'mlp_relu_seed0.onnx'), path.join(digits, 'mlp_relu_seed1.onnx'), { methods: ['aligned'], normalize: false });
  t.equal(r.alignment!.inFrameOfA, undefined);
});
