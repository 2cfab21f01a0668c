/**
 * scikit-learn exports in skl2onnx's layout (test/fixtures/arch, made by
 * scripts/fixtures/make-arch-fixtures.py): ZipMap outputs (a sequence of
 * {class: probability} maps) are read as probability rows in class order,
 * checked against the zipmap=False export of the same fitted model.
 */
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';
import * as ort from 'onnxruntime-node';

import { runCli } from '../lib/cli/main';
import { compare } from '../lib/function/compare';
import { inferOutputs } from '../lib/infer/infer';
import { unzipMapOutput } from '../lib/infer/zipmap';
import { readNpy } from '../lib/io/npy';
import { onnx } from '../lib/io/onnx';
import { captureIo } from './helpers/capture-io';

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
  const out = path.join(t.testdir(), 'p.npy');
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
