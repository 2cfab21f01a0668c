/**
 * scikit-learn exports in skl2onnx's layout (test/fixtures/arch, made by
 * scripts/fixtures/make-arch-fixtures.py): ZipMap outputs (a sequence of
 * {class: probability} maps) are read as probability rows in class order,
 * checked against the zipmap=False export of the same fitted model; weight
 * distances leave the label branch (ArgMax → ArrayFeatureExtractor → Cast)
 * alone, permute the MLP's hidden units, and give a model without hidden units
 * (LinearClassifier) its raw distance for all three methods.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { inferOutputs } from '../lib/infer/infer';
import { unzipMapOutput } from '../lib/infer/zipmap';
import { readNpy } from '../lib/io/npy';
import { onnx } from '../lib/io/onnx';
import { lossBarrier } from '../lib/path/barrier';
import { align, weightDistance } from '../lib/weights';
import { captureIo } from './helpers/capture-io';
import { maxAbsDiff } from './helpers/onnx-models';

const dir = path.join(__dirname, 'fixtures', 'arch');
const f = (name: string) => path.join(dir, name);
const probe = f('probe-tabular.npz');

t.test('ZipMap outputs are read as probability rows in class order, as the zipmap=False export gives them', async (t) => {
  for (const arch of ['sklearn_mlp', 'sklearn_logreg']) {
    const zipped = await inferOutputs(f(`${arch}-zipmap-s0.onnx`), probe, { cache: false });
    const plain = await inferOutputs(f(`${arch}-nozipmap-s0.onnx`), probe, { cache: false });
    t.equal(zipped.outputName, 'output_probability', arch);
    t.match(zipped.warnings.join('\n'), /reading output "output_probability" \(ZipMap's maps\) as probability rows in class order: 0, 1, 2/);
    t.same([zipped.outputs.n, zipped.outputs.k], [plain.outputs.n, plain.outputs.k]);
    t.same(Array.from(zipped.outputs.data), Array.from(plain.outputs.data), `${arch}: the same rows, bit for bit`);
  }
  const zc = await compare(f('sklearn_mlp-zipmap-s0.onnx'), f('sklearn_mlp-zipmap-s1.onnx'), { data: probe, cache: false, bootstrap: 0 });
  const pc = await compare(f('sklearn_mlp-nozipmap-s0.onnx'), f('sklearn_mlp-nozipmap-s1.onnx'), { data: probe, cache: false, bootstrap: 0 });
  t.same(zc.models.map((m) => m.outputName), ['output_probability', 'output_probability']);
  t.equal(zc.outputs, pc.outputs);
  t.ok(pc.metrics.js!.mean > 1e-4, `the two seeds differ: JS ${pc.metrics.js!.mean}`);
  t.equal(zc.metrics.js!.mean, pc.metrics.js!.mean, 'compare: the same JS as the zipmap=False exports');
  // The CLI's outputs command writes the same rows.
  const io = captureIo();
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-sklearn-')), 'p.npy');
  t.teardown(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));
  t.equal(await runCli(['outputs', f('sklearn_mlp-zipmap-s1.onnx'), '--data', probe, '--no-cache', '--out', out], io), 0, io.err);
  const plain = await inferOutputs(f('sklearn_mlp-nozipmap-s1.onnx'), probe, { cache: false });
  t.same(Array.from(readNpy(out).data as Float32Array), Array.from(plain.outputs.data), 'outputs --out writes the rows');
});

t.test('ZipMap labels out of order: the columns are gathered into ascending label order', async (t) => {
  const proto = onnx.ModelProto.decode(fs.readFileSync(f('sklearn_mlp-zipmap-s0.onnx')));
  const zip = proto.graph!.node!.find((n) => n.opType === 'ZipMap')!;
  // Relabel the columns 0, 1, 2 as classes 7, -1, 3: class order is then column 1, 2, 0.
  zip.attribute![0].ints = [7, -1, 3];
  const relabelled = onnx.ModelProto.encode(proto).finish();
  const r = await inferOutputs(relabelled, probe, { cache: false });
  t.match(r.warnings.join('\n'), /class order: -1, 3, 7/);
  const plain = (await inferOutputs(f('sklearn_mlp-nozipmap-s0.onnx'), probe, { cache: false })).outputs;
  for (let i = 0; i < plain.n; i++) {
    const row = Array.from(plain.data.subarray(i * 3, i * 3 + 3));
    t.same(Array.from(r.outputs.data.subarray(i * 3, i * 3 + 3)), [row[1], row[2], row[0]], `row ${i}`);
  }
  // String labels sort by code point.
  zip.attribute = [{ name: 'classlabels_strings', type: onnx.AttributeProto.AttributeType.STRINGS, strings: ['b', 'c', 'a'].map((s) => Buffer.from(s)) }];
  proto.graph!.output![1].type!.sequenceType!.elemType!.mapType!.keyType = onnx.TensorProto.DataType.STRING;
  const strings = await inferOutputs(onnx.ModelProto.encode(proto).finish(), probe, { cache: false });
  t.match(strings.warnings.join('\n'), /class order: a, b, c/);
  t.same(Array.from(strings.outputs.data.subarray(0, 3)), [plain.data[2], plain.data[0], plain.data[1]]);
  zip.attribute = [];
  // (onnxruntime refuses such a model on load; the rewrite says what is wrong without it)
  t.throws(() => unzipMapOutput(onnx.ModelProto.encode(proto).finish(), 'output_probability', 'z.onnx'), { code: 'MODEL_OUTPUT', message: /^z\.onnx: the ZipMap writing output "output_probability" has no class labels$/ });
  t.equal(unzipMapOutput(f('sklearn_mlp-zipmap-s0.onnx'), 'output_label', 'z.onnx'), undefined, 'no ZipMap writes the labels');
});

t.test('non-tensor outputs that cannot be unzipped are one-line errors', async (t) => {
  const session = await ort.InferenceSession.create(f('sklearn_mlp-zipmap-s0.onnx'));
  await t.rejects(inferOutputs(session, probe, { cache: false }), {
    code: 'MODEL_OUTPUT',
    message: /output "output_probability" is not a tensor .*pass the model's file or bytes instead of a session, or export it with zipmap=False/,
  });
  await session.release();
  // A sequence output no ZipMap writes.
  const proto = onnx.ModelProto.decode(fs.readFileSync(f('sklearn_mlp-nozipmap-s0.onnx')));
  proto.graph!.node!.push(onnx.NodeProto.create({ opType: 'SequenceConstruct', input: ['probabilities'], output: ['seq'] }));
  proto.graph!.output!.push(onnx.ValueInfoProto.create({ name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }));
  await t.rejects(inferOutputs(onnx.ModelProto.encode(proto).finish(), probe, { cache: false, output: 'seq' }), {
    code: 'MODEL_OUTPUT',
    message: /^<bytes>: output "seq" is not a tensor \(a sequence or a map\), which onnxruntime-node cannot return$/,
  });
});

/** The rows of a model's probability output (ZipMap or not) on the tabular probe. */
async function probabilities(model: string | Uint8Array): Promise<Float32Array> {
  return (await inferOutputs(model, probe, { cache: false })).outputs.data as Float32Array;
}

t.test('weights on an MLPClassifier export: the label branch is left alone, the hidden layer permutes', async (t) => {
  for (const zip of ['nozipmap', 'zipmap']) {
    const a = f(`sklearn_mlp-${zip}-s0.onnx`);
    const b = f(`sklearn_mlp-${zip}-s0-perm.onnx`);
    const r = await weightDistance(a, b);
    t.same(r.hidden!.map((h) => [h.tensor, h.units, h.symmetry]), [['next_activations0', 8, 'permutation+scale']], zip);
    t.ok(r.raw!.relative > 0.5, `raw relative ${r.raw!.relative}`);
    t.ok(r.canonical!.relative <= 1e-6, `canonical relative ${r.canonical!.relative}`);
    t.ok(r.aligned!.relative <= 1e-6, `aligned relative ${r.aligned!.relative}`);
    const yb = await probabilities(b);
    for (const [name, m] of [['canonical', r.models.canonical!], ['aligned', r.models.aligned!]] as const) {
      const y = await probabilities(m);
      t.ok(maxAbsDiff(y, yb) <= 1e-6, `${name} written back computes B's probabilities (max diff ${maxAbsDiff(y, yb)})`);
    }
    const byActivations = await weightDistance(a, b, { methods: ['aligned'], align: 'activations', data: probe });
    t.ok(byActivations.aligned!.relative <= 1e-6, `aligned by activations: ${byActivations.aligned!.relative}`);
    const seeds = await weightDistance(a, f(`sklearn_mlp-${zip}-s1.onnx`), { methods: ['raw', 'aligned'] });
    t.ok(seeds.aligned!.relative < seeds.raw!.relative, `two seeds: aligned ${seeds.aligned!.relative} < raw ${seeds.raw!.relative}`);
  }
});

t.test('barrier on MLPClassifier exports (ZipMap read as rows), aligned by weights and by activations', async (t) => {
  const a = f('sklearn_mlp-zipmap-s0.onnx');
  const ya = await probabilities(a);
  const labels = Int32Array.from({ length: ya.length / 3 }, (_, i) => {
    const row = Array.from(ya.subarray(i * 3, i * 3 + 3));
    return row.indexOf(Math.max(...row));
  });
  for (const align of ['weights', 'activations'] as const) {
    // The permuted, rescaled copy aligned back onto A: the path is flat.
    const copy = await lossBarrier(a, f('sklearn_mlp-zipmap-s0-perm.onnx'), { data: probe, labels, steps: 3, align });
    t.ok(copy.naive.lossBarrier > 1e-3, `naive path to the permuted copy rises: ${copy.naive.lossBarrier}`);
    t.ok(Math.abs(copy.aligned!.lossBarrier) <= 1e-6, `${align}: the aligned path is flat: ${copy.aligned!.lossBarrier}`);
  }
});

/** A LinearClassifier's attribute weights, read here from the model (the reference for raw). */
function linearClassifierWeights(file: string): number[] {
  const node = onnx.ModelProto.decode(fs.readFileSync(file)).graph!.node!.find((n) => n.opType === 'LinearClassifier')!;
  const floats = (name: string) => node.attribute!.find((x) => x.name === name)!.floats!;
  return [...floats('coefficients'), ...floats('intercepts')];
}

t.test('weights on a LogisticRegression export: raw from the LinearClassifier attributes; canonical and aligned equal it', async (t) => {
  const [a, b] = [f('sklearn_logreg-zipmap-s0.onnx'), f('sklearn_logreg-zipmap-s1.onnx')];
  const [wa, wb] = [linearClassifierWeights(a), linearClassifierWeights(b)];
  const l2 = Math.sqrt(wa.reduce((s, v, i) => s + (v - wb[i]) ** 2, 0));
  const r = await weightDistance(a, b);
  t.ok(Math.abs(r.raw!.l2 - l2) <= 1e-12 * l2, `raw L2 ${r.raw!.l2} = ${l2} from the attributes`);
  t.same(r.hidden, []);
  t.same(r.canonical, r.raw);
  t.same(r.aligned, r.raw);
  t.same([r.alignment!.kept, r.alignment!.iterations, r.alignment!.permutations], ['identity', 0, {}]);
  t.match(r.notes!.join('\n'), /canonical and aligned: .*sklearn_logreg-zipmap-s0\.onnx has no hidden units to permute or rescale, so both are the raw distance/);
  const only = await weightDistance(a, b, { methods: ['canonical'] });
  t.match(only.notes!.join('\n'), /canonical: .* so it is the raw distance/);
  t.same(only.canonical, r.raw);
  const aligned = await align(a, b);
  t.same(aligned.distance, r.raw);
  t.same(Array.from(await probabilities(aligned.model)), Array.from(await probabilities(b)), 'aligned B is B');
});

t.test('class indices (an ArgMax result) feeding a computation are refused, naming the node', async (t) => {
  const proto = onnx.ModelProto.decode(fs.readFileSync(f('sklearn_mlp-nozipmap-s0.onnx')));
  const g = proto.graph!;
  g.node!.push(onnx.NodeProto.create({ opType: 'Add', name: 'uses_labels', input: ['label', 'label'], output: ['twice'] }));
  g.output!.push(onnx.ValueInfoProto.create({ name: 'twice', type: { tensorType: { elemType: 7 } } }));
  await t.rejects(weightDistance(onnx.ModelProto.encode(proto).finish(), f('sklearn_mlp-nozipmap-s0.onnx'), { methods: ['canonical'] }), {
    code: 'UNSUPPORTED_GRAPH',
    message: /at Add node "uses_labels": it computes on class indices \(an ArgMax result\)/,
  });
});
