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
// replicates are split into calls.
//
// Cache-blocked: the units are cut into blocks of 4096 units (kBlock), each copied
// once per thread and batch of up to 1024 replicates into a row-interleaved buffer (32 KiB per
// column) that stays in L2. A replicate's multinomial draw is split exactly over the blocks: the
// count falling in a block is Binomial(draws left, block units / units left), and that many
// indices are then drawn uniformly inside the block and their rows summed. So the data is read
// from memory once per batch instead of once per replicate, and a unit never drawn is never
// added (an infinite value counts only where drawn). A column's replicates do not depend on
// which other columns are resampled with it (same draws, same order of additions).
void bootstrap_resample_ratios(const double* const* numerators, size_t m, const double* denominators, size_t G,
                               uint64_t first, size_t count, uint64_t seed, double* out, unsigned threads);

#if defined(MODELDIFF_BENCH_KERNELS)
// The previous kernel, kept for bench/bootstrap.bench.ts only: per replicate, G draws counted
// into one byte per unit, then every column read whole (m·8·G bytes of memory traffic per
// replicate). Same contract as bootstrap_resample_ratios, different streams.
void bootstrap_resample_ratios_unblocked(const double* const* numerators, size_t m, const double* denominators,
                                         size_t G, uint64_t first, size_t count, uint64_t seed, double* out,
                                         unsigned threads);
#endif

}  // namespace modeldiff
