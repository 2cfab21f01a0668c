// Linear sum assignment (the rectangular linear assignment problem) on dense
// float64 cost matrices: Jonker-Volgenant (LAPJV) with a vectorized shortest
// augmenting path phase, and the Crouse (2016) rectangular shortest
// augmenting path method (the one scipy uses) as an independent alternative.
// Plain C++, no Node-API.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu_features.hpp"

namespace modeldiff {

enum class AssignmentMethod {
  Auto,          // = Lapjv
  Lapjv,         // square finite: full LAPJV; otherwise its shortest-path phase from every row
  ShortestPath,  // Crouse 2016 (scalar)
};

// Solves min (or max) sum_i cost[i, row_to_col[i]] over assignments where every
// row (if rows <= cols) or every column (if rows > cols) is matched to a
// distinct partner. `cost` is rows x cols, row-major, read only; rows and cols are below
// 2^31 (the caller checks: the result holds 32-bit column indices).
// Writes row_to_col_out[rows] (-1 for rows left unassigned when rows > cols)
// and returns the total of the ORIGINAL costs over the assigned pairs.
// Forbidden pairs: +Inf when minimizing, -Inf when maximizing.
// Throws modeldiff::Error (INVALID_ARGUMENT) naming `cost` on NaN, on an infinity of the
// unbounded sign, or when no complete assignment avoids the forbidden pairs.
// Deterministic: same input, same output (ties resolved by index order; a
// constant matrix yields the identity), and identical for every `isa`.
double linear_sum_assignment(const double* cost, size_t rows, size_t cols, bool maximize,
                             int32_t* row_to_col_out,
                             AssignmentMethod method = AssignmentMethod::Auto,
                             Isa isa = active_isa());

}  // namespace modeldiff
