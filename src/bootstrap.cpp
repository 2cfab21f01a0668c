#include "bootstrap.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "bootstrap_rng.hpp"
#include "parallel.hpp"

namespace modeldiff {
namespace {

using bootstrap_rng::Xoshiro256;

// Units per block (a power of two, so indices inside a whole block are plain bit fields;
// test/bootstrap-blocks.test.ts sizes its data to cross these blocks).
constexpr unsigned kBlockBits = 12;
constexpr size_t kBlock = size_t(1) << kBlockBits;
constexpr uint64_t kBlockMask = kBlock - 1;
// Indices per generator step inside a whole block: five 12-bit fields of one 64-bit output.
constexpr unsigned kPerWord = 64 / kBlockBits;
// Columns are accumulated in groups of up to this many: one group's row is at most a cache line.
constexpr size_t kGroup = 8;
// Replicates whose state (stream, draws left, running sums) a thread keeps while it walks the
// blocks; the data is read once per batch.
constexpr size_t kBatch = 1024;
// Draws per pass over a block (a block's draws are about its unit count). At the end of a pass
// the unused bit fields of the last generator step are dropped.
constexpr size_t kChunk = 8192;

// The order every path adds a replicate's rows in, so that a column's sums do not depend on the
// other columns resampled with it: a pass's draws come in groups of five (the bit fields of one
// generator step in a whole block), draws 0-3 of a group go to accumulators 0-3 and draw 4 to
// accumulator 0; the pass adds (acc0 + acc1) + (acc2 + acc3) to the running sum. Four
// independent chains hide the additions' latency; the static pattern keeps them in registers.
template <size_t W>
struct Accumulators {
  double a0[W] = {}, a1[W] = {}, a2[W] = {}, a3[W] = {};
  static inline void add(double* acc, const double* x) {
    for (size_t c = 0; c < W; ++c) acc[c] += x[c];
  }
  inline void add_five(const double* x0, const double* x1, const double* x2, const double* x3, const double* x4) {
    add(a0, x0);
    add(a1, x1);
    add(a2, x2);
    add(a3, x3);
    add(a0, x4);
  }
  // Draw k (< 4) of an incomplete group of five.
  inline void add_at(unsigned k, const double* x) { add(k == 0 ? a0 : k == 1 ? a1 : k == 2 ? a2 : a3, x); }
  inline void flush(double* sums) const {
    for (size_t c = 0; c < W; ++c) sums[c] += (a0[c] + a1[c]) + (a2[c] + a3[c]);
  }
};

// Adds the rows idx[0..n) of a W-wide interleaved block into sums[0..W).
template <size_t W>
void add_rows(const double* block, const uint16_t* idx, size_t n, double* sums) {
  Accumulators<W> acc;
  size_t i = 0;
  auto row = [&](size_t k) { return block + static_cast<size_t>(idx[k]) * W; };
  for (; i + kPerWord <= n; i += kPerWord) acc.add_five(row(i), row(i + 1), row(i + 2), row(i + 3), row(i + 4));
  for (unsigned k = 0; i < n; ++i, ++k) acc.add_at(k, row(i));
  acc.flush(sums);
}

// One pass over a whole block for a single group of W columns: draws n indices as bit fields
// and adds their rows as it goes (no index buffer). The same draws and order as
// draw_block_indices + add_rows.
template <size_t W>
void draw_and_add_rows(Xoshiro256& rng, const double* block, size_t n, double* sums) {
  static_assert(kPerWord == 5, "the accumulation order groups draws by five");
  Accumulators<W> acc;
  auto row = [&](uint64_t word, unsigned k) { return block + ((word >> (k * kBlockBits)) & kBlockMask) * W; };
  size_t i = 0;
  for (; i + kPerWord <= n; i += kPerWord) {
    const uint64_t w = rng.next();
    acc.add_five(row(w, 0), row(w, 1), row(w, 2), row(w, 3), row(w, 4));
  }
  if (i < n) {
    const uint64_t w = rng.next();
    for (unsigned k = 0; i < n; ++i, ++k) acc.add_at(k, row(w, k));
  }
  acc.flush(sums);
}

template <template <size_t> class F, class... Args>
void by_width(size_t width, Args&&... args) {
  switch (width) {
    case 1: return F<1>::run(args...);
    case 2: return F<2>::run(args...);
    case 3: return F<3>::run(args...);
    case 4: return F<4>::run(args...);
    case 5: return F<5>::run(args...);
    case 6: return F<6>::run(args...);
    case 7: return F<7>::run(args...);
    default: return F<8>::run(args...);
  }
}
template <size_t W>
struct AddRows {
  static void run(const double* block, const uint16_t* idx, size_t n, double* sums) { add_rows<W>(block, idx, n, sums); }
};
template <size_t W>
struct DrawAndAddRows {
  static void run(Xoshiro256& rng, const double* block, size_t n, double* sums) { draw_and_add_rows<W>(rng, block, n, sums); }
};

// Fills idx[0..n) with uniform indices in [0, units): bit fields in a whole block, Lemire's
// method in the last, partial one.
void draw_block_indices(Xoshiro256& rng, size_t units, uint16_t* idx, size_t n) {
  size_t i = 0;
  if (units == kBlock) {
    while (i < n) {
      uint64_t word = rng.next();
      for (unsigned k = 0; k < kPerWord && i < n; ++k, word >>= kBlockBits) idx[i++] = static_cast<uint16_t>(word & kBlockMask);
    }
    return;
  }
  bootstrap_rng::draw_indices(n, units, rng, [&](uint64_t j) { idx[i++] = static_cast<uint16_t>(j); });
}

struct Columns {
  std::vector<const double*> data;  // the m numerators, then the denominators if any
  size_t G;
  size_t groups() const { return (data.size() + kGroup - 1) / kGroup; }
  size_t width(size_t g) const { return std::min(kGroup, data.size() - g * kGroup); }
  // Copies units [start, start + units) of group g's columns row by row into dst.
  void pack(size_t g, size_t start, size_t units, double* dst) const {
    const size_t w = width(g);
    for (size_t c = 0; c < w; ++c) {
      const double* src = data[g * kGroup + c] + start;
      for (size_t u = 0; u < units; ++u) dst[u * w + c] = src[u];
    }
  }
};

// Replicates first+begin .. first+end-1 (at most kBatch) of one thread: per block, the block is
// packed once and every replicate's share of its draws is summed from it.
void resample_batch(const Columns& cols, uint64_t first, size_t begin, size_t end, uint64_t seed,
                    std::vector<double>& sums, double* packed, std::vector<uint16_t>& idx) {
  const size_t C = cols.data.size(), R = end - begin, G = cols.G, groups = cols.groups();
  std::vector<Xoshiro256> streams;
  streams.reserve(R);
  for (size_t r = 0; r < R; ++r) streams.push_back(bootstrap_rng::replicate_stream(seed, first + begin + r));
  std::vector<uint64_t> left(R, G);  // draws not yet placed in a block
  sums.assign(R * C, 0.0);
  for (size_t start = 0; start < G; start += kBlock) {
    const size_t units = std::min(kBlock, G - start);
    for (size_t g = 0; g < groups; ++g) cols.pack(g, start, units, packed + g * kGroup * kBlock);
    // Given the draws left, the count in this block is binomial; the last block takes the rest.
    const double share = static_cast<double>(units) / static_cast<double>(G - start);
    const bool last = start + units == G;
    for (size_t r = 0; r < R; ++r) {
      uint64_t draws = last ? left[r] : bootstrap_rng::binomial(streams[r], left[r], share);
      left[r] -= draws;
      while (draws > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(draws, kChunk));
        if (groups == 1 && units == kBlock) {
          by_width<DrawAndAddRows>(C, streams[r], packed, n, &sums[r * C]);
        } else {
          draw_block_indices(streams[r], units, idx.data(), n);
          for (size_t g = 0; g < groups; ++g)
            by_width<AddRows>(cols.width(g), packed + g * kGroup * kBlock, idx.data(), n, &sums[r * C + g * kGroup]);
        }
        draws -= n;
      }
    }
  }
}

}  // namespace

void bootstrap_resample_ratios(const double* const* numerators, size_t m, const double* denominators, size_t G,
                               uint64_t first, size_t count, uint64_t seed, double* out, unsigned threads) {
  if (G == 0) {  // the mean of no units: 0 / 0 (and no index to draw)
    std::fill(out, out + m * count, std::numeric_limits<double>::quiet_NaN());
    return;
  }
  if (m == 0 || count == 0) return;
  Columns cols{std::vector<const double*>(numerators, numerators + m), G};
  if (denominators != nullptr) cols.data.push_back(denominators);
  const size_t C = cols.data.size();
  parallel_ranges(count, threads, [&](size_t begin, size_t end) {
    std::vector<double> sums, storage(cols.groups() * kGroup * kBlock);
    double* packed = storage.data();
    std::vector<uint16_t> idx(kChunk);
    for (size_t b0 = begin; b0 < end; b0 += kBatch) {
      const size_t b1 = std::min(end, b0 + kBatch);
      resample_batch(cols, first, b0, b1, seed, sums, packed, idx);
      for (size_t b = b0; b < b1; ++b) {
        const double* s = &sums[(b - b0) * C];
        const double denominator = denominators != nullptr ? s[m] : static_cast<double>(G);
        for (size_t k = 0; k < m; ++k) out[k * count + b] = s[k] / denominator;
      }
    }
  });
}

}  // namespace modeldiff
