// AVX-512 (F/DQ) instance of the divergence row kernels (8 doubles per vector). Only called
// after cpu_features has confirmed AVX-512 F/DQ/BW/VL.
// GCC 12 reports false "maybe-uninitialized" warnings inside its own AVX-512 intrinsic headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_rows.hpp"

namespace modeldiff {
namespace divergence {
namespace avx512_impl {

struct V {
  using T = __m512d;
  using M = __mmask8;
  static constexpr size_t W = 8;
  static T load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, T v) { _mm512_storeu_pd(p, v); }
  static T set1(double x) { return _mm512_set1_pd(x); }
  static T zero() { return _mm512_setzero_pd(); }
  static T iota() { return _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0); }  // lane indices
  static T add(T a, T b) { return _mm512_add_pd(a, b); }
  static T sub(T a, T b) { return _mm512_sub_pd(a, b); }
  static T mul(T a, T b) { return _mm512_mul_pd(a, b); }
  static T div(T a, T b) { return _mm512_div_pd(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_pd(a, b, c); }
  static T abs(T a) { return _mm512_abs_pd(a); }
  static T sqrt(T a) { return _mm512_sqrt_pd(a); }
  // 1/a for normal a: 14-bit estimate + 2 Newton steps (error ~1 ulp), several times cheaper
  // than vdivpd, the bottleneck of the JS kernel.
  static T recip(T a) {
    T r = _mm512_rcp14_pd(a);
    const T one = _mm512_set1_pd(1.0);
    for (int i = 0; i < 2; ++i) r = _mm512_fmadd_pd(r, _mm512_fnmadd_pd(a, r, one), r);
    return r;
  }
  static T max(T a, T b) { return _mm512_max_pd(a, b); }
  static T round(T a) { return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static M lt(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static M gt(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static M eq(T a, T b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static M mand(M a, M b) { return static_cast<M>(a & b); }
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static M mnot(M a) { return static_cast<M>(~a); }
  static T select(M m, T a, T b) { return _mm512_mask_blend_pd(m, b, a); }
  static bool any(M m) { return m != 0; }
  static M finite(T x) { return _mm512_cmp_pd_mask(_mm512_sub_pd(x, x), _mm512_setzero_pd(), _CMP_EQ_OQ); }
  static double reduce_add(T a) {
    // Fixed order: halves, then quarters, then pairs.
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static double reduce_max(T a) { return _mm512_reduce_max_pd(a); }
  static T frexp(T x, T* e) {
    *e = _mm512_getexp_pd(x);  // floor(log2 x), subnormals included
    return _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
  }
  static T ldexp(T p, T n) { return _mm512_scalef_pd(p, n); }
  static T log(T x);
  static T exp(T x);
};

#include "divergence_vecmath.hpp"
inline V::T V::log(T x) { return vec_log<V>(x); }
inline V::T V::exp(T x) { return vec_exp<V>(x); }

#include "divergence_kernel.hpp"

}  // namespace avx512_impl

const RowKernels& avx512_kernels() { return avx512_impl::Kern::table(); }

}  // namespace divergence
}  // namespace modeldiff
