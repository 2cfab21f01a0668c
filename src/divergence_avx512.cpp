// AVX-512 (F/DQ) instance of the divergence row kernels (src/divergence_kernel.hpp, 8 doubles
// per vector). Only called after cpu_features has confirmed AVX-512 F/DQ/BW/VL.
// GCC 12 reports false "maybe-uninitialized" warnings inside its own AVX-512 intrinsic headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_kernel.hpp"
#include "divergence_policy.hpp"


namespace modeldiff {
namespace divergence {
namespace {

// log for x > 0 (normal or subnormal), table-driven: x = m 2^E with m in [0.75, 1.5) (getmant),
// m's top 4 fraction bits pick c ~ 1/m from a 16-entry register table (vpermt2pd), r = m c - 1
// (|r| <= 1/16, exact to one rounding by FMA), log x = E ln2 - log c + log1p(r) with log1p by
// its Taylor series to r^13 (truncation < 2e-17 relative). c = 1 on both sides of m = 1, so
// log x near x = 1 is r + O(r^2) without cancellation. No division and a short dependency
// chain: ~1.7x the throughput of the fdlibm form in the latency-bound JS kernel.
// AwayFrom1 (the JS term's log(1 +- d), |d| > 0.1): a series to r^10 instead, max relative
// error 7.8e-15 measured over x in (0, 0.9] and [1.1, 2] (subnormals included); ~5% off JS.
template <bool AwayFrom1 = false>
static inline __m512d log_table(__m512d x) {
  const __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
  const __m512d e = _mm512_sub_pd(_mm512_getexp_pd(x), _mm512_getexp_pd(m));
  const __m512i idx = _mm512_srli_epi64(_mm512_castpd_si512(m), 48);  // vpermt2pd reads bits 0-3
  // Entries 0-7: m in [1 + i/16, 1 + (i+1)/16); 8-15: m in [0.5 + i/32, 0.5 + (i+1)/32).
  const __m512d c_lo = _mm512_set_pd(0.6808510638297872, 0.7111111111111111, 0.7441860465116279, 0.7804878048780488,
                                     0.8205128205128205, 0.8648648648648649, 0.9142857142857143, 1.0);
  const __m512d c_hi = _mm512_set_pd(1.0, 1.0491803278688525, 1.0847457627118644, 1.1228070175438596,
                                     1.1636363636363636, 1.2075471698113207, 1.2549019607843137, 1.3061224489795917);
  const __m512d t_lo = _mm512_set_pd(0.38441169891033206, 0.3409265869705932, 0.2954642128938359, 0.2478361639045812,
                                     0.19782574332991992, 0.14518200984449783, 0.08961215868968717, 0.0);
  const __m512d t_hi = _mm512_set_pd(0.0, -0.04800921918636066, -0.0813456394539524, -0.11583181552512165,
                                     -0.15154989812720088, -0.18859116980754997, -0.22705745063534608,
                                     -0.26706278524904514);
  const __m512d c = _mm512_permutex2var_pd(c_lo, idx, c_hi);
  const __m512d t = _mm512_permutex2var_pd(t_lo, idx, t_hi);  // -log(c)
  const __m512d r = _mm512_fmadd_pd(m, c, _mm512_set1_pd(-1.0));
  // log1p(r) = r + r^2 Q(r), Q(r) = sum_{j=2..N} (-1)^(j+1) r^(j-2) / j, by Estrin; N = 13, or
  // N = 10 for AwayFrom1: x outside [0.9, 1.1] has |log x| >= 0.095, and >= 0.6 where |r| > 1/30
  // (m in [1, 1.0625) means E != 0 there), so the truncation (< 5e-15 absolute for |r| <= 1/16,
  // < 2e-18 for |r| <= 1/30) stays below 1e-14 relative.
  auto c1 = [](double v) { return _mm512_set1_pd(v); };
  const __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2);
  const __m512d a0 = _mm512_fmadd_pd(r, c1(1.0 / 3), c1(-1.0 / 2));
  const __m512d a1 = _mm512_fmadd_pd(r, c1(1.0 / 5), c1(-1.0 / 4));
  const __m512d a2 = _mm512_fmadd_pd(r, c1(1.0 / 7), c1(-1.0 / 6));
  const __m512d a3 = _mm512_fmadd_pd(r, c1(1.0 / 9), c1(-1.0 / 8));
  const __m512d b0 = _mm512_fmadd_pd(r2, a1, a0);
  __m512d q;
  if (AwayFrom1) {
    q = _mm512_fmadd_pd(r4, _mm512_fmadd_pd(r2, _mm512_fmadd_pd(r2, c1(-1.0 / 10), a3), a2), b0);
  } else {
    const __m512d r8 = _mm512_mul_pd(r4, r4);
    const __m512d a4 = _mm512_fmadd_pd(r, c1(1.0 / 11), c1(-1.0 / 10));
    const __m512d a5 = _mm512_fmadd_pd(r, c1(1.0 / 13), c1(-1.0 / 12));
    const __m512d b1 = _mm512_fmadd_pd(r2, a3, a2);
    const __m512d b2 = _mm512_fmadd_pd(r2, a5, a4);
    q = _mm512_fmadd_pd(r8, b2, _mm512_fmadd_pd(r4, b1, b0));
  }
  const __m512d p = _mm512_fmadd_pd(r2, q, r);
  const __m512d hi = _mm512_fmadd_pd(e, c1(6.93147180369123816490e-01), t);  // e ln2_hi exact
  return _mm512_add_pd(hi, _mm512_fmadd_pd(e, c1(1.90821492927058770002e-10), p));
}

// exp for t <= 709, table-driven: n = round(16 t / ln2) (the magic-constant add leaves n's low
// bits in the mantissa, so vpermt2pd reads j = n mod 16 straight from it), r = t - n ln2/16
// (two-constant Cody-Waite, |r| <= ln2/32), exp t = 2^floor(n/16) 2^(j/16) (1 + expm1 r), expm1
// by Taylor to r^7 (truncation < 2e-18). Half the polynomial of the table-free form.
// Results below 2^-1022 (t < -708.39) flush to 0, as in vec_exp.
static inline __m512d exp_table(__m512d t) {
  auto c1 = [](double v) { return _mm512_set1_pd(v); };
  const __m512d magic = c1(6755399441055744.0);  // 1.5 * 2^52
  const __m512d kk = _mm512_fmadd_pd(t, c1(23.083120654223414), magic);
  const __m512d n = _mm512_sub_pd(kk, magic);
  __m512d r = _mm512_fmadd_pd(n, c1(-6.93147180559945286227e-01 / 16), t);
  r = _mm512_fmadd_pd(n, c1(-2.319046813846299558e-17 / 16), r);
  const __m512d tab_lo = _mm512_set_pd(1.3542555469368927, 1.2968395546510096, 1.241857812073484, 1.189207115002721,
                                       1.1387886347566916, 1.0905077326652577, 1.0442737824274138, 1.0);
  const __m512d tab_hi = _mm512_set_pd(1.9152065613971474, 1.8340080864093424, 1.7562521603732995, 1.681792830507429,
                                       1.6104903319492543, 1.5422108254079407, 1.4768261459394993, 1.4142135623730951);
  const __m512d s = _mm512_permutex2var_pd(tab_lo, _mm512_castpd_si512(kk), tab_hi);  // 2^(j/16)
  // expm1(r) = r + r^2 (1/2 + r/6 + r^2/24 + r^3/120 + r^4/720 + r^5/5040), Estrin.
  const __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2);
  const __m512d a0 = _mm512_fmadd_pd(r, c1(1.0 / 6), c1(1.0 / 2));
  const __m512d a1 = _mm512_fmadd_pd(r, c1(1.0 / 120), c1(1.0 / 24));
  const __m512d a2 = _mm512_fmadd_pd(r, c1(1.0 / 5040), c1(1.0 / 720));
  const __m512d q = _mm512_fmadd_pd(r4, a2, _mm512_fmadd_pd(r2, a1, a0));
  const __m512d em1 = _mm512_fmadd_pd(r2, q, r);
  const __m512d out = _mm512_scalef_pd(_mm512_fmadd_pd(s, em1, s), _mm512_mul_pd(n, c1(1.0 / 16)));
  return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(t, c1(-708.39), _CMP_LT_OQ), out, _mm512_setzero_pd());
}

// DivergencePolicy<8> (src/divergence_policy.hpp) and the AVX-512 operations: the same
// arithmetic as AVX2's, 8 lanes wide, but lane masks in mask registers (__mmask8). With the
// generic vector masks GCC 12 moved compare results between mask and vector registers
// (vpmovm2q / vptestmq): ~1700 more instructions in this file, on a path no CI machine runs.
struct Avx512Policy : DivergencePolicy<8> {
  using M = __mmask8;
  static constexpr size_t BC = 16;  // columns per load_block
  static M lt(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static M gt(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static M le(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  static M eq(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static M mand(M a, M b) { return static_cast<M>(a & b); }
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static M mnot(M a) { return static_cast<M>(~a); }
  static T select(M m, T a, T b) { return _mm512_mask_blend_pd(m, b, a); }
  static bool any(M m) { return m != 0; }
  static unsigned bits(M m) { return static_cast<unsigned>(m); }
  static M finite(T x) { return _mm512_cmp_pd_mask(_mm512_sub_pd(x, x), _mm512_setzero_pd(), _CMP_EQ_OQ); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_pd(a, b, c); }
  static T sqrt(T a) { return _mm512_sqrt_pd(a); }
  // vmaxpd / vminpd: DivergencePolicy's semantics, which GCC 12 emits as compare + blend in
  // about half the places.
  static T max(T a, T b) { return _mm512_max_pd(a, b); }
  static T min(T a, T b) { return _mm512_min_pd(a, b); }
  static double reduce_add(T a) {
    // Fixed order: halves, then quarters, then pairs.
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static double reduce_max(T a) { return _mm512_reduce_max_pd(a); }
  // p[0..n) (n in [1, 8]) widened to doubles, zeros beyond; masked, so never reads past p + n.
  static T load_part(const float* p, size_t n) {
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(static_cast<__mmask8>((1u << n) - 1), p));
  }
  static T load_part(const double* p, size_t n) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1), p);
  }
  // In-place 8 x 8 transpose (r[i] lane j <-> r[j] lane i): 24 shuffles (float64 rows).
  static void transpose(T* r) {
    T t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);  // r0[0] r1[0] r0[2] r1[2] ...
      t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int h = 0; h < 2; ++h) {  // rows 0-3, then 4-7
      T* tt = t + 4 * h;
      u[4 * h + 0] = _mm512_permutex2var_pd(tt[0], lo, tt[2]);  // cols 0, 4
      u[4 * h + 1] = _mm512_permutex2var_pd(tt[1], lo, tt[3]);  // cols 1, 5
      u[4 * h + 2] = _mm512_permutex2var_pd(tt[0], hi, tt[2]);  // cols 2, 6
      u[4 * h + 3] = _mm512_permutex2var_pd(tt[1], hi, tt[3]);  // cols 3, 7
    }
    const __m512i first = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), second = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    for (int c = 0; c < 4; ++c) {
      r[c] = _mm512_permutex2var_pd(u[c], first, u[4 + c]);
      r[c + 4] = _mm512_permutex2var_pd(u[c], second, u[4 + c]);
    }
  }
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r);
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<Avx512Policy>(rp, c, nc < W ? nc : W, r);
    if (nc > W) generic_load_block<Avx512Policy>(rp, c + W, nc - W, r + W);
  }
  // The table-driven log and exp (above) instead of vec_log / vec_exp: vpermt2pd makes a
  // 16-entry table nearly free, which halves the polynomials.
  static T log(T x) { return select(eq(x, zero()), set1(-INFINITY), log_table(x)); }
  static T log_pos(T x) { return log_table(x); }  // x > 0 (no zero check)
  static T log_away1(T x) { return log_table<true>(x); }  // x > 0, accurate for x outside [0.9, 1.1]
  static T exp(T x) { return exp_table(x); }
};

// float32 rows, 16 columns per block (k = 10 fits one): each row is one masked 512-bit load, an
// 8 x 16 float transpose in three shuffle stages (in-lane 4 x 4 transposes by unpack + shufps,
// then one vpermt2ps per pair of columns to join rows 0-3 and 4-7), then each column is widened
// to doubles. Transposing floats before widening keeps the shuffles at 24 per 16 columns; the
// shuffle port, not the loads, bounds the tile load (the 8-column form needed ~60 shuffle-port
// operations for a k = 10 tile, this one ~37). Masked loads never read past column c + nc.
inline void Avx512Policy::load_block(const float* const* rp, size_t c, size_t nc, T* r) {
  const __mmask16 m = static_cast<__mmask16>(nc >= 16 ? 0xFFFFu : (1u << nc) - 1);
  __m512 u[8];  // u[4h + j] 128-bit lane g: column 4g + j of rows 4h .. 4h + 3
  for (int h = 0; h < 2; ++h) {
    const __m512 x0 = _mm512_maskz_loadu_ps(m, rp[4 * h] + c), x1 = _mm512_maskz_loadu_ps(m, rp[4 * h + 1] + c);
    const __m512 x2 = _mm512_maskz_loadu_ps(m, rp[4 * h + 2] + c), x3 = _mm512_maskz_loadu_ps(m, rp[4 * h + 3] + c);
    const __m512 t0 = _mm512_unpacklo_ps(x0, x1), t1 = _mm512_unpackhi_ps(x0, x1);
    const __m512 t2 = _mm512_unpacklo_ps(x2, x3), t3 = _mm512_unpackhi_ps(x2, x3);
    u[4 * h + 0] = _mm512_shuffle_ps(t0, t2, 0x44);
    u[4 * h + 1] = _mm512_shuffle_ps(t0, t2, 0xEE);
    u[4 * h + 2] = _mm512_shuffle_ps(t1, t3, 0x44);
    u[4 * h + 3] = _mm512_shuffle_ps(t1, t3, 0xEE);
  }
  // Lanes (g, g + 1) of u[j] and u[4 + j] interleaved: columns 4g + j (low half), 4g + 4 + j.
  const __m512i lanes01 = _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
  const __m512i lanes23 = _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
#pragma GCC unroll 4
  for (size_t j = 0; j < 4; ++j) {
    if (j >= nc) break;
    const __m512 v = _mm512_permutex2var_ps(u[j], lanes01, u[4 + j]);
    r[j] = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    if (4 + j < nc) r[4 + j] = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    if (8 + j < nc) {
      const __m512 w = _mm512_permutex2var_ps(u[j], lanes23, u[4 + j]);
      r[8 + j] = _mm512_cvtps_pd(_mm512_castps512_ps256(w));
      if (12 + j < nc) r[12 + j] = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(w), 1)));
    }
  }
}


}  // namespace

template <>
const RowKernels& row_kernels<Isa::Avx512>() {
  return DivergenceKernel<Avx512Policy>::table();
}

}  // namespace divergence
}  // namespace modeldiff
