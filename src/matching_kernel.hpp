// Internal to matching.cpp: the GEMM C = PhiA * PhiB^T, compiled once per ISA
// (matching.cpp baseline, matching_avx2.cpp, matching_avx512.cpp, from
// matching_kernel.inl.hpp). Every C[i, j] is the plain sequential float64 sum
// over k (no FMA contraction), so all variants and thread counts agree bit for
// bit.
#pragma once
#include <cstddef>
#include <vector>

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

Gemm gemm_generic();
Gemm gemm_avx2();
Gemm gemm_avx512();

}  // namespace matching
}  // namespace modeldiff
