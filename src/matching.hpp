// Weight-matching similarity (Ainsworth et al. 2022, "Git Re-Basin") between
// the hidden units of two layers of the same shape (plain C++, no Node-API):
//   C[i, j] = sum_f winA[i,f] winB[j,f] + binA[i] binB[j]
//           + sum_{o,t} woutA[o,i,t] woutB[o,j,t]
// Layout of each side as in canonical.hpp (LayerView). The caller applies the
// neighbouring layers' permutations to B first.
#pragma once
#include <cstddef>

#include "canonical.hpp"
#include "cpu_features.hpp"

namespace modeldiff {

// Writes C (a.units x b.units, row-major) to out. A and B have equal fan_in, out_rows
// and block (units may differ; the caller checks). Each C[i, j] is summed in
// float64 in one fixed order (incoming weights, bias, then outgoing weights in
// (o, t) order, no fused multiply-add), so the result depends neither on
// `threads` (0 = hardware concurrency; small problems run on the calling
// thread) nor on `isa`. A NaN or infinite input throws INVALID_ARGUMENT naming the first one
// (found after the product: out is then overwritten with unspecified values).
void matching_similarity(const LayerView& a, const LayerView& b, double* out,
                         unsigned threads = 0, Isa isa = active_isa());

}  // namespace modeldiff
