// Loads an unpacked modeldiff package's addon the way the package does (node-gyp-build picks the
// prebuild for this platform, arch and libc), computes the Jensen-Shannon divergence of two
// small logit matrices with its default ISA, checks it against a float64 reference computed here,
// and prints {arch, isa, js} as JSON. .ci/arm64-smoke runs it with an x64 Node and, under qemu,
// an arm64 Node and compares the two. Plain CommonJS for Debian's Node 18.
// Usage: node divergence-probe.js <package dir> <path to node-gyp-build>
'use strict';
const [pkg, nodeGypBuild] = process.argv.slice(2);
const addon = require(nodeGypBuild)(pkg);
const n = 4;
const k = 5;
const a = new Float32Array(n * k);
const b = new Float32Array(n * k);
for (let i = 0; i < n * k; i++) {
  a[i] = Math.sin(i * 0.7) * 3;
  b[i] = Math.cos(i * 1.3) * 2;
}
const isa = addon.capabilities().isa;
const js = Array.from(addon.divergencePerSampleSync({ kind: 'logits', a, b, n, k, measures: ['js'] }).values.js);

// Reference: softmax rows in float64, JS = (KL(p||m) + KL(q||m)) / 2 in nats.
function softmax(x, row) {
  const r = Array.from(x.subarray(row * k, row * k + k));
  const max = Math.max(...r);
  const e = r.map((v) => Math.exp(v - max));
  const s = e.reduce((u, v) => u + v, 0);
  return e.map((v) => v / s);
}
for (let row = 0; row < n; row++) {
  const p = softmax(a, row);
  const q = softmax(b, row);
  let ref = 0;
  for (let j = 0; j < k; j++) {
    const m = (p[j] + q[j]) / 2;
    ref += (p[j] * Math.log(p[j] / m) + q[j] * Math.log(q[j] / m)) / 2;
  }
  if (!(Math.abs(js[row] - ref) <= 1e-9)) {
    console.error(`divergence-probe: ${process.arch} ${isa}: row ${row} js ${js[row]} != reference ${ref}`);
    process.exit(1);
  }
}
console.log(JSON.stringify({ arch: process.arch, isa, js }));
