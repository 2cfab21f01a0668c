// Weight-matching similarity as one GEMM: each unit becomes a feature row
// phi(u) = [win[u,:], bin[u], wout[:,u,:]] of length D, and C = PhiA PhiB^T.
// The GEMM uses a register-blocked outer-product micro-kernel (4 rows of A x 8
// columns of C) over packed panels; every C[i, j] is a plain sequential sum
// over k, so blocking and threading never change the rounding.
#include "matching.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <vector>

namespace modeldiff {
namespace {

constexpr size_t MR = 4;    // rows of A per micro-tile
constexpr size_t NR = 8;    // columns of C per micro-tile (one packed B panel)
constexpr size_t KC = 256;  // depth per cache block

// phi rows, units x D, row-major.
std::vector<double> features(const LayerView& l, size_t D) {
  std::vector<double> phi(l.units * D);
  for (size_t u = 0; u < l.units; ++u) {
    double* row = phi.data() + u * D;
    std::copy_n(l.win + u * l.fan_in, l.fan_in, row);
    row[l.fan_in] = l.bin[u];
    double* out = row + l.fan_in + 1;
    for (size_t o = 0; o < l.out_rows; ++o)
      std::copy_n(l.wout + (o * l.units + u) * l.block, l.block, out + o * l.block);
  }
  return phi;
}

// B^T packed as panels of NR columns: panel p holds, for every k, the NR
// values phiB[p*NR + c, k] (zero padded), so the micro-kernel reads it linearly.
std::vector<double> pack_b(const std::vector<double>& phi, size_t nb, size_t D) {
  const size_t panels = (nb + NR - 1) / NR;
  std::vector<double> packed(panels * D * NR, 0.0);
  for (size_t p = 0; p < panels; ++p)
    for (size_t c = 0; c < NR && p * NR + c < nb; ++c) {
      const double* src = phi.data() + (p * NR + c) * D;
      double* dst = packed.data() + p * D * NR + c;
      for (size_t k = 0; k < D; ++k) dst[k * NR] = src[k];
    }
  return packed;
}

// C rows [r0, r1): C[i, j] += sum_{k in [k0,k1)} A[i,k] B[j,k].
void gemm_rows(const double* A, const double* Bp, double* C, size_t nb, size_t D,
               size_t r0, size_t r1) {
  const size_t panels = (nb + NR - 1) / NR;
  for (size_t k0 = 0; k0 < D; k0 += KC) {
    const size_t k1 = std::min(D, k0 + KC);
    for (size_t p = 0; p < panels; ++p) {
      const double* bp = Bp + p * D * NR;
      const size_t ncols = std::min(NR, nb - p * NR);
      for (size_t i0 = r0; i0 < r1; i0 += MR) {
        const size_t nrows = std::min(MR, r1 - i0);
        double acc[MR][NR];
        for (size_t r = 0; r < MR; ++r)
          for (size_t c = 0; c < NR; ++c)
            acc[r][c] = (r < nrows && c < ncols) ? C[(i0 + r) * nb + p * NR + c] : 0.0;
        const double* a[MR];
        for (size_t r = 0; r < MR; ++r) a[r] = A + (i0 + std::min(r, nrows - 1)) * D;
        for (size_t k = k0; k < k1; ++k) {
          const double* b = bp + k * NR;
          for (size_t r = 0; r < MR; ++r) {
            const double ar = a[r][k];
            for (size_t c = 0; c < NR; ++c) acc[r][c] += ar * b[c];
          }
        }
        for (size_t r = 0; r < nrows; ++r)
          for (size_t c = 0; c < ncols; ++c) C[(i0 + r) * nb + p * NR + c] = acc[r][c];
      }
    }
  }
}

}  // namespace

void matching_similarity(const LayerView& a, const LayerView& b, double* out, unsigned threads) {
  if (a.fan_in != b.fan_in || a.out_rows != b.out_rows || a.block != b.block)
    throw std::invalid_argument("matching similarity: layers a and b differ in fanIn, outRows or block");
  check_finite(a.win, a.units * a.fan_in, "a.win");
  check_finite(a.bin, a.units, "a.bin");
  check_finite(a.wout, a.out_rows * a.units * a.block, "a.wout");
  check_finite(b.win, b.units * b.fan_in, "b.win");
  check_finite(b.bin, b.units, "b.bin");
  check_finite(b.wout, b.out_rows * b.units * b.block, "b.wout");
  const size_t na = a.units, nb = b.units;
  std::fill(out, out + na * nb, 0.0);
  if (na == 0 || nb == 0) return;
  const size_t D = a.fan_in + 1 + a.out_rows * a.block;
  const std::vector<double> phiA = features(a, D);
  const std::vector<double> Bp = pack_b(features(b, D), nb, D);

  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const double work = static_cast<double>(na) * nb * D;
  const size_t blocks = (na + MR - 1) / MR;
  size_t nthreads = work < 4e6 ? 1 : std::min<size_t>(threads, blocks);
  if (nthreads <= 1) {
    gemm_rows(phiA.data(), Bp.data(), out, nb, D, 0, na);
    return;
  }
  // Contiguous ranges of whole MR-row blocks per thread.
  std::vector<std::thread> pool;
  for (size_t t = 0; t < nthreads; ++t) {
    const size_t r0 = std::min(na, blocks * t / nthreads * MR);
    const size_t r1 = std::min(na, blocks * (t + 1) / nthreads * MR);
    if (r0 < r1)
      pool.emplace_back(gemm_rows, phiA.data(), Bp.data(), out, nb, D, r0, r1);
  }
  for (auto& th : pool) th.join();
}

}  // namespace modeldiff
