/**
 * The closed-form (Cornish–Fisher) percentile interval of lib/stats/bootstrap.ts against the
 * exact percentile bootstrap, on heavy-tailed data at moderate n with a fixed seed: a
 * lognormal-like measure, a per-sample-KL-like one (squared normals with 2% of them ×30), and a
 * token-weighted ratio over clusters of unequal sizes whose skewness is ~0 but whose random
 * denominator moves the interval (the ratio term). The reference endpoints are those of 50,000
 * exact multinomial replicates; a Monte Carlo endpoint's standard error is
 * √(α(1 − α)/B)/φ(z) standard deviations of the statistic (0.012 sd, 0.6% of the half-width), so the
 * closed form must land within 4 of those plus the expansion's next terms, which are estimated
 * by hand here. Each case also checks that the uncorrected normal interval misses by more than
 * that tolerance, so the test can tell the two apart.
 */
import t, { type Test } from 'tap';

import { intervalNote } from '../lib/cli/commands/compare';
import { AUTO_RULE, bootstrapMeanSync, ratioMoments } from '../lib/stats/bootstrap';
import { createRng } from '../lib/util/rng';

const Z = 1.959963984540054;
const B = 50_000;
/** Standard error of a Monte Carlo percentile endpoint at 2.5%/97.5%, in sd of the statistic. */
const MC_SE = Math.sqrt((0.025 * 0.975) / B) / (Math.exp((-Z * Z) / 2) / Math.sqrt(2 * Math.PI));

/** Plug-in moments of the values d (already centred): sd of their resampled mean, skewness, excess kurtosis. */
function shape(d: number[]): { sd: number; skew: number; kurt: number } {
  const n = d.length;
  const m = (k: number) => d.reduce((a, v) => a + v ** k, 0) / n;
  const m2 = m(2);
  return { sd: Math.sqrt(m2 / n), skew: m(3) / m2 ** 1.5, kurt: m(4) / m2 ** 2 - 3 };
}

function check(t: Test, name: string, values: number[], clusters: number[] | undefined, sd: number, nextTerms: number) {
  const options = { replicates: B, seed: 11, clusters };
  const exact = bootstrapMeanSync([values], { ...options, method: 'percentile' }).intervals[0];
  const closed = bootstrapMeanSync([values], { ...options, method: 'cornish-fisher' });
  const normal = bootstrapMeanSync([values], { ...options, method: 'normal' }).intervals[0];
  t.equal(closed.method, 'cornish-fisher');
  t.equal(closed.rule, 'Cornish-Fisher closed form, as requested');
  const tolerance = (4 * MC_SE + nextTerms) * sd;
  for (const k of [0, 1]) {
    const miss = Math.abs(closed.intervals[0][k] - exact[k]);
    t.ok(miss < tolerance, `${name} endpoint ${k}: closed form ${closed.intervals[0][k]} vs exact ${exact[k]} (${(miss / sd).toFixed(4)} sd, tolerance ${(tolerance / sd).toFixed(4)})`);
  }
  const normalMiss = Math.max(Math.abs(normal[0] - exact[0]), Math.abs(normal[1] - exact[1]));
  t.ok(normalMiss > tolerance, `${name}: the normal interval misses by ${(normalMiss / sd).toFixed(4)} sd`);
}

/** The mean's next Cornish–Fisher terms at z, in sd: |κ(z³ − 3z)|/24 + γ²|2z³ − 5z|/36, over n. */
const meanNextTerms = (s: { skew: number; kurt: number }, n: number) => (Math.abs(s.kurt * (Z ** 3 - 3 * Z)) / 24 + (s.skew ** 2 * Math.abs(2 * Z ** 3 - 5 * Z)) / 36) / n;

t.test('skewed means: the closed form matches the exact percentile bootstrap', async (t) => {
  const rng = createRng(7);
  const n = 1000;
  const lognormal = Array.from({ length: n }, () => Math.exp(1.2 * rng.normal()));
  const kl = Array.from({ length: n }, () => rng.normal() ** 2 * (rng.float() < 0.02 ? 30 : 1));
  for (const [name, x] of [['lognormal', lognormal], ['KL-like', kl]] as const) {
    const mean = x.reduce((a, v) => a + v, 0) / n;
    const s = shape(x.map((v) => v - mean));
    t.ok(s.skew > 5, `${name}: skewness ${s.skew.toFixed(1)}`);
    check(t, name, x, undefined, s.sd, meanNextTerms(s, n));
  }
});

t.test('a ratio over clusters: the random denominator term', async (t) => {
  const rng = createRng(8);
  const G = 500;
  const values: number[] = [];
  const ids: number[] = [];
  const sums: number[] = [];
  const sizes: number[] = [];
  // Cluster sums near 50 whatever their size (1..39 tokens): the ratio's linearized values are
  // -50·(relative size − 1), symmetric, and correlated with the size (ρ ≈ -0.55).
  for (let c = 0; c < G; c++) {
    const size = 1 + rng.int(39);
    const sum = 50 + 5 * rng.normal();
    for (let i = 0; i < size; i++) {
      values.push(sum / size);
      ids.push(c);
    }
    sums.push(sum);
    sizes.push(size);
  }
  // Linearization by hand: d = (Y − R·N)/N̄, e = N/N̄ − 1.
  const R = sums.reduce((a, v) => a + v, 0) / sizes.reduce((a, v) => a + v, 0);
  const meanN = sizes.reduce((a, v) => a + v, 0) / G;
  const d = sums.map((y, c) => (y - R * sizes[c]) / meanN);
  const e = sizes.map((size) => size / meanN - 1);
  const s = shape(d);
  const m2 = d.reduce((a, v) => a + v * v, 0) / G;
  const rho = d.reduce((a, v, c) => a + v * e[c], 0) / G / Math.sqrt(m2);
  const ee = e.reduce((a, v) => a + v * v, 0) / G;
  const dde = d.reduce((a, v, c) => a + v * v * e[c], 0) / G / m2;
  t.ok(Math.abs(s.skew) < 0.2 && rho < -0.4, `skewness ${s.skew.toFixed(3)}, rho ${rho.toFixed(3)}`);
  // The library's moments of the same units equal these (the rule and the closed form read them).
  const largest = Math.max(...d.map(Math.abs));
  const smoothing = Math.sqrt(d.filter((v) => Math.abs(v) <= largest / 4).reduce((acc, v) => acc + v * v, 0)) / largest;
  const mo = ratioMoments(Float64Array.from(sums), Float64Array.from(sizes));
  const want = { mean: R, sd: s.sd, skew: s.skew, kurtosis: s.kurt, rho, sizeVariance: ee, crossSkew: dde, smoothing };
  for (const [k, v] of Object.entries(want)) t.ok(Math.abs(mo[k as keyof typeof want] - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${k}: ${mo[k as keyof typeof want]} vs ${v}`);
  // The ratio's own next terms: a variance factor 1 + v/G, |v| ≤ 2|E[d²e]|/E[d²] + 3E[e²] + 6ρ², moves an endpoint by z·|v|/(2G) sd.
  const ratioNext = (Z * (2 * Math.abs(dde) + 3 * ee + 6 * rho * rho)) / (2 * G);
  check(t, 'ratio', values, ids, s.sd, meanNextTerms(s, G) + ratioNext);
});

t.test("compare's report line names the closed form and its rule", async (t) => {
  const b = { replicates: 1000, seed: 0, method: 'cornish-fisher' as const, rule: AUTO_RULE };
  t.equal(intervalNote(b), `95% CI: the percentile bootstrap's endpoints in closed form (Cornish-Fisher, skewness-corrected); rule: ${AUTO_RULE}`);
  t.equal(intervalNote({ ...b, clusters: 120000 }), `95% CI: the percentile bootstrap's endpoints in closed form (Cornish-Fisher, skewness-corrected, over 120000 clusters); rule: ${AUTO_RULE}`);
  t.equal(intervalNote({ ...b, method: 'normal', rule: 'normal-theory, as requested' }), '95% CI: normal-theory (mean ± 1.96·stderr); rule: normal-theory, as requested');
});
