// Internal to the assignment solver: the two O(n) passes that dominate LAPJV's
// running time, compiled once per ISA (assignment.cpp baseline,
// assignment_avx2.cpp, assignment_avx512.cpp from assignment_kernel.inl.hpp).
// Every variant returns bit-identical results: the per-element arithmetic is
// the same (additions only, in the same order) and selections pick the lowest
// index among equal values.
#pragma once
#include <cstddef>
#include <cstdint>

namespace modeldiff {
namespace lsa {

struct Argmin {
  double value;
  int64_t col;
  bool tie;
};

struct Kernels {
  // Shortest-path relaxation from row i: for every column j with mask[j] == 0,
  // v2 = ((sign * row[j] - v[j]) - h) + mask[j]; if v2 < d[j] then d[j] = v2,
  // pred[j] = i. (sign is -1 when maximizing: exact, so no negated copy;
  // mask[j] is 0 for unscanned and +Inf for scanned columns.) Returns the
  // smallest key d[j] + mask[j], the lowest column attaining it, and whether
  // another column attains it too (value +Inf, col -1 if every key is +Inf).
  Argmin (*relax)(const double* row, double sign, const double* v, const double* mask, double h,
                  int64_t i, double* d, int64_t* pred, size_t n);
  // Column reduction, one row at a time: for each j, if sign * src[j] <
  // vmin[j] it becomes the column minimum with imin[j] = i and count[j] = 1;
  // if equal, count[j] += 1. Returns false if the row holds a non-finite
  // value (the caller then validates it properly).
  bool (*reduce_row)(const double* src, double sign, int64_t i, double* vmin, int64_t* imin,
                     int64_t* count, size_t n);
};

Kernels kernels_generic();
Kernels kernels_avx2();
Kernels kernels_avx512();

}  // namespace lsa
}  // namespace modeldiff
