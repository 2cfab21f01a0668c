// Scalar (portable) instance of the divergence row kernels (src/divergence_kernel.hpp); uses
// <cmath> log/exp, so the SIMD paths' own polynomials are checked against an independent
// implementation by the parity tests.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_kernel.hpp"
#include "divergence_policy.hpp"

namespace modeldiff {
namespace divergence {
namespace {

// The reference policy: one lane, the generic operations of DivergencePolicy<1> on plain
// doubles, and <cmath> for the rest.
struct ScalarPolicy : DivergencePolicy<1> {
  static T fma(T a, T b, T c) { return a * b + c; }
  static T sqrt(T a) { return std::sqrt(a); }
  static bool any(M m) { return m; }
  static unsigned bits(M m) { return m ? 1u : 0u; }
  static double reduce_max(T a) { return a; }
  static T load_part(const float* p, size_t) { return *p; }
  static T load_part(const double* p, size_t) { return *p; }
  static void transpose(T*) {}  // 1 x 1
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<ScalarPolicy>(rp, c, nc, r);
  }
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<ScalarPolicy>(rp, c, nc, r);
  }
  static T log(T x) { return std::log(x); }
  static T log_pos(T x) { return std::log(x); }
  static T log_away1(T x) { return std::log(x); }
  static T exp(T x) { return std::exp(x); }
};

}  // namespace

template <>
const RowKernels& row_kernels<Isa::Scalar>() {
  return DivergenceKernel<ScalarPolicy>::table();
}

}  // namespace divergence
}  // namespace modeldiff
