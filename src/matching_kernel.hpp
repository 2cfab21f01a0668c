// The matching GEMM C = PhiA * PhiB^T, written once over a vector policy V
// (src/simd_policy.hpp) and instantiated per ISA by src/matching_baseline.cpp,
// matching_avx2.cpp and matching_avx512.cpp, each defining its gemm_kernel<Isa>() below;
// src/matching.cpp picks one with for_isa(). Every C[i, j] is the plain sequential float64
// sum over k (each ISA translation unit turns floating-point contraction off), so all
// variants and thread counts agree bit for bit.
//
// Register-blocked outer-product micro-kernel: MR rows of A times one packed panel of
// NR = 2 * W columns of B, accumulated in 2*MR vector registers, over depth blocks of KC.
// Partial sums go through C between depth blocks, which is exact in float64, so each
// C[i, j] is still one sequential sum. MR = 6 gives 12 accumulators, enough independent
// adds to cover the add latency on two pipes, and with the two B vectors and one broadcast
// still fits 16 registers. Rows are walked in blocks of MC, so the A rows a panel of B
// meets (MC x KC doubles) stay in L2 instead of streaming from L3 for every panel.
#pragma once
#include <algorithm>
#include <cstddef>

#include "cpu_features.hpp"
#include "simd_policy.hpp"

namespace modeldiff {
namespace matching {

struct Gemm {
  // Panel width (columns of C per packed B panel).
  size_t nr;
  // Micro-kernel height (rows of C per register tile).
  size_t mr;
  // Packs phi (nb x D, row-major) into panels of nr columns, zero padded.
  void (*pack_b)(const double* phi, size_t nb, size_t D, double* packed);
  // C rows [r0, r1) = A rows [r0, r1) times packed B (C is na x nb, row-major).
  void (*rows)(const double* A, const double* Bp, double* C, size_t nb, size_t D, size_t r0, size_t r1);
};

template <Isa I>
Gemm gemm_kernel();
template <>
Gemm gemm_kernel<Isa::Scalar>();
template <>
Gemm gemm_kernel<Isa::Avx2>();
template <>
Gemm gemm_kernel<Isa::Avx512>();

namespace {

template <class V>
struct GemmKernel {
  using T = typename V::T;
  static constexpr size_t L = V::W;
  static constexpr size_t NR = 2 * L;
  static constexpr size_t MR = 6;
  static constexpr size_t KC = 256;
  static constexpr size_t MC = 96;

  static void pack_b(const double* phi, size_t nb, size_t D, double* packed) {
    const size_t panels = (nb + NR - 1) / NR;
    std::fill(packed, packed + panels * D * NR, 0.0);
    for (size_t p = 0; p < panels; ++p)
      for (size_t c = 0; c < NR && p * NR + c < nb; ++c) {
        const double* src = phi + (p * NR + c) * D;
        double* dst = packed + p * D * NR + c;
        for (size_t k = 0; k < D; ++k) dst[k * NR] = src[k];
      }
  }

  static void tile(const double* A, const double* bp, double* C, size_t nb, size_t D, size_t i0, size_t nrows,
                   size_t col0, size_t ncols, size_t k0, size_t k1) {
    // Load the running sums (zero on the first depth block).
    double tile[MR][NR] = {};
    if (k0 > 0)
      for (size_t r = 0; r < nrows; ++r)
        for (size_t c = 0; c < ncols; ++c) tile[r][c] = C[(i0 + r) * nb + col0 + c];
    T acc[MR][2];
    for (size_t r = 0; r < MR; ++r) {
      acc[r][0] = V::load(&tile[r][0]);
      acc[r][1] = V::load(&tile[r][L]);
    }
    const double* a[MR];
    for (size_t r = 0; r < MR; ++r) a[r] = A + (i0 + std::min(r, nrows - 1)) * D;
    for (size_t k = k0; k < k1; ++k) {
      const T b0 = V::load(bp + k * NR), b1 = V::load(bp + k * NR + L);
      for (size_t r = 0; r < MR; ++r) {
        const T ar = V::set1(a[r][k]);
        acc[r][0] = V::add(acc[r][0], V::mul(ar, b0));
        acc[r][1] = V::add(acc[r][1], V::mul(ar, b1));
      }
    }
    for (size_t r = 0; r < MR; ++r) {
      V::store(&tile[r][0], acc[r][0]);
      V::store(&tile[r][L], acc[r][1]);
    }
    for (size_t r = 0; r < nrows; ++r)
      for (size_t c = 0; c < ncols; ++c) C[(i0 + r) * nb + col0 + c] = tile[r][c];
  }

  static void rows(const double* A, const double* Bp, double* C, size_t nb, size_t D, size_t r0, size_t r1) {
    const size_t panels = (nb + NR - 1) / NR;
    for (size_t m0 = r0; m0 < r1; m0 += MC) {
      const size_t m1 = std::min(r1, m0 + MC);
      for (size_t k0 = 0; k0 < D; k0 += KC) {
        const size_t k1 = std::min(D, k0 + KC);
        for (size_t p = 0; p < panels; ++p) {
          const size_t ncols = std::min(NR, nb - p * NR);
          for (size_t i0 = m0; i0 < m1; i0 += MR)
            tile(A, Bp + p * D * NR, C, nb, D, i0, std::min(MR, m1 - i0), p * NR, ncols, k0, k1);
        }
      }
    }
  }

  static Gemm table() { return Gemm{NR, MR, pack_b, rows}; }
};

}  // namespace
}  // namespace matching
}  // namespace modeldiff
