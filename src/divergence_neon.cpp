// NEON (AArch64 Advanced SIMD) instance of the divergence row kernels
// (src/divergence_kernel.hpp): 2 doubles per vector, the same algorithm as the x86 paths.
// Compiled only on arm64.
#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_kernel.hpp"
#include "divergence_policy.hpp"


namespace modeldiff {
namespace divergence {
namespace {

// DivergencePolicy<2> (src/divergence_policy.hpp) and the NEON operations; log and exp are the
// polynomial vec_log / vec_exp (src/divergence_vecmath.hpp) on frexp / ldexp below.
struct NeonPolicy : DivergencePolicy<2> {
  // GCC's generic vectors and the NEON types are the same registers: casts are free.
  static float64x2_t f(T a) { return reinterpret_cast<float64x2_t>(a); }
  static uint64x2_t u(M m) { return reinterpret_cast<uint64x2_t>(m); }
  static T fma(T a, T b, T c) { return reinterpret_cast<T>(vfmaq_f64(f(c), f(a), f(b))); }
  static T sqrt(T a) { return reinterpret_cast<T>(vsqrtq_f64(f(a))); }
  // vmaxq / vminq: NaN if either lane is NaN, and max(-0, +0) = +0 (not DivergencePolicy's).
  static T max(T a, T b) { return reinterpret_cast<T>(vmaxq_f64(f(a), f(b))); }
  static T min(T a, T b) { return reinterpret_cast<T>(vminq_f64(f(a), f(b))); }
  static T round(T a) { return reinterpret_cast<T>(vrndnq_f64(f(a))); }
  static bool any(M m) { return (vgetq_lane_u64(u(m), 0) | vgetq_lane_u64(u(m), 1)) != 0; }
  static unsigned bits(M m) { return static_cast<unsigned>((vgetq_lane_u64(u(m), 0) & 1u) | ((vgetq_lane_u64(u(m), 1) & 1u) << 1)); }
  static double reduce_add(T a) { return a[0] + a[1]; }
  static double reduce_max(T a) { return a[0] > a[1] ? a[0] : a[1]; }
  static T frexp(T x, T* e) {
    M sub = lt(x, set1(2.2250738585072014e-308));
    x = select(sub, mul(x, set1(18014398509481984.0)), x);  // 2^54
    uint64x2_t bits = vreinterpretq_u64_f64(f(x));
    T biased = reinterpret_cast<T>(vcvtq_f64_u64(vshrq_n_u64(bits, 52)));
    *e = biased - select(sub, set1(1023.0 + 54.0), set1(1023.0));
    uint64x2_t mant = vorrq_u64(vandq_u64(bits, vdupq_n_u64(0x000FFFFFFFFFFFFFULL)),
                                vdupq_n_u64(0x3FF0000000000000ULL));
    return reinterpret_cast<T>(vreinterpretq_f64_u64(mant));
  }
  static T ldexp(T p, T n) {
    int64x2_t k = vaddq_s64(vcvtq_s64_f64(f(n)), vdupq_n_s64(1023));
    return reinterpret_cast<T>(vmulq_f64(f(p), vreinterpretq_f64_s64(vshlq_n_s64(k, 52))));
  }
  // p[0..n) (n in [1, 2]) widened to doubles, zeros beyond; never reads past p + n.
  static T load_part(const float* p, size_t n) {
    return reinterpret_cast<T>(n == 2 ? vcvt_f64_f32(vld1_f32(p))
                                      : vsetq_lane_f64(static_cast<double>(p[0]), vdupq_n_f64(0.0), 0));
  }
  static T load_part(const double* p, size_t n) {
    return reinterpret_cast<T>(n == 2 ? vld1q_f64(p) : vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0));
  }
  // In-place 2 x 2 transpose.
  static void transpose(T* r) {
    const float64x2_t a = vzip1q_f64(f(r[0]), f(r[1])), b = vzip2q_f64(f(r[0]), f(r[1]));
    r[0] = reinterpret_cast<T>(a);
    r[1] = reinterpret_cast<T>(b);
  }
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<NeonPolicy>(rp, c, nc, r);
  }
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<NeonPolicy>(rp, c, nc, r);
  }
  static T log(T x) { return vec_log<NeonPolicy>(x); }
  static T log_pos(T x) { return vec_log<NeonPolicy, false>(x); }  // x > 0 (no zero check)
  // x > 0, accurate for x outside [0.9, 1.1] (here: everywhere)
  static T log_away1(T x) { return vec_log<NeonPolicy, false>(x); }
  static T exp(T x) { return vec_exp<NeonPolicy>(x); }
};

}  // namespace

template <>
const RowKernels& row_kernels<Isa::Neon>() {
  return DivergenceKernel<NeonPolicy>::table();
}

}  // namespace divergence
}  // namespace modeldiff
