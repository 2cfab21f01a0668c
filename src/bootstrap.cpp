#include "bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "parallel.hpp"

namespace modeldiff {
namespace {

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

struct Xoshiro256 {
  uint64_t s[4];
  explicit Xoshiro256(uint64_t seed) {
    for (auto& v : s) v = splitmix64(seed);
  }
  inline uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  // Uniform in [0, n) without bias (Lemire 2019, multiply and reject), n < 2^64.
  inline uint64_t below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t t = (0 - n) % n;
      while (low < t) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
};

// Indices for n < 2^32 from 32-bit halves of each 64-bit output (two indices per
// generator step, ~1.5x faster than one per step), each mapped by Lemire's
// method with its own rejection: a rejected half is replaced from fresh draws.
struct Index32 {
  uint64_t n;
  uint32_t threshold;  // 2^32 mod n: products whose low half falls below are rejected
  explicit Index32(uint64_t count) : n(count), threshold(static_cast<uint32_t>((uint64_t(1) << 32) % count)) {}
  inline bool map(uint32_t u, uint64_t& j) const {
    const uint64_t m = static_cast<uint64_t>(u) * n;
    j = m >> 32;
    return static_cast<uint32_t>(m) >= threshold;
  }
  inline uint64_t fresh(Xoshiro256& rng) const {
    uint64_t j;
    while (!map(static_cast<uint32_t>(rng.next()), j)) {
    }
    return j;
  }
};

// Calls f(j) for n indices drawn uniformly from [0, n), the same sequence for
// every statistic count m (so a statistic's interval does not depend on which
// others are resampled with it).
template <class F>
inline void draw_indices(size_t n, Xoshiro256& rng, F&& f) {
  if (n < (uint64_t(1) << 32)) {
    const Index32 idx(n);
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
      const uint64_t u = rng.next();
      uint64_t j0, j1;
      if (!idx.map(static_cast<uint32_t>(u), j0)) j0 = idx.fresh(rng);
      if (!idx.map(static_cast<uint32_t>(u >> 32), j1)) j1 = idx.fresh(rng);
      f(j0);
      f(j1);
    }
    if (i < n) f(idx.fresh(rng));
  } else {
    for (size_t i = 0; i < n; ++i) f(rng.below(n));
  }
}

// Weighted sum sum_u counts[u]·x[u] with four accumulators (the summation order is fixed, so
// results do not depend on the thread count).
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

// The same sum for a column holding ±Infinity, where 0·Infinity would be NaN: units not drawn
// are skipped (a resample without the infinite value has a finite mean).
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

void bootstrap_resample_ratios(const double* const* numerators, size_t m, const double* denominators, size_t G,
                               uint64_t first, size_t count, uint64_t seed, double* out, unsigned threads) {
  if (G == 0) {  // the mean of no units: 0 / 0 (and no index to draw)
    std::fill(out, out + m * count, std::numeric_limits<double>::quiet_NaN());
    return;
  }
  std::vector<bool> finite(m);
  for (size_t s = 0; s < m; ++s) finite[s] = all_finite(numerators[s], G);
  const bool finite_denominators = denominators == nullptr || all_finite(denominators, G);
  parallel_ranges(count, threads, [&](size_t begin, size_t end) {
    // One byte per unit: a count above 255 (probability below 1e-500 for any G) wraps, and the
    // wrapped units are remembered so their 256s are added back; the counts stay exact.
    std::vector<uint8_t> counts(G);
    std::vector<size_t> wrapped;
    for (size_t b = begin; b < end; ++b) {
      uint64_t mix = seed ^ (0xd1b54a32d192ed03ULL * (first + b + 1));
      Xoshiro256 rng(splitmix64(mix));
      std::fill(counts.begin(), counts.end(), uint8_t(0));
      wrapped.clear();
      uint8_t* c = counts.data();
      draw_indices(G, rng, [&](uint64_t j) {
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
