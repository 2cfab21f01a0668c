// The bootstrap's random streams: xoshiro256** seeded per replicate by splitmix64, unbiased
// bounded integers, uniform doubles and exact binomial counts. Shared by src/bootstrap.cpp and
// the benchmark-only unblocked kernel (src/bootstrap_unblocked.cpp).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace modeldiff {
namespace bootstrap_rng {

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
  // Uniform in [0, 1) with 53 random bits.
  inline double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
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

// Replicate r of a call seeded `seed` has its own stream: results depend on neither the thread
// count nor how replicates are split into calls.
inline Xoshiro256 replicate_stream(uint64_t seed, uint64_t r) {
  uint64_t mix = seed ^ (0xd1b54a32d192ed03ULL * (r + 1));
  return Xoshiro256(splitmix64(mix));
}

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

// Calls f(j) for `draws` indices drawn uniformly from [0, n).
template <class F>
inline void draw_indices(size_t draws, uint64_t n, Xoshiro256& rng, F&& f) {
  if (n < (uint64_t(1) << 32)) {
    const Index32 idx(n);
    size_t i = 0;
    for (; i + 1 < draws; i += 2) {
      const uint64_t u = rng.next();
      uint64_t j0, j1;
      if (!idx.map(static_cast<uint32_t>(u), j0)) j0 = idx.fresh(rng);
      if (!idx.map(static_cast<uint32_t>(u >> 32), j1)) j1 = idx.fresh(rng);
      f(j0);
      f(j1);
    }
    if (i < draws) f(idx.fresh(rng));
  } else {
    for (size_t i = 0; i < draws; ++i) f(rng.below(n));
  }
}

// Binomial(n, p) by inversion, the cumulative search running outward from the mode (alternately
// up and down), so it takes about 1.6·sqrt(n·p·(1−p)) steps and the same code serves every n and
// p. The probabilities are the pmf at the mode (from lgamma) times exact ratios, so the
// distribution is exact up to their rounding (relative ~1e-12); if rounding leaves u beyond the
// mass searched (tails below 1e-30), a fresh u is drawn.
inline uint64_t binomial(Xoshiro256& rng, uint64_t n, double p) {
  if (n == 0 || !(p > 0)) return 0;
  if (p >= 1) return n;
  const double nd = static_cast<double>(n);
  uint64_t mode = static_cast<uint64_t>(std::floor((nd + 1) * p));
  if (mode > n) mode = n;
  const double md = static_cast<double>(mode);
  const double pmf_mode = std::exp(std::lgamma(nd + 1) - std::lgamma(md + 1) - std::lgamma(nd - md + 1) + md * std::log(p) +
                                   (nd - md) * std::log1p(-p));
  const double odds = p / (1 - p);
  constexpr double kNegligible = 1e-30;
  for (;;) {
    double u = rng.uniform() - pmf_mode;
    if (u < 0) return mode;
    uint64_t lo = mode, hi = mode;
    double f_lo = pmf_mode, f_hi = pmf_mode;
    for (;;) {
      const bool up = hi < n && f_hi > kNegligible, down = lo > 0 && f_lo > kNegligible;
      if (!up && !down) break;
      if (up) {
        f_hi *= static_cast<double>(n - hi) / static_cast<double>(hi + 1) * odds;
        ++hi;
        if ((u -= f_hi) < 0) return hi;
      }
      if (down) {
        f_lo *= static_cast<double>(lo) / (static_cast<double>(n - lo + 1) * odds);
        --lo;
        if ((u -= f_lo) < 0) return lo;
      }
    }
  }
}

}  // namespace bootstrap_rng
}  // namespace modeldiff
