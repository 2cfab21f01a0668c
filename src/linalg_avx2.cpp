// AVX2+FMA instantiation of the Gram micro-kernel (16 ymm registers: a 2x4 tile
// of accumulators plus 5 operands; 4x4 would spill).
#include <cstddef>
#include <cstring>

#include "linalg.hpp"

namespace modeldiff {
namespace linalg {
namespace avx2_impl {
#define MD_LANES 4
#define MD_TILE4 0
#include "linalg_kernel.inl.hpp"
}  // namespace avx2_impl

void syrk_upper_avx2(const double* A, std::size_t m, std::size_t len, std::size_t lda, double* C,
                     std::size_t ldc, std::size_t i0, std::size_t i1) {
  avx2_impl::syrk_upper_rows(A, m, len, lda, C, ldc, i0, i1);
}

}  // namespace linalg
}  // namespace modeldiff
