// AVX2 + FMA instance of the divergence row kernels (4 doubles per vector). Only called after
// cpu_features has confirmed AVX2 and FMA.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_rows.hpp"

namespace modeldiff {
namespace divergence {
namespace avx2_impl {

struct V {
  using T = __m256d;
  using M = __m256d;
  static constexpr size_t W = 4;
  static T load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, T v) { _mm256_storeu_pd(p, v); }
  static T set1(double x) { return _mm256_set1_pd(x); }
  static T zero() { return _mm256_setzero_pd(); }
  static T iota() { return _mm256_set_pd(3, 2, 1, 0); }  // lane indices
  static T add(T a, T b) { return _mm256_add_pd(a, b); }
  static T sub(T a, T b) { return _mm256_sub_pd(a, b); }
  static T mul(T a, T b) { return _mm256_mul_pd(a, b); }
  static T div(T a, T b) { return _mm256_div_pd(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_pd(a, b, c); }
  static T abs(T a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static T sqrt(T a) { return _mm256_sqrt_pd(a); }
  static T max(T a, T b) { return _mm256_max_pd(a, b); }
  static T min(T a, T b) { return _mm256_min_pd(a, b); }
  static T round(T a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static M lt(T a, T b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  static M gt(T a, T b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static M le(T a, T b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
  static M eq(T a, T b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static M mand(M a, M b) { return _mm256_and_pd(a, b); }
  static M mor(M a, M b) { return _mm256_or_pd(a, b); }
  static M mnot(M a) { return _mm256_xor_pd(a, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))); }
  static T select(M m, T a, T b) { return _mm256_blendv_pd(b, a, m); }
  static bool any(M m) { return _mm256_movemask_pd(m) != 0; }
  static M finite(T x) { return _mm256_cmp_pd(_mm256_sub_pd(x, x), _mm256_setzero_pd(), _CMP_EQ_OQ); }
  static double reduce_add(T a) {
    __m128d lo = _mm256_castpd256_pd128(a), hi = _mm256_extractf128_pd(a, 1);
    __m128d s = _mm_add_pd(lo, hi);  // (l0+l2, l1+l3)
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static double reduce_max(T a) {
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)));
  }
  // x > 0 (normal or subnormal); mantissa in [1,2), exponent as a double.
  static T frexp(T x, T* e) {
    M sub = lt(x, set1(2.2250738585072014e-308));
    x = select(sub, mul(x, set1(18014398509481984.0)), x);  // 2^54
    __m256i bits = _mm256_castpd_si256(x);
    const __m256d magic = _mm256_set1_pd(4503599627370496.0);  // 2^52: low mantissa bits hold an integer
    __m256d biased = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(bits, 52), _mm256_castpd_si256(magic))), magic);
    *e = sub_(biased, select(sub, set1(1023.0 + 54.0), set1(1023.0)));
    __m256i mant = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
                                   _mm256_set1_epi64x(0x3FF0000000000000LL));
    return _mm256_castsi256_pd(mant);
  }
  static T sub_(T a, T b) { return _mm256_sub_pd(a, b); }
  // p * 2^n for integer-valued n in [-1022, 1023].
  static T ldexp(T p, T n) {
    __m256i k = _mm256_castpd_si256(_mm256_add_pd(n, _mm256_set1_pd(4503599627370496.0 + 1023.0)));
    return _mm256_mul_pd(p, _mm256_castsi256_pd(_mm256_slli_epi64(k, 52)));
  }
  // p[0..n) (n in [1, 4]) widened to doubles, zeros beyond; masked, so never reads past p + n.
  static __m128i mask32(size_t n) { return _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(n)), _mm_set_epi32(3, 2, 1, 0)); }
  static T load_part(const float* p, size_t n) {
    return _mm256_cvtps_pd(n == 4 ? _mm_loadu_ps(p) : _mm_maskload_ps(p, mask32(n)));
  }
  static T load_part(const double* p, size_t n) {
    return n == 4 ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, _mm256_cvtepi32_epi64(mask32(n)));
  }
  // In-place 4 x 4 transpose (r[i] lane j <-> r[j] lane i).
  static void transpose(T* r) {
    T t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);  // r0[0] r1[0] r0[2] r1[2]
    T t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r);
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r);
  static T log(T x);
  static T log_pos(T x);  // x > 0 (no zero check)
  static T log_away1(T x);  // x > 0, accurate for x outside [0.9, 1.1] (here: everywhere)
  static T exp(T x);
};

#include "divergence_vecmath.hpp"
inline V::T V::log(T x) { return vec_log<V>(x); }
inline V::T V::log_pos(T x) { return vec_log<V, false>(x); }
inline V::T V::log_away1(T x) { return vec_log<V, false>(x); }
inline V::T V::exp(T x) { return vec_exp<V>(x); }
inline void V::load_block(const float* const* rp, size_t c, size_t nc, T* r) { generic_load_block<V>(rp, c, nc, r); }
inline void V::load_block(const double* const* rp, size_t c, size_t nc, T* r) { generic_load_block<V>(rp, c, nc, r); }

#include "divergence_kernel.hpp"

}  // namespace avx2_impl

const RowKernels& avx2_kernels() { return avx2_impl::Kern::table(); }

}  // namespace divergence
}  // namespace modeldiff
