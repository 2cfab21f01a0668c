// Weight-matching similarity as one GEMM: each unit is a feature row
// phi(u) = [win[u,:], bin[u], wout[:,u,:]] of length D (packed straight from the layer,
// never built whole), and C = PhiA PhiB^T, computed by the per-ISA kernel
// (src/matching_kernel.hpp), threaded over
// blocks of rows of C (B's packing too). Each C[i, j] is a plain sequential float64 sum over k
// in that order, so neither the ISA nor the thread count changes the result.
#include "matching.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
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

namespace {

void check_layers(const LayerView& a, const LayerView& b) {
  check_finite(a.win, a.units * a.fan_in, "a.win");
  check_finite(a.bin, a.units, "a.bin");
  check_finite(a.wout, a.out_rows * a.units * a.block, "a.wout");
  check_finite(b.win, b.units * b.fan_in, "b.win");
  check_finite(b.bin, b.units, "b.bin");
  check_finite(b.wout, b.out_rows * b.units * b.block, "b.wout");
}

bool all_finite(const double* x, size_t n) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) ok &= std::isfinite(x[i]);
  return ok;
}

}  // namespace

void matching_similarity(const LayerView& a, const LayerView& b, double* out, unsigned threads,
                         Isa isa) {
  const size_t na = a.units, nb = b.units;
  if (na == 0 || nb == 0) {
    check_layers(a, b);
    return;
  }
  const size_t D = a.fan_in + 1 + a.out_rows * a.block;
  const matching::Gemm gemm = gemm_for(isa);
  // Packed B, 64-byte aligned (each step of a panel is whole cache lines), left uninitialized:
  // pack_b writes every element, and the kernel every element of out.
  const size_t panels = (nb + gemm.nr - 1) / gemm.nr;
  const std::unique_ptr<double[]> buffer(new double[panels * gemm.nr * D + 8]);
  double* Bp = buffer.get() + ((64 - reinterpret_cast<uintptr_t>(buffer.get()) % 64) % 64) / sizeof(double);

  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // Below ~4M multiply-adds a thread costs more than it saves.
  if (static_cast<double>(na) * nb * D < 4e6) threads = 1;
  const size_t blocks = (na + gemm.mr - 1) / gemm.mr;  // work items: one register tile of rows
  threads = static_cast<unsigned>(std::min<size_t>(std::max(1u, threads), blocks));
  // One parallel region, not one for packing and one for the rows (each thread start and join
  // costs ~0.06 ms on an idle 2-core machine and much more under load, against ~1 ms a thread
  // for 256 units):
  // packing B is a tenth of the work, so every thread packs; chunks of panels are claimed
  // from a counter, so a thread that starts late finds them packed instead of making the
  // others wait for its fixed share. Each thread then waits until all of B is packed and
  // computes its own rows of C. (Claimed chunks are always finished, and pack_b does not
  // throw, so the wait ends even when parallel_ranges runs a range on the calling thread.)
  constexpr size_t PACK_CHUNK = 8;
  std::atomic<size_t> next_panel{0}, packed{0};
  std::atomic<bool> finite{true};
  parallel_ranges(threads, threads, [&](size_t t0, size_t t1) {  // [t0, t1): row shares
    for (size_t p0; (p0 = next_panel.fetch_add(PACK_CHUNK)) < panels;) {
      const size_t p1 = std::min(panels, p0 + PACK_CHUNK);
      gemm.pack_b(b, D, Bp, p0, p1);
      packed.fetch_add(p1 - p0, std::memory_order_release);
    }
    while (packed.load(std::memory_order_acquire) < panels) std::this_thread::yield();
    for (size_t t = t0; t < t1; ++t) {
      const size_t r0 = blocks * t / threads * gemm.mr, r1 = std::min(na, blocks * (t + 1) / threads * gemm.mr);
      gemm.rows(a, Bp, out, nb, D, r0, r1);
      if (!all_finite(out + r0 * nb, (r1 - r0) * nb)) finite = false;
    }
  });
  // A NaN or infinite input makes its whole row (A) or column (B) of C non-finite (x * y is
  // then NaN or infinite for every y, and so is any sum holding it), so a finite C proves the
  // inputs finite without a pass over them; otherwise the pass names the first bad value (C
  // can also overflow from finite inputs, which is not an error).
  if (!finite) check_layers(a, b);
}

}  // namespace modeldiff
