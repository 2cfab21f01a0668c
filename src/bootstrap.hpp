// Percentile-bootstrap resampling of means, the hot loop of modeldiff's
// confidence intervals (B·n index draws per call). Plain C++, no Node-API.
#pragma once
#include <cstddef>
#include <cstdint>

namespace modeldiff {

// rows: n×m row-major (sample j's m statistics are contiguous).
// means: m×B row-major output; means[s*B + b] = mean of statistic s over the
// b-th resample (n indices drawn uniformly with replacement, shared by all m).
// Replicate b uses its own xoshiro256** stream seeded from (seed, b) by
// splitmix64, so results do not depend on the thread count.
void bootstrap_resample_means(const double* rows, size_t n, size_t m, size_t B, uint64_t seed, double* means,
                              unsigned threads);

}  // namespace modeldiff
