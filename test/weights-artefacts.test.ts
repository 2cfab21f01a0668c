/**
 * Raw distances of transformer exports count each learned parameter once:
 * not the rotary cos/sin tables the dynamo exporter folds into initializers
 * (recomputed here from RoPE's closed form), and not the transposed copy of
 * GPT-2's tied token table that both exporters store for the LM head (found
 * here by comparing values).
 */
import path from 'node:path';

import t from 'tap';

import { graphOf, readOnnx, tensorDims, tensorToFloat64 } from '../lib/io/onnx';
import { weightDistance } from '../lib/weights';

const FIXTURES = path.join(__dirname, 'fixtures', 'arch');
const file = (name: string) => path.join(FIXTURES, `${name}.onnx`);

/** The names raw distance counted, and the number of values behind them. */
async function counted(a: string, b: string) {
  const r = await weightDistance(file(a), file(b), { methods: ['raw'] });
  const names = r.raw!.layers.map((l) => l.name);
  const inits = new Map(graphOf(readOnnx(file(a))).initializer.map((x) => [x.name ?? '', x]));
  const values = names.reduce((n, name) => n + tensorToFloat64(inits.get(name)!).length, 0);
  return { names, values, inits, relative: r.raw!.relative };
}

t.test('Llama (dynamo): the folded rotary cos/sin tables are not counted; both exporters count the same parameters', async (t) => {
  // RoPE with head_dim 8, base 10000, 8 positions: angle(p, i) = p · 10000^(−2(i mod 4)/8), on [1, 1, 8, 8].
  const angle = (p: number, i: number) => p * 10000 ** (-(2 * (i % 4)) / 8);
  const table = (f: (a: number) => number) => Float64Array.from({ length: 64 }, (_, k) => f(angle(Math.floor(k / 8), k % 8)));
  const cos = table(Math.cos);
  const sin = table(Math.sin);
  const dyn = await counted('llama-dyn18-s0', 'llama-dyn18-s0-perm');
  const rotary = [...dyn.inits.values()].filter((x) => {
    const v = tensorToFloat64(x);
    return v.length === 64 && [cos, sin].some((ref) => v.every((y, k) => Math.abs(y - ref[k]) < 1e-6));
  });
  t.equal(rotary.length, 2, `the export holds the cos and sin tables (${rotary.map((x) => x.name)})`);
  for (const x of rotary) t.notOk(dyn.names.includes(x.name ?? ''), `${x.name} is not counted`);
  // LlamaForCausalLM(vocab 50, hidden 16, intermediate 32, 2 layers, untied head): 50·16 + 2·(4·16² + 3·16·32 + 2·16) + 16 + 16·50.
  const params = 50 * 16 + 2 * (4 * 16 * 16 + 3 * 16 * 32 + 2 * 16) + 16 + 16 * 50;
  t.equal(dyn.values, params, 'dynamo export: the model parameters, each once');
  const ts = await counted('llama-ts13-s0', 'llama-ts13-s0-perm');
  t.equal(ts.values, params, 'TorchScript export: the same count');
});

for (const exporter of ['ts13', 'dyn18']) {
  t.test(`GPT-2 (${exporter}): the LM head's copy of the tied token table is counted once`, async (t) => {
    const c = await counted(`gpt2-${exporter}-s0`, `gpt2-${exporter}-s0-perm`);
    const inits = [...c.inits.values()];
    const table = inits.find((x) => tensorDims(x).join() === '50,16')!;
    const tv = tensorToFloat64(table);
    const copy = inits.find((x) => {
      if (tensorDims(x).join() !== '16,50') return false;
      const v = tensorToFloat64(x);
      return v.every((y, k) => y === tv[(k % 50) * 16 + Math.floor(k / 50)]);
    });
    t.ok(copy, `the export stores the table [50, 16] (${table.name}) again transposed for the head (${copy?.name})`);
    t.ok(c.names.includes(table.name ?? ''), 'the table is counted');
    t.notOk(c.names.includes(copy?.name ?? ''), 'its transposed copy is not');
    t.ok(c.relative > 0.5, `a permuted copy is still far apart raw (${c.relative})`);
  });
}
