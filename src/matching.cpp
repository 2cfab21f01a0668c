// Weight-matching similarity as one GEMM: each unit is a feature row
// phi(u) = [win[u,:], bin[u], wout[:,u,:]] of length D (packed straight from the layer,
// never built whole), and C = PhiA PhiB^T, computed by the per-ISA kernel
// (src/matching_kernel.hpp), threaded over
// blocks of rows of C. Each C[i, j] is a plain sequential float64 sum over k
// in that order, so neither the ISA nor the thread count changes the result.
#include "matching.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "error.hpp"
#include "isa_dispatch.hpp"
#include "matching_kernel.hpp"
#include "parallel.hpp"

namespace modeldiff {

namespace {

matching::Gemm gemm_for(Isa isa) {
  return for_isa(isa, [](auto i) { return matching::gemm_kernel<decltype(i)::value>(); });
}

}  // namespace

void matching_similarity(const LayerView& a, const LayerView& b, double* out, unsigned threads,
                         Isa isa) {
  check_finite(a.win, a.units * a.fan_in, "a.win");
  check_finite(a.bin, a.units, "a.bin");
  check_finite(a.wout, a.out_rows * a.units * a.block, "a.wout");
  check_finite(b.win, b.units * b.fan_in, "b.win");
  check_finite(b.bin, b.units, "b.bin");
  check_finite(b.wout, b.out_rows * b.units * b.block, "b.wout");
  const size_t na = a.units, nb = b.units;
  if (na == 0 || nb == 0) return;
  const size_t D = a.fan_in + 1 + a.out_rows * a.block;
  const matching::Gemm gemm = gemm_for(isa);
  // Packed B, 64-byte aligned (each step of a panel is whole cache lines), left uninitialized:
  // pack_b writes every element, and the kernel every element of out.
  const std::unique_ptr<double[]> buffer(new double[((nb + gemm.nr - 1) / gemm.nr) * gemm.nr * D + 8]);
  double* Bp = buffer.get() + ((64 - reinterpret_cast<uintptr_t>(buffer.get()) % 64) % 64) / sizeof(double);
  gemm.pack_b(b, D, Bp);

  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t blocks = (na + gemm.mr - 1) / gemm.mr;  // work items: one register tile of rows
  // Below ~4M multiply-adds a thread costs more than it saves.
  if (static_cast<double>(na) * nb * D < 4e6) threads = 1;
  parallel_ranges(blocks, threads, [&](size_t b0, size_t b1) {
    gemm.rows(a, Bp, out, nb, D, b0 * gemm.mr, std::min(na, b1 * gemm.mr));
  });
}

}  // namespace modeldiff
