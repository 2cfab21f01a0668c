// The Gram micro-kernel, compiled once per ISA. NOT a normal header: each of
// linalg.cpp / linalg_avx2.cpp / linalg_avx512.cpp defines MD_LANES (doubles
// per SIMD register) and MD_TILE4 (1: 4x4 register tile, 0: 2x4) and includes
// this file inside its own namespace, so each instantiation gets the vector
// width its translation unit's compiler flags allow, with no ODR clash.
// Include <cstddef> and <cstring> before the namespace.
//
// Why "dot products of rows": both Grams we need (features x features, and
// samples x samples) are A*A^T of a row-major float64 matrix A with contiguous
// rows, so each output entry is a contiguous dot product. Lane-wise partial
// sums (GCC/Clang vector extensions) vectorize without -ffast-math, because no
// reassociation of a single running sum is needed.

#ifndef MD_LANES
#error "define MD_LANES before including linalg_kernel.inl.hpp"
#endif

#if defined(__GNUC__) || defined(__clang__)
typedef double vd __attribute__((vector_size(MD_LANES * sizeof(double))));
#else
// Portable stand-in for compilers without vector extensions (MSVC): the same
// lane-wise arithmetic on a plain array, which the optimizer may vectorize.
struct vd {
  double v[MD_LANES];
  double operator[](int i) const { return v[i]; }
};
static inline vd operator*(vd a, const vd& b) {
  for (int i = 0; i < MD_LANES; ++i) a.v[i] *= b.v[i];
  return a;
}
static inline vd& operator+=(vd& a, const vd& b) {
  for (int i = 0; i < MD_LANES; ++i) a.v[i] += b.v[i];
  return a;
}
#endif

static inline vd vload(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof(vd));
  return v;
}

static inline double hsum(vd v) {
  double s = 0.0;
  for (int l = 0; l < MD_LANES; ++l) s += v[l];
  return s;
}

static inline double tail_dot(const double* a, const double* b, std::size_t k, std::size_t len) {
  double s = 0.0;
  for (; k < len; ++k) s += a[k] * b[k];
  return s;
}

// Dot product of two rows, lane-split like the tiles (used on the edges).
static inline double dot_rows(const double* a, const double* b, std::size_t len) {
  vd s = vd{};
  std::size_t k = 0;
  for (; k + MD_LANES <= len; k += MD_LANES) s += vload(a + k) * vload(b + k);
  return hsum(s) + tail_dot(a, b, k, len);
}

// 2x4 register tile: named accumulators so they stay in registers
// (an accumulator array indexed later would be spilled to the stack).
static inline void tile_2x4(const double* A, std::size_t lda, std::size_t len, std::size_t i, std::size_t j, double out[2][4]) {
  const double* pa = A + i * lda;
  const double* pb = A + j * lda;
  vd s00 = vd{}; vd s01 = vd{}; vd s02 = vd{}; vd s03 = vd{}; vd s10 = vd{}; vd s11 = vd{}; vd s12 = vd{}; vd s13 = vd{};
  std::size_t k = 0;
  for (; k + MD_LANES <= len; k += MD_LANES) {
    const vd y0 = vload(pb + 0 * lda + k); const vd y1 = vload(pb + 1 * lda + k); const vd y2 = vload(pb + 2 * lda + k); const vd y3 = vload(pb + 3 * lda + k);
    { const vd x = vload(pa + 0 * lda + k); s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3; }
    { const vd x = vload(pa + 1 * lda + k); s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3; }
  }
  out[0][0] = hsum(s00) + tail_dot(pa + 0 * lda, pb + 0 * lda, k, len);
  out[0][1] = hsum(s01) + tail_dot(pa + 0 * lda, pb + 1 * lda, k, len);
  out[0][2] = hsum(s02) + tail_dot(pa + 0 * lda, pb + 2 * lda, k, len);
  out[0][3] = hsum(s03) + tail_dot(pa + 0 * lda, pb + 3 * lda, k, len);
  out[1][0] = hsum(s10) + tail_dot(pa + 1 * lda, pb + 0 * lda, k, len);
  out[1][1] = hsum(s11) + tail_dot(pa + 1 * lda, pb + 1 * lda, k, len);
  out[1][2] = hsum(s12) + tail_dot(pa + 1 * lda, pb + 2 * lda, k, len);
  out[1][3] = hsum(s13) + tail_dot(pa + 1 * lda, pb + 3 * lda, k, len);
}

// 4x4 register tile: named accumulators so they stay in registers
// (an accumulator array indexed later would be spilled to the stack).
static inline void tile_4x4(const double* A, std::size_t lda, std::size_t len, std::size_t i, std::size_t j, double out[4][4]) {
  const double* pa = A + i * lda;
  const double* pb = A + j * lda;
  vd s00 = vd{}; vd s01 = vd{}; vd s02 = vd{}; vd s03 = vd{}; vd s10 = vd{}; vd s11 = vd{}; vd s12 = vd{}; vd s13 = vd{}; vd s20 = vd{}; vd s21 = vd{}; vd s22 = vd{}; vd s23 = vd{}; vd s30 = vd{}; vd s31 = vd{}; vd s32 = vd{}; vd s33 = vd{};
  std::size_t k = 0;
  for (; k + MD_LANES <= len; k += MD_LANES) {
    const vd y0 = vload(pb + 0 * lda + k); const vd y1 = vload(pb + 1 * lda + k); const vd y2 = vload(pb + 2 * lda + k); const vd y3 = vload(pb + 3 * lda + k);
    { const vd x = vload(pa + 0 * lda + k); s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3; }
    { const vd x = vload(pa + 1 * lda + k); s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3; }
    { const vd x = vload(pa + 2 * lda + k); s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3; }
    { const vd x = vload(pa + 3 * lda + k); s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3; }
  }
  out[0][0] = hsum(s00) + tail_dot(pa + 0 * lda, pb + 0 * lda, k, len);
  out[0][1] = hsum(s01) + tail_dot(pa + 0 * lda, pb + 1 * lda, k, len);
  out[0][2] = hsum(s02) + tail_dot(pa + 0 * lda, pb + 2 * lda, k, len);
  out[0][3] = hsum(s03) + tail_dot(pa + 0 * lda, pb + 3 * lda, k, len);
  out[1][0] = hsum(s10) + tail_dot(pa + 1 * lda, pb + 0 * lda, k, len);
  out[1][1] = hsum(s11) + tail_dot(pa + 1 * lda, pb + 1 * lda, k, len);
  out[1][2] = hsum(s12) + tail_dot(pa + 1 * lda, pb + 2 * lda, k, len);
  out[1][3] = hsum(s13) + tail_dot(pa + 1 * lda, pb + 3 * lda, k, len);
  out[2][0] = hsum(s20) + tail_dot(pa + 2 * lda, pb + 0 * lda, k, len);
  out[2][1] = hsum(s21) + tail_dot(pa + 2 * lda, pb + 1 * lda, k, len);
  out[2][2] = hsum(s22) + tail_dot(pa + 2 * lda, pb + 2 * lda, k, len);
  out[2][3] = hsum(s23) + tail_dot(pa + 2 * lda, pb + 3 * lda, k, len);
  out[3][0] = hsum(s30) + tail_dot(pa + 3 * lda, pb + 0 * lda, k, len);
  out[3][1] = hsum(s31) + tail_dot(pa + 3 * lda, pb + 1 * lda, k, len);
  out[3][2] = hsum(s32) + tail_dot(pa + 3 * lda, pb + 2 * lda, k, len);
  out[3][3] = hsum(s33) + tail_dot(pa + 3 * lda, pb + 3 * lda, k, len);
}

#if MD_TILE4
#define MD_MR 4
#define MD_TILE tile_4x4
#else
#define MD_MR 2
#define MD_TILE tile_2x4
#endif

// C[i][j] += <A_i, A_j> for i in [i0, i1) and j in [i, m) (upper triangle and
// diagonal only; the caller mirrors). A is m x len with row stride lda; C is
// m x m with row stride ldc.
static void syrk_upper_rows(const double* A, std::size_t m, std::size_t len, std::size_t lda,
                            double* C, std::size_t ldc, std::size_t i0, std::size_t i1) {
  std::size_t i = i0;
  for (; i + MD_MR <= i1; i += MD_MR) {
    std::size_t j = i;
    for (; j + 4 <= m; j += 4) {
      double out[MD_MR][4];
      MD_TILE(A, lda, len, i, j, out);
      for (std::size_t r = 0; r < MD_MR; ++r)
        for (std::size_t c = 0; c < 4; ++c)
          if (j + c >= i + r) C[(i + r) * ldc + j + c] += out[r][c];
    }
    for (; j < m; ++j)
      for (std::size_t r = 0; r < MD_MR; ++r)
        if (j >= i + r) C[(i + r) * ldc + j] += dot_rows(A + (i + r) * lda, A + j * lda, len);
  }
  for (; i < i1; ++i)
    for (std::size_t j = i; j < m; ++j) C[i * ldc + j] += dot_rows(A + i * lda, A + j * lda, len);
}

#undef MD_MR
#undef MD_TILE
