// Body of the per-ISA matching GEMM (see matching_kernel.hpp). NOT a normal
// header: each translation unit defines MD_MT_LANES (doubles per SIMD
// register), turns off floating-point contraction, and includes it inside its
// own namespace after <algorithm>, <cstddef> and <cstring>.
//
// Register-blocked outer-product micro-kernel: MR rows of A times one packed
// panel of NR = 2 * lanes columns of B, accumulated in 2*MR vector registers,
// over depth blocks of KC. Partial sums go through C between depth blocks,
// which is exact in float64, so each C[i, j] is still one sequential sum.
// MR = 6 gives 12 accumulators, enough independent adds to cover the add
// latency on two pipes, and with the two B vectors and one broadcast still
// fits 16 registers. Rows are walked in blocks of MC, so the A rows a panel
// of B meets (MC x KC doubles) stay in L2 instead of streaming from L3 for
// every panel.

#ifndef MD_MT_LANES
#error "define MD_MT_LANES before including matching_kernel.inl.hpp"
#endif

typedef double mt_vd __attribute__((vector_size(MD_MT_LANES * sizeof(double))));

constexpr size_t MT_L = MD_MT_LANES;
constexpr size_t MT_NR = 2 * MT_L;
constexpr size_t MT_MR = 6;
constexpr size_t MT_KC = 256;
constexpr size_t MT_MC = 96;

static inline mt_vd mt_load(const double* p) {
  mt_vd v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

static inline void mt_store(double* p, mt_vd v) { std::memcpy(p, &v, sizeof(v)); }

// x in every lane. Written as x - 0 (exact for every x, -0 and NaN included),
// which compilers fold into one broadcast load; `0 + x` is not an identity
// for x = -0, so it cost an add and a register broadcast per row and step.
static inline mt_vd mt_splat(double x) { return x - mt_vd{}; }

static void mt_pack_b(const double* phi, size_t nb, size_t D, double* packed) {
  const size_t panels = (nb + MT_NR - 1) / MT_NR;
  std::fill(packed, packed + panels * D * MT_NR, 0.0);
  for (size_t p = 0; p < panels; ++p)
    for (size_t c = 0; c < MT_NR && p * MT_NR + c < nb; ++c) {
      const double* src = phi + (p * MT_NR + c) * D;
      double* dst = packed + p * D * MT_NR + c;
      for (size_t k = 0; k < D; ++k) dst[k * MT_NR] = src[k];
    }
}

static void mt_tile(const double* A, const double* bp, double* C, size_t nb, size_t D, size_t i0,
                    size_t nrows, size_t col0, size_t ncols, size_t k0, size_t k1) {
  // Load the running sums (zero on the first depth block).
  double tile[MT_MR][MT_NR] = {};
  if (k0 > 0)
    for (size_t r = 0; r < nrows; ++r)
      for (size_t c = 0; c < ncols; ++c) tile[r][c] = C[(i0 + r) * nb + col0 + c];
  mt_vd acc[MT_MR][2];
  for (size_t r = 0; r < MT_MR; ++r) {
    acc[r][0] = mt_load(&tile[r][0]);
    acc[r][1] = mt_load(&tile[r][MT_L]);
  }
  const double* a[MT_MR];
  for (size_t r = 0; r < MT_MR; ++r) a[r] = A + (i0 + std::min(r, nrows - 1)) * D;
  for (size_t k = k0; k < k1; ++k) {
    const mt_vd b0 = mt_load(bp + k * MT_NR), b1 = mt_load(bp + k * MT_NR + MT_L);
    for (size_t r = 0; r < MT_MR; ++r) {
      const mt_vd ar = mt_splat(a[r][k]);
      acc[r][0] += ar * b0;
      acc[r][1] += ar * b1;
    }
  }
  for (size_t r = 0; r < MT_MR; ++r) {
    mt_store(&tile[r][0], acc[r][0]);
    mt_store(&tile[r][MT_L], acc[r][1]);
  }
  for (size_t r = 0; r < nrows; ++r)
    for (size_t c = 0; c < ncols; ++c) C[(i0 + r) * nb + col0 + c] = tile[r][c];
}

static void mt_rows(const double* A, const double* Bp, double* C, size_t nb, size_t D, size_t r0,
                    size_t r1) {
  const size_t panels = (nb + MT_NR - 1) / MT_NR;
  for (size_t m0 = r0; m0 < r1; m0 += MT_MC) {
    const size_t m1 = std::min(r1, m0 + MT_MC);
    for (size_t k0 = 0; k0 < D; k0 += MT_KC) {
      const size_t k1 = std::min(D, k0 + MT_KC);
      for (size_t p = 0; p < panels; ++p) {
        const size_t ncols = std::min(MT_NR, nb - p * MT_NR);
        for (size_t i0 = m0; i0 < m1; i0 += MT_MR)
          mt_tile(A, Bp + p * D * MT_NR, C, nb, D, i0, std::min(MT_MR, m1 - i0), p * MT_NR, ncols, k0, k1);
      }
    }
  }
}
