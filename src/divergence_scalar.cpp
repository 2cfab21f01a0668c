// Scalar (portable) instance of the divergence row kernels; uses <cmath> log/exp, so the SIMD
// paths' own polynomials are checked against an independent implementation by the parity tests.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_kernel.hpp"


namespace modeldiff {
namespace divergence {
namespace {

struct ScalarPolicy {
  using T = double;
  using M = bool;
  static constexpr size_t W = 1;
  static constexpr size_t BC = W;  // columns per load_block
  static T load(const double* p) { return *p; }
  static void store(double* p, T v) { *p = v; }
  static T set1(double x) { return x; }
  static T zero() { return 0.0; }
  static T iota() { return 0.0; }  // lane indices
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T div(T a, T b) { return a / b; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T abs(T a) { return std::fabs(a); }
  static T sqrt(T a) { return std::sqrt(a); }
  static T max(T a, T b) { return a > b ? a : b; }
  static T min(T a, T b) { return a < b ? a : b; }
  static M lt(T a, T b) { return a < b; }
  static M gt(T a, T b) { return a > b; }
  static M le(T a, T b) { return a <= b; }
  static M eq(T a, T b) { return a == b; }
  static M mand(M a, M b) { return a && b; }
  static M mor(M a, M b) { return a || b; }
  static M mnot(M a) { return !a; }
  static T select(M m, T a, T b) { return m ? a : b; }
  static bool any(M m) { return m; }
  static M finite(T x) { return x - x == 0.0; }
  static double reduce_add(T a) { return a; }
  static double reduce_max(T a) { return a; }
  static T load_part(const float* p, size_t) { return *p; }
  static T load_part(const double* p, size_t) { return *p; }
  static void transpose(T*) {}  // 1 x 1
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r);
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r);
  static T log(T x) { return std::log(x); }
  static T log_pos(T x) { return std::log(x); }
  static T log_away1(T x) { return std::log(x); }
  static T exp(T x) { return std::exp(x); }
};

inline void ScalarPolicy::load_block(const float* const* rp, size_t c, size_t nc, T* r) { generic_load_block<ScalarPolicy>(rp, c, nc, r); }
inline void ScalarPolicy::load_block(const double* const* rp, size_t c, size_t nc, T* r) { generic_load_block<ScalarPolicy>(rp, c, nc, r); }
}  // namespace

template <>
const RowKernels& row_kernels<Isa::Scalar>() {
  return DivergenceKernel<ScalarPolicy>::table();
}

}  // namespace divergence
}  // namespace modeldiff
