// Bootstrap resampling of (ratio) means, the hot loop of modeldiff's percentile confidence
// intervals (B·G index draws per call). Plain C++, no Node-API.
#pragma once
#include <cstddef>
#include <cstdint>

namespace modeldiff {

// Resamples G units (rows, or clusters of rows) with replacement and returns, per replicate and
// statistic s, sum_u c_u·numerators[s][u] / sum_u c_u·denominators[u], where c_u is how often
// unit u was drawn (a multinomial(G, 1/G) count vector shared by all m statistics: a paired
// bootstrap). denominators == nullptr means every unit weighs 1 (the plain mean of G rows);
// with per-cluster sums and token counts it is the token-weighted mean of whole clusters.
//
// Replicates first .. first+count-1 are computed; out is m×count row-major
// (out[s*count + b] is replicate first+b). Replicate r uses its own xoshiro256** stream seeded
// from (seed, r) by splitmix64, so results depend on neither the thread count nor how the
// replicates are split into calls. Each thread holds one byte per unit for the counts; the
// numerators are read in place, column by column (no interleaved copy).
void bootstrap_resample_ratios(const double* const* numerators, size_t m, const double* denominators, size_t G,
                               uint64_t first, size_t count, uint64_t seed, double* out, unsigned threads);

}  // namespace modeldiff
