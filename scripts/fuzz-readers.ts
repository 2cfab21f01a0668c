/**
 * The long reader fuzz run (issue 17): many more mutants than the test suite's
 * fixed few hundred, for every format modeldiff reads. Each outcome must be a
 * value or a ModeldiffError with a code; for .npy / .npz, when Python with
 * numpy is available, every value must equal numpy's reading of the same
 * bytes and every file numpy refuses must be refused (numpy's verdicts come
 * from scripts/fuzz-npy-corpus.py's `judge` mode). Prints one summary line
 * per format; record the last run in docs/formats.md.
 *
 *   npx tsx scripts/fuzz-readers.ts [mutants-per-format=5000] [seed=1] [python] [keep-dir]
 *
 * python: a Python with numpy; default $MODELDIFF_FUZZ_PYTHON, else `python3` on the PATH.
 *
 * With keep-dir, .npy/.npz mutants where modeldiff and numpy disagree are copied there.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ModeldiffError } from '../lib/errors';
import { parseNpy } from '../lib/io/npy';
import { parseNpz } from '../lib/io/npz';
import { decodeOnnx, graphOf, tensorToFloat64 } from '../lib/io/onnx';
import { parseSafetensors } from '../lib/io/safetensors';
import type { Tensor } from '../lib/io/tensor';
import { parseTensorProto } from '../lib/io/tensor-proto';
import { createRng } from '../lib/util/rng';
import { mutateBytes, mutateProtobuf } from '../test/helpers/mutate';
import { gemmSoftmaxModel } from '../test/helpers/onnx-builder';

const count = Number(process.argv[2] ?? 5000);
const seed = Number(process.argv[3] ?? 1);
const python = process.argv[4] || process.env.MODELDIFF_FUZZ_PYTHON || 'python3';
const keep = process.argv[5];
const root = path.join(__dirname, '..');
const fixtures = path.join(root, 'test', 'fixtures');

interface Tally {
  value: number;
  codes: Map<string, number>;
  crashes: string[];
  slowestMs: number;
}

function run(tally: Tally, label: string, fn: () => unknown): unknown {
  const start = performance.now();
  try {
    const v = fn();
    tally.value++;
    return v;
  } catch (e) {
    if (e instanceof ModeldiffError && e.code) tally.codes.set(e.code, (tally.codes.get(e.code) ?? 0) + 1);
    else tally.crashes.push(`${label}: ${(e as Error).stack?.split('\n').slice(0, 2).join(' ')}`);
    return undefined;
  } finally {
    tally.slowestMs = Math.max(tally.slowestMs, performance.now() - start);
  }
}

const newTally = (): Tally => ({ value: 0, codes: new Map(), crashes: [], slowestMs: 0 });
const summary = (name: string, t: Tally, extra = '') =>
  `${name}: ${count} mutants, ${t.value} read, ${[...t.codes].map(([c, n]) => `${n} ${c}`).join(', ')}, ${t.crashes.length} other exceptions, slowest ${t.slowestMs.toFixed(1)} ms${extra}`;

function sha256(x: Tensor): string {
  return crypto.createHash('sha256').update(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)).digest('hex');
}

const rng = createRng(seed);
const lines: string[] = [];
const started = performance.now();

// .npy / .npz: bases are the unmodified numpy-written files of the committed corpus.
const corpus: Array<{ format: string; mutation: string; b64: string }> = JSON.parse(fs.readFileSync(path.join(fixtures, 'fuzz', 'npy-corpus.json'), 'utf8'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-fuzz-'));
try {
  for (const format of ['npy', 'npz'] as const) {
    const bases = corpus.filter((e) => e.format === format && e.mutation.endsWith('unmodified')).map((e) => new Uint8Array(Buffer.from(e.b64, 'base64')));
    const tally = newTally();
    const mine = new Map<string, Record<string, [string, number[], string]> | null>();
    for (let i = 0; i < count; i++) {
      const m = mutateBytes(rng, bases[i % bases.length]);
      const name = `${String(i).padStart(6, '0')}.${format}`;
      fs.writeFileSync(path.join(dir, name), m.bytes);
      const v = run(tally, name, () => (format === 'npy' ? { '': parseNpy(m.bytes, name) } : (parseNpz(m.bytes, name) as Record<string, Tensor>))) as Record<string, Tensor> | undefined;
      mine.set(name, v ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, [x.dtype, x.shape, sha256(x)]])) : null);
    }
    let extra = '';
    const judged = spawnSync(python, [path.join(root, 'scripts', 'fuzz-npy-corpus.py'), 'judge', dir], { encoding: 'utf8' });
    if (judged.status === 0) {
      const verdicts: Record<string, { ok: boolean; arrays?: unknown }> = JSON.parse(fs.readFileSync(path.join(dir, 'verdicts.json'), 'utf8'));
      let same = 0;
      let bothRefuse = 0;
      let stricter = 0;
      const disagree: string[] = [];
      for (const [name, v] of mine) {
        const np = verdicts[name];
        if (v && np.ok && JSON.stringify(v) === JSON.stringify(np.arrays)) same++;
        else if (v) disagree.push(name);
        else if (np.ok) stricter++;
        else bothRefuse++;
      }
      extra = `; numpy: ${same} same values, ${bothRefuse} both refuse, ${stricter} refused by modeldiff only, ${disagree.length} disagreements${disagree.length ? ` (${disagree.slice(0, 5).join(', ')})` : ''}`;
      if (disagree.length) process.exitCode = 1;
      if (keep) {
        fs.mkdirSync(keep, { recursive: true });
        for (const name of disagree) fs.copyFileSync(path.join(dir, name), path.join(keep, name));
      }
    } else {
      extra = `; numpy verdicts unavailable (${python}: ${(judged.stderr || String(judged.error)).split('\n')[0]})`;
    }
    lines.push(summary(format, tally, extra));
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const model = gemmSoftmaxModel({ W: [1, 0.5, -2, 3, 0, 1], b: [0.25, -1, 2], k: 3, d: 2 });
const onnxTally = newTally();
for (let i = 0; i < count; i++) {
  const m = i % 2 === 0 ? mutateBytes(rng, model) : mutateProtobuf(rng, model);
  run(onnxTally, m.how, () => graphOf(decodeOnnx(m.bytes, 'm.onnx')).initializer.map((x) => tensorToFloat64(x, 'm.onnx')));
}
lines.push(summary('onnx', onnxTally));

const pbs = ['raw_f32.pb', 'typed_i64.pb', 'typed_f32.pb', 'raw_bool.pb', 'typed_bf16.pb'].map((f) => new Uint8Array(fs.readFileSync(path.join(fixtures, 'arrays', f))));
const pbTally = newTally();
for (let i = 0; i < count; i++) {
  const base = pbs[i % pbs.length];
  const m = rng.int(2) === 0 ? mutateBytes(rng, base) : mutateProtobuf(rng, base);
  run(pbTally, m.how, () => parseTensorProto(m.bytes, 'm.pb'));
}
lines.push(summary('pb', pbTally));

const st = new Uint8Array(fs.readFileSync(path.join(fixtures, 'arrays', 'all.safetensors')));
const stTally = newTally();
for (let i = 0; i < count; i++) {
  const m = mutateBytes(rng, st);
  run(stTally, m.how, () => parseSafetensors(m.bytes, 'm.safetensors'));
}
lines.push(summary('safetensors', stTally));

const crashes = [onnxTally, pbTally, stTally].flatMap((t) => t.crashes);
console.log(`reader fuzz, seed ${seed}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const l of lines) console.log(l);
for (const c of crashes.slice(0, 10)) console.log('  exception:', c);
if (crashes.length) process.exitCode = 1;
