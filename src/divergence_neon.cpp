// NEON (AArch64 Advanced SIMD) instance of the divergence row kernels: 2 doubles per vector,
// the same algorithm as the x86 paths. Compiled only on arm64.
#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_kernel.hpp"


namespace modeldiff {
namespace divergence {
namespace {

struct NeonPolicy {
  using T = float64x2_t;
  using M = uint64x2_t;
  static constexpr size_t W = 2;
  static constexpr size_t BC = W;  // columns per load_block
  static T load(const double* p) { return vld1q_f64(p); }
  static void store(double* p, T v) { vst1q_f64(p, v); }
  static T set1(double x) { return vdupq_n_f64(x); }
  static T zero() { return vdupq_n_f64(0.0); }
  static T iota() {  // lane indices
    const double v[2] = {0.0, 1.0};
    return vld1q_f64(v);
  }
  static T add(T a, T b) { return vaddq_f64(a, b); }
  static T sub(T a, T b) { return vsubq_f64(a, b); }
  static T mul(T a, T b) { return vmulq_f64(a, b); }
  static T div(T a, T b) { return vdivq_f64(a, b); }
  static T fma(T a, T b, T c) { return vfmaq_f64(c, a, b); }
  static T abs(T a) { return vabsq_f64(a); }
  static T sqrt(T a) { return vsqrtq_f64(a); }
  static T max(T a, T b) { return vmaxq_f64(a, b); }
  static T min(T a, T b) { return vminq_f64(a, b); }
  static T round(T a) { return vrndnq_f64(a); }
  static M lt(T a, T b) { return vcltq_f64(a, b); }
  static M gt(T a, T b) { return vcgtq_f64(a, b); }
  static M le(T a, T b) { return vcleq_f64(a, b); }
  static M eq(T a, T b) { return vceqq_f64(a, b); }
  static M mand(M a, M b) { return vandq_u64(a, b); }
  static M mor(M a, M b) { return vorrq_u64(a, b); }
  static M mnot(M a) { return vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(a))); }
  static T select(M m, T a, T b) { return vbslq_f64(m, a, b); }
  static bool any(M m) { return (vgetq_lane_u64(m, 0) | vgetq_lane_u64(m, 1)) != 0; }
  static M finite(T x) { return vceqq_f64(vsubq_f64(x, x), vdupq_n_f64(0.0)); }
  static double reduce_add(T a) { return vgetq_lane_f64(a, 0) + vgetq_lane_f64(a, 1); }
  static double reduce_max(T a) {
    double x = vgetq_lane_f64(a, 0), y = vgetq_lane_f64(a, 1);
    return x > y ? x : y;
  }
  static T frexp(T x, T* e) {
    M sub = lt(x, set1(2.2250738585072014e-308));
    x = select(sub, mul(x, set1(18014398509481984.0)), x);  // 2^54
    uint64x2_t bits = vreinterpretq_u64_f64(x);
    T biased = vcvtq_f64_u64(vshrq_n_u64(bits, 52));
    *e = vsubq_f64(biased, select(sub, set1(1023.0 + 54.0), set1(1023.0)));
    uint64x2_t mant = vorrq_u64(vandq_u64(bits, vdupq_n_u64(0x000FFFFFFFFFFFFFULL)),
                                vdupq_n_u64(0x3FF0000000000000ULL));
    return vreinterpretq_f64_u64(mant);
  }
  static T ldexp(T p, T n) {
    int64x2_t k = vaddq_s64(vcvtq_s64_f64(n), vdupq_n_s64(1023));
    return vmulq_f64(p, vreinterpretq_f64_s64(vshlq_n_s64(k, 52)));
  }
  // p[0..n) (n in [1, 2]) widened to doubles, zeros beyond; never reads past p + n.
  static T load_part(const float* p, size_t n) {
    return n == 2 ? vcvt_f64_f32(vld1_f32(p)) : vsetq_lane_f64(static_cast<double>(p[0]), vdupq_n_f64(0.0), 0);
  }
  static T load_part(const double* p, size_t n) {
    return n == 2 ? vld1q_f64(p) : vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0);
  }
  // In-place 2 x 2 transpose.
  static void transpose(T* r) {
    T a = vzip1q_f64(r[0], r[1]), b = vzip2q_f64(r[0], r[1]);
    r[0] = a;
    r[1] = b;
  }
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r);
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r);
  static T log(T x);
  static T log_pos(T x);  // x > 0 (no zero check)
  static T log_away1(T x);  // x > 0, accurate for x outside [0.9, 1.1] (here: everywhere)
  static T exp(T x);
};

inline NeonPolicy::T NeonPolicy::log(T x) { return vec_log<NeonPolicy>(x); }
inline NeonPolicy::T NeonPolicy::log_pos(T x) { return vec_log<NeonPolicy, false>(x); }
inline NeonPolicy::T NeonPolicy::log_away1(T x) { return vec_log<NeonPolicy, false>(x); }
inline NeonPolicy::T NeonPolicy::exp(T x) { return vec_exp<NeonPolicy>(x); }
inline void NeonPolicy::load_block(const float* const* rp, size_t c, size_t nc, T* r) { generic_load_block<NeonPolicy>(rp, c, nc, r); }
inline void NeonPolicy::load_block(const double* const* rp, size_t c, size_t nc, T* r) { generic_load_block<NeonPolicy>(rp, c, nc, r); }

}  // namespace

template <>
const RowKernels& row_kernels<Isa::Neon>() {
  return DivergenceKernel<NeonPolicy>::table();
}

}  // namespace divergence
}  // namespace modeldiff
