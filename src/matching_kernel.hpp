// The matching GEMM C = PhiA * PhiB^T, written once over a vector policy V
// (src/simd_policy.hpp) and instantiated per ISA by src/matching_baseline.cpp,
// matching_avx2.cpp and matching_avx512.cpp, each defining its gemm_kernel<Isa>() below;
// src/matching.cpp picks one with for_isa(). Every C[i, j] is the plain sequential float64
// sum over k (each ISA translation unit turns floating-point contraction off), so all
// variants and thread counts agree bit for bit.
//
// The blocking of Goto and van de Geijn (2008), as BLIS and OpenBLAS do it. The feature rows
// phi(u) = [win[u,:], bin[u], wout[:,u,:]] are never built: B's are packed once, straight
// from the layer, into panels of NR = 2 * W columns (k-major); A's are packed per MC x KC
// block into micro-panels of MR rows (k-major), so the micro-kernel reads two contiguous
// streams. An MR x NR register tile is accumulated in 2*MR vector registers over KC steps:
// MR = 6 gives 12 accumulators, enough independent adds to cover the add latency on two
// pipes, and with the two B vectors and one broadcast still fits 16 registers. Loop order,
// outermost first (per thread, over its own rows):
//   rows in super-blocks          (whose partial sums fill the thread's C buffer, <= 4 MiB)
//   columns of B in blocks of NC  (the B block, KC x NC, stays in L3)
//   depth in blocks of KC         (the C buffer holds the partial sums in between: exact in
//                                  float64, the order of each sum unchanged)
//   rows of A in blocks of MC     (the packed A block, MC x KC, stays in L2)
//   panels of B, then tiles       (the B micro-panel, KC x NR, stays in L1)
// so B is read from memory once per super-block and A once per NC block. The C buffer keeps
// each MR x NR tile contiguous (C's own rows are 8-16 KiB apart at 1024-2048 units: a tile's
// rows share one L1 set and a few L2 sets, and were evicted between depth blocks); it is
// copied to C after the last depth block. (The first version walked rows outermost and read
// all of B again for every 96 rows: 0.43 of OpenBLAS at 2048 units.)
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "canonical.hpp"
#include "cpu_features.hpp"
#include "simd_policy.hpp"

namespace modeldiff {
namespace matching {

struct Gemm {
  // Panel width (columns of C per packed B panel).
  size_t nr;
  // Micro-kernel height (rows of C per register tile).
  size_t mr;
  // Packs panels [p0, p1) of the feature rows of b (D = fan_in + 1 + out_rows * block each):
  // panel p holds columns [p * nr, p * nr + nr), zero padded, at packed + p * nr * D. All
  // ceil(b.units / nr) panels take ceil(b.units / nr) * nr * D doubles.
  void (*pack_b)(const LayerView& b, size_t D, double* packed, size_t p0, size_t p1);
  // C rows [r0, r1) = feature rows [r0, r1) of a times packed B (C is a.units x nb, row-major).
  void (*rows)(const LayerView& a, const double* Bp, double* C, size_t nb, size_t D, size_t r0, size_t r1);
};

template <Isa I>
Gemm gemm_kernel();
template <>
Gemm gemm_kernel<Isa::Scalar>();
template <>
Gemm gemm_kernel<Isa::Avx2>();
template <>
Gemm gemm_kernel<Isa::Avx512>();
#if defined(MODELDIFF_ARM64)
// NEON is arm64's baseline: the baseline table serves Isa::Neon (src/isa_dispatch.hpp).
template <>
inline Gemm gemm_kernel<Isa::Neon>() {
  return gemm_kernel<Isa::Scalar>();
}
#endif

namespace {

// Packs the feature rows phi(u) of units [u0, u1), depth [k0, k1), into micro-panels of S
// units: micro-panel q (units u0 + q*S ...) at dst + q * S * (k1 - k0), k-major, so
// dst[q * S * kc + (k - k0) * S + r] = phi(u0 + q*S + r)[k]; the last micro-panel's missing
// units are zero. Each part of phi is read in its own layout and in long runs: win by rows,
// wout (out_rows x units x block) by rows of wout, all units of the range at once (one row of
// wout per k is contiguous when block = 1; one micro-panel at a time would read a few doubles
// from each of kc rows 8-16 KiB apart, which miss L1 and L2 every time).
template <size_t S>
void pack_panels(const LayerView& l, size_t u0, size_t u1, size_t k0, size_t k1, double* dst) {
  const size_t kc = k1 - k0, n = u1 - u0, stride = S * kc;
  if (n % S)
    for (size_t k = 0; k < kc; ++k)
      for (size_t r = n % S; r < S; ++r) dst[(n / S) * stride + k * S + r] = 0.0;
  const size_t win_end = std::min(k1, l.fan_in);
  for (size_t u = u0; u < u1; ++u) {
    const double* src = l.win + u * l.fan_in;
    double* d = dst + ((u - u0) / S) * stride + (u - u0) % S - k0 * S;
    for (size_t k = k0; k < win_end; ++k) d[k * S] = src[k];
  }
  if (k0 <= l.fan_in && l.fan_in < k1)
    for (size_t u = u0; u < u1; ++u) dst[((u - u0) / S) * stride + (l.fan_in - k0) * S + (u - u0) % S] = l.bin[u];
  for (size_t k = std::max(k0, l.fan_in + 1); k < k1; ++k) {
    const size_t j = k - l.fan_in - 1, o = j / l.block, t = j % l.block;
    const double* src = l.wout + (o * l.units + u0) * l.block + t;
    double* d = dst + (k - k0) * S;
    for (size_t q = 0; q * S < n; ++q) {
      const size_t m = std::min(S, n - q * S);
      for (size_t r = 0; r < m; ++r) d[q * stride + r] = src[(q * S + r) * l.block];
    }
  }
}

template <class V>
struct GemmKernel {
  using T = typename V::T;
  static constexpr size_t L = V::W;
  static constexpr size_t NR = 2 * L;
  static constexpr size_t MR = 6;
  static constexpr size_t KC = 256;
  static constexpr size_t MC = 144;  // 144 x 256 doubles (288 KiB) of packed A: most of a 512 KiB L2
  // B panels per column block: about 4 MiB of packed B per depth block.
  static constexpr size_t NC_PANELS = (4u << 20) / (KC * NR * sizeof(double));
  // The C buffer of a thread (see rows()): at most 4 MiB, at least one row block.
  static constexpr size_t CB_BYTES = 4u << 20;

  static void pack_b(const LayerView& b, size_t D, double* packed, size_t p0, size_t p1) {
    // 32 panels (256 units) at a time: long runs of each wout row, 32 write streams.
    for (size_t q0 = p0; q0 < p1; q0 += 32) {
      const size_t u0 = q0 * NR, u1 = std::min(b.units, std::min(p1, q0 + 32) * NR);
      if (u0 < u1) pack_panels<NR>(b, u0, u1, 0, D, packed + u0 * D);
    }
  }

  // The MR x NR tile at c (contiguous, row-major, 64-byte aligned) (+)= ap (MR x kc) times
  // bp (kc x NR). `first`: the tile starts from zero instead of c.
  static void tile(const double* ap, const double* bp, double* c, size_t kc, bool first) {
    T acc[MR][2];
    for (size_t r = 0; r < MR; ++r) {
      acc[r][0] = first ? V::zero() : V::load(c + r * NR);
      acc[r][1] = first ? V::zero() : V::load(c + r * NR + L);
    }
    for (size_t k = 0; k < kc; ++k) {
      const T b0 = V::load(bp + k * NR), b1 = V::load(bp + k * NR + L);
      for (size_t r = 0; r < MR; ++r) {
        const T ar = V::set1(ap[k * MR + r]);
        acc[r][0] = V::add(acc[r][0], V::mul(ar, b0));
        acc[r][1] = V::add(acc[r][1], V::mul(ar, b1));
      }
    }
    for (size_t r = 0; r < MR; ++r) {
      V::store(c + r * NR, acc[r][0]);
      V::store(c + r * NR + L, acc[r][1]);
    }
  }

  // Copies the tiles of the C buffer (tiles x panels of them, tile-major, panel by panel) to
  // rows [s0, s1) and panels [p0, p1) of C, dropping the padding.
  static void copy_out(const double* Cb, size_t tiles, double* C, size_t nb, size_t s0, size_t s1, size_t p0, size_t p1) {
    for (size_t t = 0; t * MR < s1 - s0; ++t)
      for (size_t p = p0; p < p1; ++p) {
        const double* c = Cb + ((p - p0) * tiles + t) * MR * NR;
        const size_t nrows = std::min(MR, s1 - s0 - t * MR), ncols = std::min(NR, nb - p * NR);
        for (size_t r = 0; r < nrows; ++r)
          std::memcpy(C + (s0 + t * MR + r) * nb + p * NR, c + r * NR, ncols * sizeof(double));
      }
  }

  static void rows(const LayerView& a, const double* Bp, double* C, size_t nb, size_t D, size_t r0, size_t r1) {
    if (r0 >= r1) return;
    const size_t panels = (nb + NR - 1) / NR;
    // The packed A block, 64-byte aligned so no micro-panel row straddles two cache lines.
    // Left uninitialized (pack_panels writes every element it reads back, padding included).
    const std::unique_ptr<double[]> a_buffer(new double[((std::min(MC, r1 - r0) + MR - 1) / MR) * MR * KC + 8]);
    double* Ap = align64(a_buffer.get());
    // The partial sums live in a C buffer of whole tiles, each MR x NR tile contiguous and
    // the tiles of one panel consecutive, not in C: C's rows of a tile are nb doubles apart
    // (8-16 KiB for 1024-2048 units), so every tile's rows fall in one L1 set and a few L2
    // sets and on as many pages, and are evicted before the next depth block comes back to
    // them. The buffer covers a super-block of rows x one column block (CB_BYTES at most),
    // and is copied to C once, after the last depth block.
    const size_t nc = std::min(panels, NC_PANELS);
    // Super-blocks of equal size: a last one of a few rows would stream all of B again for
    // them (at 1024 units, 1 thread, 85 + 85 + 1 tiles instead of 3 x 57).
    const size_t tiles_max = std::max(MC / MR, CB_BYTES / (nc * MR * NR * sizeof(double)));
    const size_t all_tiles = (r1 - r0 + MR - 1) / MR, supers = (all_tiles + tiles_max - 1) / tiles_max;
    const size_t tiles = (all_tiles + supers - 1) / supers;
    // Uninitialized too: the first depth block writes each tile (tile(..., first)) before any read.
    const std::unique_ptr<double[]> c_buffer(new double[tiles * nc * MR * NR + 8]);
    double* Cb = align64(c_buffer.get());
    for (size_t s0 = r0; s0 < r1; s0 += tiles * MR) {
      const size_t s1 = std::min(r1, s0 + tiles * MR);
      for (size_t p0 = 0; p0 < panels; p0 += NC_PANELS) {
        const size_t p1 = std::min(panels, p0 + NC_PANELS);
        for (size_t k0 = 0; k0 < D; k0 += KC) {
          const size_t k1 = std::min(D, k0 + KC), kc = k1 - k0;
          for (size_t m0 = s0; m0 < s1; m0 += MC) {
            const size_t m1 = std::min(s1, m0 + MC);
            pack_panels<MR>(a, m0, m1, k0, k1, Ap);
            // Each panel's depth block is read by all tiles of the row block; the next panel's
            // is prefetched into L2 a slice per tile, so the first tiles do not wait on memory.
            const size_t ntiles = (m1 - m0 + MR - 1) / MR, lines = kc * NR * sizeof(double) / 64;
            const size_t per_tile = (lines + ntiles - 1) / ntiles;
            for (size_t p = p0; p < p1; ++p) {
              const double* bp = Bp + p * D * NR + k0 * NR;
              const char* next = reinterpret_cast<const char*>(bp + D * NR);
              double* cp = Cb + ((p - p0) * tiles + (m0 - s0) / MR) * MR * NR;
              for (size_t t = 0; t < ntiles; ++t) {
                if (p + 1 < p1)
                  for (size_t l = t * per_tile; l < std::min(lines, (t + 1) * per_tile); ++l)
                    __builtin_prefetch(next + l * 64, 0, 2);
                tile(Ap + t * MR * kc, bp, cp + t * MR * NR, kc, k0 == 0);
              }
            }
          }
        }
        copy_out(Cb, tiles, C, nb, s0, s1, p0, p1);
      }
    }
  }

  static double* align64(double* p) {
    return p + ((64 - reinterpret_cast<uintptr_t>(p) % 64) % 64) / sizeof(double);
  }

  static Gemm table() { return Gemm{NR, MR, pack_b, rows}; }
};

}  // namespace
}  // namespace matching
}  // namespace modeldiff
