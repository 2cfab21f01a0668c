// Standalone parity check of the non-scalar kernel paths against the scalar path, built for
// aarch64 and run under qemu-aarch64 by scripts/neon-check/run.sh (see README.md there).
// It links src/ directly (no Node-API). Every supported ISA other than Scalar is checked
// against Scalar; on an arm64 build that is Isa::Neon, and the program fails if Neon is not
// supported there. (Built natively on x86-64 it checks AVX2 / AVX-512 the same way.)
//
// Divergence checks, mirroring test/divergence.test.ts:
//   * per_sample, every measure, kinds logits and probs, float32 and float64 inputs,
//     k in {1, 2, 3, 7, 10, 17, 100, 1000}: ISA vs scalar within max(1e-12 rel, 1e-15 abs)
//     (non-finite values must be equal); both paths vs an independent float64 reference
//     (textbook formulas, written here) within max(1e-6 rel, 1e-9 abs). Each case runs once
//     without emd-cost (k <= 64 takes the lane-per-row batch path) and once with emd-cost (which
//     forces the row path at every k <= 128), so both kernel layouts are covered.
//   * rows with zeros in one distribution and not the other, subnormal probabilities, extreme
//     logits (softmax underflow), epsilon smoothing, bits;
//   * identical rows give exactly 0 for every measure; disjoint one-hots give JS = ln 2 exactly;
//     p = [.5, .5, 0, 0], q = uniform gives JS distance 0.46450140402245893;
//   * pairwise(): ISA vs scalar within the same tolerance; identical models give exactly 0;
//   * NaN / Inf rows throw divergence::Error naming the matrix and the row;
//   * results do not depend on the thread count.
// Other kernel families (no arm64-specific source: on arm64 every Isa maps to the generic
// kernels) get a basic check: assignment solution identical to scalar and optimal (brute
// force), linalg Grams equal to scalar within 1e-12 and to a naive product, matching equal.
//
// Exit status 0 only if every check passed; the last line printed is a one-line summary.
// Options: -v prints the per-measure maximum differences.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "assignment.hpp"
#include "canonical.hpp"
#include "cpu_features.hpp"
#include "divergence.hpp"
#include "linalg.hpp"
#include "matching.hpp"

using namespace modeldiff;
namespace dv = modeldiff::divergence;

namespace {

bool verbose = false;
long n_checks = 0, n_fail = 0;

void fail(const std::string& msg) {
  ++n_fail;
  if (n_fail <= 40) std::printf("FAIL %s\n", msg.c_str());
  else if (n_fail == 41) std::printf("FAIL ... (further failures not printed)\n");
}

void check(bool ok, const std::string& msg) {
  ++n_checks;
  if (!ok) fail(msg);
}

std::string fmt(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// test/divergence.test.ts close(): a non-finite reference must be matched exactly.
bool close(double got, double ref, double rel, double abs_tol) {
  if (!std::isfinite(ref)) return got == ref;
  return std::fabs(got - ref) <= std::max(rel * std::fabs(ref), abs_tol);
}

// ---------- deterministic random numbers ----------
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }
  double normal() {
    double u = uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u + 0x1p-60)) * std::cos(6.283185307179586 * v);
  }
};

// ---------- an n x k input matrix, float32 or float64 ----------
struct Input {
  size_t n = 0, k = 0;
  bool f32 = false;
  std::vector<double> d;
  std::vector<float> f;
  Input() = default;
  Input(size_t n_, size_t k_, bool f32_) : n(n_), k(k_), f32(f32_) {
    if (f32) f.assign(n * k, 0.0f);
    else d.assign(n * k, 0.0);
  }
  void set(size_t i, double v) {
    if (f32) f[i] = static_cast<float>(v);
    else d[i] = v;
  }
  double get(size_t i) const { return f32 ? static_cast<double>(f[i]) : d[i]; }
  std::vector<double> row(size_t r) const {
    std::vector<double> x(k);
    for (size_t j = 0; j < k; ++j) x[j] = get(r * k + j);
    return x;
  }
  dv::Matrix mat() const {
    dv::Matrix m;
    m.f32 = f32;
    m.data = f32 ? static_cast<const void*>(f.data()) : static_cast<const void*>(d.data());
    return m;
  }
};

Input random_logits(Rng& rng, size_t n, size_t k, bool f32, double scale = 3) {
  Input a(n, k, f32);
  for (size_t i = 0; i < n * k; ++i) a.set(i, scale * rng.normal());
  return a;
}

// As test/divergence.test.ts randomProbs: about zero_prob of the entries 0 (independently per
// call, so two such matrices have zeros in one distribution and not the other), the rest u^3.
Input random_probs(Rng& rng, size_t n, size_t k, double zero_prob, bool f32) {
  Input a(n, k, f32);
  std::vector<double> v(k);
  for (size_t r = 0; r < n; ++r) {
    double s = 0;
    for (size_t j = 0; j < k; ++j) {
      const double u = rng.uniform();
      v[j] = (u < zero_prob && j != r % k) ? 0.0 : std::pow(rng.uniform(), 3);
      s += v[j];
    }
    if (s == 0) v[r % k] = s = 1;
    for (size_t j = 0; j < k; ++j) a.set(r * k + j, v[j] / s);
  }
  return a;
}

// Complementary zero patterns: p is 0 on even classes of odd rows, q on odd classes.
void complementary_pair(Rng& rng, size_t n, size_t k, bool f32, Input* a, Input* b) {
  *a = Input(n, k, f32);
  *b = Input(n, k, f32);
  std::vector<double> p(k), q(k);
  for (size_t r = 0; r < n; ++r) {
    double sp = 0, sq = 0;
    for (size_t j = 0; j < k; ++j) {
      p[j] = (k > 1 && j % 2 == r % 2) ? 0.0 : 0.05 + rng.uniform();
      q[j] = (k > 1 && j % 2 != r % 2 && j % 3 != 0) ? 0.0 : 0.05 + rng.uniform();
      sp += p[j];
      sq += q[j];
    }
    for (size_t j = 0; j < k; ++j) {
      a->set(r * k + j, p[j] / sp);
      b->set(r * k + j, q[j] / sq);
    }
  }
}

// ---------- the measures ----------
const int kMeasures[] = {dv::kKl, dv::kKlReverse, dv::kKlSymmetric, dv::kJs, dv::kJsDistance, dv::kTv,
                         dv::kHellinger, dv::kEmd, dv::kDisagreement, dv::kL2, dv::kCosine};
const uint32_t kAllMask = [] {
  uint32_t m = 0;
  for (int x : kMeasures) m |= 1u << x;
  return m;
}();

const uint32_t kLightMask = (1u << dv::kTv) | (1u << dv::kHellinger) | (1u << dv::kEmd) | (1u << dv::kDisagreement) |
                            (1u << dv::kL2);

struct Stat {
  long compared = 0;
  double max_rel = 0;  // max |isa - scalar| / |scalar| over values with scalar != 0
  double max_abs = 0;  // max |isa - scalar|
  double max_tol = 0;  // max |isa - scalar| / max(1e-12 |scalar|, abs tolerance): must stay <= 1
};
Stat stats[dv::kNumMeasures];
Stat pair_stats[dv::kNumMeasures];
long ref_compared = 0;

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa i : supported_isas())
    if (i != Isa::Scalar) out.push_back(i);
  return out;
}

using Result = std::vector<std::vector<double>>;  // [measure][row]

struct Opts {
  dv::Kind kind = dv::Kind::Logits;
  double eps = 0;
  bool bits = false;
  const double* cost = nullptr;
  unsigned threads = 1;
};

Result run(const Input& a, const Input& b, uint32_t mask, const Opts& o, Isa isa) {
  Result r(dv::kNumMeasures, std::vector<double>(a.n, std::nan("")));
  double* out[dv::kNumMeasures];
  for (int m = 0; m < dv::kNumMeasures; ++m) out[m] = r[m].data();
  dv::Options opt;
  opt.kind = o.kind;
  opt.epsilon = o.eps;
  opt.bits = o.bits;
  opt.cost = o.cost;
  opt.isa = isa;
  opt.threads = o.threads;
  dv::per_sample(a.mat(), b.mat(), a.n, a.k, mask, opt, out);
  return r;
}

void record(Stat& s, double got, double ref, double abs_tol = 1e-15) {
  ++s.compared;
  if (std::isfinite(ref) && std::isfinite(got)) {
    const double d = std::fabs(got - ref);
    s.max_abs = std::max(s.max_abs, d);
    if (ref != 0) s.max_rel = std::max(s.max_rel, d / std::fabs(ref));
    s.max_tol = std::max(s.max_tol, d / std::max(1e-12 * std::fabs(ref), abs_tol));
  }
}

// ---------- the independent float64 reference (test/divergence.test.ts refRow) ----------
double kl_ref(const std::vector<double>& p, const std::vector<double>& q) {
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;
    if (q[i] == 0) return INFINITY;
    s += p[i] * (std::log(p[i]) - std::log(q[i]));  // not log(p/q): p/q overflows for subnormal q
  }
  return s;
}

std::vector<double> ref_dist(const std::vector<double>& x, dv::Kind kind, double eps) {
  std::vector<double> p = x;
  if (kind == dv::Kind::Logits) {
    double mx = -INFINITY, s = 0;
    for (double v : x) mx = std::max(mx, v);
    for (double& v : p) s += (v = std::exp(v - mx));
    for (double& v : p) v /= s;
  }
  if (eps > 0)
    for (double& v : p) v = (v + eps) / (1 + static_cast<double>(p.size()) * eps);
  return p;
}

std::vector<double> ref_row(const std::vector<double>& x, const std::vector<double>& y, dv::Kind kind, double eps,
                            bool bits) {
  const std::vector<double> p = ref_dist(x, kind, eps), q = ref_dist(y, kind, eps);
  const double unit = bits ? 1 / std::log(2.0) : 1.0;
  // JS as 1/2 sum p log(2p / (p+q)) + q log(2q / (p+q)): the same as 1/2 KL(p||m) + 1/2 KL(q||m),
  // but m = (p+q)/2 is never formed, so subnormal p, q lose no precision to it.
  double js = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) js += 0.5 * p[i] * std::log(2 * p[i] / (p[i] + q[i]));
    if (q[i] > 0) js += 0.5 * q[i] * std::log(2 * q[i] / (p[i] + q[i]));
  }
  js = std::max(0.0, js) * unit;  // the two terms may cancel to a tiny negative
  double tv = 0, hel2 = 0, emd = 0, cdf = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    tv += 0.5 * std::fabs(p[i] - q[i]);
    // Hellinger^2 = mass - BC = 1/2 sum (sqrt p - sqrt q)^2 (mass = sum (p+q)/2, which is 1 up to
    // rounding); the squared form has no cancellation for nearly equal rows.
    hel2 += 0.5 * (std::sqrt(p[i]) - std::sqrt(q[i])) * (std::sqrt(p[i]) - std::sqrt(q[i]));
    if (i + 1 < p.size()) {
      cdf += p[i] - q[i];
      emd += std::fabs(cdf);
    }
  }
  double l2 = 0, xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    l2 += (x[i] - y[i]) * (x[i] - y[i]);
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  auto label = [](const std::vector<double>& v) {
    size_t b = 0;
    for (size_t i = 1; i < v.size(); ++i)
      if (v[i] > v[b]) b = i;
    return b;
  };
  const double kl = kl_ref(p, q) * unit, klr = kl_ref(q, p) * unit;
  std::vector<double> r(dv::kNumMeasures, NAN);
  r[dv::kKl] = kl;
  r[dv::kKlReverse] = klr;
  r[dv::kKlSymmetric] = kl + klr;
  r[dv::kJs] = js;
  r[dv::kJsDistance] = std::sqrt(js);
  r[dv::kTv] = tv;
  r[dv::kHellinger] = std::sqrt(hel2);
  r[dv::kEmd] = emd;
  r[dv::kDisagreement] = label(x) == label(y) ? 0 : 1;
  r[dv::kL2] = std::sqrt(l2);
  r[dv::kCosine] = xx == 0 || yy == 0 ? (xx == yy ? 0 : 1) : 1 - xy / std::sqrt(xx * yy);
  return r;
}

const char* kind_name(dv::Kind k) { return k == dv::Kind::Logits ? "logits" : "probs"; }

// Cost matrix as the TS identical-inputs test builds it: 0 on the diagonal, 1 + (i % 3) off it.
std::vector<double> test_cost(size_t k) {
  std::vector<double> c(k * k);
  for (size_t i = 0; i < k * k; ++i) c[i] = (i / k == i % k) ? 0.0 : 1.0 + static_cast<double>(i % 3);
  return c;
}

// One per_sample case: every SIMD ISA vs scalar (1e-12 / 1e-15), and, unless check_ref is
// false, scalar and every ISA vs the float64 reference (1e-6 / 1e-9).
// emd_abs: absolute tolerance for emd (1e-15 like every other measure, except where noted).
void parity_case(const std::string& label, const Input& a, const Input& b, Opts o, bool check_ref,
                 double emd_abs = 1e-15) {
  std::vector<double> cost;
  for (int variant = 0; variant < 3; ++variant) {
    const bool with_cost = variant == 1;
    // Variant 2 asks only for measures without logs: unsmoothed probabilities then take the
    // one-pass tile path (validated and summed while loaded), the others the usual tiles.
    uint32_t mask = variant == 2 ? kLightMask : kAllMask;
    if (with_cost) {
      // emd-cost only to force the row path where k would take the batch path (k <= 64); its
      // transport solver is scalar code on any ISA, and slow under qemu at large k.
      if (a.k > 64) continue;
      cost = test_cost(a.k);
      o.cost = cost.data();
      mask |= 1u << dv::kEmdCost;
    }
    const std::string lab = label + (with_cost ? " [row path: +emd-cost]" : variant == 2 ? " [measures without logs]" : "");
    Result ref;
    try {
      ref = run(a, b, mask, o, Isa::Scalar);
    } catch (const std::exception& e) {
      fail(lab + ": scalar threw " + e.what());
      continue;
    }
    std::vector<std::vector<double>> textbook;
    if (check_ref)
      for (size_t r = 0; r < a.n; ++r) textbook.push_back(ref_row(a.row(r), b.row(r), o.kind, o.eps, o.bits));
    auto against_ref = [&](const Result& got, const char* who) {
      int bad = 0;
      for (size_t r = 0; r < a.n; ++r)
        for (int m : kMeasures) {
          if (!((mask >> m) & 1u)) continue;
          ++ref_compared;
          ++n_checks;
          if (!close(got[m][r], textbook[r][m], 1e-6, 1e-9) && bad++ < 3)
            fail(lab + " " + who + " " + dv::measure_name(m) + " row " + std::to_string(r) + ": got " +
                 fmt(got[m][r]) + ", float64 reference " + fmt(textbook[r][m]));
        }
      if (bad > 3) fail(lab + " " + who + ": " + std::to_string(bad) + " values off the reference in all");
    };
    if (check_ref) against_ref(ref, "scalar");
    for (Isa isa : simd_isas()) {
      Result got;
      try {
        got = run(a, b, mask, o, isa);
      } catch (const std::exception& e) {
        fail(lab + ": " + isa_name(isa) + " threw " + e.what());
        continue;
      }
      int bad = 0;
      for (int m = 0; m < dv::kNumMeasures; ++m) {
        if (!((mask >> m) & 1u)) continue;
        for (size_t r = 0; r < a.n; ++r) {
          ++n_checks;
          record(stats[m], got[m][r], ref[m][r], m == dv::kEmd ? emd_abs : 1e-15);
          if (!close(got[m][r], ref[m][r], 1e-12, m == dv::kEmd ? emd_abs : 1e-15) && bad++ < 3)
            fail(lab + " " + isa_name(isa) + " " + dv::measure_name(m) + " row " + std::to_string(r) + ": " +
                 fmt(got[m][r]) + " vs scalar " + fmt(ref[m][r]));
        }
      }
      if (bad > 3) fail(lab + " " + isa_name(isa) + ": " + std::to_string(bad) + " values differ from scalar in all");
      if (check_ref) against_ref(got, isa_name(isa));
    }
  }
}

// The k of the task (1, 2, 3, 7, 10, 17, 100, 1000) plus every k up to 20 (every partial tile
// and pad shape) and the batch / row path boundary (64 / 65) and block sizes.
const size_t kKs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 31, 32, 33, 63, 64, 65,
                      100, 257, 1000};

void divergence_random() {
  Rng rng(20261126);
  for (size_t k : kKs) {
    const size_t n = k >= 1000 ? 9 : k >= 100 ? 31 : 61;  // odd: a partial last tile
    for (bool f32 : {false, true}) {
      const std::string sfx = std::string(f32 ? " f32" : " f64") + " k=" + std::to_string(k);
      Opts lo;
      lo.kind = dv::Kind::Logits;
      parity_case("logits random" + sfx, random_logits(rng, n, k, f32), random_logits(rng, n, k, f32), lo, true);
      // Softmax underflow (exp below 2^-1022 flushes to 0 in the SIMD exp): ISA vs scalar only.
      // EMD gets an absolute 1e-14 here: near-one-hot rows have O(1) CDF terms whose differences
      // cancel to a small EMD, so the ulp-level difference between the SIMD exp and std::exp
      // shows as ~3e-15 absolute (e.g. k=20: 0.0017130615571967415 vs scalar ...998009, which
      // AVX2 and AVX-512 give bit for bit too: a property of the shared kernel, not of NEON).
      parity_case("logits extreme (scale 300)" + sfx, random_logits(rng, n, k, f32, 300),
                  random_logits(rng, n, k, f32, 300), lo, false, 1e-14);
      // Ties: small integers, so rows often have several maxima (argmax must take the first).
      Input ta(n, k, f32), tb(n, k, f32);
      for (size_t i = 0; i < n * k; ++i) {
        ta.set(i, std::floor(rng.uniform() * 3));
        tb.set(i, std::floor(rng.uniform() * 3));
      }
      parity_case("logits ties" + sfx, ta, tb, lo, true);
      Opts po;
      po.kind = dv::Kind::Probs;
      if (k > 1) {
        Input pa(n, k, f32), pb(n, k, f32);  // probabilities with tied maxima: multiples of 1/(2k)
        for (size_t r = 0; r < n; ++r)
          for (Input* m : {&pa, &pb}) {
            std::vector<double> v(k);
            double sum = 0;
            for (double& e : v) sum += (e = std::floor(rng.uniform() * 3));
            if (sum == 0) v[0] = sum = 1;
            for (size_t j = 0; j < k; ++j) m->set(r * k + j, v[j] / sum);
          }
        parity_case("probs ties" + sfx, pa, pb, po, true);
        // Rows summing to 1 + 5e-5 (accepted: the tolerance is 1e-4).
        Input na = random_probs(rng, n, k, 0.2, f32), nb = random_probs(rng, n, k, 0.2, f32);
        for (size_t i = 0; i < n * k; i += 3) na.set(i, na.get(i) * (1 + 5e-5) + (i % k == 0 ? 4e-5 : 0));
        parity_case("probs sums off by < 1e-4" + sfx, na, nb, po, true);
      }
      parity_case("probs random, zeros 0.2" + sfx, random_probs(rng, n, k, 0.2, f32), random_probs(rng, n, k, 0.2, f32),
                  po, true);
      parity_case("probs zeros 0.5 (in one only)" + sfx, random_probs(rng, n, k, 0.5, f32),
                  random_probs(rng, n, k, 0.5, f32), po, true);
      Input ca, cb;
      complementary_pair(rng, n, k, f32, &ca, &cb);
      parity_case("probs complementary zeros" + sfx, ca, cb, po, true);
      if (!f32 && k >= 3) {
        // Subnormal probabilities (float64 only): in one distribution, both, or neither.
        Input sa = random_probs(rng, n, k, 0.3, false), sb = random_probs(rng, n, k, 0.3, false);
        const double tiny[] = {4.9406564584124654e-324, 1e-320, 3e-310, 2.2e-308, 1e-300, 0x1p-961};
        // Entry j of row r (not the row's largest) becomes v; the difference goes to the largest
        // entry, so the row still sums to 1 and stays non-negative.
        auto put = [k](Input& m, size_t r, size_t j, double v) {
          size_t big = 0;
          for (size_t i = 1; i < k; ++i)
            if (m.get(r * k + i) > m.get(r * k + big)) big = i;
          if (j == big) j = (j + 1) % k;
          const double old = m.get(r * k + j);
          m.set(r * k + j, v);
          m.set(r * k + big, m.get(r * k + big) + (old - v));
        };
        for (size_t r = 0; r < n; ++r) {
          put(sa, r, r % k, tiny[r % 6]);
          put(sb, r, r % k, r % 3 == 0 ? 0.0 : tiny[(r + 1) % 6]);
          put(sb, r, (r + 1) % k, tiny[(r + 2) % 6]);
        }
        parity_case("probs subnormal" + sfx, sa, sb, po, true);
      }
      if (k == 3 || k == 100) {
        Opts eo = po;
        eo.eps = 1e-3;
        parity_case("probs epsilon 1e-3" + sfx, random_probs(rng, n, k, 0.5, f32), random_probs(rng, n, k, 0.5, f32),
                    eo, true);
        Opts el = lo;
        el.eps = 1e-2;
        el.bits = true;
        parity_case("logits epsilon 1e-2 bits" + sfx, random_logits(rng, n, k, f32), random_logits(rng, n, k, f32),
                    el, true);
      }
    }
  }
}

// Identical rows: every measure exactly 0, on every ISA (scalar included), both layouts.
void divergence_identical() {
  Rng rng(7);
  for (size_t k : {1, 2, 3, 7, 10, 17, 100, 1000}) {
    const size_t n = k >= 1000 ? 5 : 23;
    for (bool f32 : {false, true})
      for (dv::Kind kind : {dv::Kind::Logits, dv::Kind::Probs}) {
        const Input a = kind == dv::Kind::Logits ? random_logits(rng, n, k, f32) : random_probs(rng, n, k, 0.4, f32);
        const Input b = a;
        std::vector<double> cost = test_cost(k);
        for (Isa isa : supported_isas())
          for (int with_cost = 0; with_cost < (k <= dv::kMaxEmdCostClasses ? 2 : 1); ++with_cost) {
            Opts o;
            o.kind = kind;
            uint32_t mask = kAllMask;
            if (with_cost) {
              o.cost = cost.data();
              mask |= 1u << dv::kEmdCost;
            }
            const std::string lab = std::string("identical ") + kind_name(kind) + (f32 ? " f32" : " f64") +
                                    " k=" + std::to_string(k) + " " + isa_name(isa) + (with_cost ? " +emd-cost" : "");
            Result r = run(a, b, mask, o, isa);
            int bad = 0;
            for (int m = 0; m < dv::kNumMeasures; ++m) {
              if (!((mask >> m) & 1u)) continue;
              for (size_t i = 0; i < n; ++i) {
                ++n_checks;
                if (r[m][i] != 0.0 && bad++ < 3)
                  fail(lab + ": " + dv::measure_name(m) + " row " + std::to_string(i) + " = " + fmt(r[m][i]) +
                       ", not exactly 0");
              }
            }
          }
      }
  }
}

// Disjoint one-hots (JS = ln 2 exactly) and p = [.5,.5,0,0] vs uniform (JS distance 0.4645...).
void divergence_closed_forms() {
  const double ln2 = 0.69314718055994530942;
  for (size_t k : {3, 100}) {
    for (bool f32 : {false, true}) {
      Input a(2, k, f32), b(2, k, f32);
      a.set(0, 1);
      b.set(1, 1);
      a.set(k + 1, 1);
      b.set(k + 2, 1);
      std::vector<double> cost = test_cost(k);
      for (Isa isa : supported_isas()) {
        const std::string lab = std::string("one-hots k=") + std::to_string(k) + (f32 ? " f32 " : " f64 ") + isa_name(isa);
        for (int variant = 0; variant < 3; ++variant) {
          // 0: with KL (logs available), 1: JS alone (no logs), 2: with emd-cost (row path).
          Opts o;
          o.kind = dv::Kind::Probs;
          uint32_t mask = variant == 1 ? (1u << dv::kJs) | (1u << dv::kJsDistance) : kAllMask;
          if (variant == 2) {
            o.cost = cost.data();
            mask |= 1u << dv::kEmdCost;
          }
          const std::string l = lab + " variant " + std::to_string(variant);
          Result r = run(a, b, mask, o, isa);
          for (size_t i = 0; i < 2; ++i) {
            check(r[dv::kJs][i] == ln2, l + ": JS = " + fmt(r[dv::kJs][i]) + ", not ln 2 exactly");
            check(close(r[dv::kJsDistance][i], std::sqrt(ln2), 1e-15, 0), l + ": JS distance = sqrt(ln 2)");
            if (variant == 1) continue;
            check(r[dv::kTv][i] == 1 && r[dv::kHellinger][i] == 1 && r[dv::kEmd][i] == 1 &&
                      r[dv::kDisagreement][i] == 1,
                  l + ": TV, Hellinger, EMD, disagreement = 1");
            check(r[dv::kKl][i] == INFINITY && r[dv::kKlReverse][i] == INFINITY, l + ": KL = +Infinity");
          }
          Opts ob = o;
          ob.bits = true;
          Result rb = run(a, b, mask, ob, isa);
          check(close(rb[dv::kJs][0], 1, 1e-15, 0) && close(rb[dv::kJsDistance][0], 1, 1e-15, 0), l + ": 1 bit");
        }
      }
    }
  }
  for (bool f32 : {false, true}) {
    Input p(1, 4, f32), q(1, 4, f32);
    const double pv[] = {0.5, 0.5, 0, 0};
    for (size_t j = 0; j < 4; ++j) p.set(j, pv[j]), q.set(j, 0.25);
    std::vector<double> cost = test_cost(4);
    for (Isa isa : supported_isas())
      for (int with_cost = 0; with_cost < 2; ++with_cost) {
        Opts o;
        o.kind = dv::Kind::Probs;
        uint32_t mask = kAllMask;
        if (with_cost) o.cost = cost.data(), mask |= 1u << dv::kEmdCost;
        const std::string l = std::string("p=[.5,.5,0,0] q=uniform") + (f32 ? " f32 " : " f64 ") + isa_name(isa) +
                              (with_cost ? " +emd-cost" : "");
        Result r = run(p, q, mask, o, isa);
        check(close(r[dv::kJsDistance][0], 0.46450140402245893, 1e-14, 0),
              l + ": JS distance " + fmt(r[dv::kJsDistance][0]) + ", expected 0.46450140402245893");
        check(close(r[dv::kJs][0], 0.75 * std::log(4.0 / 3.0), 1e-14, 0), l + ": JS = 3/4 ln(4/3)");
        check(close(r[dv::kKl][0], ln2, 1e-15, 0), l + ": KL(p||uniform) = ln 2, got " + fmt(r[dv::kKl][0]));
        check(r[dv::kKlReverse][0] == INFINITY, l + ": KL(uniform||p) = +Infinity");
      }
  }
}

// NaN / Inf rows: divergence::Error with code NON_FINITE naming the matrix and the first bad row.
void divergence_errors() {
  Rng rng(11);
  for (size_t k : {1, 2, 10, 100})
    for (dv::Kind kind : {dv::Kind::Logits, dv::Kind::Probs})
      for (Isa isa : supported_isas()) {
        const size_t n = 9;
        struct Case {
          long matrix, row;
          bool f32;
          double bad;
        };
        for (const Case& c : {Case{1, 5, false, NAN}, Case{0, 1, true, INFINITY}, Case{1, 8, false, -INFINITY},
                              Case{0, 0, true, NAN}}) {
          Input a = kind == dv::Kind::Logits ? random_logits(rng, n, k, c.f32) : random_probs(rng, n, k, 0.2, c.f32);
          Input b = kind == dv::Kind::Logits ? random_logits(rng, n, k, c.f32) : random_probs(rng, n, k, 0.2, c.f32);
          (c.matrix == 0 ? a : b).set(c.row * k + (k > 1 ? 1 : 0), c.bad);
          if (c.row + 3 < static_cast<long>(n)) (c.matrix == 0 ? b : a).set((c.row + 3) * k, NAN);  // later row
          const std::string lab = std::string("error ") + kind_name(kind) + " k=" + std::to_string(k) + " " +
                                  isa_name(isa) + " bad " + fmt(c.bad) + " at matrix " + std::to_string(c.matrix) +
                                  " row " + std::to_string(c.row);
          for (uint32_t mask : {kAllMask, 1u << dv::kJs}) {
            Opts o;
            o.kind = kind;
            ++n_checks;
            try {
              run(a, b, mask, o, isa);
              fail(lab + ": no error thrown");
            } catch (const dv::Error& e) {
              if (e.code != "NON_FINITE" || e.input != c.matrix || e.row != c.row)
                fail(lab + ": got " + e.code + " matrix " + std::to_string(e.input) + " row " + std::to_string(e.row) +
                     " (" + e.what() + ")");
            } catch (const std::exception& e) {
              fail(lab + ": wrong exception type: " + e.what());
            }
          }
        }
      }
  // Invalid probabilities: INVALID_PROBS naming the matrix and the first bad row.
  for (size_t k : {2, 10, 100})
    for (Isa isa : supported_isas())
      for (int variant = 0; variant < 2; ++variant) {
        const size_t n = 9;
        Input a = random_probs(rng, n, k, 0.2, false), b = random_probs(rng, n, k, 0.2, false);
        if (variant == 0) b.set(6 * k + 1, b.get(6 * k + 1) + 3e-4);  // sum 1.0003
        else a.set(3 * k, -1e-9), a.set(3 * k + 1, a.get(3 * k + 1) + 1e-9);  // negative, sum 1
        const long want_m = variant == 0 ? 1 : 0, want_r = variant == 0 ? 6 : 3;
        const std::string lab = std::string("error probs ") + (variant == 0 ? "bad sum" : "negative") +
                                " k=" + std::to_string(k) + " " + isa_name(isa);
        Opts o;
        o.kind = dv::Kind::Probs;
        ++n_checks;
        try {
          run(a, b, kAllMask, o, isa);
          fail(lab + ": no error thrown");
        } catch (const dv::Error& e) {
          if (e.code != "INVALID_PROBS" || e.input != want_m || e.row != want_r)
            fail(lab + ": got " + e.code + " matrix " + std::to_string(e.input) + " row " + std::to_string(e.row) +
                 " (" + e.what() + ")");
        }
      }
  // pairwise names the model and the row.
  for (Isa isa : supported_isas())
    for (size_t k : {3, 100}) {
      std::vector<Input> models;
      for (int m = 0; m < 4; ++m) models.push_back(random_logits(rng, 20, k, false));
      models[2].set(13 * k + 1, NAN);
      std::vector<dv::Matrix> mats;
      for (auto& m : models) mats.push_back(m.mat());
      std::vector<double> out(16);
      dv::Options opt;
      opt.isa = isa;
      const std::string lab = std::string("pairwise error k=") + std::to_string(k) + " " + isa_name(isa);
      ++n_checks;
      try {
        dv::pairwise(mats.data(), 4, 20, k, dv::kJs, opt, out.data());
        fail(lab + ": no error thrown");
      } catch (const dv::Error& e) {
        if (e.code != "NON_FINITE" || e.input != 2 || e.row != 13)
          fail(lab + ": got " + e.code + " matrix " + std::to_string(e.input) + " row " + std::to_string(e.row));
      }
    }
}

void divergence_pairwise() {
  Rng rng(5);
  for (size_t k : {1, 3, 6, 17, 80, 300})
    for (dv::Kind kind : {dv::Kind::Logits, dv::Kind::Probs}) {
      if (kind == dv::Kind::Probs && k == 1) continue;
      const size_t n = k >= 300 ? 15 : 45, count = 4;
      std::vector<Input> models;
      for (size_t m = 0; m < count; ++m) {
        const bool f32 = m % 2 == 1;
        models.push_back(kind == dv::Kind::Logits ? random_logits(rng, n, k, f32) : random_probs(rng, n, k, 0.4, f32));
      }
      models[3] = models[0];  // identical models at different indices
      std::vector<dv::Matrix> mats;
      for (auto& m : models) mats.push_back(m.mat());
      std::vector<double> cost = test_cost(k);
      for (int measure = 0; measure < dv::kNumMeasures; ++measure) {
        if (measure == dv::kEmdCost && k > 17) continue;  // scalar transport solver: slow under qemu
        dv::Options opt;
        opt.kind = kind;
        opt.cost = cost.data();
        std::vector<double> ref(count * count), got(count * count);
        opt.isa = Isa::Scalar;
        dv::pairwise(mats.data(), count, n, k, measure, opt, ref.data());
        const std::string lab = std::string("pairwise ") + kind_name(kind) + " k=" + std::to_string(k) + " " +
                                dv::measure_name(measure);
        for (Isa isa : supported_isas()) {
          opt.isa = isa;
          dv::pairwise(mats.data(), count, n, k, measure, opt, got.data());
          check(got[3] == 0 && got[12] == 0 && got[0] == 0,
                lab + " " + isa_name(isa) + ": identical models (0 and 3) give exactly 0, got " + fmt(got[3]));
          if (isa == Isa::Scalar) continue;
          for (size_t i = 0; i < count * count; ++i) {
            ++n_checks;
            record(pair_stats[measure], got[i], ref[i]);
            if (!close(got[i], ref[i], 1e-12, 1e-15))
              fail(lab + " " + isa_name(isa) + " [" + std::to_string(i / count) + "," + std::to_string(i % count) +
                   "]: " + fmt(got[i]) + " vs scalar " + fmt(ref[i]));
          }
        }
      }
    }
}

// Results do not depend on the thread count (bit for bit).
void divergence_threads() {
  Rng rng(9);
  for (size_t k : {10, 100}) {
    const size_t n = k == 10 ? 4001 : 701;
    Input a = random_logits(rng, n, k, true), b = random_logits(rng, n, k, true);
    for (Isa isa : simd_isas()) {
      Opts o1, o3;
      o3.threads = 3;
      Result r1 = run(a, b, kAllMask, o1, isa), r3 = run(a, b, kAllMask, o3, isa);
      int bad = 0;
      for (int m : kMeasures)
        for (size_t i = 0; i < n; ++i)
          if (std::memcmp(&r1[m][i], &r3[m][i], sizeof(double)) != 0) ++bad;
      check(bad == 0, std::string("threads ") + isa_name(isa) + " k=" + std::to_string(k) + ": " +
                          std::to_string(bad) + " values differ between 1 and 3 threads");
    }
  }
}

// ---------- other kernel families ----------
double brute_force_assignment(const std::vector<double>& c, int n) {
  std::vector<int> perm(n);
  for (int i = 0; i < n; ++i) perm[i] = i;
  double best = INFINITY;
  do {
    double s = 0;
    for (int i = 0; i < n; ++i) s += c[i * n + perm[i]];
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

void other_families() {
  Rng rng(3);
  // Assignment: identical solution on every ISA; optimal (brute force) for n <= 7.
  for (int trial = 0; trial < 40; ++trial) {
    const int rows = 1 + trial % 7, cols = trial % 3 == 0 ? rows + trial % 4 : rows;
    std::vector<double> c(rows * cols);
    for (double& v : c) v = trial % 5 == 0 ? std::floor(rng.uniform() * 4) : rng.normal();  // ties when floored
    std::vector<int32_t> ref(rows), got(rows);
    for (AssignmentMethod meth : {AssignmentMethod::Lapjv, AssignmentMethod::ShortestPath}) {
      const char* mname = meth == AssignmentMethod::Lapjv ? "lapjv" : "shortest-path";
      const double ref_total = linear_sum_assignment(c.data(), rows, cols, false, ref.data(), meth, Isa::Scalar);
      if (rows == cols)
        check(close(ref_total, brute_force_assignment(c, rows), 1e-12, 1e-12),
              std::string("assignment ") + mname + " trial " + std::to_string(trial) + ": scalar total " +
                  fmt(ref_total) + " is not optimal");
      for (Isa isa : simd_isas()) {
        const double total = linear_sum_assignment(c.data(), rows, cols, false, got.data(), meth, isa);
        check(total == ref_total && got == ref,
              std::string("assignment ") + mname + " " + isa_name(isa) + " trial " + std::to_string(trial) +
                  ": total " + fmt(total) + " vs scalar " + fmt(ref_total) + ", or a different solution");
      }
    }
    for (Isa isa : simd_isas()) {
      std::vector<double> flat(rows * rows, 2.5);
      std::vector<int32_t> id(rows);
      linear_sum_assignment(flat.data(), rows, rows, true, id.data(), AssignmentMethod::Auto, isa);
      bool ident = true;
      for (int i = 0; i < rows; ++i) ident = ident && id[i] == i;
      check(ident, std::string("assignment ") + isa_name(isa) + ": a constant matrix gives the identity");
    }
  }
  // Linalg: feature and sample Grams vs scalar (1e-12) and vs a naive product (1e-10).
  for (size_t p : {1, 3, 8, 33}) {
    const size_t n = 57, py = 5;
    std::vector<double> x(n * p);
    std::vector<float> y(n * py);
    for (double& v : x) v = rng.normal() + 3;
    for (float& v : y) v = static_cast<float>(rng.normal());
    linalg::MatrixView xv, yv;
    xv.data = x.data(), xv.f64 = true, xv.rows = n, xv.cols = p, xv.name = "X";
    yv.data = y.data(), yv.f64 = false, yv.rows = n, yv.cols = py, yv.name = "Y";
    const size_t P = p + py;
    std::vector<double> g_ref(P * P), g(P * P), mean(P), sg_ref(n * n), sg(n * n);
    linalg::feature_gram(xv, &yv, true, Isa::Scalar, 1, g_ref.data(), mean.data(), nullptr, nullptr);
    // naive centered Z^T Z
    std::vector<double> z(n * P);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < p; ++j) z[i * P + j] = x[i * p + j];
      for (size_t j = 0; j < py; ++j) z[i * P + p + j] = y[i * py + j];
    }
    for (size_t j = 0; j < P; ++j) {
      double m = 0;
      for (size_t i = 0; i < n; ++i) m += z[i * P + j];
      m /= static_cast<double>(n);
      for (size_t i = 0; i < n; ++i) z[i * P + j] -= m;
    }
    for (size_t a = 0; a < P; ++a)
      for (size_t b = 0; b < P; ++b) {
        double s = 0;
        for (size_t i = 0; i < n; ++i) s += z[i * P + a] * z[i * P + b];
        check(close(g_ref[a * P + b], s, 1e-10, 1e-10), "linalg feature_gram scalar vs naive p=" + std::to_string(p));
      }
    for (Isa isa : simd_isas()) {
      linalg::feature_gram(xv, &yv, true, isa, 2, g.data(), mean.data(), nullptr, nullptr);
      for (size_t i = 0; i < P * P; ++i)
        check(close(g[i], g_ref[i], 1e-12, 1e-15),
              std::string("linalg feature_gram ") + isa_name(isa) + " p=" + std::to_string(p) + " entry " +
                  std::to_string(i) + ": " + fmt(g[i]) + " vs scalar " + fmt(g_ref[i]));
      for (auto kind : {linalg::SampleKernel::Dot, linalg::SampleKernel::SquaredDistance}) {
        linalg::sample_gram(xv, true, kind, Isa::Scalar, 1, sg_ref.data());
        linalg::sample_gram(xv, true, kind, isa, 2, sg.data());
        for (size_t i = 0; i < n * n; ++i)
          check(close(sg[i], sg_ref[i], 1e-12, 1e-15),
                std::string("linalg sample_gram ") + isa_name(isa) + " p=" + std::to_string(p) + " entry " +
                    std::to_string(i));
      }
    }
  }
  // Matching similarity: identical on every ISA.
  {
    const size_t ua = 9, ub = 7, fan_in = 13, out_rows = 3, block = 2;
    std::vector<double> wa(ua * fan_in), ba(ua), oa(out_rows * ua * block), wb(ub * fan_in), bb(ub),
        ob(out_rows * ub * block);
    for (auto* v : {&wa, &ba, &oa, &wb, &bb, &ob})
      for (double& e : *v) e = rng.normal();
    LayerView la{wa.data(), ba.data(), oa.data(), ua, fan_in, out_rows, block};
    LayerView lb{wb.data(), bb.data(), ob.data(), ub, fan_in, out_rows, block};
    std::vector<double> ref(ua * ub), got(ua * ub);
    matching_similarity(la, lb, ref.data(), 1, Isa::Scalar);
    for (size_t i = 0; i < ua; ++i)
      for (size_t j = 0; j < ub; ++j) {
        double s = 0;
        for (size_t f = 0; f < fan_in; ++f) s += wa[i * fan_in + f] * wb[j * fan_in + f];
        s += ba[i] * bb[j];
        for (size_t o = 0; o < out_rows; ++o)
          for (size_t t = 0; t < block; ++t) s += oa[(o * ua + i) * block + t] * ob[(o * ub + j) * block + t];
        check(close(ref[i * ub + j], s, 1e-12, 1e-13), "matching scalar vs naive");
      }
    for (Isa isa : simd_isas()) {
      matching_similarity(la, lb, got.data(), 2, isa);
      check(got == ref, std::string("matching ") + isa_name(isa) + " equals scalar");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "-v") == 0) verbose = true;
  const auto t0 = std::chrono::steady_clock::now();
  std::string isas;
  for (Isa i : supported_isas()) isas += std::string(isas.empty() ? "" : ",") + isa_name(i);
#if defined(MODELDIFF_ARM64)
  check(isa_supported(Isa::Neon), "arm64 build: Isa::Neon must be supported");
#endif
  if (simd_isas().empty()) fail("no non-scalar ISA to check on this build/CPU");
  try {
    auto timed = [](const char* name, void (*fn)()) {
      const auto s0 = std::chrono::steady_clock::now();
      const long f0 = n_fail;
      fn();
      if (verbose)
        std::printf("  section %-24s %5.1f s, %ld failed\n", name,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count(), n_fail - f0);
    };
    timed("divergence random", divergence_random);
    timed("divergence identical", divergence_identical);
    timed("divergence closed forms", divergence_closed_forms);
    timed("divergence errors", divergence_errors);
    timed("divergence pairwise", divergence_pairwise);
    timed("divergence threads", divergence_threads);
    timed("other kernel families", other_families);
  } catch (const std::exception& e) {
    fail(std::string("unexpected exception: ") + e.what());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double max_rel = 0, max_abs = 0, max_tol = 0;
  long compared = 0;
  for (int m = 0; m < dv::kNumMeasures; ++m) {
    const Stat& s = stats[m];
    const Stat& ps = pair_stats[m];
    compared += s.compared + ps.compared;
    max_rel = std::max({max_rel, s.max_rel, ps.max_rel});
    max_abs = std::max({max_abs, s.max_abs, ps.max_abs});
    max_tol = std::max({max_tol, s.max_tol, ps.max_tol});
    if (verbose && (s.compared || ps.compared))
      std::printf("  %-13s per_sample %6ld values: max rel %.3g, max abs %.3g, max diff/tolerance %.3g | "
                  "pairwise %4ld values: max rel %.3g, max abs %.3g\n",
                  dv::measure_name(m), s.compared, s.max_rel, s.max_abs, s.max_tol, ps.compared, ps.max_rel, ps.max_abs);
  }
  std::printf("neon-check [%s]: %s: %ld checks, %ld failed; %ld SIMD-vs-scalar values (max rel diff %.3g, max abs %.3g, "
              "worst diff/tolerance %.3g), %ld values vs float64 reference; %.1f s\n",
              isas.c_str(), n_fail == 0 ? "PASS" : "FAIL", n_checks, n_fail, compared, max_rel, max_abs, max_tol,
              ref_compared, secs);
  return n_fail == 0 ? 0 : 1;
}
