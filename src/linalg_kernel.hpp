// The Gram micro-kernel, written once over a vector policy V (src/simd_policy.hpp) and
// instantiated per ISA by src/linalg_baseline.cpp, linalg_avx2.cpp and linalg_avx512.cpp, each
// defining its syrk_kernel<Isa>() below; src/linalg.cpp picks one with for_isa().
// MR is the register tile's height: 4x4 where the ISA has 32 vector registers (AVX-512),
// 2x4 where it has 16 (a 4x4 tile plus its operands would spill).
//
// Why "dot products of rows": both Grams we need (features x features, and samples x
// samples) are A*A^T of a row-major float64 matrix A with contiguous rows, so each output
// entry is a contiguous dot product. Lane-wise partial sums vectorize without -ffast-math,
// because no reassociation of a single running sum is needed.
#pragma once
#include <cstddef>

#include "cpu_features.hpp"
#include "simd_policy.hpp"

namespace modeldiff {
namespace linalg {

// The micro-kernel of one ISA: adds <A_i, A_j> into C for i in [i0, i1), j >= i (upper triangle only).
using SyrkFn = void (*)(const double* A, std::size_t m, std::size_t len, std::size_t lda, double* C,
                        std::size_t ldc, std::size_t i0, std::size_t i1);
template <Isa I>
SyrkFn syrk_kernel();
template <>
SyrkFn syrk_kernel<Isa::Scalar>();
template <>
SyrkFn syrk_kernel<Isa::Avx2>();
template <>
SyrkFn syrk_kernel<Isa::Avx512>();
#if defined(MODELDIFF_ARM64)
// NEON is arm64's baseline: the baseline table serves Isa::Neon (src/isa_dispatch.hpp).
template <>
inline SyrkFn syrk_kernel<Isa::Neon>() {
  return syrk_kernel<Isa::Scalar>();
}
#endif

namespace {

template <class V, std::size_t MR>
struct GramKernel {
  using T = typename V::T;
  static constexpr std::size_t W = V::W;

  static inline double tail_dot(const double* a, const double* b, std::size_t k, std::size_t len) {
    double s = 0.0;
    for (; k < len; ++k) s += a[k] * b[k];
    return s;
  }

  // Dot product of two rows, lane-split like the tiles (used on the edges).
  static inline double dot_rows(const double* a, const double* b, std::size_t len) {
    T s = V::zero();
    std::size_t k = 0;
    for (; k + W <= len; k += W) s = V::add(s, V::mul(V::load(a + k), V::load(b + k)));
    return V::reduce_add(s) + tail_dot(a, b, k, len);
  }

  // 2x4 register tile: named accumulators so they stay in registers
  // (an accumulator array indexed later would be spilled to the stack).
  static inline void tile_2x4(const double* A, std::size_t lda, std::size_t len, std::size_t i, std::size_t j,
                              double out[2][4]) {
    const double* pa = A + i * lda;
    const double* pb = A + j * lda;
    T s00 = V::zero(), s01 = V::zero(), s02 = V::zero(), s03 = V::zero();
    T s10 = V::zero(), s11 = V::zero(), s12 = V::zero(), s13 = V::zero();
    std::size_t k = 0;
    for (; k + W <= len; k += W) {
      const T y0 = V::load(pb + 0 * lda + k), y1 = V::load(pb + 1 * lda + k);
      const T y2 = V::load(pb + 2 * lda + k), y3 = V::load(pb + 3 * lda + k);
      {
        const T x = V::load(pa + 0 * lda + k);
        s00 = V::add(s00, V::mul(x, y0)), s01 = V::add(s01, V::mul(x, y1));
        s02 = V::add(s02, V::mul(x, y2)), s03 = V::add(s03, V::mul(x, y3));
      }
      {
        const T x = V::load(pa + 1 * lda + k);
        s10 = V::add(s10, V::mul(x, y0)), s11 = V::add(s11, V::mul(x, y1));
        s12 = V::add(s12, V::mul(x, y2)), s13 = V::add(s13, V::mul(x, y3));
      }
    }
    // One call per accumulator, not a loop over an array of them (which would go through memory).
    auto finish = [&](T s, std::size_t r, std::size_t c) {
      out[r][c] = V::reduce_add(s) + tail_dot(pa + r * lda, pb + c * lda, k, len);
    };
    finish(s00, 0, 0), finish(s01, 0, 1), finish(s02, 0, 2), finish(s03, 0, 3);
    finish(s10, 1, 0), finish(s11, 1, 1), finish(s12, 1, 2), finish(s13, 1, 3);
  }

  // 4x4 register tile, for 32-register ISAs.
  static inline void tile_4x4(const double* A, std::size_t lda, std::size_t len, std::size_t i, std::size_t j,
                              double out[4][4]) {
    const double* pa = A + i * lda;
    const double* pb = A + j * lda;
    T s00 = V::zero(), s01 = V::zero(), s02 = V::zero(), s03 = V::zero();
    T s10 = V::zero(), s11 = V::zero(), s12 = V::zero(), s13 = V::zero();
    T s20 = V::zero(), s21 = V::zero(), s22 = V::zero(), s23 = V::zero();
    T s30 = V::zero(), s31 = V::zero(), s32 = V::zero(), s33 = V::zero();
    std::size_t k = 0;
    for (; k + W <= len; k += W) {
      const T y0 = V::load(pb + 0 * lda + k), y1 = V::load(pb + 1 * lda + k);
      const T y2 = V::load(pb + 2 * lda + k), y3 = V::load(pb + 3 * lda + k);
      {
        const T x = V::load(pa + 0 * lda + k);
        s00 = V::add(s00, V::mul(x, y0)), s01 = V::add(s01, V::mul(x, y1));
        s02 = V::add(s02, V::mul(x, y2)), s03 = V::add(s03, V::mul(x, y3));
      }
      {
        const T x = V::load(pa + 1 * lda + k);
        s10 = V::add(s10, V::mul(x, y0)), s11 = V::add(s11, V::mul(x, y1));
        s12 = V::add(s12, V::mul(x, y2)), s13 = V::add(s13, V::mul(x, y3));
      }
      {
        const T x = V::load(pa + 2 * lda + k);
        s20 = V::add(s20, V::mul(x, y0)), s21 = V::add(s21, V::mul(x, y1));
        s22 = V::add(s22, V::mul(x, y2)), s23 = V::add(s23, V::mul(x, y3));
      }
      {
        const T x = V::load(pa + 3 * lda + k);
        s30 = V::add(s30, V::mul(x, y0)), s31 = V::add(s31, V::mul(x, y1));
        s32 = V::add(s32, V::mul(x, y2)), s33 = V::add(s33, V::mul(x, y3));
      }
    }
    auto finish = [&](T s, std::size_t r, std::size_t c) {
      out[r][c] = V::reduce_add(s) + tail_dot(pa + r * lda, pb + c * lda, k, len);
    };
    finish(s00, 0, 0), finish(s01, 0, 1), finish(s02, 0, 2), finish(s03, 0, 3);
    finish(s10, 1, 0), finish(s11, 1, 1), finish(s12, 1, 2), finish(s13, 1, 3);
    finish(s20, 2, 0), finish(s21, 2, 1), finish(s22, 2, 2), finish(s23, 2, 3);
    finish(s30, 3, 0), finish(s31, 3, 1), finish(s32, 3, 2), finish(s33, 3, 3);
  }

  static inline void tile(const double* A, std::size_t lda, std::size_t len, std::size_t i, std::size_t j,
                          double out[MR][4]) {
    static_assert(MR == 2 || MR == 4, "GramKernel: a 2x4 or 4x4 tile");
    if constexpr (MR == 4)
      tile_4x4(A, lda, len, i, j, out);
    else
      tile_2x4(A, lda, len, i, j, out);
  }

  // C[i][j] += <A_i, A_j> for i in [i0, i1) and j in [i, m) (upper triangle and
  // diagonal only; the caller mirrors). A is m x len with row stride lda; C is
  // m x m with row stride ldc.
  static void syrk_upper(const double* A, std::size_t m, std::size_t len, std::size_t lda, double* C,
                         std::size_t ldc, std::size_t i0, std::size_t i1) {
    std::size_t i = i0;
    for (; i + MR <= i1; i += MR) {
      std::size_t j = i;
      for (; j + 4 <= m; j += 4) {
        double out[MR][4];
        tile(A, lda, len, i, j, out);
        for (std::size_t r = 0; r < MR; ++r)
          for (std::size_t c = 0; c < 4; ++c)
            if (j + c >= i + r) C[(i + r) * ldc + j + c] += out[r][c];
      }
      for (; j < m; ++j)
        for (std::size_t r = 0; r < MR; ++r)
          if (j >= i + r) C[(i + r) * ldc + j] += dot_rows(A + (i + r) * lda, A + j * lda, len);
    }
    for (; i < i1; ++i)
      for (std::size_t j = i; j < m; ++j) C[i * ldc + j] += dot_rows(A + i * lda, A + j * lda, len);
  }
};

}  // namespace
}  // namespace linalg
}  // namespace modeldiff
