// Vector policies: the per-ISA idiom of the linalg/Gram, matching and assignment kernels.
//
// A kernel body is written once, as a template over a policy V (a struct of static operations on
// W doubles), in src/<family>_kernel.hpp. Each ISA has its own translation unit
// (src/<family>_baseline.cpp, _avx2.cpp, _avx512.cpp) compiled with that ISA's flags, which
// instantiates the body with its policy and returns the family's function table; the one
// run-time choice between those tables is for_isa() in src/isa_dispatch.hpp.
//
// Every policy and every kernel template has internal linkage (anonymous namespace): each
// translation unit gets its own copy, compiled with its own flags, so the linker can never
// hand the baseline code an AVX-512 copy of an inline function (the multi-ISA ODR trap).
// The divergence kernels follow the same idiom: their policies derive from these and add what
// only divergence needs (log, exp, row transposes; src/divergence_policy.hpp).
//
// The policies are GCC/Clang vector extensions of W lanes: the compiler emits the widest
// instructions the translation unit's flags allow (W = 2 is SSE2 on x86-64 and NEON on arm64,
// the baseline of each) without -ffast-math. No operation fuses a multiply and an add; whether
// `add(c, mul(a, b))` contracts to an FMA is the translation unit's -ffp-contract choice.
//
// Operations (T: W doubles; I: W int64 lanes; M: a lane mask, all bits set where true):
//   load, store, set1, zero, add, sub, mul          on T
//   loadi, storei, seti, iotai (lanes 0..W-1), addi  on I
//   lt, eq -> M;  mor(M, M);  select(M, T, T);  selecti(M, I, I);  count_if(I x, M m) = x + 1
//   where m;  lane(T, l), lanei(I, l);  reduce_add(T): lanes summed in lane order 0..W-1
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#if !defined(__GNUC__) && !defined(__clang__)
#error "the SIMD policies need GCC or Clang vector extensions"
#endif

namespace modeldiff {
namespace simd {
namespace {

// Vector types of 2, 4 and 8 lanes (GCC does not apply vector_size to a dependent typedef).
typedef double f64x2 __attribute__((vector_size(16)));
typedef double f64x4 __attribute__((vector_size(32)));
typedef double f64x8 __attribute__((vector_size(64)));
typedef int64_t i64x2 __attribute__((vector_size(16)));
typedef int64_t i64x4 __attribute__((vector_size(32)));
typedef int64_t i64x8 __attribute__((vector_size(64)));
template <std::size_t Lanes>
struct VectorTypes;
template <>
struct VectorTypes<2> {
  using T = f64x2;
  using I = i64x2;
};
template <>
struct VectorTypes<4> {
  using T = f64x4;
  using I = i64x4;
};
template <>
struct VectorTypes<8> {
  using T = f64x8;
  using I = i64x8;
};

template <std::size_t Lanes>
struct VectorPolicy {
  static constexpr std::size_t W = Lanes;
  using T = typename VectorTypes<Lanes>::T;
  using I = typename VectorTypes<Lanes>::I;
  using M = I;

  // memcpy: unaligned loads and stores without aliasing casts (compiles to one instruction).
  static inline T load(const double* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  }
  static inline void store(double* p, T v) { std::memcpy(p, &v, sizeof(T)); }
  // x - 0, not 0 + x: exact for every x (-0 and NaN included), and compilers fold it into
  // one broadcast load; 0 + x is not an identity for x = -0, so it costs an add.
  static inline T set1(double x) { return x - T{}; }
  static inline T zero() { return T{}; }
  static inline T add(T a, T b) { return a + b; }
  static inline T sub(T a, T b) { return a - b; }
  static inline T mul(T a, T b) { return a * b; }

  static inline I loadi(const int64_t* p) {
    I v;
    std::memcpy(&v, p, sizeof(I));
    return v;
  }
  static inline void storei(int64_t* p, I v) { std::memcpy(p, &v, sizeof(I)); }
  static inline I seti(int64_t x) { return I{} + x; }
  static inline I iotai() {
    I v;
    for (std::size_t l = 0; l < W; ++l) v[l] = static_cast<int64_t>(l);
    return v;
  }
  static inline I addi(I a, I b) { return a + b; }

  static inline M lt(T a, T b) { return a < b; }
  static inline M eq(T a, T b) { return a == b; }
  static inline M mor(M a, M b) { return a | b; }
  static inline T select(M m, T a, T b) { return m ? a : b; }
  static inline I selecti(M m, I a, I b) { return m ? a : b; }
  static inline I count_if(I x, M m) { return x - m; }  // a true lane of m is -1

  static inline double lane(T v, std::size_t l) { return v[l]; }
  static inline int64_t lanei(I v, std::size_t l) { return v[l]; }
  static inline double reduce_add(T v) {
    double s = 0.0;
    for (std::size_t l = 0; l < W; ++l) s += v[l];
    return s;
  }
};

// One lane: plain double / int64_t, a mask is a bool (count_if adds 1 where true). The same
// operations on one value; the divergence kernels' scalar reference builds on it.
template <>
struct VectorPolicy<1> {
  static constexpr std::size_t W = 1;
  using T = double;
  using I = int64_t;
  using M = bool;

  static inline T load(const double* p) { return *p; }
  static inline void store(double* p, T v) { *p = v; }
  static inline T set1(double x) { return x; }
  static inline T zero() { return 0.0; }
  static inline T add(T a, T b) { return a + b; }
  static inline T sub(T a, T b) { return a - b; }
  static inline T mul(T a, T b) { return a * b; }

  static inline I loadi(const int64_t* p) { return *p; }
  static inline void storei(int64_t* p, I v) { *p = v; }
  static inline I seti(int64_t x) { return x; }
  static inline I iotai() { return 0; }
  static inline I addi(I a, I b) { return a + b; }

  static inline M lt(T a, T b) { return a < b; }
  static inline M eq(T a, T b) { return a == b; }
  static inline M mor(M a, M b) { return a || b; }
  static inline T select(M m, T a, T b) { return m ? a : b; }
  static inline I selecti(M m, I a, I b) { return m ? a : b; }
  static inline I count_if(I x, M m) { return m ? x + 1 : x; }

  static inline double lane(T v, std::size_t) { return v; }
  static inline int64_t lanei(I v, std::size_t) { return v; }
  static inline double reduce_add(T v) { return v; }
};

// The policy of each ISA, defined only where the translation unit's flags can run it.
using Baseline = VectorPolicy<2>;
#if defined(__AVX2__) && defined(__FMA__)
using Avx2 = VectorPolicy<4>;
#endif
#if defined(__AVX512F__)
using Avx512 = VectorPolicy<8>;
#endif

}  // namespace
}  // namespace simd
}  // namespace modeldiff
