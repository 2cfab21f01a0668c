// AVX2 + FMA instance of the divergence row kernels (src/divergence_kernel.hpp, 4 doubles per
// vector). Only called after cpu_features has confirmed AVX2 and FMA.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "divergence_kernel.hpp"
#include "divergence_policy.hpp"

#include "divergence_avx2_tables.hpp"

namespace modeldiff {
namespace divergence {
namespace {

// log for x > 0 (normal or subnormal; x = 0 gives a finite garbage value, no trap), table-driven
// like the AVX-512 log_table, but AVX2 has neither vgetmantpd nor a 16-entry register permute:
// x = z 2^E with z in [0.75, 1.5) by integer ops (adding 2^51 to the bits carries mantissas
// >= 1.5 into the exponent), the top 7 mantissa bits of that sum pick one of 128 pairs
// (c ~ 1/z, -log c) from kLogTable (2 KB), r = z c - 1 (|r| <= 1/128, one rounding
// by FMA), log x = E ln2 - log c + log1p(r), log1p by its Taylor series to r^Degree. No
// division, and a shorter dependency chain than the fdlibm form's (frexp emulation, then a
// vdivpd, then a degree-7 polynomial in s^2).
// c = 1 on both pieces touching 1, so log x near x = 1 is r + O(r^2) without cancellation.
// Degree 8 (Avx2Policy::log, Avx2Policy::log_pos): truncation < r^8/9 <= 2^-56/9 relative on the c = 1 pieces,
// far smaller elsewhere. Degree 7 (Avx2Policy::log_away1, x in (0, 0.9] or [1.1, 2], so |log x| >=
// 0.095): truncation < 2^-56/8 absolute, < 2e-17 relative.
// Max relative error against logl, measured over ~1.4 10^7 arguments (subnormal to 1.7e308, dense
// near 1, and the log_away1 domain): 2.9e-16 (fdlibm form: 1.5e-16).
template <int Degree>
static inline __m256d log_table(__m256d x) {
  __m256i ix = _mm256_castpd_si256(x);
  __m256d ebias = _mm256_set1_pd(4503599627370496.0 + 1023.0);  // 2^52 + exponent bias
  // Subnormal (0 < ix < 2^52, zero excluded so that zero lanes stay on the fast path):
  // (ix - 1) + 2^63 < 2^63 + 2^52 - 1 as signed 64-bit integers. Rare: a branch.
  const __m256i sub = _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(0x800FFFFFFFFFFFFFULL)),
                                         _mm256_add_epi64(ix, _mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL)));
  if (__builtin_expect(_mm256_movemask_pd(_mm256_castsi256_pd(sub)) != 0, 0)) {
    const __m256d m = _mm256_castsi256_pd(sub);
    x = _mm256_blendv_pd(x, _mm256_mul_pd(x, _mm256_set1_pd(18014398509481984.0)), m);  // 2^54
    ix = _mm256_castpd_si256(x);
    ebias = _mm256_add_pd(ebias, _mm256_and_pd(m, _mm256_set1_pd(54.0)));
  }
  const __m256i u = _mm256_add_epi64(ix, _mm256_set1_epi64x(0x0008000000000000LL));  // + 2^51
  // z = low 52 bits of u - 2^51 + bits(1.0): 1 + f for mantissas f < 0.5, else (1 + f) / 2.
  const __m256d z = _mm256_castsi256_pd(_mm256_add_epi64(_mm256_and_si256(u, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
                                                         _mm256_set1_epi64x(0x3FE8000000000000LL)));
  // E: u's exponent field as a double by the 2^52 magic-number trick.
  const __m256d eb = _mm256_castsi256_pd(
      _mm256_or_si256(_mm256_srli_epi64(u, 52), _mm256_castpd_si256(_mm256_set1_pd(4503599627370496.0))));
  const __m256d e = _mm256_sub_pd(eb, ebias);
  // Byte offset of pair j = top 7 mantissa bits of u (j < 64: z < 1; j >= 64: z >= 1).
  const __m256i off = _mm256_and_si256(_mm256_srli_epi64(u, 52 - 7 - 4), _mm256_set1_epi64x(127 << 4));
  // The four (c, -log c) pairs by 128-bit loads, not two vgatherqpd: AMD Zen 2/3 run gathers as
  // long microcode sequences, and Intel's GDS ("Downfall") mitigation slows them on Skylake ..
  // Tiger Lake; on the Sapphire Rapids this was measured on, the two are within noise.
  const char* base = reinterpret_cast<const char*>(kLogTable);
  const __m128i olo = _mm256_castsi256_si128(off), ohi = _mm256_extracti128_si256(off, 1);
  auto pair = [base](long long o) { return _mm_load_pd(reinterpret_cast<const double*>(base + o)); };
  const __m256d pa = _mm256_insertf128_pd(_mm256_castpd128_pd256(pair(_mm_cvtsi128_si64(olo))),
                                          pair(_mm_cvtsi128_si64(ohi)), 1);  // c0 t0 c2 t2
  const __m256d pb = _mm256_insertf128_pd(_mm256_castpd128_pd256(pair(_mm_extract_epi64(olo, 1))),
                                          pair(_mm_extract_epi64(ohi, 1)), 1);  // c1 t1 c3 t3
  const __m256d c = _mm256_unpacklo_pd(pa, pb);
  const __m256d t = _mm256_unpackhi_pd(pa, pb);  // -log(c)
  const __m256d r = _mm256_fmadd_pd(z, c, _mm256_set1_pd(-1.0));
  // log1p(r) = r + r^2 Q(r), Q(r) = sum_{j=2..Degree} (-1)^(j+1) r^(j-2) / j, by Estrin.
  auto c1 = [](double v) { return _mm256_set1_pd(v); };
  const __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2);
  const __m256d a0 = _mm256_fmadd_pd(r, c1(1.0 / 3), c1(-1.0 / 2));
  const __m256d a1 = _mm256_fmadd_pd(r, c1(1.0 / 5), c1(-1.0 / 4));
  const __m256d a2 = _mm256_fmadd_pd(r, c1(1.0 / 7), c1(-1.0 / 6));
  static_assert(Degree == 7 || Degree == 8, "log_table: degree 7 or 8");
  const __m256d hi_part = Degree == 8 ? _mm256_fmadd_pd(r2, c1(-1.0 / 8), a2) : a2;
  const __m256d q = _mm256_fmadd_pd(r4, hi_part, _mm256_fmadd_pd(r2, a1, a0));
  const __m256d p = _mm256_fmadd_pd(r2, q, r);
  const __m256d hi = _mm256_fmadd_pd(e, c1(6.93147180369123816490e-01), t);  // e ln2_hi exact
  return _mm256_add_pd(hi, _mm256_fmadd_pd(e, c1(1.90821492927058770002e-10), p));
}

// exp for t <= 709, table-driven: n = round(8 t / ln2) by the 1.5 2^52 magic-number add (n's
// low bits land in the low mantissa bits of the sum kk), r = t - n ln2/8 (two-constant
// Cody-Waite, |r| <= ln2/16), exp t = 2^floor(n/8) 2^(j/8) (1 + expm1 r) with j = n mod 8,
// expm1 by Taylor to r^8 (truncation < 2e-18). The 8 entries bits(2^(j/8)) - (j << 49) sit in
// two registers as 32-bit halves (vpermd reads j from the low 3 bits of each half's index);
// adding kk << 49 = n << 49 (mod 2^64) then leaves bits(2^(j/8)) + (floor(n/8) << 52): the
// scaling by 2^floor(n/8) is an integer add. Entries: bits of 2^(j/8) correctly rounded (mpmath,
// 300-bit), minus j << 49, split into low and high 32-bit halves.
// Results below 2^-1022 (t < -708.39) flush to 0, as in vec_exp. Max relative error against
// expl over [-708.39, 709]: 1.6e-16 (the degree-13 table-free form: 4.1e-16).
static inline __m256d exp_table(__m256d t) {
  auto c1 = [](double v) { return _mm256_set1_pd(v); };
  const __m256d magic = c1(6755399441055744.0);  // 1.5 * 2^52
  const __m256d kk = _mm256_fmadd_pd(t, c1(11.541560327111707), magic);  // 8 / ln2
  const __m256d n = _mm256_sub_pd(kk, magic);
  __m256d r = _mm256_fmadd_pd(n, c1(-6.93147180559945286227e-01 / 8), t);
  r = _mm256_fmadd_pd(n, c1(-2.319046813846299558e-17 / 8), r);
  const __m256i ki = _mm256_castpd_si256(kk);
  const __m256i s_lo = _mm256_setr_epi32(0x00000000, 0x3c7d517b, 0x0a31b715, static_cast<int>(0xd5362a27), 0x667f3bcd,
                                         0x422aa0db, static_cast<int>(0x995ad3ad), static_cast<int>(0xdcfba487));
  const __m256i s_hi = _mm256_setr_epi32(0x3ff00000, 0x3fef72b8, 0x3fef06fe, 0x3feebfda, 0x3feea09e, 0x3feeace5,
                                         0x3feee89f, 0x3fef5818);
  const __m256i sj = _mm256_blend_epi32(_mm256_permutevar8x32_epi32(s_lo, ki),
                                        _mm256_permutevar8x32_epi32(s_hi, _mm256_slli_epi64(ki, 32)), 0xAA);
  const __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(sj, _mm256_slli_epi64(ki, 49)));
  // expm1(r) = r + r^2 (1/2 + r/6 + r^2/24 + r^3/120 + r^4/720 + r^5/5040 + r^6/40320), Estrin.
  const __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2);
  const __m256d a0 = _mm256_fmadd_pd(r, c1(1.0 / 6), c1(1.0 / 2));
  const __m256d a1 = _mm256_fmadd_pd(r, c1(1.0 / 120), c1(1.0 / 24));
  const __m256d a2 = _mm256_fmadd_pd(r, c1(1.0 / 5040), c1(1.0 / 720));
  const __m256d q = _mm256_fmadd_pd(r4, _mm256_fmadd_pd(r2, c1(1.0 / 40320), a2), _mm256_fmadd_pd(r2, a1, a0));
  const __m256d em1 = _mm256_fmadd_pd(r2, q, r);
  const __m256d out = _mm256_fmadd_pd(s, em1, s);
  return _mm256_and_pd(out, _mm256_cmp_pd(t, c1(-708.39), _CMP_NLT_UQ));  // t < -708.39: 0; NaN stays NaN
}

// DivergencePolicy<4> (src/divergence_policy.hpp) and the AVX2 + FMA operations.
struct Avx2Policy : DivergencePolicy<4> {
  static T fma(T a, T b, T c) { return _mm256_fmadd_pd(a, b, c); }
  static T sqrt(T a) { return _mm256_sqrt_pd(a); }
  // vmaxpd / vminpd: DivergencePolicy's semantics, which GCC 12 emits as compare + blend in
  // about half the places.
  static T max(T a, T b) { return _mm256_max_pd(a, b); }
  static T min(T a, T b) { return _mm256_min_pd(a, b); }
  static bool any(M m) { return _mm256_movemask_pd(reinterpret_cast<__m256d>(m)) != 0; }
  static unsigned bits(M m) { return static_cast<unsigned>(_mm256_movemask_pd(reinterpret_cast<__m256d>(m))); }
  static double reduce_add(T a) {
    __m128d lo = _mm256_castpd256_pd128(a), hi = _mm256_extractf128_pd(a, 1);
    __m128d s = _mm_add_pd(lo, hi);  // (l0+l2, l1+l3)
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static double reduce_max(T a) {
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)));
  }
  // p[0..n) (n in [1, 4]) widened to doubles, zeros beyond; masked, so never reads past p + n.
  static __m128i mask32(size_t n) { return _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(n)), _mm_set_epi32(3, 2, 1, 0)); }
  static T load_part(const float* p, size_t n) {
    return _mm256_cvtps_pd(n == 4 ? _mm_loadu_ps(p) : _mm_maskload_ps(p, mask32(n)));
  }
  static T load_part(const double* p, size_t n) {
    return n == 4 ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, _mm256_cvtepi32_epi64(mask32(n)));
  }
  // In-place 4 x 4 transpose (r[i] lane j <-> r[j] lane i).
  static void transpose(T* r) {
    T t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);  // r0[0] r1[0] r0[2] r1[2]
    T t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
  static void load_block(const float* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<Avx2Policy>(rp, c, nc, r);
  }
  static void load_block(const double* const* rp, size_t c, size_t nc, T* r) {
    generic_load_block<Avx2Policy>(rp, c, nc, r);
  }
  // The table-driven log and exp (above) instead of vec_log / vec_exp. Alternating A/B runs on an
  // Intel Sapphire Rapids VM (k = 10, float32 inputs, n = 10^6, whole per-sample call, best of
  // 12 alternations): JS 7.4 -> 6.1 and KL 5.0 -> 3.9 ns per element from probabilities, JS
  // 8.9 -> 6.8 and KL 5.6 -> 4.3 from logits (the tile load alone, TV: 1.5).
  static T log(T x) { return select(eq(x, zero()), set1(-INFINITY), log_table<8>(x)); }
  static T log_pos(T x) { return log_table<8>(x); }  // x > 0 (no zero check)
  static T log_away1(T x) { return log_table<7>(x); }  // x > 0, accurate for x outside [0.9, 1.1]
  static T exp(T x) { return exp_table(x); }
};

}  // namespace

template <>
const RowKernels& row_kernels<Isa::Avx2>() {
  return DivergenceKernel<Avx2Policy>::table();
}

}  // namespace divergence
}  // namespace modeldiff
