// Vectorized log and exp in double precision, written once over a vector policy VV (see
// src/divergence_policy.hpp).
// vec_log / vec_exp additionally need VV::frexp(x, &e) (mantissa in [1,2), exponent as double;
// x > 0, any normal or subnormal), round (to nearest integer) and ldexp(p, n) (p 2^n, n in
// [-1022, 1023]). The NEON path uses them; AVX2 and AVX-512 have table-driven log and exp of
// their own (src/divergence_avx2.cpp, src/divergence_avx512.cpp), and scalar uses <cmath>.
// Internal linkage (anonymous namespace), as every kernel template (src/simd_policy.hpp).
#pragma once
#include <cmath>
#include <cstddef>

namespace modeldiff {
namespace divergence {
namespace {

// c0 + c1 x + ... + c6 x^6 by Estrin's scheme: depth 4 instead of Horner's 6, so the
// independent rows / elements in flight overlap better (the kernels are latency bound).
template <class VV>
static inline typename VV::T poly7(typename VV::T x, double c0, double c1, double c2, double c3, double c4, double c5,
                                   double c6) {
  using T = typename VV::T;
  T x2 = VV::mul(x, x);
  T x4 = VV::mul(x2, x2);
  T a0 = VV::fma(x, VV::set1(c1), VV::set1(c0));
  T a1 = VV::fma(x, VV::set1(c3), VV::set1(c2));
  T a2 = VV::fma(x, VV::set1(c5), VV::set1(c4));
  T b0 = VV::fma(x2, a1, a0);
  T b1 = VV::fma(x2, VV::set1(c6), a2);
  return VV::fma(x4, b1, b0);
}

// log: fdlibm's e_log.c reduction and minimax polynomial (< 1 ulp), lane-parallel.
// ZeroCheck = false: x > 0 is the caller's promise (log(0) is then garbage, not -inf).
template <class VV, bool ZeroCheck = true>
static inline typename VV::T vec_log(typename VV::T x) {
  using T = typename VV::T;
  using M = typename VV::M;
  const T one = VV::set1(1.0);
  T e;
  T m = VV::frexp(x, &e);  // x = m 2^e, m in [1, 2)
  M big = VV::gt(m, VV::set1(1.41421356237309504880));
  m = VV::select(big, VV::mul(m, VV::set1(0.5)), m);
  e = VV::select(big, VV::add(e, one), e);
  T f = VV::sub(m, one);
  // A true division: on the AMD EPYC this was tuned on, vdivpd beats a reciprocal estimate +
  // Newton steps (the kernels are latency bound, and the Newton chain is the longer one).
  T s = VV::div(f, VV::add(VV::set1(2.0), f));  // 2 + f in [1.29, 2.42]
  T z = VV::mul(s, s);
  T R = VV::mul(z, poly7<VV>(z, 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
                             2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
                             1.479819860511658591e-01));
  T hfsq = VV::mul(VV::set1(0.5), VV::mul(f, f));
  // e ln2_hi - ((hfsq - (s (hfsq + R) + e ln2_lo)) - f)
  T inner = VV::fma(s, VV::add(hfsq, R), VV::mul(e, VV::set1(1.90821492927058770002e-10)));
  T r = VV::sub(VV::mul(e, VV::set1(6.93147180369123816490e-01)), VV::sub(VV::sub(hfsq, inner), f));
  return ZeroCheck ? VV::select(VV::eq(x, VV::zero()), VV::set1(-INFINITY), r) : r;
}

// exp for t <= 709: n = round(t / ln2), r = t - n ln2 (two-constant Cody-Waite with FMA),
// degree-13 Taylor polynomial on |r| <= ln2/2 (truncation < 5e-18), scaled by 2^n.
// Results below 2^-1022 (t < -708.39) flush to 0: an absolute error under 1e-307.
template <class VV>
static inline typename VV::T vec_exp(typename VV::T t) {
  using T = typename VV::T;
  T n = VV::round(VV::mul(t, VV::set1(1.44269504088896340736)));
  T r = VV::fma(n, VV::set1(-6.93147180559945286227e-01), t);
  r = VV::fma(n, VV::set1(-2.319046813846299558e-17), r);
  // Degree 13 as r^7 * (c7..c13 part) + (c0..c6 part), each half by Estrin.
  T r2 = VV::mul(r, r);
  T r4 = VV::mul(r2, r2);
  T r7 = VV::mul(VV::mul(r4, r2), r);
  T lo_part = poly7<VV>(r, 1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720);
  T hi_part = poly7<VV>(r, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
                        1.0 / 6227020800.0);
  T p = VV::fma(r7, hi_part, lo_part);
  T lo = VV::set1(-708.39);
  T safe_n = VV::select(VV::lt(t, lo), VV::zero(), n);
  T out = VV::ldexp(p, safe_n);
  return VV::select(VV::lt(t, lo), VV::zero(), out);
}

// Columns c .. c+nc-1 (nc <= W) of the W rows rp[0..W) into r[0..nc) as doubles (r[j] lane l =
// rp[l][c + j]): W partial row loads, then an in-register W x W transpose.
template <class VV, class In>
static inline void generic_load_block(const In* const* rp, size_t c, size_t nc, typename VV::T* r) {
#pragma GCC unroll 8
  for (size_t l = 0; l < VV::W; ++l) r[l] = VV::load_part(rp[l] + c, nc);
  VV::transpose(r);
}

}  // namespace
}  // namespace divergence
}  // namespace modeldiff
