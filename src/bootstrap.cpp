#include "bootstrap.hpp"

#include <stdexcept>
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

template <size_t M>
void replicate_fixed(const double* rows, size_t n, Xoshiro256& rng, double* sums) {
  double acc[M] = {};
  draw_indices(n, rng, [&](uint64_t j) {
    const double* r = rows + j * M;
    for (size_t s = 0; s < M; ++s) acc[s] += r[s];
  });
  for (size_t s = 0; s < M; ++s) sums[s] = acc[s];
}

void replicate_any(const double* rows, size_t n, size_t m, Xoshiro256& rng, double* sums) {
  for (size_t s = 0; s < m; ++s) sums[s] = 0;
  draw_indices(n, rng, [&](uint64_t j) {
    const double* r = rows + j * m;
    for (size_t s = 0; s < m; ++s) sums[s] += r[s];
  });
}

}  // namespace

void bootstrap_resample_means(const double* rows, size_t n, size_t m, size_t B, uint64_t seed, double* means,
                              unsigned threads) {
  if (n == 0 || m == 0) throw std::invalid_argument("bootstrap needs n >= 1 samples and m >= 1 statistics");
  parallel_ranges(B, threads, [&](size_t begin, size_t end) {
    std::vector<double> sums(m);
    for (size_t b = begin; b < end; ++b) {
      uint64_t mix = seed ^ (0xd1b54a32d192ed03ULL * (b + 1));
      Xoshiro256 rng(splitmix64(mix));
      switch (m) {
        case 1: replicate_fixed<1>(rows, n, rng, sums.data()); break;
        case 2: replicate_fixed<2>(rows, n, rng, sums.data()); break;
        case 3: replicate_fixed<3>(rows, n, rng, sums.data()); break;
        case 4: replicate_fixed<4>(rows, n, rng, sums.data()); break;
        case 5: replicate_fixed<5>(rows, n, rng, sums.data()); break;
        case 6: replicate_fixed<6>(rows, n, rng, sums.data()); break;
        case 7: replicate_fixed<7>(rows, n, rng, sums.data()); break;
        case 8: replicate_fixed<8>(rows, n, rng, sums.data()); break;
        default: replicate_any(rows, n, m, rng, sums.data());
      }
      for (size_t s = 0; s < m; ++s) means[s * B + b] = sums[s] / static_cast<double>(n);
    }
  });
}

}  // namespace modeldiff
