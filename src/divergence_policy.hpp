// The divergence kernels' vector policy (src/divergence_kernel.hpp): simd::VectorPolicy<W>
// (src/simd_policy.hpp, the policy every kernel family uses) plus the lane-wise operations
// divergence needs that are the same on every ISA. Each ISA translation unit
// (src/divergence_{scalar,avx2,avx512,neon}.cpp) derives its policy from DivergencePolicy<W>
// and adds only what is ISA-specific:
//   fma(a, b, c) = a*b + c fused (one rounding; scalar: as the compiler contracts it), sqrt,
//   any(m), bits(m) (bit l = lane l), reduce_add / reduce_max (each in that ISA's fixed lane
//   order, which the results depend on), load_part (the first n values of a float32 / float64 row, zeros beyond, never
//   reading past them), transpose (W x W in place), load_block (BC columns of W rows,
//   transposed), log / log_pos (x > 0) / log_away1 (x > 0 outside [0.9, 1.1]) and exp.
// The SIMD policies also replace max / min by their instructions: NEON's vmaxq / vminq differ
// from the semantics below on NaN and signed zeros; x86's vmaxpd / vminpd have them, but GCC
// emits the generic form as compare + blend in about half the places. AVX-512 keeps its lane
// masks in mask registers (src/divergence_avx512.cpp).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "simd_policy.hpp"

namespace modeldiff {
namespace divergence {
namespace {

template <std::size_t Lanes>
struct DivergencePolicy : simd::VectorPolicy<Lanes> {
  using Base = simd::VectorPolicy<Lanes>;
  using T = typename Base::T;
  using I = typename Base::I;
  using M = typename Base::M;
  static constexpr std::size_t W = Lanes;
  static constexpr std::size_t BC = W;  // columns per load_block

  static inline T div(T a, T b) { return a / b; }
  // The x86 maxpd / minpd semantics: the second operand where the compare is false (NaN, or
  // equal values such as -0 and +0).
  static inline T max(T a, T b) { return a > b ? a : b; }
  static inline T min(T a, T b) { return a < b ? a : b; }
  static inline T abs(T a) {
    if constexpr (W == 1) {
      return std::fabs(a);
    } else {
      return reinterpret_cast<T>(reinterpret_cast<I>(a) & Base::seti(INT64_MAX));  // clear the sign bit
    }
  }
  static inline M gt(T a, T b) { return a > b; }
  static inline M le(T a, T b) { return a <= b; }
  static inline M mand(M a, M b) { return a & b; }
  static inline M mnot(M a) { return a == M{}; }
  // x - x is 0 for finite x, NaN for infinities and NaN.
  static inline M finite(T x) { return Base::eq(Base::sub(x, x), Base::zero()); }
  // Lane indices as doubles.
  static inline T iota() {
    if constexpr (W == 1) {
      return 0.0;
    } else {
      T v;
      for (std::size_t l = 0; l < W; ++l) v[l] = static_cast<double>(l);
      return v;
    }
  }
};

}  // namespace
}  // namespace divergence
}  // namespace modeldiff
