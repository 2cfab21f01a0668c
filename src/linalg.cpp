// Gram kernels (see linalg.hpp): centering, packing and threading around the per-ISA
// micro-kernel (src/linalg_kernel.hpp, instantiated by src/linalg_<isa>.cpp).
#include "linalg.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <sstream>
#include <thread>
#include <vector>

#include "isa_dispatch.hpp"
#include "linalg_kernel.hpp"
#include "parallel.hpp"

namespace modeldiff {
namespace linalg {

namespace {

SyrkFn pick_syrk(Isa isa) {
  return for_isa(isa, [](auto i) { return syrk_kernel<decltype(i)::value>(); });
}

int resolve_threads(int requested, std::size_t work_units) {
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  if (hw <= 0) hw = 1;
  int t = requested > 0 && requested < hw ? requested : hw;  // never more threads than the hardware's
  if (static_cast<std::size_t>(t) > work_units) t = static_cast<int>(std::max<std::size_t>(1, work_units));
  return std::max(1, t);
}

// Runs fn(tid) for tid in [0, threads) (tid 0 on the calling thread) and rethrows the
// exception of the lowest tid that threw: parallel_ranges with one range per tid.
template <class Fn>
void run_parallel(int threads, Fn fn) {
  parallel_ranges(static_cast<std::size_t>(threads), static_cast<unsigned>(threads), [&](std::size_t b, std::size_t e) {
    for (std::size_t tid = b; tid < e; ++tid) fn(static_cast<int>(tid));
  });
}

inline double load(const MatrixView& m, std::size_t r, std::size_t c) {
  return m.f64 ? static_cast<const double*>(m.data)[r * m.cols + c]
               : static_cast<double>(static_cast<const float*>(m.data)[r * m.cols + c]);
}

[[noreturn]] void throw_non_finite(const MatrixView& m, std::size_t r, std::size_t c) {
  std::ostringstream os;
  os << "matrix " << m.name << " has a non-finite value (" << load(m, r, c) << ") at row " << r
     << ", column " << c;
  throw Error("NON_FINITE", m.input, static_cast<long>(r), os.str());
}

// Column means in float64 (per-thread partial sums over row ranges), checking
// every value is finite; the first bad value by row is the one reported.
void column_means(const MatrixView& m, int threads, double* mean) {
  const std::size_t n = m.rows, p = m.cols;
  threads = resolve_threads(threads, n / 64 + 1);
  std::vector<std::vector<double>> partial(threads, std::vector<double>(p, 0.0));
  std::vector<std::size_t> bad_row(threads, std::numeric_limits<std::size_t>::max());
  std::vector<std::size_t> bad_col(threads, 0);
  run_parallel(threads, [&](int tid) {
    const std::size_t r0 = n * tid / threads, r1 = n * (tid + 1) / threads;
    double* acc = partial[tid].data();
    for (std::size_t r = r0; r < r1; ++r)
      for (std::size_t c = 0; c < p; ++c) {
        const double v = load(m, r, c);
        if (!std::isfinite(v)) {
          bad_row[tid] = r;
          bad_col[tid] = c;
          return;
        }
        acc[c] += v;
      }
  });
  for (int t = 0; t < threads; ++t)
    if (bad_row[t] != std::numeric_limits<std::size_t>::max()) throw_non_finite(m, bad_row[t], bad_col[t]);
  for (std::size_t c = 0; c < p; ++c) {
    double s = 0.0;
    for (int t = 0; t < threads; ++t) s += partial[t][c];
    mean[c] = n ? s / static_cast<double>(n) : 0.0;
  }
}

void check_finite(const MatrixView& m, int threads) {
  std::vector<double> dummy(m.cols);
  column_means(m, threads, dummy.data());
}

void mirror_upper(double* C, std::size_t m) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = i + 1; j < m; ++j) C[j * m + i] = C[i * m + j];
}

}  // namespace

void feature_gram(const MatrixView& x, const MatrixView* y, bool center, Isa isa, int threads,
                  double* gram, double* mean_out, double* rowsq_x, double* rowsq_y) {
  const std::size_t n = x.rows, px = x.cols, py = y ? y->cols : 0, P = px + py;
  if (P == 0) return;

  std::vector<double> mean(P, 0.0);
  if (center) {
    column_means(x, threads, mean.data());
    if (y) column_means(*y, threads, mean.data() + px);
  } else {
    check_finite(x, threads);
    if (y) check_finite(*y, threads);
  }

  // Sample block per pack: the packed P x B panel should stay in L2 while every
  // tile of the triangle streams over it.
  std::size_t B = (256 * 1024) / (8 * P);
  B = std::max<std::size_t>(16, std::min<std::size_t>(512, B));
  B = (B + 7) / 8 * 8;

  // Each thread owns a range of samples and a private P x P accumulator; the
  // memory budget (about 1 GiB of partials) caps the thread count for wide P.
  int t = resolve_threads(threads, (n + B - 1) / B);
  const double bytes_per = 8.0 * static_cast<double>(P) * static_cast<double>(P);
  while (t > 1 && bytes_per * t > 1024.0 * 1024.0 * 1024.0) --t;

  const SyrkFn syrk = pick_syrk(isa);
  std::vector<std::vector<double>> partial(t);
  run_parallel(t, [&](int tid) {
    std::vector<double>& C = partial[tid];
    C.assign(P * P, 0.0);
    std::vector<double> pack(P * B);
    const std::size_t r0 = n * tid / t, r1 = n * (tid + 1) / t;
    for (std::size_t b0 = r0; b0 < r1; b0 += B) {
      const std::size_t bn = std::min(B, r1 - b0);
      for (std::size_t r = 0; r < bn; ++r) {
        double sx = 0.0, sy = 0.0;
        for (std::size_t c = 0; c < px; ++c) {
          const double v = load(x, b0 + r, c) - mean[c];
          pack[c * B + r] = v;
          sx += v * v;
        }
        for (std::size_t c = 0; c < py; ++c) {
          const double v = load(*y, b0 + r, c) - mean[px + c];
          pack[(px + c) * B + r] = v;
          sy += v * v;
        }
        if (rowsq_x) rowsq_x[b0 + r] = sx;
        if (rowsq_y && y) rowsq_y[b0 + r] = sy;
      }
      syrk(pack.data(), P, bn, B, C.data(), P, 0, P);
    }
  });
  if (gram) {
    for (std::size_t i = 0; i < P; ++i)
      for (std::size_t j = i; j < P; ++j) {
        double s = 0.0;
        for (int k = 0; k < t; ++k) s += partial[k][i * P + j];
        gram[i * P + j] = s;
      }
    mirror_upper(gram, P);
  }
  if (mean_out) std::memcpy(mean_out, mean.data(), P * sizeof(double));
}

void sample_gram(const MatrixView& x, bool center, SampleKernel kind, Isa isa, int threads, double* out) {
  const std::size_t n = x.rows, p = x.cols;
  if (n == 0) return;
  std::vector<double> mean(p, 0.0);
  if (center)
    column_means(x, threads, mean.data());
  else
    check_finite(x, threads);
  std::vector<double> A(n * p);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < p; ++c) A[r * p + c] = load(x, r, c) - mean[c];

  std::fill(out, out + n * n, 0.0);
  const SyrkFn syrk = pick_syrk(isa);
  // Rows of the triangle have unequal work, so threads take row chunks from a
  // shared counter instead of fixed ranges.
  const std::size_t chunk = 16;
  std::atomic<std::size_t> next{0};
  const int t = resolve_threads(threads, (n + chunk - 1) / chunk);
  run_parallel(t, [&](int) {
    for (;;) {
      const std::size_t i0 = next.fetch_add(chunk);
      if (i0 >= n) break;
      syrk(A.data(), n, p, p, out, n, i0, std::min(n, i0 + chunk));
    }
  });
  if (kind == SampleKernel::SquaredDistance) {
    std::vector<double> diag(n);
    for (std::size_t i = 0; i < n; ++i) diag[i] = out[i * n + i];
    for (std::size_t i = 0; i < n; ++i) {
      out[i * n + i] = 0.0;
      for (std::size_t j = i + 1; j < n; ++j) {
        const double d = diag[i] + diag[j] - 2.0 * out[i * n + j];
        out[i * n + j] = d > 0.0 ? d : 0.0;
      }
    }
  }
  mirror_upper(out, n);
}

}  // namespace linalg
}  // namespace modeldiff
