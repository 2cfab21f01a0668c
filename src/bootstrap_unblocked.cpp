// The bootstrap kernel before cache blocking, compiled only for the benchmark
// (MODELDIFF_BENCH_KERNELS, CMakeLists.txt) so bench/bootstrap.bench.ts can time old and new in
// one run. Per replicate: G draws counted into one byte per unit, then each column read whole.
#if defined(MODELDIFF_BENCH_KERNELS)
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "bootstrap.hpp"
#include "bootstrap_rng.hpp"
#include "parallel.hpp"

namespace modeldiff {
namespace {

// Weighted sum sum_u counts[u]·x[u] with four accumulators.
inline double count_dot(const uint8_t* counts, const double* x, size_t G) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t u = 0;
  for (; u + 4 <= G; u += 4) {
    a0 += static_cast<double>(counts[u]) * x[u];
    a1 += static_cast<double>(counts[u + 1]) * x[u + 1];
    a2 += static_cast<double>(counts[u + 2]) * x[u + 2];
    a3 += static_cast<double>(counts[u + 3]) * x[u + 3];
  }
  for (; u < G; ++u) a0 += static_cast<double>(counts[u]) * x[u];
  return (a0 + a1) + (a2 + a3);
}

// The same sum for a column holding ±Infinity: units not drawn are skipped.
inline double count_dot_drawn(const uint8_t* counts, const double* x, size_t G) {
  double a = 0;
  for (size_t u = 0; u < G; ++u)
    if (counts[u] != 0) a += static_cast<double>(counts[u]) * x[u];
  return a;
}

inline bool all_finite(const double* x, size_t G) {
  for (size_t u = 0; u < G; ++u)
    if (!std::isfinite(x[u])) return false;
  return true;
}

}  // namespace

void bootstrap_resample_ratios_unblocked(const double* const* numerators, size_t m, const double* denominators,
                                         size_t G, uint64_t first, size_t count, uint64_t seed, double* out,
                                         unsigned threads) {
  if (G == 0) {
    std::fill(out, out + m * count, std::numeric_limits<double>::quiet_NaN());
    return;
  }
  std::vector<bool> finite(m);
  for (size_t s = 0; s < m; ++s) finite[s] = all_finite(numerators[s], G);
  const bool finite_denominators = denominators == nullptr || all_finite(denominators, G);
  parallel_ranges(count, threads, [&](size_t begin, size_t end) {
    // One byte per unit; a count above 255 wraps and is added back from `wrapped`.
    std::vector<uint8_t> counts(G);
    std::vector<size_t> wrapped;
    for (size_t b = begin; b < end; ++b) {
      auto rng = bootstrap_rng::replicate_stream(seed, first + b);
      std::fill(counts.begin(), counts.end(), uint8_t(0));
      wrapped.clear();
      uint8_t* c = counts.data();
      bootstrap_rng::draw_indices(G, G, rng, [&](uint64_t j) {
        if (++c[j] == 0) wrapped.push_back(j);
      });
      double denominator = static_cast<double>(G);
      if (denominators != nullptr) {
        denominator = finite_denominators ? count_dot(c, denominators, G) : count_dot_drawn(c, denominators, G);
        for (size_t j : wrapped) denominator += 256.0 * denominators[j];
      }
      for (size_t s = 0; s < m; ++s) {
        double sum = finite[s] ? count_dot(c, numerators[s], G) : count_dot_drawn(c, numerators[s], G);
        for (size_t j : wrapped) sum += 256.0 * numerators[s][j];
        out[s * count + b] = sum / denominator;
      }
    }
  });
}

}  // namespace modeldiff
#endif
