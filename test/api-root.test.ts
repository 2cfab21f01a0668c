// The public entries as users meet them: `modeldiff` (the workflows), `modeldiff/io` (file
// codecs) and `modeldiff/kernels` (numeric building blocks), through package.json "exports"
// from the built dist/, by require and by import. Importing any of them must not load the
// command line (commander), the demo or the zoo loader, which are the CLI's.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import t from 'tap';

import * as api from '../lib/index';
import * as io from '../lib/io/index';
import * as kernels from '../lib/kernels/index';

// Children run through `env -i`, outside tap's coverage hooks: tap follows every node it spawns
// (an env option does not stop it), and their coverage of tsx-compiled lib/ or of dist/ (whose
// source maps point at lib/) was merged against the wrong source maps, dropping the whole
// report below the thresholds (as cli-pipe's child once did).
const outsideCoverage = ['-i', `PATH=${process.env.PATH ?? ''}`, `HOME=${process.env.HOME ?? ''}`];

const root = path.join(__dirname, '..');
const runtimeNames = (m: object) => Object.keys(m).filter((n) => n !== 'default' && n !== '__esModule').sort();

// What left the root for a subpath (CHANGELOG.md, Unreleased).
const MOVED_TO_IO = [
  'readNpy', 'parseNpy', 'writeNpy', 'encodeNpy',
  'readNpz', 'parseNpz', 'writeNpz', 'encodeNpz',
  'readSafetensors', 'parseSafetensors', 'writeSafetensors', 'encodeSafetensors',
  'readTensorProto', 'parseTensorProto', 'encodeTensorProto', 'writeTensorProto',
  'readOnnx', 'encodeOnnx',
  'readArray', 'readArrays', 'writeArray', 'arrayFileFormat',
  'makeTensor', 'convertTensor', 'toFloat64',
  'loadProbe', 'openProbe', 'loadLabels', 'probeBatches', 'autoBatchSize',
];
const MOVED_TO_KERNELS = [
  'divergencePerSample', 'divergencePerSampleSync', 'pairwiseDivergence', 'predict', 'cohenKappa',
  'linearSumAssignment', 'linearSumAssignmentSync', 'representationSimilarity',
  'bootstrapMeanCI', 'bootstrapMeanCISync', 'describe', 'samplesNeeded',
  'hiddenActivations', 'flattenActivations', 'resolveOutputKind',
];
const NEW_IN_KERNELS = ['sampleGram', 'featureGrams', 'bootstrapMean', 'bootstrapMeanSync'];
const WORKFLOWS = [
  'compare', 'divergence', 'weightDistance', 'canonicalize', 'align', 'cka', 'lossBarrier', 'matrix', 'study',
  'writeReport', 'inferOutputs', 'streamOutputs', 'readSavedOutputs', 'probeSha256', 'listLayers', 'capabilities', 'ModeldiffError',
];
// The measure registry and the option values the workflows take, as data.
const REGISTRY = ['measureInfo', 'measures', 'measuresOf', 'functionMeasures', 'representationMeasures', 'weightMethods'];
const OPTION_VALUES = [
  'DEFAULT_METRICS', 'FUNCTION_MEASURE_NAMES', 'OUTPUT_KINDS', 'REPRESENTATION_MEASURES', 'WEIGHT_METHODS', 'SORT_KEYS',
  'TOKEN_PERCENTILES', 'DELTA_P_PERCENTILES',
];
// Internal helpers the workflows use, public no more (CHANGELOG.md, Unreleased).
const NOT_PUBLIC = [
  'openModel', 'closeModel', 'sessionOptions', 'defaultCacheDir', 'weightMeasureValue', 'representationMatrices',
  'planInterpolation', 'interpolatedModel', 'perSampleMax',
];

t.test('the root export has the workflows and not the CLI, demo, zoo, codecs or kernels', async (t) => {
  t.same(runtimeNames(api), [...WORKFLOWS, ...REGISTRY, ...OPTION_VALUES].sort(), 'the root: workflows, registry, option values');
  for (const name of [...WORKFLOWS, 'measureInfo', 'measuresOf']) t.equal(typeof (api as Record<string, unknown>)[name], 'function', `${name} is exported`);
  for (const name of ['runCli', 'runDemo', 'loadZoo', 'DEMO_REPORT', ...MOVED_TO_IO, ...MOVED_TO_KERNELS, ...NEW_IN_KERNELS, ...NOT_PUBLIC]) {
    t.notOk(name in api, `${name} is not exported from the root`);
  }
  for (const name of NOT_PUBLIC) t.notOk(name in io || name in kernels, `${name} is not exported from a subpath`);
});

// A type exported under a second name (`WeightMethod as ManyWeightMethod` was one) is two names
// for one thing in the docs and in editors: every root export keeps its own name.
t.test('the root renames no export (no aliases of one type or function)', async (t) => {
  const source = fs.readFileSync(path.join(root, 'lib', 'index.ts'), 'utf8');
  const renamed = [...source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)]
    .flatMap((m) => m[1]!.split(','))
    .map((s) => s.replace(/\/\/.*$/gm, '').trim())
    .filter((s) => /\bas\b/.test(s));
  t.same(renamed, [], 'no `X as Y` in the root export lists');
});

t.test('each subpath exports exactly what it promises', async (t) => {
  t.same(runtimeNames(io), [...MOVED_TO_IO].sort(), 'modeldiff/io: the codecs and tensor helpers');
  t.same(runtimeNames(kernels), [...MOVED_TO_KERNELS, ...NEW_IN_KERNELS].sort(), 'modeldiff/kernels: divergences, assignment, Gram, bootstrap');
  for (const name of runtimeNames(io)) t.equal(typeof (io as Record<string, unknown>)[name], 'function', `io.${name}`);
  for (const name of runtimeNames(kernels)) t.equal(typeof (kernels as Record<string, unknown>)[name], 'function', `kernels.${name}`);
});

t.test('importing the library loads no CLI module and not commander', async (t) => {
  const script =
    "require('./lib/index.ts'); require('./lib/io/index.ts'); require('./lib/kernels/index.ts');" +
    "const loaded = Object.keys(require.cache).map((f) => f.replace(process.cwd() + '/', ''));" +
    "console.log(JSON.stringify(loaded.filter((f) => /node_modules\\/commander\\/|^lib\\/(cli|demo)\\//.test(f))));" +
    "console.log(JSON.stringify(loaded.filter((f) => f.startsWith('lib/')).length));";
  const out = execFileSync('env', [...outsideCoverage, process.execPath, '--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  t.same(JSON.parse(out[0]!), [], 'no commander, lib/cli or lib/demo module in require.cache');
  t.ok(Number(out[1]) > 20, `the library itself did load (${out[1]} lib/ modules)`);
});

// The package resolves itself by name through its "exports" map, so this is what an installed
// copy serves: dist/ built by `npm run build:ts` (npm ci runs it).
t.test('the built entries, required and imported by package name, work on real data', async (t) => {
  for (const entry of ['index', 'io/index', 'kernels/index']) {
    for (const ext of ['js', 'mjs', 'd.ts', 'd.mts']) {
      if (!fs.existsSync(path.join(root, 'dist', `${entry}.${ext}`))) return t.fail(`dist/${entry}.${ext} is missing: run npm run build:ts`);
    }
  }
  // Both conditions give the same names and the same functions (one module instance), with no
  // CLI module loaded; then each subpath does a small job whose answer is worked out by hand.
  const script = `
    const cjs = { root: require('modeldiff'), io: require('modeldiff/io'), kernels: require('modeldiff/kernels') };
    const names = (m) => Object.keys(m).filter((n) => n !== 'default' && n !== '__esModule').sort();
    const esm = { root: await import('modeldiff'), io: await import('modeldiff/io'), kernels: await import('modeldiff/kernels') };
    const out = { names: {}, same: {}, defaultIsCjs: {} };
    for (const k of ['root', 'io', 'kernels']) {
      out.names[k] = names(cjs[k]);
      out.same[k] = names(esm[k]).every((n) => esm[k][n] === cjs[k][n]) && names(esm[k]).join() === out.names[k].join();
      out.defaultIsCjs[k] = esm[k].default === cjs[k];
    }
    out.cli = Object.keys(require.cache).filter((f) => /node_modules\\/commander\\/|\\/dist\\/(cli|demo)\\//.test(f));
    const { io, kernels } = cjs;
    // .npy of float32 [1.5, -2]: magic, version 1.0, header length 118 (total 128, a multiple of 64).
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, 118, 0]), Buffer.from(header.padEnd(117) + '\\n')]);
    const npy = io.parseNpy(new Uint8Array(Buffer.concat([head, Buffer.from(new Float32Array([1.5, -2]).buffer)])), 'hand.npy');
    out.npy = { dtype: npy.dtype, shape: npy.shape, data: Array.from(npy.data) };
    const p = { data: new Float64Array([0.5, 0.5, 0, 1, 0, 0]), n: 2, k: 3 };
    const q = { data: new Float64Array([0.5, 0, 0.5, 0.2, 0.3, 0.5]), n: 2, k: 3 };
    out.tv = Array.from(kernels.divergencePerSampleSync(p, q, ['tv'], { outputs: 'probs' }).tv);
    const lsa = kernels.linearSumAssignmentSync(new Float64Array([4, 1, 3, 2, 0, 5, 3, 2, 2]), 3, 3);
    out.lsa = { rowToCol: Array.from(lsa.rowToCol), total: lsa.total };
    out.gram = Array.from(await kernels.sampleGram({ data: new Float64Array([1, 0, 0, 1, 2, 2]), n: 3, k: 2 }, 'dot'));
    console.log(JSON.stringify(out));`;
  const raw = execFileSync('env', [...outsideCoverage, process.execPath, '--input-type=commonjs', '-e', `(async () => {${script}})()`], { cwd: root, encoding: 'utf8' });
  const out = JSON.parse(raw);
  t.same(out.names.root, runtimeNames(api), 'dist/index.js exports what lib/index.ts does (else dist/ is stale)');
  t.same(out.names.io, runtimeNames(io), 'modeldiff/io exports what lib/io/index.ts does');
  t.same(out.names.kernels, runtimeNames(kernels), 'modeldiff/kernels exports what lib/kernels/index.ts does');
  t.same(out.same, { root: true, io: true, kernels: true }, 'import and require give the same functions');
  t.same(out.defaultIsCjs, { root: true, io: true, kernels: true }, 'the ESM default export is the CommonJS module');
  t.same(out.cli, [], 'no commander, dist/cli or dist/demo module loaded');
  t.same(out.npy, { dtype: 'float32', shape: [2], data: [1.5, -2] }, 'io.parseNpy reads a hand-written .npy');
  // TV = ½ Σ|p − q|: row 0 ½(0 + 0.5 + 0.5) = 0.5; row 1 ½(0.8 + 0.3 + 0.5) = 0.8.
  t.same(out.tv.map((v: number) => Math.round(v * 1e12) / 1e12), [0.5, 0.8], 'kernels.divergencePerSampleSync tv');
  // Of the 6 permutations of [[4,1,3],[2,0,5],[3,2,2]], row→col (1,0,2) costs 1+2+2 = 5, the least.
  t.same(out.lsa, { rowToCol: [1, 0, 2], total: 5 }, 'kernels.linearSumAssignmentSync');
  // Rows (1,0), (0,1), (2,2) centered by the column means (1,1): (0,-1), (-1,0), (1,1); Gram = their dot products.
  t.same(out.gram, [1, 0, -1, 0, 1, -1, -1, -1, 2], 'kernels.sampleGram centered dot');
});
