// The divergence row kernels, written once as a template over a vector policy V and
// instantiated per ISA, in the idiom of every kernel family (src/simd_policy.hpp): each ISA
// translation unit (src/divergence_{scalar,avx2,avx512,neon}.cpp) defines its policy on
// simd::VectorPolicy<W> plus what divergence needs (src/divergence_policy.hpp) and returns
// DivergenceKernel<Policy>::table() as its row_kernels<Isa>(); src/divergence.cpp picks one with
// for_isa(). Everything here has internal linkage (anonymous namespace), so each translation
// unit keeps its own copy compiled with its own flags (the multi-ISA ODR trap). For the same
// reason this file uses no std:: templates, only <cmath> functions.
//
// V provides (src/divergence_policy.hpp): T (vector of doubles), M (lane mask), W (lanes), BC
// (columns per load_block), load/store/set1/zero, add, sub, mul, div, fma(a,b,c)=a*b+c, abs,
// sqrt, max, min, lt/le/gt/eq, mand/mor/mnot, select(m,a,b), any(m), bits(m), finite(x), iota,
// reduce_add / reduce_max (each in its ISA's fixed lane order), load_part, load_block, log,
// log_pos, log_away1, exp.
//
// Two layouts: the row path (any k) vectorizes along one row; the batch path (small k) puts
// one row in each lane of a transposed W-row tile, so short rows waste no lanes and need no
// horizontal reductions. Both use the same per-element terms (kl_term, js_term).
//
// Numerics (why each term looks the way it does):
//  * Every per-element term is non-negative and computed without cancellation, so a tiny
//    divergence between nearly identical rows is an honest tiny number, and identical rows
//    give exactly 0. The one signed sum, KL's mass difference sum (p - q) for probability rows,
//    is kept in its own accumulator and is exact term by term for nearby p and q.
//  * Sums are blocked: a vector accumulator per block of kBlock elements, blocks added in
//    order, so rounding error grows with k / kBlock, not with k.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_rows.hpp"
#include "divergence_vecmath.hpp"

namespace modeldiff {
namespace divergence {
namespace {

static constexpr size_t kBlock = 256;
static constexpr size_t kPrefetchTiles = 4;
// softmax_row: rows longer than this scan their top-k in the max pass (see softmax_of).
static constexpr size_t kLateTopMax = 4096;

// The per-element terms are inlined into each measure loop: called out of line, every call
// re-broadcasts the polynomial constants and the loop cannot overlap consecutive columns.
#if defined(__GNUC__)
#define MODELDIFF_INLINE inline __attribute__((always_inline))
#define MODELDIFF_PREFETCH(addr) __builtin_prefetch(addr)
#define MODELDIFF_LAMBDA_INLINE __attribute__((always_inline))
#else
#define MODELDIFF_LAMBDA_INLINE
#define MODELDIFF_INLINE inline
#define MODELDIFF_PREFETCH(addr) ((void)(addr))
#endif

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

template <class V>
struct DivergenceKernel {
  using T = typename V::T;
  using M = typename V::M;
  static constexpr size_t W = V::W;
  static constexpr size_t BC = V::BC;  // columns per V::load_block

  static int logits(double* x, size_t k, size_t kpad, double* p, double* lp) {
    for (size_t i = k; i < kpad; ++i) x[i] = x[0];  // pads must not change the max
    T mx = V::load(x);
    M bad = V::mnot(V::finite(mx));
    for (size_t i = W; i < kpad; i += W) {
      T v = V::load(x + i);
      bad = V::mor(bad, V::mnot(V::finite(v)));
      mx = V::max(mx, v);
    }
    if (V::any(bad)) return kRowNonFinite;
    const T vmax = V::set1(V::reduce_max(mx));
    for (size_t i = k; i < kpad; ++i) x[i] = -INFINITY;  // exp(-inf) = 0: pads drop out of the sum
    double sum = 0;
    for (size_t b = 0; b < kpad; b += kBlock) {
      T acc = V::zero();
      const size_t e = min_size(b + kBlock, kpad);
      for (size_t i = b; i < e; i += W) {
        T t = V::sub(V::load(x + i), vmax);
        T ex = V::exp(t);
        V::store(p + i, ex);
        V::store(lp + i, t);
        acc = V::add(acc, ex);
      }
      sum += V::reduce_add(acc);
    }
    // sum >= 1 (the max contributes exp(0)), so log and 1/sum are safe.
    const T lse = V::set1(std::log(sum));
    const T inv = V::set1(1.0 / sum);
    for (size_t i = 0; i < kpad; i += W) {
      V::store(lp + i, V::sub(V::load(lp + i), lse));
      V::store(p + i, V::mul(V::load(p + i), inv));
    }
    for (size_t i = k; i < kpad; ++i) x[i] = p[i] = lp[i] = 0.0;
    return kRowOk;
  }

  // Index of the first maximum of x[0..k) (numpy's argmax tie rule), one vector pass: each
  // lane keeps its first maximum, then the lowest index among the lanes holding the maximum.
  // x must be finite (rows are validated first).
  static size_t argmax(const double* x, size_t k) {
    size_t i = 0;
    double best_v = x[0];
    size_t best_i = 0;
    if (k >= W) {
      T best = V::load(x), idx = V::iota();
      for (i = W; i + W <= k; i += W) {
        T v = V::load(x + i);
        M m = V::gt(v, best);
        best = V::select(m, v, best);
        idx = V::select(m, V::add(V::set1(static_cast<double>(i)), V::iota()), idx);
      }
      double bv[kRowPad], bi[kRowPad];
      V::store(bv, best);
      V::store(bi, idx);
      best_v = bv[0];
      best_i = static_cast<size_t>(bi[0]);
      for (size_t l = 1; l < W; ++l) {
        const size_t li = static_cast<size_t>(bi[l]);
        if (bv[l] > best_v || (bv[l] == best_v && li < best_i)) best_v = bv[l], best_i = li;
      }
    }
    for (; i < k; ++i)
      if (x[i] > best_v) best_v = x[i], best_i = i;
    return best_i;
  }

  // The K largest of x[0..k) (K <= k), best first, into ids / vals; ties keep the lower index
  // first (numpy's stable argsort of -x). One vector pass: a block of W values is looked at only
  // if one of them can enter the top K, which after the first few blocks is rare (about
  // K ln(k / K) insertions for random rows), so the pass runs at compare-and-branch speed.
  // Before the top K fill up, a block is skipped when all its values are below `top_bound`, the
  // smallest of the maxima of K disjoint chunks of the row: K values are >= bound, so no value
  // below it is in the top K. Without it short rows (V ~ 256) spent most of their time on the
  // scalar inserts of the first blocks. x must be finite (rows are validated first).
  static void top(const double* x, size_t k, size_t K, int32_t* ids, double* vals) {
    TopScan scan{K, 0, ids, vals, top_bound(x, k, K)};
    size_t i = 0;
    // Once the top K are full, four blocks share one test and one branch.
    for (; i + 4 * W <= k; i += 4 * W) {
      if (scan.filled == K) {
        const T f = V::set1(scan.floor);
        const M in = V::mor(V::mor(V::gt(V::load(x + i), f), V::gt(V::load(x + i + W), f)),
                            V::mor(V::gt(V::load(x + i + 2 * W), f), V::gt(V::load(x + i + 3 * W), f)));
        if (!V::any(in)) continue;
      }
      for (size_t b = i; b < i + 4 * W; b += W) scan.offer(V::load(x + b), b, W);
    }
    for (; i + W <= k; i += W) scan.offer(V::load(x + i), i, W);
    for (; i < k; ++i) scan.insert(x[i], i);
  }

  // ---- logits rows read in place (softmax_row / measure_deferred, see src/divergence_rows.hpp) ----

  // Vector i of an input row of k values: W values, or the k - i left (zeros beyond), or zeros.
  template <class In>
  MODELDIFF_INLINE static T row_vector(const In* src, size_t i, size_t k) {
    return i + W <= k ? V::load_part(src + i, W) : i < k ? V::load_part(src + i, k - i) : V::zero();
  }

  // The top-K insertion of `top`, fed in index order (ties keep the lower index first). Before
  // the top K fill up, values below `floor` (a lower bound of the K-th largest, or -inf) are
  // skipped; once full, values not above the K-th largest.
  struct TopScan {
    size_t K, filled;
    int32_t* ids;
    double* vals;
    double floor;
    MODELDIFF_INLINE void insert(double v, size_t j) {
      if (filled == K ? !(v > floor) : v < floor) return;
      size_t i = filled < K ? filled++ : K - 1;
      for (; i > 0 && v > vals[i - 1]; --i) {
        vals[i] = vals[i - 1];
        ids[i] = ids[i - 1];
      }
      vals[i] = v;
      ids[i] = static_cast<int32_t>(j);
      if (filled == K) floor = vals[K - 1];
    }
    // Lanes [0, lanes) of v, classes b ..; a vector with no candidate costs one compare, and
    // only the lanes that pass it are inserted (a lane below the floor stays below it: the floor
    // only rises).
    MODELDIFF_INLINE void offer(T v, size_t b, size_t lanes) {
      const M in = filled == K ? V::gt(v, V::set1(floor)) : V::le(V::set1(floor), v);
      const unsigned hits = V::bits(in);
      if (hits == 0) return;
      double lane[kRowPad];
      V::store(lane, v);
      for (size_t l = 0; l < lanes; ++l)
        if ((hits >> l) & 1u) insert(lane[l], b + l);
    }
  };

  // The smallest of the maxima of K disjoint chunks of x[0..k) (K values are >= it, so nothing
  // below it is in the top K), or -inf when the chunks would be shorter than two vectors.
  template <class In>
  static double top_bound(const In* x, size_t k, size_t K) {
    double bound = -INFINITY;
    const size_t chunk = k / K / W * W;  // whole vectors per chunk
    if (chunk >= 2 * W) {
      for (size_t c = 0; c < K; ++c) {
        T m = V::load_part(x + c * chunk, W);
        for (size_t i = c * chunk + W; i < (c + 1) * chunk; i += W) m = V::max(m, V::load_part(x + i, W));
        const double cm = V::reduce_max(m);
        bound = c == 0 || cm < bound ? cm : bound;
      }
    }
    return bound;
  }

  template <class In>
  static int softmax_of(const In* src, size_t k, const TopK& want, double* e, RowNorm* norm) {
    const size_t kpad = padded(k), K = want.K;
    // Pass 1: finiteness and the max, in four accumulators (max is exact in any order) that
    // start at -inf and never see a pad or a repeated value, so each of their 4W lanes holds the
    // maximum of its own disjoint set of classes (-inf for an empty set).
    const T ninf = V::set1(-INFINITY);
    T mx[4] = {ninf, ninf, ninf, ninf};
    M bad = V::lt(V::zero(), V::zero());  // all lanes false
    // Where the top K are scanned. Short rows (in L1): in pass 2, from a floor that already
    // excludes almost every class, the K-th largest of the 4W disjoint sets' maxima (K classes
    // are >= it, so nothing below it is in the top K); scanned in pass 1 with a bound from a pass
    // of its own, the scalar inserts and the extra pass took ~30% of a V = 256 row's softmax.
    // Long rows: here in pass 1, which waits on memory anyway; they fill the top K early and
    // rarely insert after, while pass 2's per-vector check slowed its exps (V = 32000).
    const bool early = K > 0 && k > kLateTopMax;
    TopScan top{K, 0, want.ids, want.vals, -INFINITY};
    size_t i = 0;
    // Two copies of the loop, so that short rows' stays as tight as it is without a top-k.
    if (early) {
      for (; i + 4 * W <= k; i += 4 * W) {
        T v[4];
#pragma GCC unroll 4
        for (size_t j = 0; j < 4; ++j) {
          v[j] = V::load_part(src + i + j * W, W);
          bad = V::mor(bad, V::mnot(V::finite(v[j])));
          mx[j] = V::max(mx[j], v[j]);
        }
        if (top.filled == K) {
          const T f = V::set1(top.floor);
          if (!V::any(V::mor(V::mor(V::gt(v[0], f), V::gt(v[1], f)), V::mor(V::gt(v[2], f), V::gt(v[3], f))))) continue;
        }
        for (size_t j = 0; j < 4; ++j) top.offer(v[j], i + j * W, W);
      }
    } else {
      for (; i + 4 * W <= k; i += 4 * W) {
#pragma GCC unroll 4
        for (size_t j = 0; j < 4; ++j) {
          const T v = V::load_part(src + i + j * W, W);
          bad = V::mor(bad, V::mnot(V::finite(v)));
          mx[j] = V::max(mx[j], v);
        }
      }
    }
    for (; i < k; i += W) {
      const size_t lanes = min_size(W, k - i);
      T v = V::load_part(src + i, lanes);  // zeros beyond k: finite; they do not enter the max
      bad = V::mor(bad, V::mnot(V::finite(v)));
      if (early) top.offer(v, i, lanes);
      if (lanes < W) v = V::select(V::lt(V::iota(), V::set1(static_cast<double>(lanes))), v, ninf);
      mx[0] = V::max(mx[0], v);
    }
    if (V::any(bad)) return kRowNonFinite;
    const double max = V::reduce_max(V::max(V::max(mx[0], mx[1]), V::max(mx[2], mx[3])));
    const bool late = K > 0 && !early;
    if (late) top.floor = set_maxima_bound(mx, K);
    // Pass 2: e = exp(x - max) and its blocked sum, as `logits` computes them (pads add exp(-inf)
    // = 0 there; here they are stored as 0 and left out of the sum, the same value).
    const T vmax = V::set1(max);
    const size_t kfull = k / W * W;
    double sum = 0;
    for (size_t b = 0; b < kpad; b += kBlock) {
      T acc = V::zero();
      const size_t end = min_size(b + kBlock, kpad), hot = min_size(end, kfull);
      for (size_t j = b; j < hot; j += W) {
        const T x = V::load_part(src + j, W);
        const T ex = V::exp(V::sub(x, vmax));
        V::store(e + j, ex);
        acc = V::add(acc, ex);
        if (late) top.offer(x, j, W);
      }
      for (size_t j = hot > b ? hot : b; j < end; j += W) {  // the partial vector, then pads
        if (j < k) {
          const T x = V::load_part(src + j, k - j);
          const T ex = V::select(V::lt(V::iota(), V::set1(static_cast<double>(k - j))), V::exp(V::sub(x, vmax)), V::zero());
          V::store(e + j, ex);
          acc = V::add(acc, ex);
          if (late) top.offer(x, j, k - j);
        } else {
          V::store(e + j, V::zero());
        }
      }
      sum += V::reduce_add(acc);
    }
    // sum >= 1 (the max contributes exp(0)), so log and 1/sum are safe.
    norm->max = max;
    norm->lse = std::log(sum);
    norm->inv = 1.0 / sum;
    return kRowOk;
  }

  // A lower bound of a row's K-th largest value from mx's 4W lanes, each the maximum of a
  // disjoint set of the row's classes (-inf for none): sorted down each lane (a 5-exchange
  // network, s0 >= s1 >= s2 >= s3), every lane's s_r is >= the smallest s_r of any lane, so the
  // (r + 1) W sets behind s_0..s_r each hold a value >= min over lanes of s_r: with
  // r = ceil(K / W) - 1 that is K values. -inf when K > 4W. Vector ops only: an exact K-th
  // largest of the 4W lanes by insertion cost ~18% of a V = 256 row's softmax in mispredicted
  // branches, more than the few extra candidates this looser bound lets through.
  static double set_maxima_bound(const T* mx, size_t K) {
    if (K > 4 * W) return -INFINITY;
    T s[4] = {mx[0], mx[1], mx[2], mx[3]};
    auto exchange = [&](size_t i, size_t j) MODELDIFF_LAMBDA_INLINE {
      const T hi = V::max(s[i], s[j]), lo = V::min(s[i], s[j]);
      s[i] = hi;
      s[j] = lo;
    };
    exchange(0, 1);
    exchange(2, 3);
    exchange(0, 2);
    exchange(1, 3);
    exchange(1, 2);
    return -V::reduce_max(V::sub(V::zero(), s[(K + W - 1) / W - 1]));  // the lanes' minimum
  }
  static int softmax_row(const InputRow& src, const TopK& top, double* e, RowNorm* norm) {
    return src.f32 ? softmax_of(static_cast<const float*>(src.data), src.k, top, e, norm)
                   : softmax_of(static_cast<const double*>(src.data), src.k, top, e, norm);
  }

  // `measure`'s distribution sums over two softmax_row rows, normalizing as it reads: the same
  // loop, the same operations on the same values (p = e * inv, log p = (x - max) - lse). Pad
  // lanes read p = q = 0 with finite log p, log q, which every term maps to 0 as it does the
  // normalized rows' pads.
  template <class In>
  static void measure_deferred_of(const DeferredRowView& ra, const DeferredRowView& rb, size_t k, size_t kpad,
                                  const MeasureSpec& s, RowSums* out) {
    const In *xa = static_cast<const In*>(ra.x), *xb = static_cast<const In*>(rb.x);
    const double *ea = ra.e, *eb = rb.e;
    const RowNorm &na = ra.norm, &nb = rb.norm;
    RowSums r;
    const T inva = V::set1(na.inv), invb = V::set1(nb.inv), maxa = V::set1(na.max), maxb = V::set1(nb.max);
    const T lsea = V::set1(na.lse), lseb = V::set1(nb.lse);
    const size_t kfull = k / W * W;
    for (size_t b = 0; b < kpad; b += kBlock) {
      T akl = V::zero(), aklr = V::zero(), ajs = V::zero(), atv = V::zero(), ahel = V::zero();
      auto step = [&](size_t i, T x, T y) MODELDIFF_LAMBDA_INLINE {
        const T vp = V::mul(V::load(ea + i), inva), vq = V::mul(V::load(eb + i), invb);
        const T vlp = V::sub(V::sub(x, maxa), lsea), vlq = V::sub(V::sub(y, maxb), lseb);
        if (s.kl) akl = V::add(akl, kl_term(vp, vlp, vq, vlq, true));
        if (s.kl_reverse) aklr = V::add(aklr, kl_term(vq, vlq, vp, vlp, true));
        if (s.js) ajs = V::add(ajs, js_term(vp, vlp, vq, vlq, true));
        if (s.tv) atv = V::add(atv, V::abs(V::sub(vp, vq)));
        if (s.hellinger) {
          T dd = V::sub(V::sqrt(vp), V::sqrt(vq));
          ahel = V::fma(dd, dd, ahel);
        }
      };
      const size_t e = min_size(b + kBlock, kpad), hot = min_size(e, kfull);
      for (size_t i = b; i < hot; i += W) step(i, V::load_part(xa + i, W), V::load_part(xb + i, W));
      for (size_t i = hot > b ? hot : b; i < e; i += W) step(i, row_vector(xa, i, k), row_vector(xb, i, k));
      r.v[kSumKl] += V::reduce_add(akl);
      r.v[kSumKlReverse] += V::reduce_add(aklr);
      r.v[kSumJs] += V::reduce_add(ajs);
      r.v[kSumTv] += V::reduce_add(atv);
      r.v[kSumHellinger] += V::reduce_add(ahel);
    }
    // `measure` then adds the KL mass sums, +0 for normalized rows: no change.
    *out = r;
  }
  static void measure_deferred(const DeferredRowView& a, const DeferredRowView& b, bool f32, const RowShape& shape,
                               const MeasureSpec& s, RowSums* out) {
    if (f32) measure_deferred_of<float>(a, b, shape.k, shape.kpad, s, out);
    else measure_deferred_of<double>(a, b, shape.k, shape.kpad, s, out);
  }

  static int probs(const double* x, size_t /*k*/, size_t kpad, double* sum_out) {  // pads read as 0
    M bad = V::mnot(V::finite(V::load(x)));
    M neg = V::lt(V::load(x), V::zero());
    double sum = 0;
    for (size_t b = 0; b < kpad; b += kBlock) {
      T acc = V::zero();
      const size_t e = min_size(b + kBlock, kpad);
      for (size_t i = b; i < e; i += W) {
        T v = V::load(x + i);
        bad = V::mor(bad, V::mnot(V::finite(v)));
        neg = V::mor(neg, V::lt(v, V::zero()));
        acc = V::add(acc, v);
      }
      sum += V::reduce_add(acc);
    }
    *sum_out = sum;
    if (V::any(bad)) return kRowNonFinite;
    if (V::any(neg)) return kRowNegative;
    if (!(std::fabs(sum - 1.0) <= 1e-4)) return kRowBadSum;
    return kRowOk;
  }

  static void logs(const double* p, double* lp, size_t k, size_t kpad) {
    for (size_t i = 0; i < kpad; i += W) V::store(lp + i, V::log(V::load(p + i)));
    for (size_t i = k; i < kpad; ++i) lp[i] = 0.0;
  }

  static void smooth(double* p, size_t k, size_t kpad, double eps) {
    const T ve = V::set1(eps);
    const T inv = V::set1(1.0 / (1.0 + static_cast<double>(k) * eps));
    for (size_t i = 0; i < kpad; i += W) V::store(p + i, V::mul(V::add(V::load(p + i), ve), inv));
    for (size_t i = k; i < kpad; ++i) p[i] = 0.0;
  }

  // One KL(p||q) term, written q g(d) with d = lp - lq and g(d) = d e^d - (e^d - 1) >= 0: a
  // series for small |d| (no cancellation), else the direct p d - p + q (relative error
  // ~ eps / d^2 <= 1e-11 for |d| >= 0.01). Summed over a row this is the literal sum p log(p/q)
  // minus the mass difference sum (p - q), which is 0 for normalized rows (logits); for
  // probability rows kl_mass supplies it in its own accumulator. Computing p log(p/q) term by
  // term instead leaves nearly identical rows with rounding noise: terms of ~1e-8 that cancel
  // to ~1e-15 came out 3-36% off.
  // Both forms are computed and one picked per lane, without a branch: for two related models
  // (a quantized copy, a fine-tune) some lanes of about every other vector need the series, a
  // branch on it was mispredicted that often, and KL from logits at V = 32000 took 3.4 ns per
  // element in the measure loop instead of 1.2.
  MODELDIFF_INLINE static T kl_term(T p, T lp, T q, T lq, bool normalized) {
    const T d = V::sub(lp, lq);
    T out = V::fma(p, d, V::sub(q, p));  // direct; q = 0 < p: d = +inf, so +inf
    const M small = V::lt(V::abs(d), V::set1(0.01));
    const T poly = poly7<V>(d, 0.5, 1.0 / 3, 1.0 / 8, 1.0 / 30, 1.0 / 144, 1.0 / 840, 1.0 / 5760);
    out = V::select(small, V::mul(V::mul(q, V::mul(d, d)), poly), out);
    // Normalized rows keep p = 0 lanes (a softmax that underflowed: d is finite and the term is
    // q g(d) ~ q, part of the identity). Otherwise p = 0 is the literal term 0 log(0/q) = 0, and
    // d = -inf or NaN there is dropped (kl_mass drops the lane too).
    return normalized ? out : V::select(V::gt(p, V::zero()), out, V::zero());
  }
  // The KL term's mass part, p - q where p > 0 (exact for nearby p, q): zero-sum for rows that
  // sum to the same mass.
  MODELDIFF_INLINE static T kl_mass(T p, T q) { return V::select(V::gt(p, V::zero()), V::sub(p, q), V::zero()); }

  // One Jensen-Shannon term: 1/2 [p log(p/m) + q log(q/m)], m = (p+q)/2. Per lane either the
  // series in d = (p-q)/(p+q) (|d| <= 0.1, cancellation-free) or the log form; the log form,
  // most of the cost, is skipped when no lane needs it (nearly identical models).
  MODELDIFF_INLINE static T js_term(T p, T lp, T q, T lq, bool have_logs) {
    // 0 < p + q < 2^-960 (float64 subnormal probabilities): 2 / (p+q) would overflow. The term
    // is homogeneous of degree 1 in (p, q), so such lanes run on 2^64 (p, q) and are scaled back
    // (log(p/m) is unchanged, so given logs shift by 64 ln 2 like log m). Rare: a branch.
    const T s = V::add(p, q);
    const M tiny = V::mand(V::lt(s, V::set1(0x1p-960)), V::gt(s, V::zero()));
    if (V::any(tiny)) {
      const T up = V::select(tiny, V::set1(0x1p64), V::set1(1.0));
      const T down = V::select(tiny, V::set1(0x1p-64), V::set1(1.0));
      const T shift = V::select(tiny, V::set1(64 * 0.69314718055994530942), V::zero());
      return V::mul(js_core(V::mul(p, up), V::add(lp, shift), V::mul(q, up), V::add(lq, shift), have_logs), down);
    }
    return js_core(p, lp, q, lq, have_logs);
  }

  MODELDIFF_INLINE static T js_core(T p, T lp, T q, T lq, bool have_logs) {
    const T zero = V::zero();
    const T s = V::add(p, q);
    const T ad = V::abs(V::sub(p, q));
    const M pos = V::gt(s, zero);
    const M need = V::gt(ad, V::mul(s, V::set1(0.1)));  // |d| > 0.1, decided without a division
    // One division serves both forms: r = 2 / (p+q) = 1/m (lanes with p = q = 0 divide 2 by 2).
    const T r = V::div(V::set1(2.0), V::select(pos, s, V::set1(2.0)));
    // Series: term = (s/4) f(d), f(d) = (1+d)log(1+d) + (1-d)log(1-d) = sum d^2j / (j(2j-1)).
    const T d = V::mul(V::mul(ad, r), V::set1(0.5));
    const T d2 = V::mul(d, d);
    const T poly = poly7<V>(d2, 1.0, 1.0 / 6, 1.0 / 15, 1.0 / 28, 1.0 / 45, 1.0 / 66, 1.0 / 91);
    T out = V::select(pos, V::mul(V::mul(V::mul(s, V::set1(0.25)), d2), poly), zero);
    if (V::any(need)) {
      T la, lb;  // log(p/m), log(q/m)
      if (have_logs) {
        const T lm = V::log_pos(V::mul(V::select(pos, s, V::set1(2.0)), V::set1(0.5)));
        la = V::sub(lp, lm);
        lb = V::sub(lq, lm);
      } else {
        // p/m = 1 + d and q/m = 1 - d with |d| > 0.1 in the lanes kept: away from 1.
        la = V::log_away1(V::mul(p, r));
        lb = V::log_away1(V::mul(q, r));
      }
      // p log(p/m) is 0 where p = 0 (the log there is -inf or garbage and is dropped).
      const T ta = V::select(V::gt(p, zero), V::mul(p, la), zero);
      const T tb = V::select(V::gt(q, zero), V::mul(q, lb), zero);
      // Each of p log(p/m), q log(q/m) may be negative; their sum is >= 0 up to rounding.
      const T direct = V::max(V::mul(V::add(ta, tb), V::set1(0.5)), zero);
      out = V::select(need, direct, out);
    }
    return out;
  }



  static void measure(const RowView& a, const RowView& b, const RowShape& shape, const MeasureSpec& s, RowSums* out) {
    const double *p = a.p, *lp = a.lp, *q = b.p, *lq = b.lp, *x = a.x, *y = b.x;
    const size_t k = shape.k, kpad = shape.kpad, kpadraw = shape.kpadraw;
    RowSums r;
    double kl_mass_sum = 0, kl_reverse_mass_sum = 0;
    if (s.kl || s.kl_reverse || s.js || s.tv || s.hellinger) {
      for (size_t b = 0; b < kpad; b += kBlock) {
        T akl = V::zero(), aklr = V::zero(), ajs = V::zero(), atv = V::zero(), ahel = V::zero();
        T aklm = V::zero(), aklrm = V::zero();  // KL mass parts (probability rows)
        const size_t e = min_size(b + kBlock, kpad);
        for (size_t i = b; i < e; i += W) {
          T vp = V::load(p + i), vq = V::load(q + i);
          T vlp = V::zero(), vlq = V::zero();
          if (s.have_logs) {
            vlp = V::load(lp + i);
            vlq = V::load(lq + i);
          }
          if (s.kl) {
            akl = V::add(akl, kl_term(vp, vlp, vq, vlq, s.normalized));
            if (!s.normalized) aklm = V::add(aklm, kl_mass(vp, vq));
          }
          if (s.kl_reverse) {
            aklr = V::add(aklr, kl_term(vq, vlq, vp, vlp, s.normalized));
            if (!s.normalized) aklrm = V::add(aklrm, kl_mass(vq, vp));
          }
          if (s.js) ajs = V::add(ajs, js_term(vp, vlp, vq, vlq, s.have_logs));
          if (s.tv) atv = V::add(atv, V::abs(V::sub(vp, vq)));
          if (s.hellinger) {
            T dd = V::sub(V::sqrt(vp), V::sqrt(vq));
            ahel = V::fma(dd, dd, ahel);
          }
        }
        r.v[kSumKl] += V::reduce_add(akl);
        r.v[kSumKlReverse] += V::reduce_add(aklr);
        kl_mass_sum += V::reduce_add(aklm);
        kl_reverse_mass_sum += V::reduce_add(aklrm);
        r.v[kSumJs] += V::reduce_add(ajs);
        r.v[kSumTv] += V::reduce_add(atv);
        r.v[kSumHellinger] += V::reduce_add(ahel);
      }
      r.v[kSumKl] += kl_mass_sum;
      r.v[kSumKlReverse] += kl_reverse_mass_sum;
    }
    if (s.emd) {
      // Sum over the first k-1 classes of |CDF_p - CDF_q|; the CDF difference is carried
      // with Neumaier compensation so its error does not grow with k.
      double c = 0, comp = 0, acc = 0;
      for (size_t i = 0; i + 1 < k; ++i) {
        double v = p[i] - q[i];
        double t = c + v;
        comp += std::fabs(c) >= std::fabs(v) ? (c - t) + v : (v - t) + c;
        c = t;
        acc += std::fabs(c + comp);
      }
      r.v[kSumEmd] = acc;
    }
    if (s.l2 || s.cosine) {
      double xx = 0, yy = 0;
      for (size_t b = 0; b < kpadraw; b += kBlock) {
        T al2 = V::zero(), axx = V::zero(), ayy = V::zero();
        const size_t e = min_size(b + kBlock, kpadraw);
        for (size_t i = b; i < e; i += W) {
          T vx = V::load(x + i), vy = V::load(y + i);
          T dd = V::sub(vx, vy);
          al2 = V::fma(dd, dd, al2);
          axx = V::fma(vx, vx, axx);
          ayy = V::fma(vy, vy, ayy);
        }
        r.v[kSumL2] += V::reduce_add(al2);
        xx += V::reduce_add(axx);
        yy += V::reduce_add(ayy);
      }
      if (s.cosine) {
        if (xx > 0 && yy > 0) {
          // 1 - cos = |x/|x| - y/|y||^2 / 2 = |x - c y|^2 / (2 |x|^2), c = |x|/|y|: non-negative,
          // no cancellation near 0. Written as x - c*y (not x/|x| - y/|y|) so that identical rows
          // give exactly 0 even where the compiler fuses the multiply and subtract into an FMA.
          const T ix = V::set1(1.0 / std::sqrt(xx)), c_ratio = V::set1(std::sqrt(xx) / std::sqrt(yy));
          double c = 0;
          for (size_t b = 0; b < kpadraw; b += kBlock) {
            T acc = V::zero();
            const size_t e = min_size(b + kBlock, kpadraw);
            for (size_t i = b; i < e; i += W) {
              T dd = V::mul(V::sub(V::load(x + i), V::mul(V::load(y + i), c_ratio)), ix);
              acc = V::fma(dd, dd, acc);
            }
            c += V::reduce_add(acc);
          }
          r.v[kSumCosine] = 0.5 * c;
        } else {
          r.v[kSumCosine] = (xx == 0 && yy == 0) ? 0.0 : 1.0;  // a zero vector has no direction
        }
      }
    }
    *out = r;
  }

  // ---- batch path: lanes = rows ----

  // Prefetch the tile kPrefetchTiles ahead: with two input streams of short rows the hardware
  // prefetcher alone leaves the tile load waiting on memory. A prefetch never faults, so the
  // address may lie past the end (formed as an integer: a pointer there would be undefined).
  template <class In>
  MODELDIFF_INLINE static void prefetch_ahead(const In* src, size_t k) {
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(src) + kPrefetchTiles * W * k * sizeof(In);
    for (size_t b = 0; b < W * k * sizeof(In); b += 64) MODELDIFF_PREFETCH(reinterpret_cast<const void*>(ahead + b));
  }
  // Transpose `rows` (<= W) rows of k values starting at `base` into X[j * W + lane]; spare
  // lanes repeat row 0. Blocks of BC columns: W (masked) row loads and an in-register transpose
  // (V::load_block), then one store per column; element-wise copies cost more than the TV
  // kernel itself (hardware gathers measured 4x slower still).
  template <class In>
  static void load_rows(const In* src, size_t k, size_t rows, double* X) {
    const In* rp[W];
    for (size_t l = 0; l < W; ++l) rp[l] = src + (l < rows ? l : 0) * k;
    prefetch_ahead(src, k);
    T r[BC];
    size_t c = 0;
    for (; c + BC <= k; c += BC) {
      V::load_block(rp, c, BC, r);
#pragma GCC unroll 16
      for (size_t j = 0; j < BC; ++j) V::store(X + (c + j) * W, r[j]);
    }
    if (c < k) {
      V::load_block(rp, c, k - c, r);
      // Unrolled with a test per column: a loop of k - c stores compiles to a memcpy call.
#pragma GCC unroll 16
      for (size_t j = 0; j < BC; ++j)
        if (j < k - c) V::store(X + (c + j) * W, r[j]);
    }
  }
  static void batch_load(const void* base, bool f32, size_t k, size_t rows, double* X) {
    if (f32) load_rows(static_cast<const float*>(base), k, rows, X);
    else load_rows(static_cast<const double*>(base), k, rows, X);
  }

  // Per-lane validation and argmax of one input's tile, fed its columns in class order by
  // batch_prepare and one_pass_of alike, so both paths accept, reject and label identically.
  struct ColumnChecks {
    const bool logits, label;
    T mn = V::zero(), sum = V::zero(), best = V::zero(), idx = V::zero();
    M nonfinite = V::lt(V::zero(), V::zero());  // all lanes false
    ColumnChecks(bool logits_, bool label_) : logits(logits_), label(label_) {}
    MODELDIFF_INLINE void add(T v, size_t j) {
      if (j == 0) mn = best = v;
      if (logits) {
        nonfinite = V::mor(nonfinite, V::mnot(V::finite(v)));
      } else {
        mn = V::min(mn, v);
        sum = V::add(sum, v);
      }
      if (label && j > 0) {
        const M m = V::gt(v, best);  // strict: ties keep the lowest index
        best = V::select(m, v, best);
        idx = V::select(m, V::set1(static_cast<double>(j)), idx);
      }
    }
    // Logits must be finite. Probabilities: a NaN or infinity makes the sum non-finite, which
    // fails the sum test (so no per-element finiteness test); a negative entry shows in the
    // running minimum.
    bool ok() const {
      if (logits) return !V::any(nonfinite);
      const M bad = V::mor(V::lt(mn, V::zero()), V::mnot(V::le(V::abs(V::sub(sum, V::set1(1.0))), V::set1(1e-4))));
      return !V::any(bad);
    }
  };

  // Prepare W transposed rows into P (and LP); false if any lane is invalid.
  // Logits with `norm` set: P and LP keep e^(x - max) and x - max, and norm[0] = log-sum,
  // norm[1] = 1/sum are returned instead of normalizing in a second pass (the measure loop
  // applies them as it reads, with the same operations, so the values are identical).
  static bool batch_prepare(const double* X, size_t k, const BatchSpec& s, double* P, double* LP, T* label,
                            T* norm = nullptr) {
    const T zero = V::zero();
    ColumnChecks ck(s.logits, s.need_label);
    T mx = zero;
    for (size_t j = 0; j < k; ++j) {
      const T v = V::load(X + j * W);
      ck.add(v, j);
      if (s.logits) mx = j == 0 ? v : V::max(mx, v);
      else if (P != X) V::store(P + j * W, v);
    }
    if (s.need_label) *label = ck.idx;
    if (!ck.ok()) return false;
    if (s.logits) {
      if (!s.need_dist) return true;
      T sum = zero;
      for (size_t j = 0; j < k; ++j) {
        T t = V::sub(V::load(X + j * W), mx);
        T e = V::exp(t);
        V::store(P + j * W, e);
        V::store(LP + j * W, t);
        sum = V::add(sum, e);
      }
      const T lse = V::log(sum), inv = V::div(V::set1(1.0), sum);
      if (norm) {
        norm[0] = lse;
        norm[1] = inv;
        return true;
      }
      for (size_t j = 0; j < k; ++j) {
        V::store(LP + j * W, V::sub(V::load(LP + j * W), lse));
        V::store(P + j * W, V::mul(V::load(P + j * W), inv));
      }
    } else {
      if (s.need_logs && s.eps == 0)
        for (size_t j = 0; j < k; ++j) V::store(LP + j * W, V::log(V::load(P + j * W)));
    }
    if (s.eps > 0) {
      const T ve = V::set1(s.eps), inv = V::set1(1.0 / (1.0 + static_cast<double>(k) * s.eps));
      for (size_t j = 0; j < k; ++j) {
        T v = V::mul(V::add(V::load(P + j * W), ve), inv);
        V::store(P + j * W, v);
        V::store(LP + j * W, V::log(v));
      }
    }
    return true;
  }

  // Prepare one matrix's tile; labels (argmax per lane, as doubles) go to label[0..W).
  static bool batch_prep(const double* X, size_t k, const BatchSpec& bs, double* P, double* LP, double* label) {
    T lab = V::zero();
    const bool ok = batch_prepare(X, k, bs, P, LP, &lab);
    V::store(label, lab);
    return ok;
  }

  static bool batch(const double* XA, const double* XB, size_t k, const BatchSpec& bs, double* scratch,
                    BatchSums* out) {
    double *PA = scratch, *LA = PA + k * W, *PB = LA + k * W, *LB = PB + k * W;
    if (!bs.logits && bs.eps == 0) PA = const_cast<double*>(XA), PB = const_cast<double*>(XB);  // read in place
    if (bs.logits && bs.eps == 0 && bs.need_dist) {
      T la = V::zero(), lb = V::zero(), na[2] = {la, la}, nb[2] = {la, la};
      if (!batch_prepare(XA, k, bs, PA, LA, &la, na) || !batch_prepare(XB, k, bs, PB, LB, &lb, nb)) return false;
      V::store(out->label_a, la);
      V::store(out->label_b, lb);
      dist_dispatch<true>(PreparedTile{PA, LA, na}, PreparedTile{PB, LB, nb}, k, bs.measure, out);
      raw_sums(XA, XB, k, bs.measure, out);
      return true;
    }
    if (!batch_prep(XA, k, bs, PA, LA, out->label_a) || !batch_prep(XB, k, bs, PB, LB, out->label_b)) return false;
    batch_measure(RowView{XA, PA, LA}, RowView{XB, PB, LB}, k, bs.measure, out);
    return true;
  }

  // Per-lane running sums of the distribution measures over a tile's columns, taken in class
  // order (so the fused and the two-pass batch paths give identical values). Mask = -1 reads
  // which measures to sum from `s` at run time; the common single-measure requests get their
  // own instantiation (bit 0 kl, 1 kl-reverse, 2 js, 3 tv), whose loop carries no per-measure
  // branches.
  template <int Mask>
  struct ColumnSums {
    const MeasureSpec& s;
    const bool kl = Mask < 0 ? s.kl : (Mask & 1) != 0, klr = Mask < 0 ? s.kl_reverse : (Mask & 2) != 0;
    const bool js = Mask < 0 ? s.js : (Mask & 4) != 0, tv = Mask < 0 ? s.tv : (Mask & 8) != 0;
    const bool hel = Mask < 0 && s.hellinger, emd = Mask < 0 && s.emd;
    T akl = V::zero(), aklr = V::zero(), ajs = V::zero(), atv = V::zero(), ahel = V::zero(), aemd = V::zero();
    T aklm = V::zero(), aklrm = V::zero();  // KL mass parts (probability rows)
    T c = V::zero(), comp = V::zero();
    explicit ColumnSums(const MeasureSpec& spec) : s(spec) {}
    // One class column; `inner` is false for the last class (the EMD's CDF stops before it).
    MODELDIFF_INLINE void add(T p, T lp, T q, T lq, bool inner) {
      if (kl) {
        akl = V::add(akl, kl_term(p, lp, q, lq, s.normalized));
        if (!s.normalized) aklm = V::add(aklm, kl_mass(p, q));
      }
      if (klr) {
        aklr = V::add(aklr, kl_term(q, lq, p, lp, s.normalized));
        if (!s.normalized) aklrm = V::add(aklrm, kl_mass(q, p));
      }
      if (js) ajs = V::add(ajs, js_term(p, lp, q, lq, s.have_logs));
      if (tv) atv = V::add(atv, V::abs(V::sub(p, q)));
      if (hel) {
        T dd = V::sub(V::sqrt(p), V::sqrt(q));
        ahel = V::fma(dd, dd, ahel);
      }
      if (emd && inner) {
        // Lane-wise Neumaier-compensated CDF difference, as in the row path.
        T v = V::sub(p, q);
        T t = V::add(c, v);
        M big = V::mnot(V::lt(V::abs(c), V::abs(v)));
        comp = V::add(comp, V::select(big, V::add(V::sub(c, t), v), V::add(V::sub(v, t), c)));
        c = t;
        aemd = V::add(aemd, V::abs(V::add(c, comp)));
      }
    }
    void store(BatchSums* out) const {
      V::store(out->v[kSumKl], V::add(akl, aklm));
      V::store(out->v[kSumKlReverse], V::add(aklr, aklrm));
      V::store(out->v[kSumJs], ajs);
      V::store(out->v[kSumTv], atv);
      V::store(out->v[kSumHellinger], ahel);
      V::store(out->v[kSumEmd], aemd);
    }
  };

  // One prepared tile as dist_sums reads it: distributions p and log-distributions lp
  // (p[j * W + lane]); with `norm` (a deferred softmax, see batch_prepare) p holds e^(x - max)
  // and lp x - max, normalized as they are read: p * norm[1], lp - norm[0].
  struct PreparedTile {
    const double* p;
    const double* lp;
    const T* norm = nullptr;
  };

  // Per-lane sums for two prepared tiles of k columns (labels untouched).
  template <int Mask, bool Deferred>
  static void dist_sums(const PreparedTile& a, const PreparedTile& b, size_t k, const MeasureSpec& s, BatchSums* out) {
    ColumnSums<Mask> sums(s);
    const T zero = V::zero();
    for (size_t j = 0; j < k; ++j) {
      T p = V::load(a.p + j * W), q = V::load(b.p + j * W);
      T lp = zero, lq = zero;
      if (s.have_logs) {
        lp = V::load(a.lp + j * W);
        lq = V::load(b.lp + j * W);
      }
      if (Deferred) {
        p = V::mul(p, a.norm[1]);
        q = V::mul(q, b.norm[1]);
        lp = V::sub(lp, a.norm[0]);
        lq = V::sub(lq, b.norm[0]);
      }
      sums.add(p, lp, q, lq, j + 1 < k);
    }
    sums.store(out);
  }

  template <bool Deferred>
  static void dist_dispatch(const PreparedTile& a, const PreparedTile& b, size_t k, const MeasureSpec& s,
                            BatchSums* out) {
    const int mask = (s.kl ? 1 : 0) | (s.kl_reverse ? 2 : 0) | (s.js ? 4 : 0) | (s.tv ? 8 : 0);
    if (s.hellinger || s.emd) dist_sums<-1, Deferred>(a, b, k, s, out);
    else if (mask == 1) dist_sums<1, Deferred>(a, b, k, s, out);
    else if (mask == 2) dist_sums<2, Deferred>(a, b, k, s, out);
    else if (mask == 3) dist_sums<3, Deferred>(a, b, k, s, out);
    else if (mask == 4) dist_sums<4, Deferred>(a, b, k, s, out);
    else if (mask == 8) dist_sums<8, Deferred>(a, b, k, s, out);
    else if (mask != 0) dist_sums<-1, Deferred>(a, b, k, s, out);
    else dist_sums<0, Deferred>(a, b, 0, s, out);  // zero sums
  }

  // Tiles in one pass, for unsmoothed probabilities asked for measures without logs, and for
  // logits asked only for argmax / raw-row measures (no softmax): each block of columns of both
  // inputs is loaded and transposed in registers, then validated, labelled and summed column by
  // column; no tile is written to memory and read back (that round trip, and the separate
  // validation pass, cost more than the TV kernel itself). Same operations in the same order
  // as batch_load + batch, so the values are identical. False if a lane fails validation.
  template <int Mask, class In>
  static bool one_pass_of(const In* a, const In* b, size_t k, size_t rows, const BatchSpec& bs, BatchSums* out) {
    const MeasureSpec& s = bs.measure;
    const In* ra[W];
    const In* rb[W];
    for (size_t l = 0; l < W; ++l) {
      ra[l] = a + (l < rows ? l : 0) * k;
      rb[l] = b + (l < rows ? l : 0) * k;
    }
    prefetch_ahead(a, k);
    prefetch_ahead(b, k);
    ColumnSums<Mask> sums(s);
    ColumnChecks cka(bs.logits, bs.need_label), ckb(bs.logits, bs.need_label);
    const T zero = V::zero();
    T al2 = zero, xa[BC], xb[BC];
    for (size_t c = 0; c < k; c += BC) {
      const size_t nc = min_size(BC, k - c);
      V::load_block(ra, c, nc, xa);
      V::load_block(rb, c, nc, xb);
#pragma GCC unroll 16
      for (size_t jj = 0; jj < BC; ++jj) {
        if (jj >= nc) break;
        const size_t j = c + jj;
        const T p = xa[jj], q = xb[jj];
        cka.add(p, j);
        ckb.add(q, j);
        sums.add(p, zero, q, zero, j + 1 < k);  // no measure here reads logs (see per_sample)
        if (s.l2) {
          const T dd = V::sub(p, q);
          al2 = V::fma(dd, dd, al2);
        }
      }
    }
    if (!cka.ok() || !ckb.ok()) return false;
    V::store(out->label_a, cka.idx);
    V::store(out->label_b, ckb.idx);
    V::store(out->v[kSumL2], al2);
    sums.store(out);
    return true;
  }
  template <int Mask>
  static bool one_pass_typed(const void* a, const void* b, bool f32, size_t k, size_t rows, const BatchSpec& bs,
                             BatchSums* out) {
    if (f32) return one_pass_of<Mask>(static_cast<const float*>(a), static_cast<const float*>(b), k, rows, bs, out);
    return one_pass_of<Mask>(static_cast<const double*>(a), static_cast<const double*>(b), k, rows, bs, out);
  }
  // Both inputs float32 or both float64; the caller checks that the request qualifies (see
  // per_sample).
  static bool one_pass(const void* a, const void* b, bool f32, size_t k, size_t rows, const BatchSpec& bs,
                       BatchSums* out) {
    const MeasureSpec& s = bs.measure;
    if (s.tv && !(s.hellinger || s.emd || s.l2)) return one_pass_typed<8>(a, b, f32, k, rows, bs, out);
    if (!(s.tv || s.hellinger || s.emd || s.l2)) return one_pass_typed<0>(a, b, f32, k, rows, bs, out);
    return one_pass_typed<-1>(a, b, f32, k, rows, bs, out);
  }

  static void batch_measure(const RowView& a, const RowView& b, size_t k, const MeasureSpec& s, BatchSums* out) {
    dist_dispatch<false>(PreparedTile{a.p, a.lp}, PreparedTile{b.p, b.lp}, k, s, out);
    raw_sums(a.x, b.x, k, s, out);
  }

  // L2 and cosine of the raw rows.
  static void raw_sums(const double* XA, const double* XB, size_t k, const MeasureSpec& s, BatchSums* out) {
    const T zero = V::zero();
    if (s.l2 || s.cosine) {
      T al2 = zero, axx = zero, ayy = zero;
      for (size_t j = 0; j < k; ++j) {
        T x = V::load(XA + j * W), y = V::load(XB + j * W);
        T dd = V::sub(x, y);
        al2 = V::fma(dd, dd, al2);
        axx = V::fma(x, x, axx);
        ayy = V::fma(y, y, ayy);
      }
      V::store(out->v[kSumL2], al2);
      if (s.cosine) {
        // Same formulation as the row path: |x - (|x|/|y|) y|^2 / (2 |x|^2).
        const T one = V::set1(1.0);
        M xz = V::eq(axx, zero), yz = V::eq(ayy, zero);
        T nx = V::sqrt(V::select(xz, one, axx)), ny = V::sqrt(V::select(yz, one, ayy));
        T ix = V::div(one, nx), ratio = V::div(nx, ny);
        T acc = zero;
        for (size_t j = 0; j < k; ++j) {
          T dd = V::mul(V::sub(V::load(XA + j * W), V::mul(V::load(XB + j * W), ratio)), ix);
          acc = V::fma(dd, dd, acc);
        }
        T cosd = V::mul(acc, V::set1(0.5));
        M anyz = V::mor(xz, yz), bothz = V::mand(xz, yz);
        cosd = V::select(anyz, V::select(bothz, zero, one), cosd);
        V::store(out->v[kSumCosine], cosd);
      }
    }
  }

  // True if x[0..kpad) holds no NaN or infinity (pads are 0).
  static bool finite(const double* x, size_t kpad) {
    M bad = V::lt(V::zero(), V::zero());  // all lanes false
    for (size_t i = 0; i < kpad; i += W) bad = V::mor(bad, V::mnot(V::finite(V::load(x + i))));
    return !V::any(bad);
  }

  // One input row as doubles: x[0..k) = src[0..k), x[k..kpad) = 0 (kpad a multiple of W).
  template <class In>
  static void widen_of(const In* src, size_t k, size_t kpad, double* x) {
    size_t i = 0;
    for (; i + W <= k; i += W) V::store(x + i, V::load_part(src + i, W));
    if (i < k) {
      V::store(x + i, V::load_part(src + i, k - i));  // zeros beyond k
      i += W;
    }
    for (; i < kpad; i += W) V::store(x + i, V::zero());
  }
  static void widen(const void* src, bool f32, size_t k, size_t kpad, double* x) {
    if (f32) widen_of(static_cast<const float*>(src), k, kpad, x);
    else widen_of(static_cast<const double*>(src), k, kpad, x);
  }

  // Four independent accumulators hide the add latency; the tail is a masked partial load.
  template <class In>
  static double read_sum_of(const In* x, size_t b, size_t e) {
    T acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
    size_t i = b;
    for (; i + 4 * W <= e; i += 4 * W)
      for (size_t j = 0; j < 4; ++j) acc[j] = V::add(acc[j], V::load_part(x + i + j * W, W));
    for (; i < e; i += W) acc[0] = V::add(acc[0], V::load_part(x + i, min_size(W, e - i)));
    return V::reduce_add(V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])));
  }
  static double read_sum(const void* x, bool f32, size_t b, size_t e) {
    return f32 ? read_sum_of(static_cast<const float*>(x), b, e) : read_sum_of(static_cast<const double*>(x), b, e);
  }

  static const RowKernels& table() {
    static const RowKernels t{W,      &logits,        &softmax_row, &measure_deferred, &probs,  &logs,     &smooth, &measure,
                              &batch_load, &batch, &one_pass, &batch_prep, &batch_measure, &argmax, &top, &finite, &widen, &read_sum};
    return t;
  }
};

}  // namespace
}  // namespace divergence
}  // namespace modeldiff
