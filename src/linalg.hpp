// Gram kernels for representation similarity (CKA, Procrustes, CCA): the
// O(n p^2) / O(n^2 p) products, accumulated in float64 from float32 or float64
// activations, column-centered in float64 first (two passes, so large means do
// not cancel digits), blocked for cache and split over threads. Plain C++, no
// Node-API; binding/linalg.cpp runs these off the JS thread.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

#include "cpu_features.hpp"
#include "error.hpp"

namespace modeldiff {
namespace linalg {

// A row-major n x p matrix of float32 or float64 (not owned). `name` is used
// in error messages ("X", "Y").
struct MatrixView {
  const void* data = nullptr;
  bool f64 = false;
  std::size_t rows = 0;
  std::size_t cols = 0;
  const char* name = "X";
  long input = 0;  // the Error's `input` when this matrix holds a NaN/Inf
};


// Feature-space Gram of Z = [X | Y] (n x P, P = px + py; Y optional):
//   gram   (P x P, full symmetric): Zc^T Zc, Zc = Z with column means removed
//          if `center`, so its blocks are Xc^T Xc, Xc^T Yc, Yc^T Yc;
//   mean   (P):  the column means that were removed (zeros if !center);
//   rowsq_x / rowsq_y (n each): squared norm of each centered row of X / Y
//          (the diagonal of the sample-space Gram, needed by debiased HSIC).
// Any output pointer may be null. Y, if given, has X's rows (the caller checks). Throws
// modeldiff::Error NON_FINITE (input 0 = X, 1 = Y, and the row; what() also names the column).
void feature_gram(const MatrixView& x, const MatrixView* y, bool center, Isa isa, int threads,
                  double* gram, double* mean, double* rowsq_x, double* rowsq_y);

enum class SampleKernel { Dot, SquaredDistance };

// Sample-space n x n matrix (full symmetric) of X (n x p): Xc Xc^T (Dot) or
// the squared Euclidean distances between rows (SquaredDistance; exact zeros on
// the diagonal, tiny negative round-off clamped to 0). Centering does not change
// distances but makes them more accurate.
void sample_gram(const MatrixView& x, bool center, SampleKernel kind, Isa isa, int threads,
                 double* out);

}  // namespace linalg
}  // namespace modeldiff
